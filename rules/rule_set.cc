// rule_set.cc - from RuleConfig to compiled rules: regexes, metas in dependency order,
// ReplaceTags, scores and prefilter literals.
#include "rules/rule_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <unordered_map>

namespace moat::rules {

namespace {

constexpr int32_t kUndefinedRule = -1;
constexpr int32_t kLocalTestsOnly = -2;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool HasFlag(std::string_view tflags, std::string_view flag) {
  size_t pos = 0;
  while (pos < tflags.size()) {
    while (pos < tflags.size() && std::isspace(static_cast<unsigned char>(tflags[pos]))) ++pos;
    size_t end = pos;
    while (end < tflags.size() && !std::isspace(static_cast<unsigned char>(tflags[end]))) ++end;
    if (tflags.substr(pos, end - pos) == flag) return true;
    pos = end;
  }
  return false;
}

uint32_t MaxHits(std::string_view tflags) {
  size_t pos = tflags.find("maxhits=");
  if (pos == std::string_view::npos) return 0;
  if (pos > 0 && !std::isspace(static_cast<unsigned char>(tflags[pos - 1]))) return 0;
  pos += 8;
  uint32_t value = 0;
  while (pos < tflags.size() && std::isdigit(static_cast<unsigned char>(tflags[pos]))) {
    value = value * 10 + static_cast<uint32_t>(tflags[pos] - '0');
    if (value > 1'000'000) break;
    ++pos;
  }
  return value;
}

// ReplaceTags plugin: expands <tag>, <pre x>, <post x>, <inter x> in a regex string that carries
// its modifiers inline ("(?i)..."), exactly as finish_parsing_end() does.
//
// `expand` gives the text for a tag name (normally its replace_tag value). When the expanded
// pattern is too large for PCRE2, the caller expands tags into subroutine calls instead (see
// ReplaceTagsWithSubroutines).
std::string ReplaceTags(std::string re, const RuleConfig& c,
                        const std::function<const std::string*(const std::string&)>& expand) {
  const std::string& start = c.replace_start;
  const std::string& end = c.replace_end;
  auto take = [&](const std::string& kind, std::string* name) {
    std::string prefix = start + kind + " ";
    size_t b = re.find(prefix);
    if (b == std::string::npos) return false;
    size_t e = re.find(end, b + prefix.size() + 1);
    if (e == std::string::npos) return false;
    *name = re.substr(b + prefix.size(), e - b - prefix.size());
    re.erase(b, e + end.size() - b);
    return true;
  };
  for (int pass = 0; pass <= 5; ++pass) {
    std::string pre, post, inter;
    bool have_pre = take("pre", &pre);
    bool have_post = take("post", &post);
    bool have_inter = take("inter", &inter);
    // split(/(<[^<>]+>)/, $re): text pieces and tag pieces alternate.
    std::vector<std::string> pieces;
    size_t pos = 0;     // start of the current text piece
    size_t search = 0;  // where to look for the next '<'
    while (true) {
      size_t b = re.find('<', search);
      size_t e = b == std::string::npos ? std::string::npos : re.find_first_of("<>", b + 1);
      if (b == std::string::npos || e == std::string::npos) {
        pieces.push_back(re.substr(pos));
        break;
      }
      if (re[e] == '<' || e == b + 1) {  // "<<" or "<>": not a tag here
        search = e;
        if (re[e] == '>') search = e + 1;
        continue;
      }
      pieces.push_back(re.substr(pos, b - pos));
      pieces.push_back(re.substr(b, e - b + 1));
      pos = search = e + 1;
    }
    // Perl's split drops trailing empty fields.
    while (!pieces.empty() && pieces.back().empty()) pieces.pop_back();
    auto is_tag = [&](const std::string& p) {
      return p.size() > start.size() + end.size() && p.starts_with(start) && p.ends_with(end);
    };
    if (have_pre) {
      auto it = c.replace_pre.find(pre);
      if (it != c.replace_pre.end()) {
        for (auto& p : pieces) {
          if (is_tag(p)) p = it->second + p;
        }
      }
    }
    if (have_post) {
      auto it = c.replace_post.find(post);
      if (it != c.replace_post.end()) {
        for (auto& p : pieces) {
          if (is_tag(p) || (p.find(start) != std::string::npos && p.ends_with(end)))
            p += it->second;
        }
      }
    }
    if (have_inter) {
      auto it = c.replace_inter.find(inter);
      if (it != c.replace_inter.end()) {
        for (auto& p : pieces) {
          if (p.empty()) p = it->second;
        }
      }
    }
    bool again = false;
    for (auto& p : pieces) {
      size_t b = p.find(start);
      if (b == std::string::npos) continue;
      size_t e = p.find(end, b + start.size() + 1);
      if (e == std::string::npos) continue;
      std::string tag = p.substr(b + start.size(), e - b - start.size());
      const std::string* replacement = tag.empty() ? nullptr : expand(tag);
      if (replacement == nullptr) continue;
      std::string whole = start + tag + end;
      for (size_t at; (at = p.find(whole)) != std::string::npos;)
        p.replace(at, whole.size(), *replacement);
      if (replacement->find('<') != std::string::npos &&
          replacement->find('>') != std::string::npos) {
        again = true;
      }
    }
    re.clear();
    for (const auto& p : pieces) re += p;
    if (!again) break;
  }
  return re;
}

std::string ReplaceTags(const std::string& re, const RuleConfig& c) {
  return ReplaceTags(re, c, [&](const std::string& tag) -> const std::string* {
    auto it = c.replace_tag.find(tag);
    return it == c.replace_tag.end() ? nullptr : &it->second;
  });
}

// The same expansion with every tag turned into a call of a subroutine defined once at the end
// of the pattern: "(?i)<A><B>" -> "(?i)(?&mt0)(?&mt1)(?(DEFINE)(?<mt0>...)(?<mt1>...))". PCRE2
// (since 10.30) backtracks into subroutine calls, so this matches exactly what the inline
// expansion matches, in a fraction of the compiled size (SpamAssassin's large ReplaceTags rules
// exceed PCRE2's 64 KiB compiled-pattern limit otherwise).
std::string ReplaceTagsWithSubroutines(const std::string& re, const RuleConfig& c) {
  std::map<std::string, size_t> ids;
  std::vector<std::string> calls;   // "(?&mtN)" per id, stable storage for the callback
  std::vector<std::string> bodies;  // replace_tag text per id
  calls.reserve(256);
  auto expand = [&](const std::string& tag) -> const std::string* {
    auto it = c.replace_tag.find(tag);
    if (it == c.replace_tag.end()) return nullptr;
    auto [id, inserted] = ids.emplace(tag, ids.size());
    if (inserted) {
      if (calls.size() == calls.capacity()) return &it->second;  // absurd tag count: inline
      calls.push_back(fmt::format("(?&mt{})", id->second));
      bodies.push_back(it->second);
    }
    return &calls[id->second];
  };
  std::string out = ReplaceTags(re, c, expand);
  std::string defines;
  for (size_t i = 0; i < bodies.size(); ++i) {  // bodies may grow while nested tags expand
    std::string body = ReplaceTags(bodies[i], c, expand);
    defines += fmt::format("(?<mt{}>{})", i, body);
  }
  if (!defines.empty()) out += "(?(DEFINE)" + defines + ")";
  return out;
}

// SpamAssassin's pack_eval_args(): quoted strings or bare words, comma-separated.
bool ParseEvalCall(std::string_view text, std::string* function, std::vector<std::string>* args) {
  text = Trim(text);
  size_t open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')') return false;
  *function = std::string(Trim(text.substr(0, open)));
  std::string_view inner = Trim(text.substr(open + 1, text.size() - open - 2));
  while (!inner.empty()) {
    if (inner.front() == '"' || inner.front() == '\'') {
      size_t close = inner.find(inner.front(), 1);
      if (close == std::string_view::npos) return false;
      args->emplace_back(inner.substr(1, close - 1));
      inner = Trim(inner.substr(close + 1));
    } else {
      size_t comma = inner.find(',');
      args->emplace_back(Trim(inner.substr(0, comma)));
      inner = comma == std::string_view::npos ? std::string_view() : inner.substr(comma);
    }
    if (!inner.empty()) {
      if (inner.front() != ',') return false;
      inner = Trim(inner.substr(1));
    }
  }
  return true;
}

EvalFunction LookupEval(std::string_view name, const std::vector<std::string>& args) {
  // Functions whose meaning depends on an argument are only run for the arguments implemented.
  if (name == "check_body_length")
    return args.size() == 1 ? EvalFunction::kBodyLength : EvalFunction::kNone;
  if (name == "html_tag_exists")
    return args.size() == 1 ? EvalFunction::kHtmlTagExists : EvalFunction::kNone;
  if (name == "html_test") {
    return args.size() == 1 && args[0] == "html" ? EvalFunction::kHtmlMessage : EvalFunction::kNone;
  }
  if (name == "tvd_vertical_words")
    return args.size() == 2 ? EvalFunction::kVerticalWords : EvalFunction::kNone;
  if (name == "html_range") {
    return args.size() >= 2 && args[0] == "length" ? EvalFunction::kHtmlLengthRange
                                                   : EvalFunction::kNone;
  }
  static const std::unordered_map<std::string_view, EvalFunction> kEvals = {
      {"check_dkim_signed", EvalFunction::kDkimSigned},
      {"check_dkim_valid", EvalFunction::kDkimValid},
      {"check_dkim_valid_author_sig", EvalFunction::kDkimValidAuthorSig},
      {"check_for_spf_pass", EvalFunction::kSpfPass},
      {"check_for_spf_neutral", EvalFunction::kSpfNeutral},
      {"check_for_spf_none", EvalFunction::kSpfNone},
      {"check_for_spf_fail", EvalFunction::kSpfFail},
      {"check_for_spf_softfail", EvalFunction::kSpfSoftFail},
      {"check_for_spf_permerror", EvalFunction::kSpfPermError},
      {"check_for_spf_temperror", EvalFunction::kSpfTempError},
      {"check_for_spf_helo_pass", EvalFunction::kSpfHeloPass},
      {"check_for_spf_helo_neutral", EvalFunction::kSpfHeloNeutral},
      {"check_for_spf_helo_none", EvalFunction::kSpfHeloNone},
      {"check_for_spf_helo_fail", EvalFunction::kSpfHeloFail},
      {"check_for_spf_helo_softfail", EvalFunction::kSpfHeloSoftFail},
      {"check_for_spf_helo_permerror", EvalFunction::kSpfHeloPermError},
      {"check_for_spf_helo_temperror", EvalFunction::kSpfHeloTempError},
      {"check_dmarc_pass", EvalFunction::kDmarcPass},
      {"check_dmarc_reject", EvalFunction::kDmarcReject},
      {"check_dmarc_quarantine", EvalFunction::kDmarcQuarantine},
      {"check_dmarc_none", EvalFunction::kDmarcNone},
      {"check_dmarc_missing", EvalFunction::kDmarcMissing},
      {"check_no_relays", EvalFunction::kNoRelays},
      {"gated_through_received_hdr_remover", EvalFunction::kGatedThroughReceivedRemover},
      {"check_for_matching_env_and_hdr_from", EvalFunction::kEnvAndHeaderFromMatch},
      {"check_equal_from_domains", EvalFunction::kEqualFromDomains},
      {"check_for_mime_html", EvalFunction::kMimeHtml},
      {"check_for_mime_html_only", EvalFunction::kMimeHtmlOnly},
      {"check_for_missing_to_header", EvalFunction::kMissingToHeader},
  };
  auto it = kEvals.find(name);
  return it == kEvals.end() ? EvalFunction::kNone : it->second;
}

// Glob (* and ?) against a rule name.
bool GlobMatch(std::string_view glob, std::string_view name) {
  size_t g = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

}  // namespace

size_t LoadReport::total_loaded() const {
  size_t total = 0;
  for (size_t n : loaded) total += n;
  return total;
}

int32_t RuleSet::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

std::shared_ptr<const RuleSet> RuleSet::Load(const LoadOptions& options) {
  auto set = std::shared_ptr<RuleSet>(new RuleSet());
  set->Compile(ReadRuleFiles(options.directories, options.files, options.read), options);
  return set;
}

std::shared_ptr<const RuleSet> RuleSet::FromText(std::string_view text,
                                                 const LoadOptions& options) {
  RuleConfig config = ReadRuleFiles(options.directories, options.files, options.read);
  ReadRuleText(text, "<rules>", options.read, config);
  auto set = std::shared_ptr<RuleSet>(new RuleSet());
  set->Compile(std::move(config), options);
  return set;
}

void RuleSet::Compile(RuleConfig config, const LoadOptions& options) {
  report_.files = config.files;
  report_.errors = config.errors;
  required_score_ = config.required_score;
  const int score_set = std::clamp(options.score_set, 0, 3);
  auto error = [&](const SourceLocation& where, std::string message) {
    report_.errors.push_back({where, std::move(message)});
  };

  std::vector<core::Regex> redirectors;
  for (const auto& [literal, where] : config.redirector_patterns) {
    auto re = CompileRegexLiteral(literal, options.limits);
    if (!re) {
      error(where, fmt::format("redirector_pattern {}: {}", literal, re.error().message()));
      continue;
    }
    redirectors.push_back(std::move(*re));
  }
  auto context = UriContext::Create(config.valid_tlds, config.two_level_domains,
                                    config.three_level_domains, std::move(redirectors));
  if (context) {
    uri_context_ = *context;
  } else {
    error({"util_rb_tld", 0}, "cannot build the URI pattern: " + context.error().message());
    uri_context_ = UriContext::Empty();
  }

  std::map<std::string, size_t> supported_evals;  // "header eval" -> count to take off
  for (auto& [name, def] : config.rules) {
    Rule rule;
    rule.name = name;
    rule.kind = def.kind;
    rule.where = def.where;
    rule.subrule = name.starts_with("__");
    std::string tflags;
    if (auto it = config.tflags.find(name); it != config.tflags.end()) tflags = it->second;
    rule.multiple = HasFlag(tflags, "multiple");
    rule.maxhits = rule.multiple ? MaxHits(tflags) : 0;
    rule.nosubject = HasFlag(tflags, "nosubject");
    if (auto it = config.descriptions.find(name); it != config.descriptions.end()) {
      rule.description = it->second;
    }
    if (auto it = config.scores.find(name); it != config.scores.end()) {
      rule.score = it->second.values[score_set];
    } else {
      rule.score = name.starts_with("T_") ? 0.01 : 1.0;
      if (HasFlag(tflags, "nice")) rule.score = -rule.score;
    }
    rule.enabled = rule.score != 0;

    if (def.eval) {
      std::string function;
      std::vector<std::string> args;
      if (!ParseEvalCall(std::string_view(def.definition).substr(5), &function, &args)) {
        error(def.where,
              fmt::format("rule {}: syntax error for eval function: {}", name, def.definition));
        continue;
      }
      rule.eval = LookupEval(function, args);
      if (rule.eval == EvalFunction::kNone) continue;  // counted as unsupported by the reader
      rule.eval_args = std::move(args);
      ++supported_evals[fmt::format("{} eval", RuleKindName(def.kind))];
      rules_.push_back(std::move(rule));
      continue;
    }

    std::string regex_text = def.definition;
    if (def.kind == RuleKind::kHeader) {
      std::string_view text = Trim(def.definition);
      if (text.starts_with("exists:")) {
        std::string_view header = Trim(text.substr(7));
        if (header.ends_with(':')) header.remove_suffix(1);
        bool valid = !header.empty() && std::all_of(header.begin(), header.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
        });
        if (!valid) {
          error(def.where, fmt::format("rule {}: invalid head test header: {}", name, header));
          continue;
        }
        auto query = ParseHeaderQuery(header);
        if (!query) {
          error(def.where, fmt::format("rule {}: {}", name, query.error().message()));
          continue;
        }
        rule.header = std::move(*query);
        rule.header_exists = true;
        rules_.push_back(std::move(rule));
        continue;
      }
      // ^([\w.-]+(?:\:|(?:\:[a-z]+){1,2})?)\s*([=!]~)\s*(.+)$
      size_t op = std::string_view::npos;
      for (size_t i = 0; i + 1 < text.size(); ++i) {
        if ((text[i] == '=' || text[i] == '!') && text[i + 1] == '~') {
          op = i;
          break;
        }
      }
      if (op == std::string_view::npos) {
        error(def.where, fmt::format("rule {}: invalid head test: {}", name, text));
        continue;
      }
      std::string_view spec = Trim(text.substr(0, op));
      if (spec.ends_with(':') && std::count(spec.begin(), spec.end(), ':') == 1) {
        spec.remove_suffix(1);
      }
      bool spec_ok = !spec.empty() && std::all_of(spec.begin(), spec.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
               c == ':';
      });
      if (!spec_ok || std::count(spec.begin(), spec.end(), ':') > 2) {
        error(def.where, fmt::format("rule {}: invalid head test: {}", name, text));
        continue;
      }
      auto query = ParseHeaderQuery(spec);
      if (!query) {
        error(def.where, fmt::format("rule {}: {}", name, query.error().message()));
        continue;
      }
      rule.header = std::move(*query);
      rule.header_negate = text[op] == '!';
      std::string pattern(Trim(text.substr(op + 2)));
      // "[if-unset: value]" at the end gives the value to test when the header is absent.
      if (pattern.ends_with("]")) {
        size_t at = pattern.rfind("[if-unset:");
        if (at != std::string::npos && at > 0 &&
            std::isspace(static_cast<unsigned char>(pattern[at - 1]))) {
          std::string_view value =
              Trim(std::string_view(pattern).substr(at + 10, pattern.size() - at - 11));
          rule.if_unset = std::string(value);
          pattern = std::string(Trim(std::string_view(pattern).substr(0, at)));
        }
      }
      regex_text = pattern;
    } else if (def.kind == RuleKind::kMimeheader) {
      // ^([^:\s]+(?:\:(?:raw)?)?)\s*([=!]~)\s*(.+)$
      std::string_view text = Trim(def.definition);
      size_t op = std::string_view::npos;
      for (size_t i = 0; i + 1 < text.size(); ++i) {
        if ((text[i] == '=' || text[i] == '!') && text[i + 1] == '~') {
          op = i;
          break;
        }
      }
      std::string spec(op == std::string_view::npos ? std::string_view()
                                                    : Trim(text.substr(0, op)));
      if (spec.ends_with(':')) spec.pop_back();
      bool raw = spec.size() > 4 && spec.ends_with(":raw");
      std::string name = raw ? spec.substr(0, spec.size() - 4) : spec;
      if (op == std::string_view::npos || name.empty() ||
          name.find_first_of(": \t") != std::string::npos) {
        error(def.where, fmt::format("rule {}: invalid mimeheader test: {}", name, text));
        continue;
      }
      rule.header.spec = spec;
      rule.header.name = name;
      rule.header.lower_name = name;
      std::transform(rule.header.lower_name.begin(), rule.header.lower_name.end(),
                     rule.header.lower_name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      rule.header.raw = raw;
      rule.header_negate = text[op] == '!';
      std::string pattern(Trim(text.substr(op + 2)));
      if (pattern.ends_with("]")) {
        size_t at = pattern.rfind("[if-unset:");
        if (at != std::string::npos && at > 0 &&
            std::isspace(static_cast<unsigned char>(pattern[at - 1]))) {
          rule.if_unset = std::string(
              Trim(std::string_view(pattern).substr(at + 10, pattern.size() - at - 11)));
          pattern = std::string(Trim(std::string_view(pattern).substr(0, at)));
        }
      }
      // tflags range=N-M and concat (SpamAssassin's MIMEHeader options).
      if (size_t at = tflags.find("range="); at != std::string::npos) {
        std::string_view range = std::string_view(tflags).substr(at + 6);
        range = range.substr(0, range.find_first_of(" \t"));
        size_t dash = range.find('-');
        std::string lo(range.substr(0, dash)),
            hi(dash == std::string_view::npos ? "" : range.substr(dash + 1));
        if (dash == std::string_view::npos) {
          if (!lo.empty())
            rule.mime_range_min = rule.mime_range_max =
                static_cast<uint32_t>(std::atoi(lo.c_str()));
        } else {
          if (!lo.empty()) rule.mime_range_min = static_cast<uint32_t>(std::atoi(lo.c_str()));
          if (!hi.empty()) rule.mime_range_max = static_cast<uint32_t>(std::atoi(hi.c_str()));
        }
      }
      rule.mime_concat = HasFlag(tflags, "concat");
      if (!rule.multiple) rule.maxhits = 1;
      if (rule.multiple && rule.maxhits == 0) rule.maxhits = 1000;
      regex_text = pattern;
    } else if (def.kind == RuleKind::kMeta) {
      std::string text = def.definition;
      if (text.find("::") != std::string::npos || text.find("->") != std::string::npos ||
          text.find_first_of("$@%;{}") != std::string::npos) {
        error(def.where, fmt::format("meta rule {}: invalid expression: {}", name, text));
        continue;
      }
      // rules_matching(GLOB) -> (A + B + ...) over rules that have a score line.
      for (size_t at; (at = text.find("rules_matching(")) != std::string::npos;) {
        size_t close = text.find(')', at);
        if (close == std::string::npos) break;
        std::string glob(Trim(std::string_view(text).substr(at + 15, close - at - 15)));
        std::string expansion;
        for (const auto& [scored, unused] : config.scores) {
          if (scored != name && GlobMatch(glob, scored)) {
            expansion += (expansion.empty() ? "" : "+") + scored;
          }
        }
        text.replace(at, close - at + 1, " (" + (expansion.empty() ? "0" : expansion) + ") ");
      }
      auto expression = ParseExpression(text);
      if (!expression) {
        error(def.where, fmt::format("meta rule {}: {}", name, expression.error().message()));
        continue;
      }
      for (const std::string& n : expression->names()) {
        if (!IsRuleName(n)) {
          error(def.where, fmt::format("meta rule {}: invalid token '{}'", name, n));
          expression = core::Fail(core::ErrorCode::kInvalid, "");
          break;
        }
      }
      if (!expression) continue;
      std::vector<double> zeros(expression->names().size(), 0.0);
      if (auto check = expression->Evaluate(zeros.data()); !check) {
        error(def.where, fmt::format("meta rule {}: invalid expression \"{}\": {} possible", name,
                                     def.definition, check.error().message()));
        continue;
      }
      rule.meta = std::move(*expression);
      rules_.push_back(std::move(rule));
      continue;
    }

    // header, body, rawbody, full, uri: a Perl regex literal.
    auto split = SplitRegexLiteral(Trim(regex_text));
    if (!split) {
      error(def.where, fmt::format("rule {}: invalid regexp '{}': {}", name, regex_text,
                                   split.error().message()));
      continue;
    }
    PerlRegex perl = *split;
    if (config.replace_rules.count(name)) {
      std::string inline_mods;
      for (char m : perl.modifiers) {
        if (std::string_view("imsxn").find(m) != std::string_view::npos) inline_mods += m;
      }
      std::string with_mods =
          inline_mods.empty() ? perl.pattern : "(?" + inline_mods + ")" + perl.pattern;
      std::string replaced = ReplaceTags(with_mods, config);
      if (replaced != with_mods) perl = PerlRegex{replaced, ""};
    }
    auto compiled = CompilePerlRegex(perl, options.limits);
    if (!compiled && config.replace_rules.count(name) &&
        compiled.error().message().find("too large") != std::string::npos) {
      std::string inline_mods;
      for (char m : split->modifiers) {
        if (std::string_view("imsxn").find(m) != std::string_view::npos) inline_mods += m;
      }
      PerlRegex original = *split;
      std::string with_mods =
          inline_mods.empty() ? original.pattern : "(?" + inline_mods + ")" + original.pattern;
      perl = PerlRegex{ReplaceTagsWithSubroutines(with_mods, config), ""};
      compiled = CompilePerlRegex(perl, options.limits);
    }
    if (!compiled) {
      error(def.where, fmt::format("rule {}: invalid regexp '{}': {}", name, regex_text,
                                   compiled.error().message()));
      continue;
    }
    rule.regex = std::move(*compiled);
    if (def.kind == RuleKind::kHeader) {
      // An absent header is tested as ""; knowing the answer for "" saves a regex run per
      // absent header and message.
      rule.matches_empty = rule.regex->Matches("").value_or(false);
    }
    if (options.prefilter && def.kind != RuleKind::kMimeheader) {
      if (auto literals = RequiredLiterals(perl.pattern, perl.modifiers)) {
        // Stash the literal texts in eval_args until the matcher is built below.
        rule.eval_args = std::move(*literals);
        rule.literals.push_back(0);  // marker: has literals
      }
    }
    rules_.push_back(std::move(rule));
  }

