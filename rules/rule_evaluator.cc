// rule_evaluator.cc - SpamAssassin's Check plugin loop over a compiled RuleSet.
#include "rules/rule_evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <unordered_map>

#include "rules/address_parser.h"
#include "rules/received_parser.h"

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
    MimeHeaders();
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
    const auto& groups = set_.header_groups();
    std::vector<std::optional<std::string>> values(groups.size());
    const LiteralMatcher& matcher = set_.literal_matcher(RuleKind::kHeader);
    std::vector<uint8_t> visited, found;
    for (size_t g = 0; g < groups.size(); ++g) {
      const HeaderQuery& query = groups[g].first;
      bool needs_relays = query.special == HeaderQuery::Special::kRelays ||
                          query.special == HeaderQuery::Special::kAllRange;
      values[g] =
          HeaderValue(view_, Index(), query, set_.uri_context(), needs_relays ? Relays() : nullptr);
      if (values[g] && matcher.literal_count() > 0) matcher.FindAll(*values[g], visited);
    }
    if (matcher.literal_count() > 0) matcher.Collect(visited, found);
    for (size_t g = 0; g < groups.size(); ++g) {
      const HeaderQuery& query = groups[g].first;
      const std::optional<std::string>& value = values[g];
      for (int32_t r : groups[g].second) {
        const Rule& rule = set_.rules()[static_cast<size_t>(r)];
        if (rule.header_exists) {
          if (value) {
            values_[static_cast<size_t>(r)] = 1;
            where_[static_cast<size_t>(r)] = {"header " + query.spec, "exists"};
          }
          continue;
        }
        std::string_view subject = value           ? std::string_view(*value)
                                   : rule.if_unset ? std::string_view(*rule.if_unset)
                                                   : std::string_view();
        int n;
        if (!value && !rule.if_unset) {
          n = rule.matches_empty ? 1 : 0;  // absent header: the answer for "" is known
        } else if (value && !rule.literals.empty() &&
                   std::none_of(rule.literals.begin(), rule.literals.end(),
                                [&](uint32_t id) { return found[id] != 0; })) {
          n = 0;  // a text the regex requires is in no header value
        } else {
          ++out_.regex_runs;
          uint32_t limit = rule.maxhits ? rule.maxhits : std::numeric_limits<uint32_t>::max();
          n = Count(r, subject, limit);
          if (n < 0) {
            LimitHit(r);
            continue;
          }
        }
        if (rule.header_negate) n = n == 0 ? 1 : 0;
        if (n > 0) {
          values_[static_cast<size_t>(r)] = n;
          if (rule.header_negate) {
            where_[static_cast<size_t>(r)] = {
                "header " + query.spec,
                value ? Excerpt(*value, 0, kExcerptMatch) : std::string("(absent)")};
          } else {
            Note(r, "header " + query.spec, subject);
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
      if (!rule.literals.empty() && std::none_of(rule.literals.begin(), rule.literals.end(),
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

  // SpamAssassin's MIMEHeader plugin: the rule's field in every MIME entity in turn.
  void MimeHeaders() {
    for (int32_t r : set_.rules_of_kind(RuleKind::kMimeheader)) {
      const Rule& rule = set_.rules()[static_cast<size_t>(r)];
      if (rule.header_negate) {  // SpamAssassin 4.0.1: a negated mimeheader rule always hits
        values_[static_cast<size_t>(r)] = 1;
        where_[static_cast<size_t>(r)] = {"mimeheader " + rule.header.spec, "(negated)"};
        continue;
      }
      std::string concatenated;
      int hits = 0;
      bool limited = false;
      auto check = [&](const std::string& value, size_t entity) {
        ++out_.regex_runs;
        int n = Count(r, value, rule.maxhits);
        if (n < 0) {
          limited = true;
          return false;
        }
        if (n > 0) {
          hits = n;
          Note(r, fmt::format("mimeheader {} (part {})", rule.header.spec, entity), value);
          return true;
        }
        return false;
      };
      for (size_t i = 0; i < view_.mime_entities.size(); ++i) {
        size_t idx = i + 1;
        if (idx > rule.mime_range_max) break;
        if (idx < rule.mime_range_min) continue;
        const auto& fields = view_.mime_entities[i];
        std::optional<std::string> value;
        if (rule.header.name == "ALL") {
          std::string all;
          for (const HeaderField& f : fields)
            all += f.name + ":" + (rule.header.raw ? f.raw : " " + f.decoded + "\n");
          value = all;
        } else {
          for (const HeaderField& f : fields) {
            std::string lower = f.name;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            if (lower == rule.header.lower_name) value = rule.header.raw ? f.raw : f.decoded + "\n";
          }
        }
        std::string v = value ? *value : rule.if_unset.value_or("");
        if (rule.mime_concat) {
          if (v.empty() || v.back() != '\n') v += '\n';
          concatenated += v;
          continue;
        }
        if (check(v, idx) || limited) break;
      }
      if (!limited && rule.mime_concat && hits == 0) check(concatenated, 0);
      if (limited) {
        LimitHit(r);
        continue;
      }
      if (hits > 0) values_[static_cast<size_t>(r)] = hits;
    }
  }

  std::string AuthorDomain() {
    const HeaderIndex& index = Index();
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

  // The first value of get(spec) in scalar context ("" when none).
  std::string First(const std::string& spec) {
    auto query = ParseHeaderQuery(spec);
    if (!query) return {};
    auto value = HeaderValue(view_, Index(), *query, set_.uri_context(), Relays());
    if (!value) return {};
    std::string v = *value;
    if (size_t nl = v.find('\n'); nl != std::string::npos) v.resize(nl);
    return v;
  }

  const HeaderIndex& Index() {
    if (!index_) index_ = IndexHeaders(view_);
    return *index_;
  }

  const RelayPath* Relays() {
    if (!relays_) relays_ = AnalyzeRelays(ReceivedLines(view_, Index()));
    return &*relays_;
  }

  static std::string LowerCopy(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  }

  bool LocalEval(const Rule& rule) {
    const auto& args = rule.eval_args;
    switch (rule.eval) {
      case EvalFunction::kBodyLength:
        return static_cast<double>(view_.body_size) <= std::atof(args[0].c_str());
      case EvalFunction::kNoRelays: {
        const RelayPath* r = Relays();
        return r->trusted.empty() && r->untrusted.empty() && r->unparseable == 0;
      }
      case EvalFunction::kGatedThroughReceivedRemover: {
        auto get = [&](const char* name) -> std::optional<std::string> {
          auto q = ParseHeaderQuery(name);
          return HeaderValue(view_, Index(), *q, set_.uri_context(), nullptr);
        };
        if (auto list = get("Mailing-List")) {
          static const core::Regex kEzmlm =
              *core::Regex::Compile(R"((?m)^contact \S+\@\S+\; run by ezmlm$)");
          static const core::Regex kDlto = *core::Regex::Compile(R"((?m)^mailing list \S+\@\S+)");
          static const core::Regex kQmail = *core::Regex::Compile(
              R"(qmail \d+ invoked (?:from network|by .{3,20})\); \d+ ... \d+)");
          if (kEzmlm.Matches(*list).value_or(false)) {
            std::string dlto = get("Delivered-To").value_or("");
            std::string rcvd = get("Received").value_or("");
            if (kDlto.Matches(dlto).value_or(false) && kQmail.Matches(rcvd).value_or(false))
              return true;
          }
        }
        auto rcvd = get("Received");
        if (!rcvd) return true;
        static const core::Regex kMsn =
            *core::Regex::Compile(R"(from groups\.msn\.com \(\S+\.msn\.com )");
        return kMsn.Matches(*rcvd).value_or(false);
      }
      case EvalFunction::kEnvAndHeaderFromMatch:
        return LowerCopy(First("EnvelopeFrom:addr")) == LowerCopy(First("From:addr"));
      case EvalFunction::kEqualFromDomains: {
        auto domain = [](const std::string& addr) {
          size_t at = addr.rfind('@');
          if (at == std::string::npos) return std::string();
          std::string d = addr.substr(at + 1);
          // s/^.+\.([^\.]+\.[^\.]+)$/$1/: keep the last two labels.
          size_t last = d.rfind('.');
          if (last != std::string::npos && last > 0) {
            size_t before = d.rfind('.', last - 1);
            if (before != std::string::npos && before > 0) d.erase(0, before + 1);
          }
          return d;
        };
        std::string from = domain(First("From:addr"));
        if (from.empty()) return false;
        std::string env = domain(First("EnvelopeFrom:addr"));
        if (env.empty()) return false;
        return LowerCopy(from) != LowerCopy(env);
      }
      case EvalFunction::kHtmlTagExists:
        return std::any_of(view_.html_parts.begin(), view_.html_parts.end(),
                           [&](const HtmlPartInfo& h) { return h.tags.count(args[0]) > 0; });
      case EvalFunction::kHtmlMessage:
        return !view_.html_parts.empty();
      case EvalFunction::kHtmlLengthRange: {
        double min = std::atof(args[1].c_str());
        bool unbounded = args.size() < 3 || args[2] == "inf";
        double max = unbounded ? 0 : std::atof(args[2].c_str());
        return std::any_of(view_.html_parts.begin(), view_.html_parts.end(),
                           [&](const HtmlPartInfo& h) {
                             double v = static_cast<double>(h.length);
                             return unbounded ? v > min : (v > min && v <= max);
                           });
      }
      case EvalFunction::kMimeHtml:
      case EvalFunction::kMimeHtmlOnly: {
        std::string ctype = LowerCopy(First("Content-Type"));
        if (ctype.starts_with("text/html")) return true;
        if (rule.eval == EvalFunction::kMimeHtml) return view_.text_html_parts > 0;
        return view_.text_html_parts > 0 && view_.text_other_parts == 0;
      }
      case EvalFunction::kMissingToHeader: {
        auto get = [&](const char* name) {
          auto q = ParseHeaderQuery(name);
          return HeaderValue(view_, Index(), *q, set_.uri_context(), nullptr).value_or("");
        };
        std::string to = get("To");
        if (to.empty()) to = get("Apparently-To");
        return to.empty();
      }
      case EvalFunction::kVerticalWords: {
        // BodyEval::tvd_vertical_words: the largest share of spaces on a rendered line.
        double min = std::atof(args[0].c_str()), max = std::atof(args[1].c_str());
        if (max >= 100) max = 101;
        int best = -1;
        for (const std::string& line : view_.body) {
          if (line.size() <= 5) continue;
          size_t spaces = static_cast<size_t>(std::count(line.begin(), line.end(), ' '));
          size_t others = line.size() - spaces;
          int pct =
              (spaces > others || others == 0) ? 100 : static_cast<int>(100 * spaces / others);
          best = std::max(best, pct);
        }
        return best >= min && best < max;
      }
      default:
        return false;
    }
  }

  bool EvalHit(const Rule& rule) {
    const AuthenticationResults& auth = view_.auth;
    auto domain_ok = [&](const std::string& d) {
      if (rule.eval_args.empty()) return true;
      for (const std::string& want : rule.eval_args) {
        std::string w = want, dd = d;
        std::transform(w.begin(), w.end(), w.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::transform(dd.begin(), dd.end(), dd.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (w == dd) return true;
      }
      return false;
    };
    switch (rule.eval) {
      case EvalFunction::kDkimSigned:
        return auth.dkim &&
               std::any_of(auth.dkim->begin(), auth.dkim->end(),
                           [&](const DkimSignatureResult& s) { return domain_ok(s.domain); });
      case EvalFunction::kDkimValid:
        return auth.dkim &&
               std::any_of(auth.dkim->begin(), auth.dkim->end(), [&](const DkimSignatureResult& s) {
                 return s.valid && domain_ok(s.domain);
               });
      case EvalFunction::kDkimValidAuthorSig: {
        if (!auth.dkim) return false;
        std::string author = AuthorDomain();
        if (author.empty()) return false;
        return std::any_of(auth.dkim->begin(), auth.dkim->end(), [&](const DkimSignatureResult& s) {
          std::string d = s.domain;
          std::transform(d.begin(), d.end(), d.begin(),
                         [](unsigned char c) { return std::tolower(c); });
          return s.valid && (author == d || author.ends_with("." + d));
        });
      }
      case EvalFunction::kSpfPass:
        return auth.spf == AuthResult::kPass;
      case EvalFunction::kSpfNeutral:
        return auth.spf == AuthResult::kNeutral;
      case EvalFunction::kSpfNone:
        return auth.spf == AuthResult::kNone;
      case EvalFunction::kSpfFail:
        return auth.spf == AuthResult::kFail;
      case EvalFunction::kSpfSoftFail:
        return auth.spf == AuthResult::kSoftFail;
      case EvalFunction::kSpfPermError:
        return auth.spf == AuthResult::kPermError;
      case EvalFunction::kSpfTempError:
        return auth.spf == AuthResult::kTempError;
      case EvalFunction::kSpfHeloPass:
        return auth.spf_helo == AuthResult::kPass;
      case EvalFunction::kSpfHeloNeutral:
        return auth.spf_helo == AuthResult::kNeutral;
      case EvalFunction::kSpfHeloNone:
        return auth.spf_helo == AuthResult::kNone;
      case EvalFunction::kSpfHeloFail:
        return auth.spf_helo == AuthResult::kFail;
      case EvalFunction::kSpfHeloSoftFail:
        return auth.spf_helo == AuthResult::kSoftFail;
      case EvalFunction::kSpfHeloPermError:
        return auth.spf_helo == AuthResult::kPermError;
      case EvalFunction::kSpfHeloTempError:
        return auth.spf_helo == AuthResult::kTempError;
      case EvalFunction::kDmarcPass:
        return auth.dmarc == "pass";
      case EvalFunction::kDmarcReject:
        return auth.dmarc == "reject";
      case EvalFunction::kDmarcQuarantine:
        return auth.dmarc == "quarantine";
      case EvalFunction::kDmarcNone:
        return auth.dmarc == "none";
      case EvalFunction::kDmarcMissing:
        return auth.dmarc == "missing";
      case EvalFunction::kNone:
        return false;
      default:
        return LocalEval(rule);
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
  std::optional<HeaderIndex> index_;
  std::optional<RelayPath> relays_;
  std::vector<double> values_;
  std::vector<Where> where_;
  Evaluation out_;
};

}  // namespace

Evaluation Evaluate(const RuleSet& rules, const MessageView& view) { return Run(rules, view).Go(); }

}  // namespace moat::rules
