// smtpd_access_restrictions.cc - check_client/helo/sender/recipient_access and bare access tables:
// which keys are looked up (smtpd_check.c check_namadr_access(), check_domain_access(),
// check_addr_access(), check_mail_access()) and what the value does (check_table_result()).
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "core/address_lookup.h"
#include "mta/address_class.h"
#include "mta/smtpd_access_result.h"
#include "mta/smtpd_builtin_restrictions.h"
#include "mta/smtpd_service.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

constexpr int kMaxRecursion = 100;

enum class AccessTarget { kClient, kHelo, kSender, kRecipient, kStageDefault };

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

struct Found {
  std::string value;
  std::string key;
};

// One key against one table; pattern tables never see partial keys.
core::Result<bool> Probe(const core::LookupTable& table, std::string_view key, bool partial,
                         std::string& value) {
  if (partial && table.IsPattern()) return false;
  return table.LookupInto(key, value);
}

// check_domain_access(): the name, then its parent domains (not for numeric names).
core::Result<std::optional<Found>> DomainAccess(const core::LookupTable& table,
                                                std::string_view domain, bool first_partial,
                                                core::ParentDomainStyle style) {
  std::string low = Lower(domain);
  std::string_view name = low;
  std::string value;
  bool first = true;
  while (!name.empty()) {
    auto hit = Probe(table, name, first ? first_partial : true, value);
    if (!hit) return std::unexpected(hit.error());
    if (*hit) return Found{std::move(value), std::string(name)};
    if (first && IsValidHostAddress(low)) break;
    std::size_t next = name.find('.', 1);
    if (next == std::string_view::npos) break;
    name = style == core::ParentDomainStyle::kParent ? name.substr(next + 1) : name.substr(next);
    first = false;
  }
  return std::nullopt;
}

// check_addr_access(): the address, then its parent networks by octet (1.2.3.4, 1.2.3, 1.2, 1).
core::Result<std::optional<Found>> AddressAccess(const core::LookupTable& table,
                                                 std::string_view address) {
  const char delimiter = address.find(':') != std::string_view::npos ? ':' : '.';
  std::string_view key = address;
  std::string value;
  bool first = true;
  while (!key.empty()) {
    auto hit = Probe(table, key, !first, value);
    if (!hit) return std::unexpected(hit.error());
    if (*hit) return Found{std::move(value), std::string(key)};
    std::size_t cut = key.rfind(delimiter);
    if (cut == std::string_view::npos) break;
    key = key.substr(0, cut);
    first = false;
  }
  return std::nullopt;
}

// check_mail_access(): user+ext@domain, user@domain, domain (and parents), user+ext@, user@.
core::Result<std::optional<Found>> MailAccess(const core::LookupTable& table,
                                              std::string_view address,
                                              const SmtpdServiceSettings& settings) {
  core::AddressSearch search = core::AddressSearch::Access(
      settings.access_parent_style == core::ParentDomainStyle::kParent);
  std::string value;
  for (const core::SearchKey& key :
       core::AddressSearchKeys(address, search, settings.address_context)) {
    auto hit = Probe(table, key.key, key.partial, value);
    if (!hit) return std::unexpected(hit.error());
    if (*hit) return Found{std::move(value), key.key};
  }
  return std::nullopt;
}

// A FILTER, HOLD, DISCARD, REDIRECT or PREPEND needs a mail transaction to act on; in client or
// HELO restrictions evaluated outside one (smtpd_delay_reject = no) it is skipped.
bool InTransaction(RestrictionContext& c, std::string_view table, std::string_view action) {
  if (c.sender() != nullptr) return true;
  spdlog::warn("access table {}: with smtpd_delay_reject = no, action {} is always skipped in {} "
               "restrictions",
               table, action, ReplyClassName(c.reply_class()));
  return false;
}

std::string_view OrDefault(std::string_view text, std::string_view fallback) {
  return text.empty() ? fallback : text;
}

