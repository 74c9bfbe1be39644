// smtpd_policy_restrictions.cc - the restrictions backed by moat-mta's policy modules: DNSBLs
// (dnsbl_restriction.h), greylisting (greylist_policy.h) and SPF (spf_policy.h), and the glue
// that turns their PolicyVerdicts into restriction answers.
//
//   reject_rbl_client d[=filter]      reject_rhsbl_client, reject_rhsbl_reverse_client,
//   reject_rhsbl_helo, reject_rhsbl_sender, reject_rhsbl_recipient d[=filter]
//       Postfix's, with its reply (default_rbl_reply, rbl_reply_maps, maps_rbl_reject_code) and
//       the list's TXT text; a DNS failure is DUNNO.
//   check_greylist                    (moat) postgrey's policy, for smtpd_recipient_restrictions
//       after reject_unauth_destination; a new triplet is DEFER_IF_PERMIT "450 4.7.1", exactly
//       what postgrey answers through check_policy_service. Never for mynetworks or
//       SASL-authenticated clients, nor for greylist_client_exemptions and
//       greylist_recipient_exemptions (any value but DUNNO exempts).
//   check_spf                         (moat) policyd-spf's check where the list puts it; the same
//       check smtpd_spf_checks = yes runs (once per transaction either way).
#include <string>

// clang-format off
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
// clang-format on
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mta/dnsbl_restriction.h"
#include "mta/dnsbl_site.h"
#include "mta/greylist_policy.h"
#include "mta/smtpd_builtin_restrictions.h"
#include "mta/spf_policy.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

// A refusal from a policy module, through the context (soft_bounce, warn_if_reject,
// defer_if_reject and the NOQUEUE log line apply as to any restriction).
Verdict Apply(RestrictionContext& c, const PolicyVerdict& verdict) {
  switch (verdict.action) {
    case PolicyAction::kDunno:
      return Verdict::kDunno;
    case PolicyAction::kPermit:
      return Verdict::kPermit;
    case PolicyAction::kReject:
    case PolicyAction::kDefer:
    case PolicyAction::kDrop:
      return c.Reject(verdict.reply.code(), verdict.reply.enhanced(), verdict.reply.text());
  }
  return Verdict::kDunno;
}

RblRequest RequestFor(RestrictionContext& c) {
  RblRequest request;
  request.client_address = c.session().client_address;
  request.client_name = c.state().client_name;
  request.reverse_client_name = c.state().client_name;
  request.helo = c.helo() != nullptr ? *c.helo() : c.session().helo;
  if (c.sender() != nullptr) request.sender = *c.sender();
  if (c.recipient() != nullptr) request.recipient = *c.recipient();
  return request;
}

enum class RblKind { kClient, kRhsbl };

class RblRestriction final : public Restriction {
 public:
  RblRestriction(RblKind kind, RhsblTarget target, std::string argument, RblOptions options)
      : kind_(kind), target_(target), argument_(std::move(argument)),
        options_(std::move(options)) {}

  Verdict Evaluate(RestrictionContext&) const override { return Verdict::kDunno; }
  bool waits() const override { return true; }

  asio::awaitable<Verdict> EvaluateAsync(RestrictionContext& c) const override {
    DnsblClient* client = c.services().dnsbl;
    if (client == nullptr || c.session().unix_socket) co_return Verdict::kDunno;
    RblRequest request = RequestFor(c);
    // DNSBL lookups share state on the resolver's strand (dnsbl_client.h): run them there.
    asio::awaitable<PolicyVerdict> check =
        kind_ == RblKind::kClient
            ? CheckRblClient(*client, options_, argument_, std::move(request))
            : CheckRhsbl(*client, options_, target_, argument_, std::move(request));
    PolicyVerdict verdict = co_await asio::co_spawn(client->resolver().executor(),
                                                    std::move(check), asio::use_awaitable);
    if (!verdict.log.empty() && !verdict.refuses()) {
      spdlog::info("{}: {}: {}", c.settings().syslog_name, c.state().client_namaddr, verdict.log);
    }
    co_return Apply(c, verdict);
  }

 private:
  RblKind kind_;
  RhsblTarget target_;
  std::string argument_;
  RblOptions options_;
};

