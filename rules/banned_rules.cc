// banned_rules.cc - parsing and applying attachment-type rules (see banned_rules.h).
#include "rules/banned_rules.h"

#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace moat::rules {

struct BannedRule::Condition {
  enum class Key {
    kName,
    kExt,
    kDoubleExt,
    kDeclared,
    kDetected,
    kInside,
    kInsideType,
    kPath,
    kEncrypted,
    kUnicodeTrick,
    kDepth,
  };
  enum class Op { kLess, kLessEqual, kEqual, kNotEqual, kGreaterEqual, kGreater };

  Key key = Key::kName;
  bool negate = false;
  std::vector<std::string> globs;
  std::optional<core::Regex> regex;
  Op op = Op::kEqual;
  int number = 0;
};

namespace {

using Condition = BannedRule::Condition;
using Key = Condition::Key;

enum class Tri { kNo, kYes, kError };

struct KeyInfo {
  std::string_view name;
  Key key;
  enum class Value { kNone, kRequired, kOptional, kNumber } value;
};

constexpr KeyInfo kKeys[] = {
    {"name", Key::kName, KeyInfo::Value::kRequired},
    {"ext", Key::kExt, KeyInfo::Value::kRequired},
    {"double-ext", Key::kDoubleExt, KeyInfo::Value::kOptional},
    {"declared", Key::kDeclared, KeyInfo::Value::kRequired},
    {"detected", Key::kDetected, KeyInfo::Value::kRequired},
    {"inside", Key::kInside, KeyInfo::Value::kRequired},
    {"inside-type", Key::kInsideType, KeyInfo::Value::kRequired},
    {"path", Key::kPath, KeyInfo::Value::kRequired},
    {"encrypted", Key::kEncrypted, KeyInfo::Value::kNone},
    {"unicode-trick", Key::kUnicodeTrick, KeyInfo::Value::kNone},
    {"depth", Key::kDepth, KeyInfo::Value::kNumber},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
  }
  return out;
}

bool GlobMatches(const std::string& pattern, const std::string& subject) {
  return fnmatch(pattern.c_str(), subject.c_str(), FNM_CASEFOLD) == 0;
}

Tri MatchOne(const Condition& c, const std::string& subject) {
  if (c.regex) {
    auto r = c.regex->Matches(subject);
    if (!r) return Tri::kError;
    return *r ? Tri::kYes : Tri::kNo;
  }
  for (const std::string& glob : c.globs) {
    if (GlobMatches(glob, subject)) return Tri::kYes;
  }
  return Tri::kNo;
}

Tri MatchAny(const Condition& c, const std::vector<std::string>& subjects) {
  Tri result = Tri::kNo;
  for (const std::string& s : subjects) {
    Tri t = MatchOne(c, s);
    if (t == Tri::kYes) return t;
    if (t == Tri::kError) result = t;
  }
  return result;
}

Tri FromBool(bool b) { return b ? Tri::kYes : Tri::kNo; }

bool Compare(Condition::Op op, int a, int b) {
  switch (op) {
    case Condition::Op::kLess:
      return a < b;
    case Condition::Op::kLessEqual:
      return a <= b;
    case Condition::Op::kEqual:
      return a == b;
    case Condition::Op::kNotEqual:
      return a != b;
    case Condition::Op::kGreaterEqual:
      return a >= b;
    case Condition::Op::kGreater:
      return a > b;
  }
  return false;
}

Tri Evaluate(const Condition& c, const BannedSubject& s) {
  switch (c.key) {
    case Key::kName:
      return MatchOne(c, s.name.name);
    case Key::kExt:
      if (s.name.extensions.empty()) return Tri::kNo;
      return MatchOne(c, s.name.last_extension());
    case Key::kDoubleExt:
      if (!s.name.DoubleExtension()) return Tri::kNo;
      if (c.globs.empty() && !c.regex) return Tri::kYes;
      return MatchOne(c, s.name.last_extension());
    case Key::kDeclared:
      return MatchOne(c, s.declared_type);
    case Key::kDetected: {
      Tri t = MatchOne(c, s.short_type);
      return t == Tri::kYes ? t : (MatchOne(c, s.detected_type) == Tri::kYes ? Tri::kYes : t);
    }
    case Key::kInside:
      return MatchAny(c, s.inside_names);
    case Key::kInsideType:
      return MatchAny(c, s.inside_types);
    case Key::kPath:
      return MatchOne(c, s.path);
    case Key::kEncrypted:
      return FromBool(s.encrypted);
    case Key::kUnicodeTrick:
      return FromBool(s.name.unicode_trick);
    case Key::kDepth:
      return FromBool(Compare(c.op, s.depth, c.number));
  }
  return Tri::kNo;
}