// check_table_result(): what an access table value does.
asio::awaitable<Verdict> ApplyAccessValue(RestrictionContext& c, std::string_view table,
                                          const std::string& value, std::string_view datum) {
  AccessAction action = ParseAccessAction(value);
  std::string_view reply_class = ReplyClassName(c.reply_class());
  const SmtpdReplyCodes& codes = c.settings().codes;
  switch (action.kind) {
    case AccessActionKind::kDunno:
      co_return Verdict::kDunno;
    case AccessActionKind::kOk:
      co_return Verdict::kPermit;
    case AccessActionKind::kReject: {
      std::string dsn = SmtpdDsnFix(OrDefault(action.dsn, "5.7.1"), c.reply_class());
      co_return c.RejectF(codes.access_map_reject, dsn, "<{}>: {} rejected: {}", c.reply_name(),
                          reply_class, OrDefault(action.text, "Access denied"));
    }
    case AccessActionKind::kDefer: {
      std::string dsn = SmtpdDsnFix(OrDefault(action.dsn, "4.7.1"), c.reply_class());
      co_return c.RejectF(codes.access_map_defer, dsn, "<{}>: {} rejected: {}", c.reply_name(),
                          reply_class, OrDefault(action.text, "Access denied"));
    }
    case AccessActionKind::kReply: {
      std::string fallback = fmt::format("{}.7.1", action.code / 100);
      std::string dsn = SmtpdDsnFix(OrDefault(action.dsn, fallback), c.reply_class());
      co_return c.RejectF(action.code, dsn, "<{}>: {} rejected: {}", c.reply_name(), reply_class,
                          OrDefault(action.text, "Access denied"));
    }
    case AccessActionKind::kDeferIfPermit: {
      std::string dsn = SmtpdDsnFix(OrDefault(action.dsn, "4.7.1"), c.reply_class());
      c.DeferIfPermit(450, dsn,
                      fmt::format("<{}>: {} rejected: {}", c.reply_name(), reply_class,
                                  OrDefault(action.text, "Service unavailable")));
      co_return Verdict::kDunno;
    }
    case AccessActionKind::kDeferIfReject: {
      std::string dsn = SmtpdDsnFix(OrDefault(action.dsn, "4.7.1"), c.reply_class());
      c.DeferIfReject(450, dsn,
                      fmt::format("<{}>: {} rejected: {}", c.reply_name(), reply_class,
                                  OrDefault(action.text, "Service unavailable")));
      co_return Verdict::kDunno;
    }
    case AccessActionKind::kWarn:
      c.Log("warn", action.text);
      co_return Verdict::kDunno;
    case AccessActionKind::kFilter:
      if (!InTransaction(c, table, "FILTER")) co_return Verdict::kDunno;
      c.Log("filter", fmt::format("<{}>: {} triggers FILTER {}", c.reply_name(), reply_class,
                                  action.text));
      c.state().actions.filter = std::string(action.text);
      co_return Verdict::kDunno;
    case AccessActionKind::kHold:
      if (!InTransaction(c, table, "HOLD")) co_return Verdict::kDunno;
      c.Log("hold", fmt::format("<{}>: {} {}", c.reply_name(), reply_class,
                                OrDefault(action.text, "triggers HOLD action")));
      c.state().actions.hold = true;
      c.state().actions.hold_reason = std::string(action.text);
      co_return Verdict::kDunno;
    case AccessActionKind::kDiscard:
      if (!InTransaction(c, table, "DISCARD")) co_return Verdict::kDunno;
      c.Log("discard", fmt::format("<{}>: {} {}", c.reply_name(), reply_class,
                                   OrDefault(action.text, "triggers DISCARD action")));
      c.state().actions.discard = true;
      c.state().actions.discard_reason = std::string(action.text);
      c.state().discard = true;
      co_return Verdict::kPermit;
    case AccessActionKind::kRedirect:
      if (!InTransaction(c, table, "REDIRECT")) co_return Verdict::kDunno;
      c.Log("redirect", fmt::format("<{}>: {} triggers REDIRECT {}", c.reply_name(), reply_class,
                                    action.text));
      c.state().redirect = std::string(action.text);
      co_return Verdict::kDunno;
    case AccessActionKind::kPrepend:
      if (!InTransaction(c, table, "PREPEND")) co_return Verdict::kDunno;
      c.state().actions.prepend_headers.emplace_back(action.text);
      co_return Verdict::kDunno;
    case AccessActionKind::kInvalid:
      spdlog::warn("access table {} entry \"{}\": {}", table, datum, action.text);
      co_return Verdict::kDunno;
    case AccessActionKind::kTableInValue:
      co_return c.ServerConfigurationError(fmt::format(
          "access table {} has an entry with a lookup table: {}; define a restriction class and "
          "name it instead",
          table, value));
    case AccessActionKind::kRestrictions: {
      if (c.recursion > kMaxRecursion) {
        co_return c.ServerConfigurationError(
            fmt::format("access table {} entry {} causes unreasonable recursion", table, value));
      }
      auto list = c.service().access_values->Get(value);
      if (!list) {
        co_return c.ServerConfigurationError(
            fmt::format("access table {} entry \"{}\": {}", table, datum, list.error().message()));
      }
      std::shared_ptr<const RestrictionList> keep = *list;
      Verdict verdict = co_await EvaluateRestrictions(*keep, c);
      co_return verdict;
    }
  }
  co_return Verdict::kDunno;
}