RestrictionFactory RblFactory(RblKind kind, RhsblTarget target) {
  return [kind, target](const RestrictionBuildContext& build, std::string_view argument)
             -> core::Result<std::shared_ptr<const Restriction>> {
    if (auto site = ParseDnsblSite(argument, false); !site) return core::Fail(site.error());
    auto options = RblOptions::FromConfig(build.config);
    if (!options) return core::Fail(options.error());
    return std::make_shared<RblRestriction>(kind, target, std::string(argument),
                                            std::move(*options));
  };
}

class GreylistRestriction final : public Restriction {
 public:
  GreylistRestriction(std::shared_ptr<GreylistPolicy> policy, core::TableList client_exemptions,
                      core::TableList recipient_exemptions)
      : policy_(std::move(policy)),
        client_exemptions_(std::move(client_exemptions)),
        recipient_exemptions_(std::move(recipient_exemptions)) {}

  Verdict Evaluate(RestrictionContext& c) const override {
    const std::string* recipient = c.recipient();
    // Greylisting judges one recipient: outside RCPT (or at DATA with several) it has none.
    if (recipient == nullptr || recipient->empty() || c.session().unix_socket) {
      return Verdict::kDunno;
    }
    // Our own users and networks are never delayed, wherever the list puts check_greylist.
    if (!c.session().auth_user.empty()) return Verdict::kDunno;
    if (auto mine = c.settings().mynetworks.Contains(c.session().client_address); mine && *mine) {
      return Verdict::kDunno;
    }
    for (const auto& table : client_exemptions_.tables()) {
      auto found = LookupClientAccess(*table, c);
      if (!found) return c.TemporaryLookupFailure(c.session().client_address, found.error());
      if (*found && !IsDunno((*found)->value)) return Exempt(c, "client", table->spec());
    }
    for (const auto& table : recipient_exemptions_.tables()) {
      auto found = LookupMailAccess(*table, *recipient, c.settings());
      if (!found) return c.TemporaryLookupFailure(*recipient, found.error());
      if (*found && !IsDunno((*found)->value)) return Exempt(c, "recipient", table->spec());
    }
    GreylistRequest request;
    request.client_address = c.session().client_address;
    if (c.sender() != nullptr) request.sender = *c.sender();
    request.recipient = *recipient;
    auto decision = policy_->Check(request);
    if (!decision) {
      // Fail open (greylist_policy.h): a broken store must not defer all mail.
      spdlog::warn("{}: greylist {}: {}; <{}> accepted without greylisting",
                   c.settings().syslog_name, policy_->store().path(),
                   decision.error().message(), *recipient);
      return Verdict::kDunno;
    }
    const GreylistDecision& d = *decision;
    spdlog::info("{}: {}: greylist: {} (client={}, sender=<{}>, recipient=<{}>{})",
                 c.settings().syslog_name, c.state().client_namaddr,
                 GreylistOutcomeName(d.outcome), d.client, d.sender, d.recipient,
                 d.defers() ? fmt::format(", {} s left", d.wait_seconds)
                 : d.outcome == GreylistOutcome::kPassed
                     ? fmt::format(", delayed {} s", d.delayed_seconds)
                     : std::string());
    if (d.defers()) {
      // postgrey answers DEFER_IF_PERMIT: a later restriction that rejects still wins.
      c.DeferIfPermit(450, "4.7.1",
                      fmt::format("<{}>: Recipient address rejected: {}", *recipient,
                                  policy_->DeferText(d)));
      return Verdict::kDunno;
    }
    if (d.outcome == GreylistOutcome::kPassed && policy_->options().header &&
        !c.state().greylist_header_added) {
      c.state().actions.prepend_headers.push_back(policy_->Header(d));
      c.state().greylist_header_added = true;
    }
    return Verdict::kDunno;
  }

 private:
  static bool IsDunno(std::string_view value) {
    std::string word(value.substr(0, value.find_first_of(" \t")));
    for (char& ch : word) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return word == "DUNNO";
  }
  static Verdict Exempt(RestrictionContext& c, std::string_view what, std::string_view table) {
    spdlog::debug("{}: {}: greylist: {} exempt by {}", c.settings().syslog_name,
                  c.state().client_namaddr, what, table);
    return Verdict::kDunno;
  }

  std::shared_ptr<GreylistPolicy> policy_;
  core::TableList client_exemptions_;
  core::TableList recipient_exemptions_;
};

