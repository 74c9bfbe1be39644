// smtpd_generic_restrictions.cc - restrictions on the client, the HELO name and the protocol, and
// the generic permit/reject/defer family (smtpd_check.c generic_checks()).
#include <chrono>
#include <string>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "core/config_value.h"
#include "mta/address_class.h"
#include "mta/smtpd_builtin_restrictions.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

Verdict Permit(RestrictionContext&) { return Verdict::kPermit; }

Verdict RejectAll(RestrictionContext& c) {
  return c.RejectF(c.settings().codes.reject, "5.7.1", "<{}>: {} rejected: Access denied",
                   c.reply_name(), ReplyClassName(c.reply_class()));
}

Verdict DeferAll(RestrictionContext& c) {
  return c.RejectF(c.settings().codes.defer, "4.3.2", "<{}>: {} rejected: Try again later",
                   c.reply_name(), ReplyClassName(c.reply_class()));
}

Verdict DeferIfPermit(RestrictionContext& c) {
  c.DeferIfPermit(450, "4.7.0",
                  fmt::format("<{}>: {} rejected: defer_if_permit requested", c.reply_name(),
                              ReplyClassName(c.reply_class())));
  return Verdict::kDunno;
}

Verdict DeferIfReject(RestrictionContext& c) {
  c.DeferIfReject(450, "4.7.0",
                  fmt::format("<{}>: {} rejected: defer_if_reject requested", c.reply_name(),
                              ReplyClassName(c.reply_class())));
  return Verdict::kDunno;
}

Verdict RejectUnauthPipelining(RestrictionContext& c) {
  if (!c.session().improper_pipelining) return Verdict::kDunno;
  return c.RejectF(503, "5.5.0", "<{}>: {} rejected: Improper use of SMTP command pipelining",
                   c.reply_name(), ReplyClassName(c.reply_class()));
}

Verdict PermitMynetworks(RestrictionContext& c) {
  if (c.session().unix_socket) return Verdict::kDunno;
  auto in = c.settings().mynetworks.Contains(c.session().client_address);
  if (!in) return c.TemporaryLookupFailure(c.session().client_address, in.error());
  return *in ? Verdict::kPermit : Verdict::kDunno;
}

Verdict PermitInetInterfaces(RestrictionContext& c) {
  auto address = core::IpAddress::Parse(c.session().client_address);
  if (!address) return Verdict::kDunno;
  for (const core::IpAddress& own : c.settings().resolver.settings().own_addresses) {
    if (own == *address) return Verdict::kPermit;
  }
  return Verdict::kDunno;
}

Verdict PermitSaslAuthenticated(RestrictionContext& c) {
  if (!c.settings().sasl_enabled) return Verdict::kDunno;
  return c.session().auth_user.empty() ? Verdict::kDunno : Verdict::kPermit;
}

// "[192.0.2.1]" HELO names: the literal must be a valid address.
Verdict CheckHeloLiteral(RestrictionContext& c, const std::string& helo) {
  if (IsValidHostLiteral(helo)) return Verdict::kDunno;
  return c.RejectF(c.settings().codes.invalid_hostname, "5.5.2",
                   "<{}>: {} rejected: invalid ip address", helo, ReplyClassName(c.reply_class()));
}

Verdict RejectInvalidHeloHostname(RestrictionContext& c) {
  const std::string* helo = c.helo();
  if (helo == nullptr || helo->empty()) return Verdict::kDunno;
  if (helo->front() == '[') return CheckHeloLiteral(c, *helo);
  std::string_view name = StripTrailingDot(*helo);
  if (IsValidHostname(name) || IsValidHostAddress(name)) return Verdict::kDunno;
  return c.RejectF(c.settings().codes.invalid_hostname, "5.5.2", "<{}>: {} rejected: Invalid name",
                   *helo, ReplyClassName(RestrictionStage::kHelo));
}

Verdict RejectNonFqdnHeloHostname(RestrictionContext& c) {
  const std::string* helo = c.helo();
  if (helo == nullptr || helo->empty()) return Verdict::kDunno;
  if (helo->front() == '[') return CheckHeloLiteral(c, *helo);
  std::string_view name = StripTrailingDot(*helo);
  if (IsValidHostname(name) && name.find('.') != std::string_view::npos) return Verdict::kDunno;
  return c.RejectF(c.settings().codes.non_fqdn, "5.5.2",
                   "<{}>: {} rejected: need fully-qualified hostname", *helo,
                   ReplyClassName(RestrictionStage::kHelo));
}

// sleep N: pause, then no opinion (Postfix's anti-pre-greeting measure).
class SleepRestriction final : public Restriction {
 public:
  explicit SleepRestriction(std::chrono::seconds delay) : delay_(delay) {}
  Verdict Evaluate(RestrictionContext&) const override { return Verdict::kDunno; }
  bool waits() const override { return true; }
  asio::awaitable<Verdict> EvaluateAsync(RestrictionContext&) const override {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, delay_);
    auto result = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    (void)result;
    co_return Verdict::kDunno;
  }

 private:
  std::chrono::seconds delay_;
};

}  // namespace

void AddGenericRestrictions(RestrictionRegistry& registry) {
  registry.Add("permit", RestrictionArgument::kNone, Simple(Permit));
  registry.Add("reject", RestrictionArgument::kNone, Simple(RejectAll));
  registry.Add("defer", RestrictionArgument::kNone, Simple(DeferAll));
  registry.Add("defer_if_permit", RestrictionArgument::kNone, Simple(DeferIfPermit));
  registry.Add("defer_if_reject", RestrictionArgument::kNone, Simple(DeferIfReject));
  registry.Add("reject_unauth_pipelining", RestrictionArgument::kNone,
               Simple(RejectUnauthPipelining));
  registry.Add("permit_mynetworks", RestrictionArgument::kNone, Simple(PermitMynetworks));
  registry.Add("permit_inet_interfaces", RestrictionArgument::kNone, Simple(PermitInetInterfaces));
  registry.Add("permit_sasl_authenticated", RestrictionArgument::kNone,
               Simple(PermitSaslAuthenticated));
  registry.Add("reject_invalid_helo_hostname", RestrictionArgument::kNone,
               Simple(RejectInvalidHeloHostname));
  registry.AddAlias("reject_invalid_hostname", "reject_invalid_helo_hostname");
  registry.Add("reject_non_fqdn_helo_hostname", RestrictionArgument::kNone,
               Simple(RejectNonFqdnHeloHostname));
  registry.AddAlias("reject_non_fqdn_hostname", "reject_non_fqdn_helo_hostname");
  registry.Add("sleep", RestrictionArgument::kNumber,
               [](const RestrictionBuildContext&, std::string_view argument)
                   -> core::Result<std::shared_ptr<const Restriction>> {
                 auto seconds = core::ParseInteger(argument);
                 if (!seconds || *seconds < 0 || *seconds > 300) {
                   return core::Fail(core::ErrorCode::kInvalid,
                                     "sleep needs a number of seconds (0..300), not \"{}\"",
                                     argument);
                 }
                 return std::make_shared<SleepRestriction>(std::chrono::seconds(*seconds));
               });
}

RestrictionRegistry BuiltinRestrictions() {
  RestrictionRegistry registry;
  AddGenericRestrictions(registry);
  AddAccessRestrictions(registry);
  AddAddressRestrictions(registry);
  return registry;
}

}  // namespace moat::mta
