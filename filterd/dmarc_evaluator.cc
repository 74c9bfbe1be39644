// dmarc_evaluator.cc - discovery, alignment and results (see dmarc_evaluator.h).
#include "filterd/dmarc_evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace moat::filterd {
namespace {

using Status = DmarcDiscovery::Status;

// The DMARC records among the TXT records at one name, or the reason the lookup failed.
struct Fetched {
  Status status = Status::kNoRecord;  // kFound: `records` holds at least one
  std::vector<std::string> records;
  std::string reason;
};

asio::awaitable<Fetched> FetchRecords(core::DnsResolver& resolver, std::string domain) {
  Fetched out;
  std::string name = "_dmarc." + domain;
  auto answer = co_await resolver.LookupTxt(name);
  if (!answer) {
    out.status = answer.error().code() == core::ErrorCode::kTempFail ? Status::kTempError
                                                                     : Status::kPermError;
    // The resolver's messages mostly name the query already ("DNS TXT _dmarc.x: timeout").
    const std::string& message = answer.error().message();
    out.reason = message.find(name) != std::string::npos
                     ? message
                     : fmt::format("DNS TXT {}: {}", name, message);
    co_return out;
  }
  if (!answer->found()) {
    out.reason =
        fmt::format("no DMARC record at {} ({})", name, core::DnsOutcomeName(answer->outcome));
    co_return out;
  }
  for (const core::TxtRecord& txt : answer->records) {
    std::string joined = txt.Joined();
    if (IsDmarcRecord(joined)) out.records.push_back(std::move(joined));
  }
  if (out.records.empty()) {
    out.reason = fmt::format("no DMARC record at {} (TXT records, none v=DMARC1)", name);
  } else {
    out.status = Status::kFound;
  }
  co_return out;
}

int Strictness(DmarcPolicy policy) { return static_cast<int>(policy); }

// Order of preference when several author domains were evaluated: lower is reported first.
int Rank(const DmarcOutcome& o) {
  switch (o.result) {
    case DmarcResult::kFail:
      return 2 - Strictness(o.disposition);  // 0 reject .. 2 none
    case DmarcResult::kTempError:
      return 3;
    case DmarcResult::kPermError:
      return 4;
    case DmarcResult::kNone:
      return 5;
    case DmarcResult::kPass:
      return 6;
  }
  return 6;
}

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string_view DmarcResultName(DmarcResult result) {
  switch (result) {
    case DmarcResult::kNone:
      return "none";
    case DmarcResult::kPass:
      return "pass";
    case DmarcResult::kFail:
      return "fail";
    case DmarcResult::kTempError:
      return "temperror";
    case DmarcResult::kPermError:
      return "permerror";
  }
  return "none";
}

bool DmarcAligned(std::string_view authenticated, std::string_view author, DmarcAlignment mode,
                  const PublicSuffixList& suffixes) {
  std::string a = NormalizeDomain(authenticated);
  std::string b = NormalizeDomain(author);
  if (a.empty() || b.empty()) return false;
  if (a == b) return true;
  if (mode == DmarcAlignment::kStrict) return false;
  return suffixes.OrganizationalDomain(a) == suffixes.OrganizationalDomain(b);
}

asio::awaitable<DmarcDiscovery> DiscoverDmarcPolicy(core::DnsResolver& resolver, std::string domain,
                                                    std::string org_domain) {
  DmarcDiscovery out;
  Fetched fetched = co_await FetchRecords(resolver, domain);
  out.record_domain = domain;
  if (fetched.status == Status::kNoRecord && org_domain != domain) {
    std::string first_reason = fetched.reason;
    fetched = co_await FetchRecords(resolver, org_domain);
    out.record_domain = org_domain;
    if (fetched.status == Status::kNoRecord) fetched.reason = first_reason + "; " + fetched.reason;
  }
  if (fetched.status != Status::kFound) {
    out.status = fetched.status;
    out.reason = fetched.reason;
    if (out.status == Status::kNoRecord) out.record_domain.clear();
    co_return out;
  }
  if (fetched.records.size() > 1) {
    out.status = Status::kPermError;
    out.reason = fmt::format("{} DMARC records at _dmarc.{} (exactly one is allowed)",
                             fetched.records.size(), out.record_domain);
    co_return out;
  }
  out.record_text = fetched.records.front();
  auto record = ParseDmarcRecord(out.record_text);
  if (!record) {
    out.status = Status::kPermError;
    out.reason = fmt::format("_dmarc.{}: {}", out.record_domain, record.error().message());
    co_return out;
  }
  out.status = Status::kFound;
  out.record = std::move(*record);
  co_return out;
}

DmarcOutcome EvaluateDomain(const DmarcDiscovery& discovery, const std::string& domain,
                            const DmarcInput& input, const PublicSuffixList& suffixes) {
  DmarcOutcome out;
  out.domain = domain;
  out.org_domain = suffixes.OrganizationalDomain(domain);
  out.record_domain = discovery.record_domain;
  switch (discovery.status) {
    case Status::kNoRecord:
      out.result = DmarcResult::kNone;
      out.reason = discovery.reason;
      return out;
    case Status::kTempError:
      out.result = DmarcResult::kTempError;
      out.reason = discovery.reason;
      return out;
    case Status::kPermError:
      out.result = DmarcResult::kPermError;
      out.reason = discovery.reason;
      return out;
    case Status::kFound:
      break;
  }
  const DmarcRecord& record = *discovery.record;
  out.record = record;
  bool subdomain = discovery.record_domain != domain;
  out.policy = subdomain && record.subdomain_policy ? *record.subdomain_policy : record.policy;

  bool dkim_temperror = false;
  for (const DkimSignatureResult& r : input.dkim) {
    bool aligned = DmarcAligned(r.domain, domain, record.dkim_alignment, suffixes);
    if (r.result == DkimResult::kPass && !r.testing) {
      if (aligned) {
        out.dkim_aligned = true;
        out.dkim_domain = NormalizeDomain(r.domain);
      } else if (out.dkim_domain.empty() && !out.dkim_aligned) {
        out.dkim_domain = NormalizeDomain(r.domain);
      }
    }
    if (r.result == DkimResult::kTempError && aligned) dkim_temperror = true;
  }
  bool spf_temperror = false;
  if (input.spf) {
    std::string spf_domain = input.spf->Domain();
    bool aligned = DmarcAligned(spf_domain, domain, record.spf_alignment, suffixes);
    if (input.spf->result == core::SpfResult::kPass) {
      out.spf_domain = spf_domain;
      out.spf_aligned = aligned;
    }
    spf_temperror = input.spf->result == core::SpfResult::kTempError && aligned;
  }

  std::string identifiers =
      fmt::format("SPF {}, DKIM {}",
                  out.spf_aligned           ? fmt::format("aligned ({})", out.spf_domain)
                  : !out.spf_domain.empty() ? fmt::format("not aligned ({})", out.spf_domain)
                  : input.spf ? fmt::format("{}", core::SpfResultName(input.spf->result))
                              : std::string("unknown (no Received-SPF from the MTA)"),
                  out.dkim_aligned           ? fmt::format("aligned (d={})", out.dkim_domain)
                  : !out.dkim_domain.empty() ? fmt::format("not aligned (d={})", out.dkim_domain)
                                             : std::string("no valid signature"));
  if (out.spf_aligned || out.dkim_aligned) {
    out.result = DmarcResult::kPass;
    out.reason = identifiers;
    return out;
  }
  if (dkim_temperror || spf_temperror) {
    out.result = DmarcResult::kTempError;
    out.reason = fmt::format("{}; {} temperror for an aligned identifier", identifiers,
                             dkim_temperror ? "DKIM" : "SPF");
    return out;
  }
  out.result = DmarcResult::kFail;
  out.sampled = static_cast<int>(input.sample_bucket) < record.percent;
  out.disposition = out.sampled ? out.policy : NextLessStrict(out.policy);
  out.reason = identifiers;
  if (!out.sampled) {
    out.reason += fmt::format("; pct={} did not select this message (bucket {})", record.percent,
                              input.sample_bucket);
  }
  return out;
}

asio::awaitable<DmarcOutcome> EvaluateDmarc(core::DnsResolver& resolver,
                                            const PublicSuffixList& suffixes,
                                            const DmarcInput& input) {
  if (!input.authors.problem.empty()) {
    DmarcOutcome none;
    none.result = DmarcResult::kPermError;
    none.reason = input.authors.problem;
    co_return none;
  }
  std::optional<DmarcOutcome> chosen;
  for (const std::string& domain : input.authors.domains) {
    std::string org = suffixes.OrganizationalDomain(domain);
    DmarcDiscovery discovery = co_await DiscoverDmarcPolicy(resolver, domain, org);
    DmarcOutcome outcome = EvaluateDomain(discovery, domain, input, suffixes);
    if (!chosen || Rank(outcome) < Rank(*chosen)) chosen = std::move(outcome);
  }
  co_return std::move(*chosen);
}

std::string DmarcAuthenticationResult(const DmarcOutcome& outcome) {
  std::string out = fmt::format("dmarc={}", DmarcResultName(outcome.result));
  if (outcome.record) {
    out += fmt::format(" (p={} dis={})", DmarcPolicyName(outcome.policy),
                       DmarcPolicyName(outcome.disposition));
  }
  if (outcome.result == DmarcResult::kTempError || outcome.result == DmarcResult::kPermError) {
    out += " reason=" + Quoted(outcome.reason.substr(0, 200));
  }
  if (!outcome.domain.empty()) out += " header.from=" + outcome.domain;
  return out;
}

std::optional<std::string> DmarcRuleValue(const DmarcOutcome& outcome) {
  switch (outcome.result) {
    case DmarcResult::kPass:
      return std::string("pass");
    case DmarcResult::kFail:
      return std::string(DmarcPolicyName(outcome.disposition));
    case DmarcResult::kNone:
    case DmarcResult::kPermError:
      return std::string("missing");
    case DmarcResult::kTempError:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace moat::filterd
