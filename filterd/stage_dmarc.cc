// stage_dmarc.cc - DMARC outcome, trace, Authentication-Results (see stage_dmarc.h).
#include "filterd/stage_dmarc.h"

// clang-format off
#include <stdexcept>
#include <string>
#include <vector>
#include <asio/this_coro.hpp>
// clang-format on

#include <fmt/format.h>

#include "core/config_error.h"
#include "core/smtp_envelope.h"
#include "filterd/content_artefacts.h"
#include "filterd/dkim_auth_results.h"
#include "filterd/dkim_tags.h"
#include "filterd/filterd_parameters.h"

namespace moat::filterd {
namespace {

std::string SpfNote(const MtaSpfResults& spf) {
  if (!spf.mail_from && !spf.helo) {
    return "spf: no Received-SPF above the topmost Received field (the MTA in front recorded "
           "no SPF result)";
  }
  std::string note = "spf (the MTA's Received-SPF):";
  for (const auto* field : {&spf.mail_from, &spf.helo}) {
    if (!*field) continue;
    const core::ReceivedSpf& f = **field;
    note += fmt::format(" {}={} for {}", core::SpfIdentityName(f.identity),
                        core::SpfResultName(f.result), f.Domain().empty() ? "?" : f.Domain());
    if (!f.client_ip.empty()) note += fmt::format(" (client {})", f.client_ip);
    if (!f.problem.empty()) note += fmt::format(" ({})", f.problem);
    note += ";";
  }
  note.pop_back();
  return note;
}

std::string OutcomeNote(const DmarcOutcome& o, const DmarcArtefact& artefact,
                        const DmarcDestinies& destinies) {
  std::string note = fmt::format("dmarc: {}", DmarcResultName(o.result));
  if (!o.domain.empty())
    note += fmt::format(" for {} (organisational domain {})", o.domain, o.org_domain);
  if (o.record) note += fmt::format("; _dmarc.{}: {}", o.record_domain, o.record->Summary());
  if (!o.reason.empty()) note += "; " + o.reason;
  if (o.result == DmarcResult::kFail) {
    note += fmt::format("; disposition {}", DmarcPolicyName(o.disposition));
    if (o.disposition == DmarcPolicy::kNone) {
      note += " (nothing to do)";
    } else if (!artefact.enforced) {
      note += fmt::format(" not enforced: {}", artefact.not_enforced);
    } else {
      bool reject = o.disposition == DmarcPolicy::kReject;
      note += fmt::format(", {} = {}", reject ? "dmarc_reject_destiny" : "dmarc_quarantine_destiny",
                          DmarcActionName(reject ? destinies.reject : destinies.quarantine));
    }
  }
  if (o.record) {
    for (const std::string& n : o.record->notes) note += "; record: " + n;
  }
  return note;
}

// Appends `methods` to the Authentication-Results field an earlier stage (DKIM) planned for our
// authserv-id, or plans one (and the removal of incoming ones claiming our id).
void AddAuthenticationResults(MessageContext& context, const std::string& authserv_id,
                              const std::vector<std::string>& methods) {
  std::string joined;
  for (const std::string& m : methods) joined += "; " + m;
  for (auto it = context.header_edits.rbegin(); it != context.header_edits.rend(); ++it) {
    if (it->kind == HeaderEdit::Kind::kPrepend &&
        EqualsIgnoreCase(it->name, "Authentication-Results") &&
        EqualsIgnoreCase(AuthservIdOf(it->value), authserv_id)) {
      it->value += joined;
      return;
    }
  }
  HeaderEdit remove;
  remove.kind = HeaderEdit::Kind::kRemoveAll;
  remove.name = "Authentication-Results";
  remove.authserv_id = authserv_id;
  context.header_edits.push_back(std::move(remove));
  HeaderEdit add;
  add.kind = HeaderEdit::Kind::kPrepend;
  add.name = "Authentication-Results";
  add.value = authserv_id + joined;
  context.header_edits.push_back(std::move(add));
}

rules::AuthResult RuleResult(core::SpfResult result) {
  switch (result) {
    case core::SpfResult::kNone:
      return rules::AuthResult::kNone;
    case core::SpfResult::kNeutral:
      return rules::AuthResult::kNeutral;
    case core::SpfResult::kPass:
      return rules::AuthResult::kPass;
    case core::SpfResult::kFail:
      return rules::AuthResult::kFail;
    case core::SpfResult::kSoftFail:
      return rules::AuthResult::kSoftFail;
    case core::SpfResult::kTempError:
      return rules::AuthResult::kTempError;
    case core::SpfResult::kPermError:
      return rules::AuthResult::kPermError;
  }
  return rules::AuthResult::kNone;
}

}  // namespace

DmarcStage::DmarcStage(DnsResolverProvider dns, DmarcStageOptions options)
    : dns_(std::move(dns)), options_(std::move(options)) {
  // Built while loading the configuration, where exceptions belong.
  if (!options_.public_suffixes) throw std::invalid_argument("DMARC needs a public suffix list");
}

asio::awaitable<core::Status> DmarcStage::RunAsync(MessageContext& context) const {
  auto artefact = std::make_shared<DmarcArtefact>();
  artefact->spf = TrustedSpfResults(context.message);

  DmarcInput input;
  input.authors = FindAuthorDomains(context.message);
  input.spf = artefact->spf.mail_from;
  if (const auto* dkim = context.Artefact<DkimArtefact>(kDkimArtefact)) input.dkim = dkim->results;
  input.sample_bucket = DmarcSampleBucket(context.message);

  auto executor = co_await asio::this_coro::executor;
  core::Result<std::shared_ptr<core::DnsResolver>> resolver =
      core::Fail(core::ErrorCode::kTempFail, "no DNS resolver configured");
  if (dns_) resolver = dns_(executor);
  if (resolver && *resolver) {
    DmarcOutcome outcome = co_await EvaluateDmarc(**resolver, *options_.public_suffixes, input);
    artefact->outcome = std::move(outcome);
  } else {
    artefact->outcome.result =
        input.authors.problem.empty() ? DmarcResult::kTempError : DmarcResult::kPermError;
    artefact->outcome.reason =
        input.authors.problem.empty()
            ? "DNS resolver: " + (resolver ? std::string("none") : resolver.error().message())
            : input.authors.problem;
    if (!input.authors.domains.empty()) artefact->outcome.domain = input.authors.domains.front();
  }
  const DmarcOutcome& outcome = artefact->outcome;

  artefact->enforced = context.policy_bank == "inbound";
  if (!artefact->enforced) {
    artefact->not_enforced = fmt::format("policy bank {}", context.policy_bank);
  } else if (options_.mynetworks && core::XforwardValueAvailable(context.client.xforward.addr)) {
    auto inside = options_.mynetworks->Contains(*context.client.xforward.addr);
    if (!inside || *inside) {
      artefact->enforced = false;
      artefact->not_enforced =
          inside ? fmt::format("client {} in mynetworks", *context.client.xforward.addr)
                 : "mynetworks lookup failed: " + inside.error().message();
    }
  }

  if (artefact->enforced && outcome.result == DmarcResult::kFail &&
      outcome.disposition != DmarcPolicy::kNone) {
    artefact->action = outcome.disposition == DmarcPolicy::kReject ? options_.destinies.reject
                                                                   : options_.destinies.quarantine;
  }

  Finding finding;
  finding.stage = "dmarc";
  finding.name = std::string(DmarcResultName(outcome.result));
  finding.content_class = ContentClass::kClean;
  finding.detail =
      outcome.domain.empty() ? outcome.reason
      : outcome.record
          ? fmt::format("{} p={} dis={}: {}", outcome.domain, DmarcPolicyName(outcome.policy),
                        DmarcPolicyName(outcome.disposition), outcome.reason)
          : fmt::format("{}: {}", outcome.domain, outcome.reason);
  context.findings.push_back(std::move(finding));
  context.trace.push_back(SpfNote(artefact->spf));
  for (const std::string& note : input.authors.notes) context.trace.push_back("dmarc: " + note);
  context.trace.push_back(OutcomeNote(outcome, *artefact, options_.destinies));

  if (!options_.authserv_id.empty()) {
    std::vector<std::string> methods;
    if (artefact->spf.mail_from) {
      methods.push_back(core::SpfAuthenticationResult(*artefact->spf.mail_from));
    }
    methods.push_back(DmarcAuthenticationResult(outcome));
    AddAuthenticationResults(context, options_.authserv_id, methods);
  }

  bool defer = outcome.result == DmarcResult::kTempError && options_.defer_temperror;
  std::string reason = outcome.reason;
  context.artefacts[kDmarcArtefact] = std::move(artefact);
  if (defer) {
    core::Status status =
        core::Fail(core::ErrorCode::kTempFail,
                   "DMARC temperror (dmarc_temperror_destiny = defer): {}", reason);
    co_return status;
  }
  core::Status ok;
  co_return ok;
}

DmarcDestinies DmarcDestiniesFrom(const core::Config& config) {
  DmarcDestinies destinies;
  for (const char* name : {"dmarc_reject_destiny", "dmarc_quarantine_destiny"}) {
    auto action = ParseDmarcAction(config.GetString(name));
    if (!action) {
      throw core::ConfigError(
          config.LocationOf(name),
          fmt::format("{}: not quarantine, reject, pass or tag: {}", name, config.GetString(name)));
    }
    (std::string_view(name) == "dmarc_reject_destiny" ? destinies.reject : destinies.quarantine) =
        *action;
  }
  return destinies;
}

std::shared_ptr<const Stage> BuildDmarcStage(const core::Config& config,
                                             const ContentResources& resources) {
  DmarcStageOptions options;
  options.authserv_id = config.GetString("authserv_id");
  options.destinies = DmarcDestiniesFrom(config);
  options.defer_temperror = EqualsIgnoreCase(config.GetString("dmarc_temperror_destiny"), "defer");
  options.public_suffixes = resources.public_suffixes;
  if (!options.public_suffixes) {
    auto loaded = PublicSuffixList::Load(config.GetPath("public_suffix_list"));
    if (!loaded) {
      throw core::ConfigError(config.LocationOf("public_suffix_list"),
                              fmt::format("public_suffix_list: {} (Debian package publicsuffix; "
                                          "or dmarc_verify = no)",
                                          loaded.error().message()));
    }
    options.public_suffixes = std::move(*loaded);
  }
  core::TableOpenOptions table_options;
  table_options.base_directory = config.absolute_directory();
  auto networks = core::NetworkList::Parse(config.GetString("mynetworks"), table_options);
  if (!networks) {
    throw core::ConfigError(config.LocationOf("mynetworks"),
                            "mynetworks: " + networks.error().message());
  }
  options.mynetworks = std::make_shared<const core::NetworkList>(std::move(*networks));
  return std::make_shared<DmarcStage>(resources.dns, std::move(options));
}

void AddSpfAndDmarcResults(const MessageContext& context, rules::AuthenticationResults& auth) {
  MtaSpfResults spf = TrustedSpfResults(context.message);
  if (spf.mail_from) auth.spf = RuleResult(spf.mail_from->result);
  if (spf.helo) auth.spf_helo = RuleResult(spf.helo->result);
  if (const auto* dmarc = context.Artefact<DmarcArtefact>(kDmarcArtefact)) {
    auth.dmarc = DmarcRuleValue(dmarc->outcome);
  }
}

}  // namespace moat::filterd