class AccessRestriction final : public Restriction {
 public:
  AccessRestriction(AccessTarget target, std::shared_ptr<const core::LookupTable> table)
      : target_(target), table_(std::move(table)) {}

  Verdict Evaluate(RestrictionContext&) const override { return Verdict::kDunno; }
  bool waits() const override { return true; }

  asio::awaitable<Verdict> EvaluateAsync(RestrictionContext& c) const override {
    AccessTarget target = target_;
    if (target == AccessTarget::kStageDefault) {
      switch (c.stage()) {
        case RestrictionStage::kClient:
          target = AccessTarget::kClient;
          break;
        case RestrictionStage::kHelo:
          target = AccessTarget::kHelo;
          break;
        case RestrictionStage::kSender:
          target = AccessTarget::kSender;
          break;
        case RestrictionStage::kRecipient:
          target = AccessTarget::kRecipient;
          break;
        case RestrictionStage::kData:
        case RestrictionStage::kEndOfData: {
          Verdict error = c.ServerConfigurationError(fmt::format(
              "specify one of check_client_access, check_helo_access, check_sender_access or "
              "check_recipient_access before {} restriction \"{}\"",
              ReplyClassName(c.reply_class()), table_->spec()));
          co_return error;
        }
      }
    }
    std::string datum;
    std::string_view reply_name;
    RestrictionStage reply_class = RestrictionStage::kClient;
    bool recipient_routed = false;
    core::Result<std::optional<Found>> found = std::nullopt;
    switch (target) {
      case AccessTarget::kClient: {
        reply_name = c.state().client_namaddr;
        reply_class = RestrictionStage::kClient;
        datum = c.state().client_name;
        found = DomainAccess(*table_, c.state().client_name, false,
                             c.settings().access_parent_style);
        if (found && !*found) {
          datum = c.session().client_address;
          found = AddressAccess(*table_, c.session().client_address);
        }
        break;
      }
      case AccessTarget::kHelo: {
        const std::string* helo = c.helo();
        if (helo == nullptr || helo->empty()) co_return Verdict::kDunno;
        reply_name = *helo;
        reply_class = RestrictionStage::kHelo;
        datum = *helo;
        found = DomainAccess(*table_, *helo, false, c.settings().access_parent_style);
        break;
      }
      case AccessTarget::kSender: {
        const std::string* sender = c.sender();
        if (sender == nullptr) co_return Verdict::kDunno;
        reply_name = *sender;
        reply_class = RestrictionStage::kSender;
        datum = *sender;
        if (sender->empty()) {
          std::string value;
          auto hit = table_->LookupInto(c.settings().null_access_key, value);
          if (!hit) {
            found = std::unexpected(hit.error());
          } else if (*hit) {
            found = Found{std::move(value), c.settings().null_access_key};
          }
          break;
        }
        auto resolved = c.ResolvedSender();
        if (!resolved) co_return c.TemporaryLookupFailure(*sender, resolved.error());
        found = MailAccess(*table_, (*resolved)->address, c.settings());
        break;
      }
      case AccessTarget::kRecipient: {
        const std::string* recipient = c.recipient();
        if (recipient == nullptr || recipient->empty()) co_return Verdict::kDunno;
        reply_name = *recipient;
        reply_class = RestrictionStage::kRecipient;
        datum = *recipient;
        auto resolved = c.ResolvedRecipient();
        if (!resolved) co_return c.TemporaryLookupFailure(*recipient, resolved.error());
        recipient_routed = (*resolved)->routed;
        found = MailAccess(*table_, (*resolved)->address, c.settings());
        break;
      }
      case AccessTarget::kStageDefault:
        break;
    }
    if (!found) co_return c.TemporaryLookupFailure(datum, found.error());
    if (!*found) co_return Verdict::kDunno;
    const std::string_view saved_name = c.reply_name();
    const RestrictionStage saved_class = c.reply_class();
    c.SetReplyTarget(reply_name, reply_class);
    Verdict verdict = co_await ApplyAccessValue(c, table_->spec(), (*found)->value, datum);
    c.SetReplyTarget(saved_name, saved_class);
    // An OK for a routed recipient (user%host@relay.example) would open a relay: no opinion.
    if (verdict == Verdict::kPermit && recipient_routed && !c.settings().allow_untrusted_routing) {
      verdict = Verdict::kDunno;
    }
    co_return verdict;
  }