  // Supported eval rules are not "unsupported": take them off the reader's counts and list.
  report_.unsupported_counts = config.unsupported_counts;
  for (const auto& [kind, count] : supported_evals) {
    auto it = report_.unsupported_counts.find(kind);
    if (it == report_.unsupported_counts.end()) continue;
    it->second -= std::min(it->second, count);
    if (it->second == 0) report_.unsupported_counts.erase(it);
  }
  for (UnsupportedLine& line : config.unsupported) {
    if (line.kind.ends_with(" eval")) {
      size_t open = line.text.find("eval:");
      if (open != std::string::npos) {
        std::string function;
        std::vector<std::string> args;
        if (ParseEvalCall(std::string_view(line.text).substr(open + 5), &function, &args) &&
            LookupEval(function, args) != EvalFunction::kNone) {
          continue;
        }
      }
    }
    report_.unsupported.push_back(std::move(line));
  }

  for (size_t i = 0; i < rules_.size(); ++i) index_[rules_[i].name] = static_cast<int32_t>(i);

  // Meta inputs.
  for (Rule& rule : rules_) {
    if (!rule.meta) continue;
    for (const std::string& n : rule.meta->names()) {
      if (n == "local_tests_only") {
        rule.meta_inputs.push_back(kLocalTestsOnly);
      } else {
        auto it = index_.find(n);
        rule.meta_inputs.push_back(it == index_.end() ? kUndefinedRule : it->second);
      }
    }
  }
  // Cycles (a meta rule reaching itself through meta rules), found by depth-first search.
  {
    enum class Mark { kNone, kActive, kDone };
    std::vector<Mark> mark(rules_.size(), Mark::kNone);
    std::vector<int32_t> stack;
    std::set<int32_t> broken;
    std::function<void(int32_t)> visit = [&](int32_t r) {
      mark[static_cast<size_t>(r)] = Mark::kActive;
      stack.push_back(r);
      for (int32_t dep : rules_[static_cast<size_t>(r)].meta_inputs) {
        if (dep < 0 || !rules_[static_cast<size_t>(dep)].meta) continue;
        if (mark[static_cast<size_t>(dep)] == Mark::kActive) {
          auto from = std::find(stack.begin(), stack.end(), dep);
          std::string path;
          for (auto it = from; it != stack.end(); ++it) {
            path += rules_[static_cast<size_t>(*it)].name + " -> ";
            broken.insert(*it);
          }
          path += rules_[static_cast<size_t>(dep)].name;
          const Rule& at = rules_[static_cast<size_t>(r)];
          error(at.where, dep == r
                              ? fmt::format("meta rule {} refers to itself", at.name)
                              : fmt::format("meta rule {}: dependency cycle {}", at.name, path));
        } else if (mark[static_cast<size_t>(dep)] == Mark::kNone) {
          visit(dep);
        }
      }
      stack.pop_back();
      mark[static_cast<size_t>(r)] = Mark::kDone;
    };
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (rules_[i].meta && mark[i] == Mark::kNone) visit(static_cast<int32_t>(i));
    }
    // As SpamAssassin: a meta rule in a cycle evaluates to 0 (never hits); rules using it go on.
    for (int32_t r : broken) {
      Rule& rule = rules_[static_cast<size_t>(r)];
      rule.meta = *ParseExpression("0");
      rule.meta_inputs.clear();
    }
  }
  // Topological order of metas (dependencies first), and SpamAssassin's "never ready" rule:
  // a meta depending on a disabled (score 0) meta, directly or not, is never evaluated.
  {
    std::vector<int> state(rules_.size(), 0);  // 0 new, 1 visiting, 2 done
    std::vector<int32_t> order;
    std::function<void(int32_t)> visit = [&](int32_t r) {
      state[static_cast<size_t>(r)] = 1;
      for (int32_t dep : rules_[static_cast<size_t>(r)].meta_inputs) {
        if (dep >= 0 && rules_[static_cast<size_t>(dep)].meta &&
            state[static_cast<size_t>(dep)] == 0) {
          visit(dep);
        }
      }
      state[static_cast<size_t>(r)] = 2;
      order.push_back(r);
    };
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (rules_[i].meta && state[i] == 0) visit(static_cast<int32_t>(i));
    }
    for (int32_t r : order) {
      Rule& rule = rules_[static_cast<size_t>(r)];
      for (int32_t dep : rule.meta_inputs) {
        if (dep < 0) continue;
        const Rule& d = rules_[static_cast<size_t>(dep)];
        if (d.meta && (!d.enabled || d.meta_blocked)) rule.meta_blocked = true;
      }
      if (rule.enabled && !rule.meta_blocked) meta_order_.push_back(r);
    }
  }

  // Per-kind lists, header groups, prefilter literals.
  std::array<std::vector<std::string>, kRuleKindCount> literal_texts;
  std::array<std::unordered_map<std::string, uint32_t>, kRuleKindCount> literal_ids;
  std::unordered_map<std::string, size_t> group_of;
  for (size_t i = 0; i < rules_.size(); ++i) {
    Rule& rule = rules_[i];
    size_t kind = static_cast<size_t>(rule.kind);
    if (!rule.enabled) {
      ++report_.disabled[kind];
      rule.literals.clear();
      rule.eval_args.clear();
      continue;
    }
    ++report_.loaded[kind];
    if (rule.meta) continue;
    if (rule.eval != EvalFunction::kNone) {
      ++report_.eval_rules_run;
      eval_rules_.push_back(static_cast<int32_t>(i));
      continue;
    }
    by_kind_[kind].push_back(static_cast<int32_t>(i));
    if (rule.kind == RuleKind::kHeader) {
      auto [it, inserted] = group_of.emplace(rule.header.key, header_groups_.size());
      if (inserted) header_groups_.push_back({rule.header, {}});
      header_groups_[it->second].second.push_back(static_cast<int32_t>(i));
    }
    if (!rule.literals.empty()) {
      rule.literals.clear();
      for (const std::string& lit : rule.eval_args) {
        auto [it, inserted] = literal_ids[kind].emplace(lit, literal_texts[kind].size());
        if (inserted) literal_texts[kind].push_back(lit);
        rule.literals.push_back(it->second);
      }
      rule.eval_args.clear();
      ++report_.prefiltered[kind];
    }
  }
  for (size_t k = 0; k < kRuleKindCount; ++k) {
    if (!literal_texts[k].empty()) matchers_[k] = LiteralMatcher(literal_texts[k]);
  }
}

}  // namespace moat::rules
