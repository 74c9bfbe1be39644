// rule_evaluator.cc - SpamAssassin's Check plugin loop over a compiled RuleSet.
#include "rules/rule_evaluator.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>

#include "rules/address_parser.h"

namespace moat::rules {

namespace {

constexpr size_t kExcerptContext = 20;
constexpr size_t kExcerptMatch = 60;

std::string Excerpt(std::string_view subject, size_t begin, size_t end) {
  size_t from = begin > kExcerptContext ? begin - kExcerptContext : 0;
  size_t to = std::min(subject.size(), std::min(end, begin + kExcerptMatch) + kExcerptContext);
  std::string out;
  if (from > 0) out += "...";
  for (char c : subject.substr(from, to - from)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  if (to < subject.size()) out += "...";
  return out;
}

class Run {
 public:
  Run(const RuleSet& set, const MessageView& view)
      : set_(set), view_(view), values_(set.rules().size(), 0.0), where_(set.rules().size()) {}

  Evaluation Go() {
    Headers();
    Lines(RuleKind::kBody, view_.body, "body");
    Lines(RuleKind::kUri, view_.uris, "uri");
    Lines(RuleKind::kRawbody, view_.rawbody, "rawbody");
    const std::string_view full[1] = {view_.full};
    Lines(RuleKind::kFull, full, "full");
    Evals();
    Metas();
    return Collect();
  }

 private:
  struct Where {
    std::string area;
    std::string excerpt;
  };

  // Matches of `rule` in `subject`, at most `limit`; -1 when a match limit was hit.
  int Count(int32_t r, std::string_view subject, uint32_t limit) {
    const Rule& rule = set_.rules()[static_cast<size_t>(r)];
    const core::Regex& re = *rule.regex;
    if (!rule.multiple) {
      auto matched = re.Matches(subject);
      if (!matched) return -1;
      return *matched ? 1 : 0;
    }
    int count = 0;
    size_t pos = 0;
    while (pos <= subject.size() && static_cast<uint32_t>(count) < limit) {
      auto m = re.Search(subject, pos);
      if (!m) return -1;
      if (!m->has_value()) break;
      ++count;
      const RegexGroup& g = (*m)->group(0);
      pos = g.end > g.begin ? g.end : g.end + 1;
    }
    return count;
  }

  void Note(int32_t r, std::string area, std::string_view subject) {
    Where& w = where_[static_cast<size_t>(r)];
    if (!w.area.empty()) return;
    w.area = std::move(area);
    const Rule& rule = set_.rules()[static_cast<size_t>(r)];
    if (rule.regex) {
      auto m = rule.regex->Search(subject);
      if (m && m->has_value()) {
        w.excerpt = Excerpt(subject, (*m)->group(0).begin, (*m)->group(0).end);
        return;
      }
    }
    w.excerpt = Excerpt(subject, 0, std::min<size_t>(subject.size(), kExcerptMatch));
  }

  void LimitHit(int32_t r) {
    out_.limit_exceeded.push_back(set_.rules()[static_cast<size_t>(r)].name);
    values_[static_cast<size_t>(r)] = 0;
  }

  void Headers() {
    HeaderIndex index = IndexHeaders(view_);
    for (const auto& [query, members] : set_.header_groups()) {
      std::optional<std::string> value = HeaderValue(view_, index, query, set_.uri_context());
      for (int32_t r : members) {
        const Rule& rule = set_.rules()[static_cast<size_t>(r)];
        if (rule.header_exists) {
          if (value) {
            values_[static_cast<size_t>(r)] = 1;
            where_[static_cast<size_t>(r)] = {"header " + query.name, "exists"};
          }
          continue;
        }
        ++out_.regex_runs;
        std::string_view subject = value ? std::string_view(*value)
                                   : rule.if_unset ? std::string_view(*rule.if_unset)
                                                   : std::string_view();
        uint32_t limit = rule.maxhits ? rule.maxhits : std::numeric_limits<uint32_t>::max();
        int n = Count(r, subject, limit);
        if (n < 0) {
          LimitHit(r);
          continue;
        }
        if (rule.header_negate) n = n == 0 ? 1 : 0;
        if (n > 0) {
          values_[static_cast<size_t>(r)] = n;
          if (rule.header_negate) {
            where_[static_cast<size_t>(r)] = {"header " + query.name,
                                              value ? Excerpt(*value, 0, kExcerptMatch)
                                                    : std::string("(absent)")};
          } else {
            Note(r, "header " + query.name, subject);
          }
        }
      }
    }
  }

  template <typename Container>
  void Lines(RuleKind kind, const Container& lines, const char* area) {
    const auto& members = set_.rules_of_kind(kind);
    if (members.empty()) return;
    const LiteralMatcher& matcher = set_.literal_matcher(kind);
    std::vector<uint8_t> found;
    if (matcher.literal_count() > 0) {
      std::vector<uint8_t> visited;
      for (std::string_view line : lines) matcher.FindAll(line, visited);
      matcher.Collect(visited, found);
    }
    for (int32_t r : members) {
      const Rule& rule = set_.rules()[static_cast<size_t>(r)];
      if (!rule.literals.empty() &&
          std::none_of(rule.literals.begin(), rule.literals.end(),
                       [&](uint32_t id) { return found[id] != 0; })) {
        continue;
      }
      ++out_.regex_runs;
      uint32_t limit = rule.maxhits ? rule.maxhits : std::numeric_limits<uint32_t>::max();
      uint32_t total = 0;
      bool limited = false;
      size_t line_count = std::size(lines);
      for (size_t i = 0; i < line_count; ++i) {
        if (i == 0 && rule.nosubject && kind == RuleKind::kBody) continue;
        int n = Count(r, lines[i], limit - total);
        if (n < 0) {
          limited = true;
          break;
        }
        if (n > 0) {
          if (total == 0) Note(r, area, lines[i]);
          total += static_cast<uint32_t>(n);
          if (!rule.multiple || total >= limit) break;
        }
      }
      if (limited) {
        LimitHit(r);
        continue;
      }
      values_[static_cast<size_t>(r)] = total;
    }
  }

  std::string AuthorDomain() const {
    HeaderIndex index = IndexHeaders(view_);
    auto it = index.find("from");
    if (it == index.end()) return {};
    for (const ParsedAddress& a : ParseHeaderAddresses(view_.headers[it->second.back()].raw)) {
      if (!a.address) continue;
      size_t at = a.address->rfind('@');
      if (at == std::string::npos) continue;
      std::string domain = a.address->substr(at + 1);
      std::transform(domain.begin(), domain.end(), domain.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      return domain;
    }
    return {};
  }

  bool EvalHit(const Rule& rule) const {
    const AuthenticationResults& auth = view_.auth;
    auto domain_ok = [&](const std::string& d) {
      if (rule.eval_args.empty()) return true;
      for (const std::string& want : rule.eval_args) {
        std::string w = want, dd = d;
        std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
        std::transform(dd.begin(), dd.end(), dd.begin(), [](unsigned char c) { return std::tolower(c); });
        if (w == dd) return true;
      }
      return false;
    };
    switch (rule.eval) {
      case EvalFunction::kDkimSigned:
        return auth.dkim && std::any_of(auth.dkim->begin(), auth.dkim->end(),
                                        [&](const DkimSignatureResult& s) { return domain_ok(s.domain); });
      case EvalFunction::kDkimValid:
        return auth.dkim && std::any_of(auth.dkim->begin(), auth.dkim->end(), [&](const DkimSignatureResult& s) {
                 return s.valid && domain_ok(s.domain);
               });
      case EvalFunction::kDkimValidAuthorSig: {
        if (!auth.dkim) return false;
        std::string author = AuthorDomain();
        if (author.empty()) return false;
        return std::any_of(auth.dkim->begin(), auth.dkim->end(), [&](const DkimSignatureResult& s) {
          std::string d = s.domain;
          std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
          return s.valid && (author == d || author.ends_with("." + d));
        });
      }
      case EvalFunction::kSpfPass: return auth.spf == AuthResult::kPass;
      case EvalFunction::kSpfNeutral: return auth.spf == AuthResult::kNeutral;
      case EvalFunction::kSpfNone: return auth.spf == AuthResult::kNone;
      case EvalFunction::kSpfFail: return auth.spf == AuthResult::kFail;
      case EvalFunction::kSpfSoftFail: return auth.spf == AuthResult::kSoftFail;
      case EvalFunction::kSpfPermError: return auth.spf == AuthResult::kPermError;
      case EvalFunction::kSpfTempError: return auth.spf == AuthResult::kTempError;
      case EvalFunction::kSpfHeloPass: return auth.spf_helo == AuthResult::kPass;
      case EvalFunction::kSpfHeloNeutral: return auth.spf_helo == AuthResult::kNeutral;
      case EvalFunction::kSpfHeloNone: return auth.spf_helo == AuthResult::kNone;
      case EvalFunction::kSpfHeloFail: return auth.spf_helo == AuthResult::kFail;
      case EvalFunction::kSpfHeloSoftFail: return auth.spf_helo == AuthResult::kSoftFail;
      case EvalFunction::kSpfHeloPermError: return auth.spf_helo == AuthResult::kPermError;
      case EvalFunction::kSpfHeloTempError: return auth.spf_helo == AuthResult::kTempError;
      case EvalFunction::kDmarcPass: return auth.dmarc == "pass";
      case EvalFunction::kDmarcReject: return auth.dmarc == "reject";
      case EvalFunction::kDmarcQuarantine: return auth.dmarc == "quarantine";
      case EvalFunction::kDmarcNone: return auth.dmarc == "none";
      case EvalFunction::kDmarcMissing: return auth.dmarc == "missing";
      case EvalFunction::kNone: return false;
    }
    return false;
  }

  void Evals() {
    for (int32_t r : set_.eval_rules()) {
      const Rule& rule = set_.rules()[static_cast<size_t>(r)];
      if (EvalHit(rule)) {
        values_[static_cast<size_t>(r)] = 1;
        where_[static_cast<size_t>(r)] = {"eval", rule.name};
      }
    }
  }

  void Metas() {
    std::vector<double> inputs;
    for (int32_t r : set_.meta_order()) {
      const Rule& rule = set_.rules()[static_cast<size_t>(r)];
      inputs.clear();
      for (int32_t dep : rule.meta_inputs) {
        inputs.push_back(dep == -2 ? 1.0 : dep < 0 ? 0.0 : values_[static_cast<size_t>(dep)]);
      }
      auto result = rule.meta->Evaluate(inputs.data());
      if (!result || *result == 0) continue;
      values_[static_cast<size_t>(r)] = *result > 0 ? *result : 1.0;
      where_[static_cast<size_t>(r)] = {"meta", rule.meta->text()};
    }
  }

  Evaluation Collect() {
    for (size_t i = 0; i < values_.size(); ++i) {
      if (values_[i] <= 0) continue;
      const Rule& rule = set_.rules()[i];
      if (!rule.enabled) continue;
      if (rule.subrule) {
        out_.subrule_hits.push_back(rule.name);
        continue;
      }
      RuleHit hit;
      hit.name = rule.name;
      hit.kind = rule.kind;
      hit.eval = rule.eval != EvalFunction::kNone;
      hit.count = rule.meta ? 1 : static_cast<int>(values_[i]);
      hit.rule_score = rule.score;
      hit.score = rule.score * hit.count;
      hit.description = rule.description;
      hit.area = std::move(where_[i].area);
      hit.excerpt = std::move(where_[i].excerpt);
      out_.score += hit.score;
      out_.hits.push_back(std::move(hit));
    }
    // rules_ is sorted by name already (built from a std::map); keep it explicit.
    std::sort(out_.hits.begin(), out_.hits.end(),
              [](const RuleHit& a, const RuleHit& b) { return a.name < b.name; });
    std::sort(out_.subrule_hits.begin(), out_.subrule_hits.end());
    return std::move(out_);
  }

  using RegexGroup = core::RegexGroup;

  const RuleSet& set_;
  const MessageView& view_;
  std::vector<double> values_;
  std::vector<Where> where_;
  Evaluation out_;
};

}  // namespace

Evaluation Evaluate(const RuleSet& rules, const MessageView& view) { return Run(rules, view).Go(); }

}  // namespace moat::rules