 private:
  AccessTarget target_;
  std::shared_ptr<const core::LookupTable> table_;
};

RestrictionFactory AccessFactory(AccessTarget target) {
  return [target](const RestrictionBuildContext& build,
                  std::string_view argument) -> core::Result<std::shared_ptr<const Restriction>> {
    auto table = build.tables.Open(argument);
    if (!table) return std::unexpected(table.error());
    return std::make_shared<AccessRestriction>(target, std::move(*table));
  };
}

}  // namespace

core::Result<std::optional<AccessMatch>> LookupClientAccess(const core::LookupTable& table,
                                                            RestrictionContext& c) {
  auto found = DomainAccess(table, c.state().client_name, false, c.settings().access_parent_style);
  if (found && !*found) found = AddressAccess(table, c.session().client_address);
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::nullopt;
  return AccessMatch{std::move((*found)->value), std::move((*found)->key)};
}

core::Result<std::optional<AccessMatch>> LookupMailAccess(const core::LookupTable& table,
                                                          std::string_view address,
                                                          const SmtpdServiceSettings& settings) {
  auto found = MailAccess(table, address, settings);
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::nullopt;
  return AccessMatch{std::move((*found)->value), std::move((*found)->key)};
}

core::Result<std::shared_ptr<const Restriction>> MakeBareTableRestriction(
    const RestrictionBuildContext& build, std::string_view table) {
  return AccessFactory(AccessTarget::kStageDefault)(build, table);
}

void AddAccessRestrictions(RestrictionRegistry& registry) {
  registry.Add("check_client_access", RestrictionArgument::kTable,
               AccessFactory(AccessTarget::kClient));
  registry.Add("check_helo_access", RestrictionArgument::kTable,
               AccessFactory(AccessTarget::kHelo));
  registry.Add("check_sender_access", RestrictionArgument::kTable,
               AccessFactory(AccessTarget::kSender));
  registry.Add("check_recipient_access", RestrictionArgument::kTable,
               AccessFactory(AccessTarget::kRecipient));
}

std::string SmtpdDsnFix(std::string_view dsn, RestrictionStage stage) {
  std::string out(dsn);
  if (dsn.size() < 5 || dsn.substr(1, 3) != ".1.") return out;
  struct Map {
    std::string_view detail;
    std::string_view sender;
    std::string_view recipient;
  };
  static constexpr Map kMap[] = {
      {"1", "1.0", "1.1"}, {"2", "1.8", "1.2"}, {"3", "1.7", "1.3"}, {"4", "1.0", "1.4"},
      {"5", "1.0", "1.5"}, {"6", "1.0", "1.6"}, {"7", "1.7", "1.3"}, {"8", "1.8", "1.2"},
  };
  std::string_view detail = dsn.substr(4);
  std::string_view sender = "1.0";
  std::string_view recipient = "1.0";
  for (const Map& m : kMap) {
    if (m.detail == detail) {
      sender = m.sender;
      recipient = m.recipient;
    }
  }
  if (stage == RestrictionStage::kSender) {
    out = fmt::format("{}.{}", dsn[0], sender);
  } else if (stage == RestrictionStage::kRecipient) {
    out = fmt::format("{}.{}", dsn[0], recipient);
  } else {
    out = fmt::format("{}.7.1", dsn[0]);
  }
  return out;
}

}  // namespace moat::mta
