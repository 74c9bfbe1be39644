// rule_config.cc - the .cf reader (SpamAssassin's Conf::Parser::parse_line loop, in C++).
#include "rules/rule_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rules/expression.h"
#include "rules/plugin_registry.h"

namespace moat::rules {

std::string SourceLocation::ToString() const { return fmt::format("{}:{}", file, line); }

std::string_view RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kHeader:
      return "header";
    case RuleKind::kBody:
      return "body";
    case RuleKind::kRawbody:
      return "rawbody";
    case RuleKind::kFull:
      return "full";
    case RuleKind::kUri:
      return "uri";
    case RuleKind::kMeta:
      return "meta";
    case RuleKind::kMimeheader:
      return "mimeheader";
  }
  return "unknown";
}

namespace {

constexpr int kMaxIncludeDepth = 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits at the first run of whitespace: "key rest of line".
std::pair<std::string_view, std::string_view> SplitFirstWord(std::string_view s) {
  size_t end = 0;
  while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
  std::string_view rest = s.substr(end);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
    rest.remove_prefix(1);
  }
  return {s.substr(0, end), rest};
}

std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    s = Trim(s);
    if (s.empty()) break;
    auto [word, rest] = SplitFirstWord(s);
    out.push_back(word);
    s = rest;
  }
  return out;
}

bool ParseScoreNumber(std::string_view s, double* out) {
  // SpamAssassin accepts -?\d+(\.\d+)? only.
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t digits = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == digits) return false;
  if (i < s.size() && s[i] == '.') {
    size_t frac = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == frac) return false;
  }
  if (i != s.size()) return false;
  *out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

struct IfFrame {
  bool previous_skip;
  int line;
  std::string type;
};

class Reader {
 public:
  Reader(const ReadOptions& options, RuleConfig& config)
      : options_(options),
        plugins_(options.plugins.empty() ? DefaultPlugins() : options.plugins),
        config_(config) {}

  void ReadFile(const std::string& path, int depth) {
    if (depth > kMaxIncludeDepth) {
      config_.errors.push_back({{path, 0}, "include nested too deeply (loop?)"});
      return;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      config_.errors.push_back({{path, 0}, "cannot read file"});
      return;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    config_.files.push_back(path);
    ReadText(buffer.str(), path, depth);
  }

  void ReadText(std::string_view text, const std::string& name, int depth) {
    std::vector<IfFrame> if_stack;
    bool skip = false;
    int line_number = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view raw = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_number;
      if (raw.empty() && end == text.size()) break;
      SourceLocation where{name, line_number};
      std::string line = StripComment(raw);
      std::string_view view = Trim(line);
      if (view.empty()) continue;

      if (view.starts_with("lang") && view.size() > 4 &&
          std::isspace(static_cast<unsigned char>(view[4]))) {
        auto [lang_kw, rest] = SplitFirstWord(view);
        auto [lang, rest2] = SplitFirstWord(rest);
        if (!LanguageMatches(lang)) continue;
        view = rest2;
        if (view.empty()) continue;
      }

      auto [key_view, value] = SplitFirstWord(view);
      std::string key(key_view);
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return c == '-' ? '_' : std::tolower(c); });

      if (key == "endif") {
        if (!value.empty()) {
          Error(where, "'endif' must be standalone");
          continue;
        }
        if (if_stack.empty()) {
          Error(where, "missing starting 'if' for 'endif'");
          continue;
        }
        skip = if_stack.back().previous_skip;
        if_stack.pop_back();
        continue;
      }
      if (key == "if" || key == "ifplugin") {
        if (value.empty()) {
          Error(where, fmt::format("missing '{}' condition", key));
          continue;
        }
        if_stack.push_back({skip, line_number, key});
        if (!skip) {
          std::string condition =
              key == "ifplugin" ? fmt::format("plugin({})", value) : std::string(value);
          if (!EvaluateCondition(condition, where)) skip = true;
        }
        continue;
      }
      if (key == "else") {
        if (!value.empty()) {
          Error(where, "'else' must be standalone");
          continue;
        }
        if (if_stack.empty()) {
          Error(where, "'else' missing starting if");
          continue;
        }
        bool enclosing_skips = std::any_of(if_stack.begin(), if_stack.end(),
                                           [](const IfFrame& f) { return f.previous_skip; });
        skip = enclosing_skips ? true : !skip;
        continue;
      }
      if (skip) continue;

