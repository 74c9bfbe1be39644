// resolve_address.cc - trivial-rewrite's resolve (after Postfix resolve.c, resolve_local.c,
// transport.c, and the recipient checks of qmgr_message.c).
#include "mta/resolve_address.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/config_error.h"
#include "core/network_list.h"

namespace moat::mta {
namespace {

constexpr std::string_view kTransportParameter = "transport_maps";

[[noreturn]] void ThrowFor(const core::Config& main, std::string_view name,
                           const core::Error& error) {
  throw core::ConfigError(main.LocationOf(name), fmt::format("{}: {}", name, error.message()));
}

DomainList OpenList(const core::Config& main, std::string_view name, DomainMatch match,
                    const core::TableOpenOptions& options) {
  bool parent = core::ParentDomainMatchesSubdomains(
      name, main.GetString("parent_domain_matches_subdomains"));
  auto list = DomainList::Parse(main.GetString(name), match,
                                parent ? core::ParentDomainStyle::kParent
                                       : core::ParentDomainStyle::kDotParent,
                                options);
  if (!list) ThrowFor(main, name, list.error());
  return std::move(*list);
}

core::TableList OpenTables(const core::Config& main, std::string_view name,
                           const core::TableOpenOptions& options) {
  auto tables = core::TableList::Open(main.GetString(name), options);
  if (!tables) ThrowFor(main, name, tables.error());
  return std::move(*tables);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && LowerAscii(a) == LowerAscii(b);
}

// "[192.0.2.1]", "[IPv6:2001:db8::1]" or, when `bare` is allowed, "192.0.2.1".
std::optional<core::IpAddress> LiteralAddress(std::string_view domain, bool bare) {
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view inner = domain.substr(1, domain.size() - 2);
    if (inner.size() > 5 && EqualsIgnoreCase(inner.substr(0, 5), "ipv6:")) inner.remove_prefix(5);
    return core::IpAddress::Parse(inner);
  }
  if (bare) return core::IpAddress::Parse(domain);
  return std::nullopt;
}

void AddInterfaceAddresses(const core::Config& main, std::string_view name, bool allow_all,
                           const ResolverOptions& options, std::vector<core::IpAddress>& out) {
  for (const std::string& item : main.GetList(name)) {
    std::string lower = LowerAscii(item);
    if (allow_all && lower == "all") {
      if (options.interface_addresses) {
        out.insert(out.end(), options.interface_addresses->begin(),
                   options.interface_addresses->end());
        continue;
      }
      auto interfaces = core::LocalInterfaces();
      if (!interfaces) ThrowFor(main, name, interfaces.error());
      for (const auto& i : *interfaces) out.push_back(i.address);
      continue;
    }
    if (allow_all && lower == "loopback-only") {
      out.push_back(*core::IpAddress::Parse("127.0.0.1"));
      out.push_back(*core::IpAddress::Parse("::1"));
      continue;
    }
    std::string_view text = item;
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
      text = text.substr(1, text.size() - 2);
    }
    if (auto address = core::IpAddress::Parse(text)) {
      out.push_back(*address);
      continue;
    }
    // A host name: its addresses, looked up once at load time as Postfix does.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* results = nullptr;
    std::string host(text);
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &results);
    if (rc != 0) {
      ThrowFor(main, name,
               core::Error(core::ErrorCode::kInvalid,
                           fmt::format("{}: host not found: {}", host, ::gai_strerror(rc))));
    }
    for (addrinfo* r = results; r != nullptr; r = r->ai_next) {
      char buffer[NI_MAXHOST];
      if (::getnameinfo(r->ai_addr, r->ai_addrlen, buffer, sizeof buffer, nullptr, 0,
                        NI_NUMERICHOST) == 0) {
        if (auto address = core::IpAddress::Parse(buffer)) out.push_back(*address);
      }
    }
    ::freeaddrinfo(results);
  }
}

core::Error LookupFailure(std::string_view what, const core::Error& error) {
  return core::Error(core::ErrorCode::kTempFail,
                     fmt::format("{} lookup failure: {}", what, error.message()));
}