Tri Negate(Tri t, bool negate) {
  if (!negate || t == Tri::kError) return t;
  return t == Tri::kYes ? Tri::kNo : Tri::kYes;
}

// Splits a rule line into tokens: whitespace separates, "..." quotes (with \" for a quote
// inside), an unquoted '#' at the start of a token starts a comment.
core::Result<std::vector<std::string>> Tokenize(std::string_view line) {
  std::vector<std::string> tokens;
  std::string token;
  bool in_token = false;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size() && line[i + 1] == '"') {
        token += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        token += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      if (in_token) tokens.push_back(std::move(token));
      token.clear();
      in_token = false;
      continue;
    }
    if (c == '#' && !in_token) break;
    in_token = true;
    if (c == '"') {
      quoted = true;
    } else {
      token += c;
    }
  }
  if (quoted) return core::Fail(core::ErrorCode::kInvalid, "unterminated quote");
  if (in_token) tokens.push_back(std::move(token));
  return tokens;
}

core::Result<std::shared_ptr<const Condition>> ParseCondition(std::string_view token) {
  auto condition = std::make_shared<Condition>();
  if (token.starts_with('!')) {
    condition->negate = true;
    token.remove_prefix(1);
  }
  size_t key_end = token.find_first_of("=~<>!");
  std::string key = Lower(token.substr(0, key_end));
  auto info = std::find_if(std::begin(kKeys), std::end(kKeys),
                           [&](const KeyInfo& k) { return k.name == key; });
  if (info == std::end(kKeys)) {
    return core::Fail(core::ErrorCode::kInvalid,
                      "unknown condition \"{}\" (known: name, ext, double-ext, declared, detected, "
                      "inside, inside-type, path, encrypted, unicode-trick, depth)",
                      key);
  }
  condition->key = info->key;
  std::string_view rest = key_end == std::string_view::npos ? "" : token.substr(key_end);

  if (info->value == KeyInfo::Value::kNumber) {
    static constexpr std::pair<std::string_view, Condition::Op> kOps[] = {
        {"<=", Condition::Op::kLessEqual}, {">=", Condition::Op::kGreaterEqual},
        {"!=", Condition::Op::kNotEqual},  {"<", Condition::Op::kLess},
        {">", Condition::Op::kGreater},    {"=", Condition::Op::kEqual}};
    auto op = std::find_if(std::begin(kOps), std::end(kOps),
                           [&](const auto& o) { return rest.starts_with(o.first); });
    if (op == std::end(kOps)) {
      return core::Fail(core::ErrorCode::kInvalid, "{} needs a comparison: {}>=N, {}=N, ...", key,
                        key, key);
    }
    std::string_view number = rest.substr(op->first.size());
    int value = 0;
    if (number.empty() || number.size() > 6 ||
        !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return core::Fail(core::ErrorCode::kInvalid, "{}: \"{}\" is not a number", key, number);
    }
    for (char c : number) value = value * 10 + (c - '0');
    condition->op = op->second;
    condition->number = value;
    return condition;
  }
  if (rest.empty()) {
    if (info->value == KeyInfo::Value::kRequired) {
      return core::Fail(core::ErrorCode::kInvalid, "{} needs a value: {}=PATTERN or {}~\"REGEX\"",
                        key, key, key);
    }
    return condition;
  }
  if (info->value == KeyInfo::Value::kNone) {
    return core::Fail(core::ErrorCode::kInvalid, "{} takes no value", key);
  }
  char op = rest.front();
  std::string_view value = rest.substr(1);
  if (value.empty()) return core::Fail(core::ErrorCode::kInvalid, "{}: empty value", key);
  if (op == '~') {
    core::RegexOptions options;
    options.caseless = true;
    options.utf = true;
    options.match_limit = 100'000;
    auto regex = core::Regex::Compile(value, options);
    if (!regex) {
      return core::Fail(core::ErrorCode::kInvalid, "{}: bad regular expression: {}", key,
                        regex.error().message());
    }
    condition->regex = std::move(*regex);
    return condition;
  }
  if (op != '=') {
    return core::Fail(core::ErrorCode::kInvalid, "{}: expected = or ~ after the key", key);
  }
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view glob =
        value.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                            : comma - start);
    if (glob.empty()) return core::Fail(core::ErrorCode::kInvalid, "{}: empty pattern", key);
    condition->globs.push_back(Lower(glob));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return condition;
}

