// spf_evaluator.cc - see spf_evaluator.h.
#include "mta/spf_evaluator.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "core/ip_network.h"
#include "mta/spf_macro.h"
#include "mta/spf_record.h"

namespace moat::mta {
namespace {

using core::SpfResult;

constexpr int kMaxDepth = 24;  // the lookup limit ends loops long before this

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

asio::ip::address Unmapped(const asio::ip::address& ip) {
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  }
  return ip;
}

core::IpAddress ToCore(const asio::ip::address& ip) {
  if (ip.is_v4()) {
    auto raw = ip.to_v4().to_bytes();
    uint8_t bytes[4] = {raw[0], raw[1], raw[2], raw[3]};
    return core::IpAddress::V4(bytes);
  }
  auto raw = ip.to_v6().to_bytes();
  uint8_t bytes[16];
  std::copy(raw.begin(), raw.end(), bytes);
  return core::IpAddress::V6(bytes);
}

// RFC 7208 4.3: a malformed or single-label domain has no SPF policy.
bool IsCheckableDomain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 253 || domain.front() == '[') return false;
  if (domain.find('.') == std::string_view::npos) return false;
  size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The result of one step: either it continues (matched or not) or the evaluation ends with an
// error result (temperror/permerror), carried in `abort`.
struct Outcome {
  SpfResult result = SpfResult::kNeutral;
  std::string mechanism;
  std::string explanation;
  std::string problem;
};

struct Step {
  bool matched = false;
  std::optional<Outcome> abort;
};

Outcome Error(SpfResult result, std::string problem) {
  Outcome outcome;
  outcome.result = result;
  outcome.problem = std::move(problem);
  return outcome;
}

template <typename Record>
struct Lookup {
  std::vector<Record> records;
  std::optional<Outcome> abort;
};

class Evaluation {
 public:
  Evaluation(SpfDns& dns, const SpfOptions& options, const SpfRequest& request,
             std::string sender)
      : dns_(dns),
        options_(options),
        ip_(Unmapped(request.client_ip)),
        client_(ToCore(ip_)),
        deadline_(std::chrono::steady_clock::now() + options.time_limit) {
    size_t at = sender.rfind('@');
    values_.sender = sender;
    values_.local_part = at == std::string::npos ? "postmaster" : sender.substr(0, at);
    if (values_.local_part.empty()) values_.local_part = "postmaster";
    values_.sender_domain = at == std::string::npos ? sender : sender.substr(at + 1);
    values_.sender = values_.local_part + "@" + values_.sender_domain;
    values_.ip = ip_;
    values_.helo = request.helo;
    values_.receiver = request.receiver.empty() ? "unknown" : request.receiver;
    values_.timestamp = request.now != 0 ? request.now : static_cast<int64_t>(std::time(nullptr));
  }

  const std::string& sender() const { return values_.sender; }
  int lookups() const { return lookups_; }
  int voids() const { return voids_; }

  asio::awaitable<Outcome> CheckHost(std::string domain, int depth) {
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (!IsCheckableDomain(domain)) {
      Outcome none;
      none.result = SpfResult::kNone;
      co_return none;
    }
    if (depth > kMaxDepth) co_return Error(SpfResult::kPermError, "include/redirect loop");
    auto txt = co_await Txt(domain, false);
    if (txt.abort) co_return *txt.abort;
    std::vector<std::string> spf;
    for (const core::TxtRecord& record : txt.records) {
      std::string joined = record.Joined();
      if (IsSpfRecord(joined)) spf.push_back(std::move(joined));
    }
    if (spf.empty()) {
      Outcome none;
      none.result = SpfResult::kNone;
      co_return none;
    }
    if (spf.size() > 1) {
      co_return Error(SpfResult::kPermError,
                      fmt::format("two or more SPF records found for {}", domain));
    }
    auto record = ParseSpfRecord(spf.front());
    if (!record) {
      co_return Error(SpfResult::kPermError,
                      fmt::format("{}: {}", domain, record.error().message()));
    }
    auto outcome = co_await Evaluate(*record, domain, depth);
    co_return outcome;
  }