// site!user -> user@site, user%domain -> user@domain (rewrite.c, REWRITE_CANON on a local part).
std::string RewriteRouting(std::string address, bool swap_bangpath, bool percent_hack,
                           bool append_dot_mydomain, std::string_view mydomain) {
  if (address.find('@') == std::string::npos) {
    size_t bang = address.find('!');
    size_t percent = address.rfind('%');
    if (swap_bangpath && bang != std::string::npos) {
      address = address.substr(bang + 1) + "@" + address.substr(0, bang);
    } else if (percent_hack && percent != std::string::npos) {
      address[percent] = '@';
    }
  }
  size_t at = address.rfind('@');
  if (append_dot_mydomain && at != std::string::npos && at + 1 < address.size() &&
      address.find('.', at) == std::string::npos && address[at + 1] != '[' && !mydomain.empty()) {
    address += ".";
    address += mydomain;
  }
  return address;
}

bool ValidHostName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  size_t label = 0;
  bool non_numeric = false;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (++label > 63) return false;
    if (c == '-') {
      if (label == 1 || i + 1 == name.size() || name[i + 1] == '.') return false;
      non_numeric = true;
    } else if (c >= '0' && c <= '9') {
      // digits alone make no host name
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80) {
      non_numeric = true;
    } else {
      return false;
    }
  }
  return label > 0 && non_numeric;
}

}  // namespace

std::string_view AddressClassName(AddressClass address_class) {
  switch (address_class) {
    case AddressClass::kLocal:
      return "local";
    case AddressClass::kVirtualAlias:
      return "virtual alias";
    case AddressClass::kVirtualMailbox:
      return "virtual mailbox";
    case AddressClass::kRelay:
      return "relay";
    case AddressClass::kDefault:
      return "default";
  }
  return "default";
}

std::string Resolution::ToString() const { return transport + ":" + nexthop; }

bool ValidDestinationDomain(std::string_view domain) {
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    return LiteralAddress(domain, false).has_value();
  }
  return ValidHostName(domain);
}

std::shared_ptr<const AddressResolver> AddressResolver::Create(
    std::shared_ptr<const TransportCatalog> catalog, const ResolverOptions& options) {
  std::shared_ptr<AddressResolver> r(new AddressResolver());
  const core::Config& m = catalog->main();
  r->catalog_ = std::move(catalog);
  core::TableOpenOptions tables = options.tables;
  if (tables.base_directory == ".") tables.base_directory = m.absolute_directory();

  r->myhostname_ = LowerAscii(m.GetString("myhostname"));
  r->empty_address_recipient_ = m.GetString("empty_address_recipient");
  r->local_transport_ = m.GetString("local_transport");
  r->virtual_transport_ = m.GetString("virtual_transport");
  r->relay_transport_ = m.GetString("relay_transport");
  r->default_transport_ = m.GetString("default_transport");
  r->relayhost_ = m.GetString("relayhost");
  r->default_filter_nexthop_ = m.GetString("default_filter_nexthop");
  r->null_relay_key_ = m.GetString("empty_address_relayhost_maps_lookup_key");
  r->null_transport_key_ = m.GetString("empty_address_default_transport_maps_lookup_key");
  r->swap_bangpath_ = m.GetBool("swap_bangpath");
  r->percent_hack_ = m.GetBool("allow_percent_hack");
  r->resolve_numeric_domain_ = m.GetBool("resolve_numeric_domain");
  r->append_dot_mydomain_ = m.GetBool("append_dot_mydomain");
  r->mydomain_ = LowerAscii(m.GetString("mydomain"));
  r->allow_min_user_ = m.GetBool("allow_min_user");
  r->show_unknown_table_ = m.GetBool("show_user_unknown_table_name");

  r->mydestination_ = OpenList(m, "mydestination", DomainMatch::kExact, tables);
  r->relay_domains_ = OpenList(m, "relay_domains", DomainMatch::kDomain, tables);
  r->virtual_alias_domains_ = OpenList(m, "virtual_alias_domains", DomainMatch::kExact, tables);
  r->virtual_mailbox_domains_ =
      OpenList(m, "virtual_mailbox_domains", DomainMatch::kExact, tables);
  AddInterfaceAddresses(m, "inet_interfaces", true, options, r->own_addresses_);
  AddInterfaceAddresses(m, "proxy_interfaces", false, options, r->own_addresses_);

  r->transport_maps_ = OpenTables(m, "transport_maps", tables);
  r->relocated_maps_ = OpenTables(m, "relocated_maps", tables);
  r->sender_relayhost_maps_ = OpenTables(m, "sender_dependent_relayhost_maps", tables);
  r->sender_transport_maps_ = OpenTables(m, "sender_dependent_default_transport_maps", tables);
  r->transport_search_ = core::AddressSearch::Transport(core::ParentDomainMatchesSubdomains(
      kTransportParameter, m.GetString("parent_domain_matches_subdomains")));
  r->address_context_.recipient_delimiter = m.GetString("recipient_delimiter");
  r->address_context_.double_bounce_sender = m.GetString("double_bounce_sender");
  return r;
}