      if (key == "include") {
        if (value.empty()) {
          Error(where, "missing 'include' value");
          continue;
        }
        std::filesystem::path target(value);
        if (target.is_relative()) {
          target = std::filesystem::path(name).parent_path() / target;
        }
        ReadFile(target.string(), depth + 1);
        continue;
      }
      if (key == "require_version") {
        // "@@VERSION@@" means "this version" (not substituted at install).
        if (value != "@@VERSION@@" && value != "4.000001") {
          Unsupported("require_version (other version: file skipped)", where, view);
          break;
        }
        continue;
      }
      HandleDirective(key, value, view, where);
    }
    for (const IfFrame& frame : if_stack) {
      Error({name, frame.line}, fmt::format("unclosed '{}'", frame.type));
    }
  }

 private:
  static std::string StripComment(std::string_view raw) {
    std::string line(raw);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('#') == std::string::npos) return line;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) {
        line.resize(i);
        break;
      }
    }
    std::string out;
    out.reserve(line.size());
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '#') continue;
      out += line[i];
    }
    return out;
  }

  bool LanguageMatches(std::string_view lang) const {
    if (options_.language.empty() || lang.size() > options_.language.size()) return false;
    for (size_t i = 0; i < lang.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(lang[i])) !=
          std::tolower(static_cast<unsigned char>(options_.language[i]))) {
        return false;
      }
    }
    return true;
  }

  bool EvaluateCondition(const std::string& condition, const SourceLocation& where) {
    auto expression = ParseExpression(condition, /*allow_calls=*/true);
    if (!expression) {
      Error(where,
            fmt::format("unparseable condition '{}': {}", condition, expression.error().message()));
      return false;
    }
    std::string unknown;
    auto names = [&](size_t index) -> double {
      const std::string& n = expression->names()[index];
      if (n == "version") return kEmulatedSpamAssassinVersion;
      if (n == "perl_version") return kEmulatedPerlVersion;
      if (n == "local_tests_only") return 1;  // the rule engine never runs network tests
      unknown = n;
      return 0;
    };
    auto calls = [&](const std::string& fn, const std::string& arg) -> core::Result<double> {
      if (fn == "plugin") return plugins_.count(CanonicalPluginName(arg)) > 0 ? 1.0 : 0.0;
      if (fn == "can" || fn == "has") {
        return CapabilityAvailable(arg, plugins_, config_.compat) ? 1.0 : 0.0;
      }
      return core::Fail(core::ErrorCode::kInvalid, "unknown function {}()", fn);
    };
    auto value = expression->Evaluate(names, calls);
    if (!value) {
      Error(where, fmt::format("condition '{}': {}", condition, value.error().message()));
      return false;
    }
    if (!unknown.empty()) {
      Error(where, fmt::format("condition '{}': unknown name '{}'", condition, unknown));
      return false;
    }
    return *value != 0;
  }

  void HandleDirective(const std::string& key, std::string_view value, std::string_view line,
                       const SourceLocation& where) {
    static const std::map<std::string_view, RuleKind> kRuleKinds = {
        {"header", RuleKind::kHeader},
        {"body", RuleKind::kBody},
        {"rawbody", RuleKind::kRawbody},
        {"full", RuleKind::kFull},
        {"uri", RuleKind::kUri},
        {"meta", RuleKind::kMeta},
        {"mimeheader", RuleKind::kMimeheader},
    };
    if (auto it = kRuleKinds.find(key); it != kRuleKinds.end()) {
      AddRule(it->second, key, value, line, where);
      return;
    }
    if (key == "score") return AddScore(value, where);
    if (key == "describe" || key == "tflags") {
      auto [name, text] = SplitFirstWord(value);
      if (name.empty() || (key == "describe" && text.empty())) {
        Error(where, fmt::format("missing '{}' value", key));
        return;
      }
      (key == "describe" ? config_.descriptions : config_.tflags)[std::string(name)] =
          std::string(text);
      return;
    }
    if (key == "replace_tag" || key == "replace_pre" || key == "replace_post" ||
        key == "replace_inter") {
      auto [name, text] = SplitFirstWord(value);
      if (name.empty() || text.empty()) {
        Error(where, fmt::format("missing '{}' value", key));
        return;
      }
      auto& map = key == "replace_tag"    ? config_.replace_tag
                  : key == "replace_pre"  ? config_.replace_pre
                  : key == "replace_post" ? config_.replace_post
                                          : config_.replace_inter;
      map[std::string(name)] = std::string(text);
      return;
    }
    if (key == "replace_rules") {
      for (std::string_view rule : SplitWords(value)) config_.replace_rules.emplace(rule);
      return;
    }
    if (key == "replace_start" || key == "replace_end") {
      if (value.empty()) return Error(where, fmt::format("missing '{}' value", key));
      (key == "replace_start" ? config_.replace_start : config_.replace_end) = std::string(value);
      return;
    }
    if (key == "util_rb_tld" || key == "util_rb_2tld" || key == "util_rb_3tld") {
      auto& set = key == "util_rb_tld"    ? config_.valid_tlds
                  : key == "util_rb_2tld" ? config_.two_level_domains
                                          : config_.three_level_domains;
      for (std::string_view word : SplitWords(value)) {
        std::string lower(word);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        set.insert(std::move(lower));
      }
      return;
    }
    if (key == "clear_util_rb") {
      config_.valid_tlds.clear();
      config_.two_level_domains.clear();
      config_.three_level_domains.clear();
      return;
    }
    if (key == "redirector_pattern") {
      if (value.empty()) return Error(where, "missing 'redirector_pattern' value");
      config_.redirector_patterns.emplace_back(std::string(value), where);
      return;
    }
    if (key == "enable_compat") {
      if (value.empty()) return Error(where, "missing 'enable_compat' value");
      config_.compat.emplace(value);
      return;
    }
    if (key == "required_score" || key == "required_hits") {
      double v;
      if (!ParseScoreNumber(value, &v)) return Error(where, "invalid 'required_score' value");
      config_.required_score = v;
      return;
    }
    if (key == "loadplugin" || key == "tryplugin") {
      auto words = SplitWords(value);
      if (words.empty()) return Error(where, fmt::format("missing '{}' value", key));
      if (plugins_.count(CanonicalPluginName(words[0])) == 0) {
        Unsupported(fmt::format("{} (unknown plugin)", key), where, line);
      }
      return;
    }
    Unsupported(key, where, line);
  }

  void AddRule(RuleKind kind, const std::string& key, std::string_view value, std::string_view line,
               const SourceLocation& where) {
    auto [name, definition] = SplitFirstWord(value);
    if (name.empty()) return Error(where, fmt::format("'{}' without a rule name", key));
    if (!IsRuleName(name)) {
      return Error(where, fmt::format("rule '{}' has invalid characters (not alphanumeric + "
                                      "underscore + starting with a non-digit)",
                                      name));
    }
    if (definition.empty()) {
      return Error(where, fmt::format("rule {}: missing definition", name));
    }
    RuleDefinition rule;
    rule.name = std::string(name);
    rule.kind = kind;
    rule.definition = std::string(definition);
    rule.where = where;
    rule.eval =
        kind != RuleKind::kMeta && kind != RuleKind::kMimeheader && definition.starts_with("eval:");
    if (rule.eval) Unsupported(fmt::format("{} eval", key), where, line);
    config_.rules[rule.name] = std::move(rule);
  }

  void AddScore(std::string_view value, const SourceLocation& where) {
    auto words = SplitWords(value);
    if (words.size() != 2 && words.size() != 5) {
      return Error(where, "score: requires a symbolic rule name and 1 or 4 scores");
    }
    std::string name(words[0]);
    ScoreDefinition score;
    score.where = where;
    bool relative = false;
    for (size_t i = 1; i < words.size(); ++i) {
      std::string_view w = words[i];
      if (w.size() > 2 && w.front() == '(' && w.back() == ')') {
        relative = true;
        w = w.substr(1, w.size() - 2);
      }
      double v;
      if (!ParseScoreNumber(w, &v)) {
        return Error(where, fmt::format("score: the non-numeric score ({}) is not valid", w));
      }
      score.values[i - 1] = v;
    }
    if (words.size() == 2) {
      for (int i = 1; i < 4; ++i) score.values[i] = score.values[0];
    }
    if (relative) {
      auto previous = config_.scores.find(name);
      if (previous == config_.scores.end()) {
        return Error(where, "score: relative score without previous setting in configuration");
      }
      for (int i = 0; i < 4; ++i) score.values[i] += previous->second.values[i];
    }
    config_.scores[name] = score;
  }

  void Error(const SourceLocation& where, std::string message) {
    config_.errors.push_back({where, std::move(message)});
  }

  void Unsupported(std::string kind, const SourceLocation& where, std::string_view text) {
    ++config_.unsupported_counts[kind];
    if (config_.unsupported.size() < options_.max_unsupported_listed) {
      config_.unsupported.push_back({std::move(kind), where, std::string(text)});
    }
  }

  const ReadOptions& options_;
  std::set<std::string> plugins_;
  RuleConfig& config_;
};

}  // namespace

RuleConfig ReadRuleFiles(const std::vector<std::string>& directories,
                         const std::vector<std::string>& files, const ReadOptions& options) {
  RuleConfig config;
  Reader reader(options, config);
  for (const std::string& directory : directories) {
    std::error_code ec;
    std::vector<std::string> names;
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() == ".cf" && !it->is_directory()) {
        names.push_back(it->path().string());
      }
    }
    if (ec) {
      config.errors.push_back({{directory, 0}, fmt::format("cannot list: {}", ec.message())});
      continue;
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) reader.ReadFile(name, 0);
  }
  for (const std::string& file : files) reader.ReadFile(file, 0);
  return config;
}

void ReadRuleText(std::string_view text, const std::string& name, const ReadOptions& options,
                  RuleConfig& config) {
  Reader reader(options, config);
  config.files.push_back(name);
  reader.ReadText(text, name, 0);
}

}  // namespace moat::rules