 private:
  bool PastDeadline() const { return std::chrono::steady_clock::now() >= deadline_; }

  std::optional<Outcome> CountLookup() {
    if (++lookups_ > options_.max_dns_mechanisms) {
      return Error(SpfResult::kPermError,
                   fmt::format("more than {} DNS lookups", options_.max_dns_mechanisms));
    }
    return std::nullopt;
  }

  // Maps a DNS answer to records, counting void answers; a temporary error aborts with
  // temperror, a malformed name reads as an empty answer (there can be no such record).
  template <typename Record>
  Lookup<Record> Finish(core::Result<core::DnsAnswer<Record>>& answer, bool count_void) {
    Lookup<Record> out;
    if (!answer) {
      if (answer.error().code() != core::ErrorCode::kPermFail) {
        out.abort = Error(SpfResult::kTempError, answer.error().message());
        return out;
      }
    } else {
      out.records = std::move(answer->records);
    }
    if (out.records.empty() && count_void && ++voids_ > options_.max_void_lookups) {
      out.abort = Error(SpfResult::kPermError,
                        fmt::format("void lookup limit of {} exceeded", options_.max_void_lookups));
    }
    return out;
  }

  std::optional<Outcome> DeadlineCheck() {
    if (PastDeadline()) return Error(SpfResult::kTempError, "SPF evaluation time limit exceeded");
    return std::nullopt;
  }

  asio::awaitable<Lookup<core::TxtRecord>> Txt(std::string name, bool ignore_void) {
    if (auto late = DeadlineCheck()) co_return Lookup<core::TxtRecord>{{}, late};
    auto answer = co_await dns_.Txt(std::move(name));
    co_return Finish(answer, !ignore_void);
  }

  // A records for IPv4 clients, AAAA for IPv6 ones (or A when `force_a`, for exists).
  asio::awaitable<Lookup<core::AddressRecord>> Addresses(std::string name, bool force_a) {
    if (auto late = DeadlineCheck()) co_return Lookup<core::AddressRecord>{{}, late};
    if (force_a || ip_.is_v4()) {
      auto answer = co_await dns_.A(std::move(name));
      co_return Finish(answer, true);
    }
    auto answer = co_await dns_.Aaaa(std::move(name));
    co_return Finish(answer, true);
  }

  bool Covers(const std::vector<core::AddressRecord>& records, int cidr4, int cidr6) const {
    for (const auto& record : records) {
      asio::ip::address address = Unmapped(record.address);
      if (address.is_v4() != ip_.is_v4()) continue;
      core::IpNetwork network(ToCore(address), ip_.is_v4() ? cidr4 : cidr6);
      if (network.Contains(client_)) return true;
    }
    return false;
  }

  // The client's validated host names (RFC 7208 5.5), looked up once per evaluation.
  asio::awaitable<std::optional<Outcome>> ValidatedNames() {
    if (validated_) co_return std::nullopt;
    validated_.emplace();
    if (auto late = DeadlineCheck()) co_return late;
    auto ptr_answer = co_await dns_.Ptr(ip_);
    if (!ptr_answer) co_return std::nullopt;  // 5.5: a PTR lookup error is "no match"
    if (ptr_answer->records.empty() && ++voids_ > options_.max_void_lookups) {
      co_return Error(SpfResult::kPermError,
                      fmt::format("void lookup limit of {} exceeded", options_.max_void_lookups));
    }
    size_t count = std::min<size_t>(ptr_answer->records.size(),
                                    static_cast<size_t>(options_.max_ptr_names));
    for (size_t i = 0; i < count; ++i) {
      std::string name = ptr_answer->records[i].name;
      if (auto late = DeadlineCheck()) co_return late;
      core::Result<core::DnsAnswer<core::AddressRecord>> answer =
          core::Fail(core::ErrorCode::kTempFail, "not asked");
      if (ip_.is_v4()) {
        auto a = co_await dns_.A(name);
        answer = std::move(a);
      } else {
        auto aaaa = co_await dns_.Aaaa(name);
        answer = std::move(aaaa);
      }
      if (!answer) continue;  // 5.5: a name whose address lookup fails is skipped
      if (answer->records.empty() && ++voids_ > options_.max_void_lookups) {
        co_return Error(SpfResult::kPermError, fmt::format("void lookup limit of {} exceeded",
                                                           options_.max_void_lookups));
      }
      if (Covers(answer->records, 32, 128)) validated_->push_back(Lower(name));
    }
    co_return std::nullopt;
  }