core::Result<std::shared_ptr<const Restriction>> MakeGreylistRestriction(
    const RestrictionBuildContext& build, std::string_view) {
  GreylistOptions options = GreylistOptions::FromConfig(build.config);
  if (options.delay.count() <= 0) {
    return core::Fail(core::ErrorCode::kInvalid, "greylist_delay must be more than 0");
  }
  auto store = GreylistStore::Open(options.database);
  if (!store) return core::Fail(store.error().WithContext("greylist_database"));
  auto clients = build.tables.OpenList(build.config.GetString("greylist_client_exemptions"));
  if (!clients) return core::Fail(clients.error().WithContext("greylist_client_exemptions"));
  auto recipients = build.tables.OpenList(build.config.GetString("greylist_recipient_exemptions"));
  if (!recipients) {
    return core::Fail(recipients.error().WithContext("greylist_recipient_exemptions"));
  }
  auto policy = std::make_shared<GreylistPolicy>(std::move(*store), std::move(options));
  return std::make_shared<GreylistRestriction>(std::move(policy), std::move(*clients),
                                               std::move(*recipients));
}

class SpfRestriction final : public Restriction {
 public:
  Verdict Evaluate(RestrictionContext&) const override { return Verdict::kDunno; }
  bool waits() const override { return true; }
  asio::awaitable<Verdict> EvaluateAsync(RestrictionContext& c) const override {
    Verdict verdict = co_await EvaluateSpfCheck(c);
    co_return verdict;
  }
};

}  // namespace

asio::awaitable<Verdict> EvaluateSpfCheck(RestrictionContext& c) {
  const SmtpdServiceSettings& s = c.settings();
  const core::SmtpSessionInfo& session = c.session();
  // Before MAIL FROM there is no identity to check; mynetworks and authenticated clients are
  // never checked (policyd-spf sits after permit_mynetworks and permit_sasl_authenticated).
  if (c.sender() == nullptr || session.unix_socket || !session.auth_user.empty()) {
    co_return Verdict::kDunno;
  }
  if (auto mine = s.mynetworks.Contains(session.client_address); mine && *mine) {
    co_return Verdict::kDunno;
  }
  SmtpdPolicyState& state = c.state();
  if (!state.spf) {
    if (c.services().spf_dns == nullptr) {
      spdlog::warn("{}: {}: SPF not checked: no DNS resolver", s.syslog_name,
                   state.client_namaddr);
      state.spf = PolicyVerdict{};
      co_return Verdict::kDunno;
    }
    SpfEvaluator evaluator(*c.services().spf_dns, s.spf.evaluator);
    // GCC 12: the sender's copy is a temporary; make the awaitable before awaiting it.
    asio::awaitable<SpfPolicyResult> checking =
        CheckSpfPolicy(evaluator, s.spf, session, *c.sender());
    SpfPolicyResult result = co_await std::move(checking);
    spdlog::info("{}: {}: {}", s.syslog_name, state.client_namaddr, result.verdict.log);
    for (std::string& header : result.verdict.prepend_headers) {
      state.actions.prepend_headers.push_back(std::move(header));
    }
    result.verdict.prepend_headers.clear();
    state.spf = std::move(result.verdict);
  }
  co_return Apply(c, *state.spf);
}

void AddPolicyRestrictions(RestrictionRegistry& registry) {
  registry.Add("reject_rbl_client", RestrictionArgument::kDomain,
               RblFactory(RblKind::kClient, RhsblTarget::kClient));
  registry.Add("reject_rhsbl_client", RestrictionArgument::kDomain,
               RblFactory(RblKind::kRhsbl, RhsblTarget::kClient));
  registry.Add("reject_rhsbl_reverse_client", RestrictionArgument::kDomain,
               RblFactory(RblKind::kRhsbl, RhsblTarget::kReverseClient));
  registry.Add("reject_rhsbl_helo", RestrictionArgument::kDomain,
               RblFactory(RblKind::kRhsbl, RhsblTarget::kHelo));
  registry.Add("reject_rhsbl_sender", RestrictionArgument::kDomain,
               RblFactory(RblKind::kRhsbl, RhsblTarget::kSender));
  registry.Add("reject_rhsbl_recipient", RestrictionArgument::kDomain,
               RblFactory(RblKind::kRhsbl, RhsblTarget::kRecipient));
  registry.Add("check_greylist", RestrictionArgument::kNone, MakeGreylistRestriction);
  registry.Add("check_spf", RestrictionArgument::kNone,
               [](const RestrictionBuildContext&, std::string_view)
                   -> core::Result<std::shared_ptr<const Restriction>> {
                 return std::make_shared<SpfRestriction>();
               });
}

}  // namespace moat::mta
