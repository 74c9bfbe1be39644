// smtpd_address_restrictions.cc - restrictions on sender and recipient addresses: relay control,
// domains that do not exist, non-FQDN addresses, unknown recipients, SASL sender ownership
// (smtpd_check.c permit_auth_destination(), reject_unknown_address(), reject_non_fqdn_address(),
// check_rcpt_maps(), reject_*_sender_login_mismatch()).
#include <memory>
#include <string>

#include <asio/use_awaitable.hpp>

#include "core/address_lookup.h"
#include "core/config_value.h"
#include "mta/address_class.h"
#include "mta/smtpd_builtin_restrictions.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {

using smtpd_rewrite::AddressClass;

namespace {

bool StartsWithLocalPart(std::string_view address, std::string_view local) {
  if (address.size() <= local.size() || address[local.size()] != '@') return false;
  for (std::size_t i = 0; i < local.size(); ++i) {
    char a = address[i] >= 'A' && address[i] <= 'Z' ? static_cast<char>(address[i] + 32)
                                                       : address[i];
    char b = local[i] >= 'A' && local[i] <= 'Z' ? static_cast<char>(local[i] + 32) : local[i];
    if (a != b) return false;
  }
  return true;
}

// --- relay control ---

enum class AuthDestination { kPermit, kDunno };

core::Result<AuthDestination> PermitAuthDestination(RestrictionContext& c) {
  auto resolved = c.ResolvedRecipient();
  if (!resolved) return std::unexpected(resolved.error());
  const ResolvedAddress& r = **resolved;
  // Routed non-local mail (user%host@relay.example, "a@b"@relay.example): uncertain destination.
  if (!c.settings().allow_untrusted_routing && r.routed) return AuthDestination::kDunno;
  if (r.final_destination() || r.address_class == AddressClass::kRelay) {
    return AuthDestination::kPermit;
  }
  return AuthDestination::kDunno;
}

Verdict PermitAuthDestinationRestriction(RestrictionContext& c) {
  if (c.recipient() == nullptr) return Verdict::kDunno;
  auto result = PermitAuthDestination(c);
  if (!result) return c.TemporaryLookupFailure(*c.recipient(), result.error());
  return *result == AuthDestination::kPermit ? Verdict::kPermit : Verdict::kDunno;
}

Verdict RejectUnauthDestination(RestrictionContext& c) {
  if (c.recipient() == nullptr) return Verdict::kDunno;
  auto result = PermitAuthDestination(c);
  if (!result) return c.TemporaryLookupFailure(*c.recipient(), result.error());
  if (*result == AuthDestination::kPermit) return Verdict::kDunno;
  return c.RejectF(c.settings().codes.relay_domains_reject, "5.7.1", "<{}>: Relay access denied",
                   *c.recipient());
}

Verdict DeferUnauthDestination(RestrictionContext& c) {
  if (c.recipient() == nullptr) return Verdict::kDunno;
  auto result = PermitAuthDestination(c);
  if (!result) return c.TemporaryLookupFailure(*c.recipient(), result.error());
  if (*result == AuthDestination::kPermit) return Verdict::kDunno;
  // Postfix: the relay reject code made temporary (554 -> 454).
  int code = c.settings().codes.relay_domains_reject;
  if (code >= 500) code -= 100;
  return c.RejectF(code, "4.7.1", "<{}>: Relay access denied", *c.recipient());
}

// --- address syntax ---

Verdict RejectNonFqdnSender(RestrictionContext& c) {
  if (c.sender() == nullptr) return Verdict::kDunno;
  const std::string* sender = c.sender();
  if (sender->empty()) return Verdict::kDunno;
  std::size_t at = sender->rfind('@');
  std::string_view domain =
      at == std::string::npos ? std::string_view() : std::string_view(*sender).substr(at + 1);
  if (!domain.empty() && domain.front() == '[' && domain.back() == ']') return Verdict::kDunno;
  domain = StripTrailingDot(domain);
  if (!domain.empty() && IsValidHostname(domain) && domain.find('.') != std::string_view::npos) {
    return Verdict::kDunno;
  }
  return c.RejectF(c.settings().codes.non_fqdn, "4.5.2",
                   "<{}>: Sender address rejected: need fully-qualified address", *sender);
}

Verdict RejectNonFqdnRecipient(RestrictionContext& c) {
  const std::string* recipient = c.recipient();
  if (recipient == nullptr || recipient->empty()) return Verdict::kDunno;
  std::size_t at = recipient->rfind('@');
  std::string_view domain = at == std::string::npos ? std::string_view()
                                                    : std::string_view(*recipient).substr(at + 1);
  if (!domain.empty() && domain.front() == '[' && domain.back() == ']') return Verdict::kDunno;
  domain = StripTrailingDot(domain);
  if (!domain.empty() && IsValidHostname(domain) && domain.find('.') != std::string_view::npos) {
    return Verdict::kDunno;
  }
  return c.RejectF(c.settings().codes.non_fqdn, "4.5.2",
                   "<{}>: Recipient address rejected: need fully-qualified address", *recipient);
}

// --- domains that do not exist (DNS) ---

class RejectUnknownDomain final : public Restriction {
 public:
  explicit RejectUnknownDomain(bool sender) : sender_(sender) {}
  Verdict Evaluate(RestrictionContext&) const override { return Verdict::kDunno; }
  bool waits() const override { return true; }

