// address_class.cc - canonical rewrite and address resolution as trivial-rewrite does them for
// smtpd (rewrite.c rewrite_tree(), resolve.c resolve_addr(), resolve_local.c, valid_hostname.c).
#include "mta/address_class.h"

#include "core/address_lookup.h"
#include "core/config_value.h"
#include "core/network_list.h"

namespace moat::mta::smtpd_rewrite {
namespace {

void LowerInPlace(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
}

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    char b = prefix[i] >= 'A' && prefix[i] <= 'Z' ? static_cast<char>(prefix[i] + 32) : prefix[i];
    if (a != b) return false;
  }
  return true;
}

std::optional<core::IpAddress> LiteralAddress(std::string_view literal) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return std::nullopt;
  std::string_view inner = literal.substr(1, literal.size() - 2);
  bool v6_tag = StartsWithNoCase(inner, "ipv6:");
  if (v6_tag) inner.remove_prefix(5);
  auto address = core::IpAddress::Parse(inner);
  if (!address || (v6_tag && address->is_v4() && inner.find(':') == std::string_view::npos)) {
    return std::nullopt;
  }
  return address;
}

core::Result<std::vector<core::IpAddress>> OwnAddresses(const core::Config& config) {
  std::vector<core::IpAddress> out;
  auto add_list = [&](const std::vector<std::string>& items) {
    for (const std::string& item : items) {
      std::string_view text = item;
      if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
      }
      if (auto address = core::IpAddress::Parse(text)) out.push_back(*address);
    }
  };
  std::vector<std::string> interfaces = config.GetList("inet_interfaces");
  bool all = false;
  for (const std::string& item : interfaces) {
    if (item == "all") {
      all = true;
    } else if (item == "loopback-only") {
      add_list({"127.0.0.1", "::1"});
    }
  }
  if (all) {
    auto local = core::LocalInterfaces();
    if (local) {
      for (const auto& interface : *local) out.push_back(interface.address);
    }
  } else {
    add_list(interfaces);
  }
  add_list(config.GetList("proxy_interfaces"));
  return out;
}

}  // namespace

std::string_view AddressClassName(AddressClass address_class) {
  switch (address_class) {
    case AddressClass::kLocal:
      return "local";
    case AddressClass::kAlias:
      return "virtual alias";
    case AddressClass::kVirtual:
      return "virtual mailbox";
    case AddressClass::kRelay:
      return "relay";
    case AddressClass::kDefault:
      return "default";
  }
  return "default";
}

core::Result<AddressResolver> AddressResolver::Build(const core::Config& config,
                                                     TableSet& tables) {
  AddressResolverSettings s;
  s.myhostname = config.GetString("myhostname");
  s.myorigin = config.GetString("myorigin");
  s.mydomain = config.GetString("mydomain");
  s.empty_address_recipient = config.GetString("empty_address_recipient");
  s.swap_bangpath = config.GetBool("swap_bangpath");
  s.allow_percent_hack = config.GetBool("allow_percent_hack");
  s.append_at_myorigin = config.GetBool("append_at_myorigin");
  s.append_dot_mydomain = config.GetBool("append_dot_mydomain");
  s.resolve_numeric_domain = config.GetBool("resolve_numeric_domain");
  const std::string parent_matches = config.GetString("parent_domain_matches_subdomains");
  auto style = [&](std::string_view feature) {
    return core::ParentDomainMatchesSubdomains(feature, parent_matches)
               ? core::ParentDomainStyle::kParent
               : core::ParentDomainStyle::kNone;
  };
  struct ListSpec {
    std::string_view parameter;
    DomainList* target;
    core::ParentDomainStyle style;
  };
  const ListSpec lists[] = {
      {"mydestination", &s.mydestination, style("mydestination")},
      {"relay_domains", &s.relay_domains, style("relay_domains")},
      {"virtual_alias_domains", &s.virtual_alias_domains, core::ParentDomainStyle::kNone},
      {"virtual_mailbox_domains", &s.virtual_mailbox_domains, core::ParentDomainStyle::kNone},
  };
  for (const ListSpec& list : lists) {
    auto parsed = DomainList::Parse(config.GetString(list.parameter), list.style, tables);
    if (!parsed) return std::unexpected(parsed.error().WithContext(list.parameter));
    *list.target = std::move(*parsed);
  }
  auto own = OwnAddresses(config);
  if (!own) return std::unexpected(own.error());
  s.own_addresses = std::move(*own);
  return AddressResolver(std::move(s));
}

core::Result<bool> AddressResolver::IsLocalDomain(std::string_view domain) const {
  domain = StripTrailingDot(domain);
  if (domain.empty()) return false;
  auto listed = s_.mydestination.Contains(domain);
  if (!listed || *listed) return listed;
  std::optional<core::IpAddress> address;
  if (domain.front() == '[') {
    address = LiteralAddress(domain);
  } else if (s_.resolve_numeric_domain) {
    address = core::IpAddress::Parse(domain);
  }
  if (!address) return false;
  for (const core::IpAddress& own : s_.own_addresses) {
    if (own == *address) return true;
  }
  return false;
}