std::vector<std::string> ParseBanks(std::string_view inside) {
  std::vector<std::string> banks;
  std::string current;
  for (char c : inside) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!current.empty()) banks.push_back(Lower(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) banks.push_back(Lower(current));
  return banks;
}

}  // namespace

BannedRules::Loaded BannedRules::Parse(std::string_view text, const std::string& file) {
  Loaded loaded;
  auto rules = std::shared_ptr<BannedRules>(new BannedRules());
  rules->file_ = file;
  std::vector<std::string> banks;
  int line_number = 0;
  auto problem = [&](const std::string& message) {
    loaded.problems.push_back({core::Severity::kError, {file, line_number}, message});
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_number;

    auto tokens = Tokenize(line);
    if (!tokens) {
      problem(tokens.error().message());
      continue;
    }
    if (tokens->empty()) continue;
    if (tokens->front().starts_with('[')) {
      std::string joined;
      for (const std::string& t : *tokens) joined += t + " ";
      while (!joined.empty() && joined.back() == ' ') joined.pop_back();
      if (!joined.ends_with(']')) {
        problem("a bank section is written [BANK ...] or [*]");
        continue;
      }
      banks = ParseBanks(std::string_view(joined).substr(1, joined.size() - 2));
      if (banks.empty()) {
        problem("empty bank section: write [*] for rules of every bank");
      } else if (std::find(banks.begin(), banks.end(), "*") != banks.end()) {
        banks.clear();
      }
      continue;
    }
    BannedRule rule;
    std::string action = Lower(tokens->front());
    if (action == "block") {
      rule.action = BannedAction::kBlock;
    } else if (action == "allow") {
      rule.action = BannedAction::kAllow;
    } else {
      problem(fmt::format("a rule starts with block or allow, not \"{}\"", tokens->front()));
      continue;
    }
    bool ok = true;
    for (size_t i = 1; i < tokens->size(); ++i) {
      auto condition = ParseCondition((*tokens)[i]);
      if (!condition) {
        problem(condition.error().message());
        ok = false;
        break;
      }
      rule.conditions.push_back(std::move(*condition));
    }
    if (!ok) continue;
    rule.banks = banks;
    rule.where = {file, line_number};
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t'))
      trimmed.remove_prefix(1);
    while (!trimmed.empty() &&
           (trimmed.back() == ' ' || trimmed.back() == '\t' || trimmed.back() == '\r'))
      trimmed.remove_suffix(1);
    rule.text = std::string(trimmed);
    rules->rules_.push_back(std::move(rule));
  }
  loaded.rules = std::move(rules);
  return loaded;
}

BannedRules::Loaded BannedRules::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Loaded loaded;
    loaded.rules = Parse("", path).rules;
    loaded.problems.push_back(
        {core::Severity::kError, {path, 0}, "cannot read the banned rules file"});
    return loaded;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::vector<const BannedRule*> BannedRules::RulesFor(std::string_view bank) const {
  std::vector<const BannedRule*> out;
  std::string lower = Lower(bank);
  for (const BannedRule& rule : rules_) {
    if (rule.banks.empty() ||
        std::find(rule.banks.begin(), rule.banks.end(), lower) != rule.banks.end()) {
      out.push_back(&rule);
    }
  }
  return out;
}

BannedVerdict BannedRules::Check(std::string_view bank, const BannedSubject& subject) const {
  BannedVerdict verdict;
  std::string lower = Lower(bank);
  for (const BannedRule& rule : rules_) {
    if (!rule.banks.empty() &&
        std::find(rule.banks.begin(), rule.banks.end(), lower) == rule.banks.end()) {
      continue;
    }
    Tri all = Tri::kYes;
    for (const auto& condition : rule.conditions) {
      Tri t = Negate(Evaluate(*condition, subject), condition->negate);
      if (t == Tri::kNo) {
        all = Tri::kNo;
        break;
      }
      if (t == Tri::kError) all = Tri::kError;
    }
    if (all == Tri::kNo) continue;
    if (all == Tri::kError) {
      // A regex that could not finish: a block rule counts as matching, an allow rule as not.
      if (rule.action == BannedAction::kAllow) continue;
      verdict.error = fmt::format("a regular expression of {} hit its match limit",
                                  rule.where.ToString());
    }
    verdict.blocked = rule.action == BannedAction::kBlock;
    verdict.rule = &rule;
    return verdict;
  }
  return verdict;
}

std::string DescribeRule(const BannedRule& rule) {
  return fmt::format("{} ({})", rule.text, rule.where.ToString());
}

}  // namespace moat::rules