core::Result<bool> AddressResolver::IsLocalDomain(std::string_view domain) const {
  std::string_view d = domain;
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.back() == '.') return false;
  auto listed = mydestination_.Contains(d);
  if (!listed) return std::unexpected(LookupFailure("mydestination", listed.error()));
  if (*listed) return true;
  if (auto address = LiteralAddress(d, resolve_numeric_domain_)) {
    return std::find(own_addresses_.begin(), own_addresses_.end(), *address) !=
           own_addresses_.end();
  }
  return false;
}

core::Result<std::string> AddressResolver::Normalise(std::string_view recipient) const {
  std::string address(recipient.empty() ? std::string_view(empty_address_recipient_) : recipient);
  std::string saved_domain;  // "@local.domain" stripped last
  bool remote = false;
  const size_t loop_max = address.size() + 100;
  for (size_t loop = 0; loop <= loop_max; ++loop) {
    size_t at = address.rfind('@');
    if (at != std::string::npos && address.size() >= 2 && address.back() == '.' &&
        address[address.size() - 2] != '.') {
      address.pop_back();
    }
    if (!address.empty() && address.back() == '@') address.pop_back();
    at = address.rfind('@');
    if (at != std::string::npos) {
      auto local = IsLocalDomain(std::string_view(address).substr(at + 1));
      if (!local) return std::unexpected(local.error());
      if (!*local) {
        remote = true;
        break;
      }
      saved_domain = address.substr(at);
      address.resize(at);
    }
    if (address.find('@') != std::string::npos ||
        (swap_bangpath_ && address.find('!') != std::string::npos) ||
        (percent_hack_ && address.find('%') != std::string::npos)) {
      address = RewriteRouting(std::move(address), swap_bangpath_, percent_hack_,
                               append_dot_mydomain_, mydomain_);
      continue;
    }
    break;
  }
  if (!remote) {
    if (address.empty()) address = empty_address_recipient_;
    address += saved_domain.empty() ? "@" + myhostname_ : saved_domain;
  }
  return address;
}

core::Result<std::optional<std::string>> AddressResolver::LookupBySender(
    const core::TableList& maps, std::string_view sender, std::string_view null_key) const {
  if (maps.empty()) return std::optional<std::string>();
  std::string key(sender.empty() ? null_key : sender);
  core::AddressContext context = address_context_;
  bool local = false;
  if (size_t at = key.rfind('@'); at != std::string::npos) {
    auto is_local = IsLocalDomain(std::string_view(key).substr(at + 1));
    if (!is_local) return std::unexpected(is_local.error());
    local = *is_local;
  }
  context.is_local_domain = [local](std::string_view) { return local; };
  auto found = core::FindAddress(maps, key, core::AddressSearch::Virtual(), context);
  if (!found) return std::unexpected(found.error());
  if (!found->has_value()) return std::optional<std::string>();
  return std::optional<std::string>((*found)->value);
}