  asio::awaitable<Verdict> EvaluateAsync(RestrictionContext& c) const override {
    const std::string* address = sender_ ? c.sender() : c.recipient();
    if (address == nullptr || address->empty()) co_return Verdict::kDunno;
    auto resolved = sender_ ? c.ResolvedSender() : c.ResolvedRecipient();
    if (!resolved) co_return c.TemporaryLookupFailure(*address, resolved.error());
    if ((*resolved)->final_destination()) co_return Verdict::kDunno;
    std::string domain((*resolved)->domain());
    if (domain.empty() || domain.front() == '[') co_return Verdict::kDunno;
    std::string_view reply_class = sender_ ? "Sender address" : "Recipient address";
    std::string_view dsn = sender_ ? "4.1.8" : "4.1.2";
    std::string not_found =
        fmt::format("<{}>: {} rejected: Domain not found", *address, reply_class);
    core::DnsResolver* dns = c.dns();
    if (dns == nullptr) {
      c.DeferIfPermit(450, dsn, not_found);
      co_return Verdict::kDunno;
    }
    // MX first (a null MX says the domain takes no mail), then A and AAAA.
    auto mx = co_await dns->LookupMx(domain);
    if (!mx) {
      c.DeferIfPermit(450, dsn, not_found);
      co_return Verdict::kDunno;
    }
    if (mx->found()) {
      if (mx->records.size() == 1 && mx->records.front().exchange.empty()) {
        Verdict nullmx = c.RejectF(sender_ ? 550 : 556, sender_ ? "5.7.27" : "5.1.10",
                                   "<{}>: {} rejected: Domain {} does not accept mail (nullMX)",
                                   *address, reply_class, domain);
        co_return nullmx;
      }
      co_return Verdict::kDunno;
    }
    if (mx->outcome == core::DnsOutcome::kNxDomain) {
      Verdict nx = c.Reject(c.settings().codes.unknown_address, dsn, not_found);
      co_return nx;
    }
    auto a = co_await dns->LookupA(domain);
    if (a && a->found()) co_return Verdict::kDunno;
    auto aaaa = co_await dns->LookupAaaa(domain);
    if (aaaa && aaaa->found()) co_return Verdict::kDunno;
    if (!a || !aaaa) {
      c.DeferIfPermit(450, dsn, not_found);
      co_return Verdict::kDunno;
    }
    Verdict missing = c.Reject(c.settings().codes.unknown_address, dsn, not_found);
    co_return missing;
  }