  static bool IsSameOrSubdomain(std::string_view name, std::string_view domain) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    if (name == domain) return true;
    return name.size() > domain.size() && name.ends_with(domain) &&
           name[name.size() - domain.size() - 1] == '.';
  }

  // Expands a domain-spec ("" = the current domain), resolving %{p} first when it is used.
  asio::awaitable<std::variant<std::string, Outcome>> ExpandDomain(const std::string& spec,
                                                                  const std::string& domain) {
    if (spec.empty()) co_return domain;
    SpfMacroValues values = values_;
    values.domain = domain;
    if (UsesPtrMacro(spec)) {
      auto failed = co_await ValidatedNames();
      if (failed) co_return *failed;
      values.validated_ptr = PickValidatedName(domain);
    }
    auto expanded = ExpandSpfMacros(spec, values, SpfMacroMode::kDomainSpec);
    if (!expanded) {
      co_return Error(SpfResult::kPermError, expanded.error().message());
    }
    co_return TruncateSpfDomain(*expanded);
  }

  std::string PickValidatedName(const std::string& domain) const {
    const std::string target = Lower(domain);
    for (const auto& name : *validated_) {
      if (name == target) return name;
    }
    for (const auto& name : *validated_) {
      if (IsSameOrSubdomain(name, target)) return name;
    }
    return validated_->empty() ? "unknown" : validated_->front();
  }

  asio::awaitable<Step> Match(const SpfMechanism& mechanism, const std::string& domain,
                              int depth) {
    Step step;
    if (mechanism.kind == SpfMechanismKind::kAll) {
      step.matched = true;
      co_return step;
    }
    if (mechanism.kind == SpfMechanismKind::kIp4 || mechanism.kind == SpfMechanismKind::kIp6) {
      step.matched = mechanism.network->Contains(client_);
      co_return step;
    }
    if (auto over = CountLookup()) {
      step.abort = over;
      co_return step;
    }
    auto target_or_error = co_await ExpandDomain(mechanism.domain_spec, domain);
    if (auto* error = std::get_if<Outcome>(&target_or_error)) {
      step.abort = *error;
      co_return step;
    }
    std::string target = std::get<std::string>(std::move(target_or_error));

    switch (mechanism.kind) {
      case SpfMechanismKind::kInclude: {
        Outcome sub = co_await CheckHost(target, depth + 1);
        switch (sub.result) {
          case SpfResult::kPass: step.matched = true; break;
          case SpfResult::kFail:
          case SpfResult::kSoftFail:
          case SpfResult::kNeutral: break;
          case SpfResult::kTempError: step.abort = sub; break;
          case SpfResult::kPermError: step.abort = sub; break;
          case SpfResult::kNone:
            step.abort = Error(SpfResult::kPermError,
                               fmt::format("included domain {} has no SPF record", target));
            break;
        }
        co_return step;
      }
      case SpfMechanismKind::kA: {
        auto lookup = co_await Addresses(target, false);
        step.abort = lookup.abort;
        step.matched = !lookup.abort && Covers(lookup.records, mechanism.cidr4, mechanism.cidr6);
        co_return step;
      }
      case SpfMechanismKind::kExists: {
        auto lookup = co_await Addresses(target, true);
        step.abort = lookup.abort;
        step.matched = !lookup.abort && !lookup.records.empty();
        co_return step;
      }
      case SpfMechanismKind::kMx: {
        if (auto late = DeadlineCheck()) {
          step.abort = late;
          co_return step;
        }
        auto answer = co_await dns_.Mx(target);
        auto mx = Finish(answer, true);
        if (mx.abort) {
          step.abort = mx.abort;
          co_return step;
        }
        if (mx.records.size() > static_cast<size_t>(options_.max_mx_names)) {
          step.abort = Error(SpfResult::kPermError,
                             fmt::format("more than {} MX records for {}", options_.max_mx_names,
                                         target));
          co_return step;
        }
        for (const core::MxRecord& record : mx.records) {
          if (record.exchange.empty()) continue;  // null MX (RFC 7505)
          auto lookup = co_await Addresses(record.exchange, false);
          if (lookup.abort) {
            step.abort = lookup.abort;
            co_return step;
          }
          if (Covers(lookup.records, mechanism.cidr4, mechanism.cidr6)) {
            step.matched = true;
            co_return step;
          }
        }
        co_return step;
      }
      case SpfMechanismKind::kPtr: {
        auto failed = co_await ValidatedNames();
        if (failed) {
          step.abort = failed;
          co_return step;
        }
        std::string wanted = Lower(target);
        step.matched = std::any_of(validated_->begin(), validated_->end(),
                                   [&](const std::string& name) {
                                     return IsSameOrSubdomain(name, wanted);
                                   });
        co_return step;
      }
      default:
        co_return step;
    }
  }

  // exp= (RFC 7208 6.2): any problem means "no explanation", never a different result.
  asio::awaitable<std::string> Explanation(const std::string& spec, const std::string& domain) {
    auto target_or_error = co_await ExpandDomain(spec, domain);
    auto* target = std::get_if<std::string>(&target_or_error);
    if (target == nullptr || target->empty()) co_return std::string();
    auto txt = co_await Txt(*target, true);
    if (txt.abort || txt.records.size() != 1) co_return std::string();
    std::string text = txt.records.front().Joined();
    if (!IsAscii(text)) co_return std::string();
    SpfMacroValues values = values_;
    values.domain = domain;
    if (UsesPtrMacro(text)) {
      auto failed = co_await ValidatedNames();
      if (failed) co_return std::string();
      values.validated_ptr = PickValidatedName(domain);
    }
    auto expanded = ExpandSpfMacros(text, values, SpfMacroMode::kExplanation);
    if (!expanded) co_return std::string();
    co_return *expanded;
  }

  asio::awaitable<Outcome> Evaluate(const SpfRecord& record, const std::string& domain,
                                    int depth) {
    for (const SpfMechanism& mechanism : record.mechanisms) {
      Step step = co_await Match(mechanism, domain, depth);
      if (step.abort) co_return *step.abort;
      if (!step.matched) continue;
      Outcome outcome;
      outcome.result = mechanism.qualifier;
      outcome.mechanism = mechanism.text;
      if (outcome.result == SpfResult::kFail && record.exp) {
        outcome.explanation = co_await Explanation(*record.exp, domain);
      }
      co_return outcome;
    }
    if (record.redirect && !record.has_all) {
      if (auto over = CountLookup()) co_return *over;
      auto target_or_error = co_await ExpandDomain(*record.redirect, domain);
      if (auto* error = std::get_if<Outcome>(&target_or_error)) co_return *error;
      std::string target = std::get<std::string>(std::move(target_or_error));
      Outcome sub = co_await CheckHost(target, depth + 1);
      if (sub.result == SpfResult::kNone) {
        co_return Error(SpfResult::kPermError,
                        fmt::format("redirect domain {} has no SPF record", target));
      }
      co_return sub;
    }
    Outcome neutral;
    neutral.result = SpfResult::kNeutral;
    neutral.mechanism = "default";
    co_return neutral;
  }

  SpfDns& dns_;
  const SpfOptions& options_;
  asio::ip::address ip_;
  core::IpAddress client_;
  std::chrono::steady_clock::time_point deadline_;
  SpfMacroValues values_;
  int lookups_ = 0;
  int voids_ = 0;
  std::optional<std::vector<std::string>> validated_;
};

}  // namespace