core::Result<Resolution> AddressResolver::Resolve(std::string_view sender,
                                                  std::string_view recipient) const {
  Resolution r;
  auto normalised = Normalise(recipient);
  if (!normalised) return std::unexpected(normalised.error());
  r.recipient = std::move(*normalised);
  const size_t at = r.recipient.rfind('@');
  r.domain = r.recipient.substr(at + 1);
  r.bad_address = !ValidDestinationDomain(r.domain) ||
                  (!allow_min_user_ && r.recipient.front() == '-');
  size_t first_operator = r.recipient.find_first_of("@!%");
  r.routed = first_operator != at;

  auto local = IsLocalDomain(r.domain);
  if (!local) return std::unexpected(local.error());
  std::string channel;
  std::string_view blame;
  if (*local) {
    r.address_class = AddressClass::kLocal;
    channel = local_transport_;
    blame = "local_transport";
    r.nexthop = r.domain;
  } else {
    auto alias = virtual_alias_domains_.Contains(r.domain);
    if (!alias) return std::unexpected(LookupFailure("virtual_alias_domains", alias.error()));
    auto mailbox = *alias ? core::Result<bool>(false) : virtual_mailbox_domains_.Contains(r.domain);
    if (!mailbox) {
      return std::unexpected(LookupFailure("virtual_mailbox_domains", mailbox.error()));
    }
    if (*alias) {
      r.address_class = AddressClass::kVirtualAlias;
      channel = "error";
      r.nexthop = show_unknown_table_ ? "5.1.1 User unknown in virtual alias table"
                                      : "5.1.1 User unknown";
    } else if (*mailbox) {
      r.address_class = AddressClass::kVirtualMailbox;
      channel = virtual_transport_;
      blame = "virtual_transport";
      r.nexthop = r.domain;
    } else {
      auto relay = relay_domains_.Contains(r.domain);
      if (!relay) return std::unexpected(LookupFailure("relay_domains", relay.error()));
      if (*relay) {
        r.address_class = AddressClass::kRelay;
        channel = relay_transport_;
        blame = "relay_transport";
      } else {
        r.address_class = AddressClass::kDefault;
        auto by_sender = LookupBySender(sender_transport_maps_, sender, null_transport_key_);
        if (!by_sender) {
          return std::unexpected(
              LookupFailure("sender_dependent_default_transport_maps", by_sender.error()));
        }
        if (by_sender->has_value() && !(*by_sender)->empty() &&
            !EqualsIgnoreCase(**by_sender, "DUNNO")) {
          channel = **by_sender;
          blame = "sender_dependent_default_transport_maps";
        } else {
          channel = default_transport_;
          blame = "default_transport";
        }
      }
      auto relay_by_sender = LookupBySender(sender_relayhost_maps_, sender, null_relay_key_);
      if (!relay_by_sender) {
        return std::unexpected(
            LookupFailure("sender_dependent_relayhost_maps", relay_by_sender.error()));
      }
      if (relay_by_sender->has_value() && !(*relay_by_sender)->empty() &&
          !EqualsIgnoreCase(**relay_by_sender, "DUNNO")) {
        r.nexthop = **relay_by_sender;
      } else {
        r.nexthop = relayhost_.empty() ? r.domain : relayhost_;
      }
    }
  }
  // A main.cf transport:nexthop value overrides the nexthop chosen so far.
  TransportNexthop split = SplitTransport(channel);
  r.transport = split.transport;
  if (!split.nexthop.empty()) r.nexthop = split.nexthop;
  if (r.transport.empty()) {
    r.failure = RouteFailure{true, "4.3.5",
                             fmt::format("address resolver failure: parameter {}: null transport "
                                         "is not allowed",
                                         blame)};
    return r;
  }

  if (r.address_class != AddressClass::kVirtualAlias && !transport_maps_.empty()) {
    core::AddressContext context = address_context_;
    bool is_local = *local;
    context.is_local_domain = [is_local](std::string_view) { return is_local; };
    auto found = core::FindAddress(transport_maps_, r.recipient, transport_search_, context);
    if (!found) return std::unexpected(LookupFailure(kTransportParameter, found.error()));
    if (found->has_value()) {
      TransportNexthop entry = SplitTransport((*found)->value);
      if (!entry.transport.empty()) {
        r.transport = entry.transport;
        if (!entry.nexthop.empty()) {
          r.nexthop = entry.nexthop;
        } else {
          // Postfix 3.7 treats the retry service like error here.
          r.nexthop = r.transport == "error" || r.transport == "retry" ? "Address is undeliverable"
                                                                       : r.domain;
        }
      } else if (!entry.nexthop.empty()) {
        r.nexthop = entry.nexthop;
      }
    }
  }

  if (!relocated_maps_.empty()) {
    core::AddressContext context = address_context_;
    bool is_local = *local;
    context.is_local_domain = [is_local](std::string_view) { return is_local; };
    auto found =
        core::FindAddress(relocated_maps_, r.recipient, core::AddressSearch::Virtual(), context);
    if (!found) return std::unexpected(LookupFailure("relocated_maps", found.error()));
    if (found->has_value()) {
      r.relocated = true;
      r.transport = "error";
      r.nexthop = fmt::format("5.1.6 User has moved to {}", (*found)->value);
    }
  }

  // The queue manager discards mail to the local double-bounce address, so a system without
  // local delivery can run (qmgr_message.c).
  if (r.address_class == AddressClass::kLocal &&
      EqualsIgnoreCase(std::string_view(r.recipient).substr(0, at),
                       address_context_.double_bounce_sender)) {
    r.transport = "discard";
    r.nexthop = "undeliverable postmaster notification discarded";
    r.agent = DeliveryAgentKind::kDiscard;
    r.settings = catalog_->Find(r.transport);
    r.error = ErrorReason{"2.0.0", r.nexthop};
    return r;
  }
  Finish(r);
  return r;
}