core::Status AddressResolver::Canonicalize(std::string& a) const {
  if (!a.empty() && a.front() == '@') {
    std::size_t colon = a.find(':');
    if (colon != std::string::npos && colon + 1 < a.size()) a.erase(0, colon + 1);
  }
  std::size_t at = a.rfind('@');
  if (at == std::string::npos) {
    std::size_t bang = s_.swap_bangpath ? a.find('!') : std::string::npos;
    std::size_t percent = s_.allow_percent_hack ? a.rfind('%') : std::string::npos;
    if (bang != std::string::npos) {
      std::string site = a.substr(0, bang);
      a.erase(0, bang + 1);
      a.push_back('@');
      a.append(site);
    } else if (percent != std::string::npos) {
      a[percent] = '@';
    } else if (s_.append_at_myorigin && !s_.myorigin.empty()) {
      a.push_back('@');
      a.append(s_.myorigin);
    }
    at = a.rfind('@');
  }
  if (s_.append_dot_mydomain && !s_.mydomain.empty() && at != std::string::npos &&
      at + 1 < a.size() && a[at + 1] != '[' && a.find('.', at) == std::string::npos) {
    a.push_back('.');
    a.append(s_.mydomain);
  }
  if (a.size() >= 2 && a.back() == '.' && a[a.size() - 2] != '.' && a[a.size() - 2] != '@') {
    a.pop_back();
  }
  return {};
}

core::Status AddressResolver::Resolve(std::string_view address, ResolvedAddress& out) const {
  std::string& a = out.address;
  a.assign(address);
  if (auto status = Canonicalize(a); !status) return status;

  std::string saved_domain;
  bool remote = false;
  const std::size_t loop_max = address.size() + 100;
  for (std::size_t loop = 0; loop <= loop_max; ++loop) {
    std::size_t at = a.rfind('@');
    if (at != std::string::npos && a.size() >= 2 && a.back() == '.' && a[a.size() - 2] != '.') {
      a.pop_back();
    }
    if (!a.empty() && a.back() == '@') a.pop_back();
    at = a.rfind('@');
    if (at != std::string::npos) {
      std::string_view domain = std::string_view(a).substr(at + 1);
      auto local = IsLocalDomain(domain);
      if (!local) return std::unexpected(local.error());
      if (!*local) {
        remote = true;
        break;
      }
      saved_domain.assign(domain);
      a.resize(at);
    }
    if (a.find('@') != std::string::npos ||
        (s_.swap_bangpath && a.find('!') != std::string::npos) ||
        (s_.allow_percent_hack && a.find('%') != std::string::npos)) {
      if (auto status = Canonicalize(a); !status) return status;
      continue;
    }
    if (a.empty()) a = s_.empty_address_recipient;
    break;
  }
  if (!remote) {
    a.push_back('@');
    a.append(saved_domain.empty() ? s_.myhostname : saved_domain);
  }
  LowerInPlace(a);
  out.at = a.rfind('@');
  std::string_view domain = out.domain();
  out.syntax_error = domain.empty() ||
                     (domain.front() == '[' ? !IsValidHostLiteral(domain) : !IsValidHostname(domain));
  out.routed = a.find_first_of("@!%") != out.at;
  if (!remote) {
    out.address_class = AddressClass::kLocal;
    return {};
  }
  auto alias = s_.virtual_alias_domains.Contains(domain);
  if (!alias) return std::unexpected(alias.error());
  if (*alias) {
    out.address_class = AddressClass::kAlias;
    return {};
  }
  auto mailbox = s_.virtual_mailbox_domains.Contains(domain);
  if (!mailbox) return std::unexpected(mailbox.error());
  if (*mailbox) {
    out.address_class = AddressClass::kVirtual;
    return {};
  }
  auto relay = s_.relay_domains.Contains(domain);
  if (!relay) return std::unexpected(relay.error());
  out.address_class = *relay ? AddressClass::kRelay : AddressClass::kDefault;
  return {};
}

std::string InternalizeAddress(std::string_view external) {
  if (external.find('"') == std::string_view::npos) return std::string(external);
  std::string out;
  out.reserve(external.size());
  bool in_quote = false;
  for (std::size_t i = 0; i < external.size(); ++i) {
    char c = external[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < external.size()) {
        out.push_back(external[++i]);
      } else if (c == '"') {
        in_quote = false;
      } else {
        out.push_back(c);
      }
    } else if (c == '"') {
      in_quote = true;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsValidHostname(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  std::size_t label_length = 0;
  bool non_numeric = false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool last = i + 1 == name.size();
    if (IsAlnum(c) || c == '_') {
      if (++label_length > 63) return false;
      if (!(c >= '0' && c <= '9')) non_numeric = true;
    } else if (c == '.') {
      if (label_length == 0 || last) return false;
      label_length = 0;
    } else if (c == '-') {
      non_numeric = true;
      if (++label_length == 1 || last || name[i + 1] == '.') return false;
    } else {
      return false;
    }
  }
  return non_numeric;
}

bool IsValidHostAddress(std::string_view text) { return core::IpAddress::Parse(text).has_value(); }

bool IsValidHostLiteral(std::string_view text) { return LiteralAddress(text).has_value(); }

std::string_view StripTrailingDot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') {
    name.remove_suffix(1);
  }
  return name;
}

}  // namespace moat::mta::smtpd_rewrite