 private:
  bool sender_;
};

// --- unknown recipients (and senders) ---

Verdict RejectUnlistedRecipient(RestrictionContext& c) {
  if (c.recipient() == nullptr || c.recipient()->empty()) return Verdict::kDunno;
  return CheckRecipientMaps(c, false);
}

Verdict RejectUnlistedSender(RestrictionContext& c) {
  if (c.sender() == nullptr || c.sender()->empty()) return Verdict::kDunno;
  return CheckRecipientMaps(c, true);
}

Verdict RejectMultiRecipientBounce(RestrictionContext& c) {
  const std::size_t allowed = c.stage() == RestrictionStage::kData ? 1 : 0;
  if (c.sender() == nullptr || !c.sender()->empty() || c.recipient_count() <= allowed) {
    return Verdict::kDunno;
  }
  return c.RejectF(c.settings().codes.multi_recipient_bounce, "5.5.3",
                   "<{}>: {} rejected: Multi-recipient bounce", c.reply_name(),
                   ReplyClassName(c.reply_class()));
}

// --- SASL login names and the sender addresses they own (smtpd_sender_login_maps) ---

enum class LoginCheck { kAuthenticated, kUnauthenticated, kKnown, kBoth };

// The owners of the sender address; nullopt when the address has none.
core::Result<std::optional<std::string>> SenderOwners(RestrictionContext& c) {
  auto resolved = c.ResolvedSender();
  if (!resolved) return std::unexpected(resolved.error());
  auto match = core::FindAddress(c.settings().sender_login_maps, (*resolved)->address,
                                 core::AddressSearch::Virtual(), c.settings().address_context);
  if (!match) return std::unexpected(match.error());
  if (!*match) return std::optional<std::string>();
  return std::optional<std::string>((*match)->value);
}

bool OwnedBy(std::string_view owners, std::string_view user) {
  for (const std::string& owner : core::SplitList(owners)) {
    if (owner.size() != user.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < user.size() && same; ++i) {
      char a = owner[i] >= 'A' && owner[i] <= 'Z' ? static_cast<char>(owner[i] + 32) : owner[i];
      char b = user[i] >= 'A' && user[i] <= 'Z' ? static_cast<char>(user[i] + 32) : user[i];
      same = a == b;
    }
    if (same) return true;
  }
  return false;
}

Verdict SenderLoginMismatch(RestrictionContext& c, LoginCheck check) {
  const std::string* sender = c.sender();
  if (sender == nullptr || sender->empty()) return Verdict::kDunno;
  if (!c.settings().sasl_enabled) return Verdict::kDunno;
  const std::string& user = c.session().auth_user;
  const bool authenticated = !user.empty();
  if (authenticated && check == LoginCheck::kUnauthenticated) return Verdict::kDunno;
  if (!authenticated && check == LoginCheck::kAuthenticated) return Verdict::kDunno;
  auto owners = SenderOwners(c);
  if (!owners) return c.TemporaryLookupFailure(*sender, owners.error());
  if (authenticated) {
    if (!*owners && check == LoginCheck::kKnown) return Verdict::kDunno;
    if (*owners && OwnedBy(**owners, user)) return Verdict::kDunno;
    return c.RejectF(553, "5.7.1", "<{}>: Sender address rejected: not owned by user {}",
                     *sender, user);
  }
  if (!*owners) return Verdict::kDunno;
  return c.RejectF(553, "5.7.1", "<{}>: Sender address rejected: not logged in", *sender);
}

}  // namespace