asio::awaitable<SpfCheck> SpfEvaluator::CheckHost(const SpfRequest& request, std::string domain,
                                                  std::string sender,
                                                  core::SpfIdentity identity) {
  Evaluation evaluation(dns_, options_, request, sender);
  SpfCheck check;
  check.identity = identity;
  check.domain = Lower(domain);
  if (!check.domain.empty() && check.domain.back() == '.') check.domain.pop_back();
  check.sender = evaluation.sender();
  Outcome outcome = co_await evaluation.CheckHost(domain, 0);
  check.result = outcome.result;
  check.mechanism = std::move(outcome.mechanism);
  check.explanation = std::move(outcome.explanation);
  check.problem = std::move(outcome.problem);
  check.dns_mechanisms = evaluation.lookups();
  check.void_lookups = evaluation.voids();
  co_return check;
}

asio::awaitable<SpfCheck> SpfEvaluator::CheckMailFrom(const SpfRequest& request) {
  std::string sender = request.sender;
  size_t at = sender.rfind('@');
  std::string domain;
  if (sender.empty()) {
    sender = "postmaster@" + request.helo;
    domain = request.helo;
  } else if (at == std::string::npos) {
    domain = sender;  // a bare domain: RFC 7208 4.3 reads it as postmaster@domain
    sender = "postmaster@" + sender;
  } else {
    domain = sender.substr(at + 1);
  }
  auto check = co_await CheckHost(request, domain, sender, core::SpfIdentity::kMailFrom);
  co_return check;
}