void AddressResolver::Finish(Resolution& r) const {
  if (r.bad_address) {
    r.failure = RouteFailure{false, "5.1.3", "bad address syntax"};
  }
  r.settings = catalog_->Find(r.transport);
  if (r.settings == nullptr) {
    r.agent = DeliveryAgentKind::kUnsupported;
    if (!r.failure) r.failure = RouteFailure{true, "4.3.0", "mail transport unavailable"};
    return;
  }
  r.agent = r.settings->kind;
  switch (r.agent) {
    case DeliveryAgentKind::kSmtp:
    case DeliveryAgentKind::kLmtp: {
      auto destinations = ParseNexthop(
          r.nexthop, r.agent == DeliveryAgentKind::kSmtp ? NexthopProtocol::kSmtp
                                                         : NexthopProtocol::kLmtp);
      if (!destinations) {
        if (!r.failure) r.failure = RouteFailure{true, "4.3.5", destinations.error().message()};
      } else {
        r.destinations = std::move(*destinations);
      }
      break;
    }
    case DeliveryAgentKind::kError:
      r.error = ParseErrorReason(r.nexthop, false);
      break;
    case DeliveryAgentKind::kRetry:
      r.error = ParseErrorReason(r.nexthop, true);
      break;
    case DeliveryAgentKind::kDiscard:
      r.error = ErrorReason{"2.0.0", r.nexthop};
      break;
    case DeliveryAgentKind::kUnsupported:
      if (!r.failure) r.failure = RouteFailure{true, "4.3.5", r.settings->unsupported_reason};
      break;
  }
}

core::Result<Resolution> AddressResolver::ResolveFilter(std::string_view filter,
                                                        std::string_view recipient) const {
  auto value = ParseContentFilter(filter);
  if (!value) return std::unexpected(value.error());
  Resolution r;
  r.recipient.assign(recipient);
  size_t at = r.recipient.rfind('@');
  r.domain = at == std::string::npos ? std::string() : r.recipient.substr(at + 1);
  r.transport = value->transport;
  r.nexthop = value->nexthop;
  if (r.nexthop.empty()) r.nexthop = default_filter_nexthop_;
  if (r.nexthop.empty()) r.nexthop = r.domain.empty() ? myhostname_ : r.domain;
  Finish(r);
  return r;
}

core::Result<AddressClass> AddressResolver::ClassifyDomain(std::string_view domain) const {
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  auto local = IsLocalDomain(domain);
  if (!local) return std::unexpected(local.error());
  if (*local) return AddressClass::kLocal;
  auto alias = virtual_alias_domains_.Contains(domain);
  if (!alias) return std::unexpected(LookupFailure("virtual_alias_domains", alias.error()));
  if (*alias) return AddressClass::kVirtualAlias;
  auto mailbox = virtual_mailbox_domains_.Contains(domain);
  if (!mailbox) return std::unexpected(LookupFailure("virtual_mailbox_domains", mailbox.error()));
  if (*mailbox) return AddressClass::kVirtualMailbox;
  auto relay = relay_domains_.Contains(domain);
  if (!relay) return std::unexpected(LookupFailure("relay_domains", relay.error()));
  return *relay ? AddressClass::kRelay : AddressClass::kDefault;
}

}  // namespace moat::mta