Verdict CheckRecipientMaps(RestrictionContext& c, bool sender) {
  const SmtpdServiceSettings& s = c.settings();
  if (s.no_unknown_recipient_checks) return Verdict::kDunno;
  bool& checked = sender ? c.state().sender_rcptmap_checked : c.state().recipient_rcptmap_checked;
  if (checked) return Verdict::kDunno;
  checked = true;
  const std::string* address = sender ? c.sender() : c.recipient();
  if (address == nullptr || address->empty()) return Verdict::kDunno;
  auto resolved = sender ? c.ResolvedSender() : c.ResolvedRecipient();
  if (!resolved) return c.TemporaryLookupFailure(*address, resolved.error());
  const ResolvedAddress& r = **resolved;

  auto found_in = [&](const core::TableList& maps) -> core::Result<bool> {
    if (maps.empty()) return false;
    auto match = core::FindAddress(maps, r.address, core::AddressSearch::Virtual(),
                                   s.address_context);
    if (!match) return std::unexpected(match.error());
    return match->has_value();
  };
  // An address that a canonical or virtual alias map rewrites is known.
  for (const core::TableList* maps :
       {&s.recipient_canonical_maps, &s.canonical_maps, &s.virtual_alias_maps}) {
    auto found = found_in(*maps);
    if (!found) return c.TemporaryLookupFailure(*address, found.error());
    if (*found) return Verdict::kDunno;
  }

  const std::string_view reply_class = sender ? "Sender address" : "Recipient address";
  const std::string_view dsn = sender ? "5.1.0" : "5.1.1";
  auto unknown = [&](int code, std::string_view table) {
    return c.RejectF(code, dsn, "<{}>: {} rejected: User unknown{}{}", *address, reply_class,
                     s.show_unknown_table_name ? " in " : "",
                     s.show_unknown_table_name ? table : "");
  };
  switch (r.address_class) {
    case AddressClass::kAlias:
      return unknown(s.codes.unknown_virtual_alias, "virtual alias table");
    case AddressClass::kLocal: {
      // Mail the MTA absorbs itself (postmaster, MAILER-DAEMON, the double-bounce address) is
      // always accepted.
      if (StartsWithLocalPart(r.address, s.double_bounce_sender) ||
          StartsWithLocalPart(r.address, "postmaster") ||
          StartsWithLocalPart(r.address, "mailer-daemon")) {
        return Verdict::kDunno;
      }
      if (!s.local_recipient_maps_set) {
        // Moat has no local delivery agent and no passwd lookup: without a table, no local
        // address exists.
        return unknown(s.codes.unknown_local_recipient, "local recipient table");
      }
      if (s.local_recipient_maps.empty()) return Verdict::kDunno;
      auto found = found_in(s.local_recipient_maps);
      if (!found) return c.TemporaryLookupFailure(*address, found.error());
      if (!*found) return unknown(s.codes.unknown_local_recipient, "local recipient table");
      return Verdict::kDunno;
    }
    case AddressClass::kVirtual: {
      auto found = found_in(s.virtual_mailbox_maps);
      if (!found) return c.TemporaryLookupFailure(*address, found.error());
      if (!s.virtual_mailbox_maps.empty() && !*found) {
        return unknown(s.codes.unknown_virtual_mailbox, "virtual mailbox table");
      }
      return Verdict::kDunno;
    }
    case AddressClass::kRelay: {
      auto found = found_in(s.relay_recipient_maps);
      if (!found) return c.TemporaryLookupFailure(*address, found.error());
      if (!s.relay_recipient_maps.empty() && !*found) {
        return unknown(s.codes.unknown_relay_recipient, "relay recipient table");
      }
      return Verdict::kDunno;
    }
    case AddressClass::kDefault:
      return Verdict::kDunno;
  }
  return Verdict::kDunno;
}

void AddAddressRestrictions(RestrictionRegistry& registry) {
  using A = RestrictionArgument;
  registry.Add("permit_auth_destination", A::kNone, Simple(PermitAuthDestinationRestriction));
  registry.Add("reject_unauth_destination", A::kNone, Simple(RejectUnauthDestination));
  registry.Add("defer_unauth_destination", A::kNone, Simple(DeferUnauthDestination));
  registry.Add("reject_non_fqdn_sender", A::kNone, Simple(RejectNonFqdnSender));
  registry.Add("reject_non_fqdn_recipient", A::kNone, Simple(RejectNonFqdnRecipient));
  auto unknown_domain = [](bool sender) -> RestrictionFactory {
    return [sender](const RestrictionBuildContext&,
                    std::string_view) -> core::Result<std::shared_ptr<const Restriction>> {
      return std::make_shared<RejectUnknownDomain>(sender);
    };
  };
  registry.Add("reject_unknown_sender_domain", A::kNone, unknown_domain(true));
  registry.Add("reject_unknown_recipient_domain", A::kNone, unknown_domain(false));
  registry.Add("reject_unlisted_recipient", A::kNone, Simple(RejectUnlistedRecipient));
  registry.AddAlias("check_recipient_maps", "reject_unlisted_recipient");
  registry.Add("reject_unlisted_sender", A::kNone, Simple(RejectUnlistedSender));
  registry.Add("reject_multi_recipient_bounce", A::kNone, Simple(RejectMultiRecipientBounce));
  registry.Add("reject_authenticated_sender_login_mismatch", A::kNone,
               Simple([](RestrictionContext& c) {
                 return SenderLoginMismatch(c, LoginCheck::kAuthenticated);
               }));
  registry.Add("reject_unauthenticated_sender_login_mismatch", A::kNone,
               Simple([](RestrictionContext& c) {
                 return SenderLoginMismatch(c, LoginCheck::kUnauthenticated);
               }));
  registry.Add("reject_known_sender_login_mismatch", A::kNone, Simple([](RestrictionContext& c) {
                 return SenderLoginMismatch(c, LoginCheck::kKnown);
               }));
  registry.Add("reject_sender_login_mismatch", A::kNone, Simple([](RestrictionContext& c) {
                 return SenderLoginMismatch(c, LoginCheck::kBoth);
               }));
}

}  // namespace moat::mta