asio::awaitable<SpfCheck> SpfEvaluator::CheckHelo(const SpfRequest& request) {
  auto check = co_await CheckHost(request, request.helo, "postmaster@" + request.helo,
                                  core::SpfIdentity::kHelo);
  co_return check;
}

std::string SpfResultComment(const SpfCheck& check, const SpfRequest& request) {
  std::string ip = Unmapped(request.client_ip).to_string();
  std::string prefix = request.receiver.empty() ? "" : request.receiver + ": ";
  switch (check.result) {
    case SpfResult::kPass:
      return fmt::format("{}domain of {} designates {} as permitted sender", prefix, check.sender,
                         ip);
    case SpfResult::kFail:
      return fmt::format("{}domain of {} does not designate {} as permitted sender", prefix,
                         check.sender, ip);
    case SpfResult::kSoftFail:
      return fmt::format("{}transitioning domain of {} does not designate {} as permitted sender",
                         prefix, check.sender, ip);
    case SpfResult::kNeutral:
      return fmt::format("{}{} is neither permitted nor denied by domain of {}", prefix, ip,
                         check.sender);
    case SpfResult::kNone:
      return fmt::format("{}domain of {} does not designate permitted sender hosts", prefix,
                         check.sender);
    case SpfResult::kTempError:
      return fmt::format("{}temporary error in processing during lookup of {}", prefix,
                         check.sender);
    case SpfResult::kPermError:
      return fmt::format("{}permanent error in processing domain of {}", prefix, check.domain);
  }
  return {};
}

std::string SpfReceivedHeader(const SpfCheck& check, const SpfRequest& request,
                              std::string_view line_ending) {
  core::ReceivedSpf field;
  field.result = check.result;
  field.identity = check.identity;
  field.comment = SpfResultComment(check, request);
  field.receiver = request.receiver;
  field.client_ip = Unmapped(request.client_ip).to_string();
  field.envelope_from = check.identity == core::SpfIdentity::kMailFrom ? check.sender
                                                                       : request.sender;
  field.helo = request.helo;
  field.problem = check.problem;
  field.mechanism = check.mechanism;
  return core::FormatReceivedSpf(field, line_ending);
}

}  // namespace moat::mta
