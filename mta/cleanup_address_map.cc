// cleanup_address_map.cc - canonical, virtual alias and masquerade rewriting (semantics in the
// header, after Postfix's cleanup_map11.c, cleanup_map1n.c, cleanup_masquerade.c and
// mail_addr_map.c).
#include "mta/cleanup_address_map.h"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/address_lookup.h"
#include "mta/cleanup_address.h"
#include "mta/cleanup_address_list.h"

namespace moat::mta {
namespace {

using core::ErrorCode;

constexpr int kCanonicalRecursionLimit = 10;  // Postfix's MAX_RECURSION in cleanup_map11.c

std::unexpected<core::Error> LookupProblem(std::string_view map_name, std::string_view address,
                                           const core::Error& error) {
  spdlog::warn("{} map lookup problem for {}: {}", map_name, address, error.message());
  return core::Fail(ErrorCode::kTempFail, "4.3.0 {} lookup problem for {}", map_name, address);
}

std::unexpected<core::Error> AliasError(std::string_view why, std::string_view address) {
  spdlog::warn("virtual_alias_maps: {} for {} -- message not accepted, try again later", why,
               address);
  return core::Fail(ErrorCode::kTempFail, "4.6.0 Alias expansion error");
}

// Inserts `extension` ("+foo") before the '@' of an external-form address.
std::string WithExtension(const std::string& external, std::string_view extension) {
  size_t at = DomainSeparator(external);
  if (at == std::string::npos) return external + std::string(extension);
  std::string out = external.substr(0, at);
  out.append(extension);
  out.append(external.substr(at));
  return out;
}

}  // namespace

std::string AddressMapper::Qualify(std::string_view internal, std::string_view domain) const {
  if (internal.empty() || internal.find('@') != std::string_view::npos) {
    return std::string(internal);
  }
  if (domain.empty()) {
    if (!settings_.append_at_myorigin || settings_.myorigin.empty()) return std::string(internal);
    domain = settings_.myorigin;
  }
  return fmt::format("{}@{}", internal, domain);
}

core::Result<std::optional<std::vector<std::string>>> AddressMapper::MapAddress(
    const core::TableList& maps, std::string_view external, bool propagate) const {
  auto match = core::FindAddress(maps, external, core::AddressSearch::Virtual(),
                                 settings_.address_context);
  if (!match) return std::unexpected(match.error());
  if (!match->has_value()) return std::optional<std::vector<std::string>>();
  const core::TableMatch& found = **match;
  std::string value = found.value;
  if (value.starts_with('@')) {
    // "@otherdomain": the user part is kept (without the unmatched extension).
    size_t at = DomainSeparator(external);
    std::string user(at == std::string_view::npos ? external : external.substr(0, at));
    if (!found.extension.empty() && user.ends_with(found.extension)) {
      user.resize(user.size() - found.extension.size());
    }
    value = user + value;
  }
  auto spans = FindAddresses(value);
  std::vector<std::string> results;
  if (spans) {
    for (const AddressSpan& span : *spans) {
      if (span.address.empty()) continue;
      std::string address = Qualify(span.address);
      if (propagate && !found.extension.empty()) address = WithExtension(address, found.extension);
      results.push_back(std::move(address));
    }
  }
  if (results.empty()) {
    return core::Fail(ErrorCode::kTempFail, "{} lookup of {} returns non-address result \"{}\"",
                      found.table, external, found.value);
  }
  return std::optional<std::vector<std::string>>(std::move(results));
}

core::Result<std::string> AddressMapper::MapOneExternal(const core::TableList& maps,
                                                        std::string external,
                                                        std::string_view map_name) const {
  for (int count = 0; count < kCanonicalRecursionLimit; ++count) {
    auto mapped = MapAddress(maps, external, settings_.propagate_canonical_extension);
    if (!mapped) return LookupProblem(map_name, external, mapped.error());
    if (!mapped->has_value()) return external;
    if ((*mapped)->size() > 1) {
      spdlog::warn("multi-valued {} entry for {}", map_name, external);
    }
    std::string next = (**mapped)[0];
    bool to_self = EqualsIgnoreCase(next, external);
    external = std::move(next);
    if (to_self) return external;
  }
  spdlog::warn("unreasonable {} map nesting for {}", map_name, external);
  return external;
}

core::Result<std::string> AddressMapper::MapOne(const core::TableList& maps,
                                                std::string_view internal,
                                                std::string_view map_name) const {
  if (maps.empty() || internal.empty()) return std::string(internal);
  auto mapped = MapOneExternal(maps, QuoteLocalPart(internal), map_name);
  if (!mapped) return mapped;
  return UnquoteLocalPart(*mapped);
}

core::Result<std::vector<std::string>> AddressMapper::ExpandVirtual(
    std::string_view internal) const {
  std::vector<std::string> addresses{std::string(internal)};
  if (settings_.virtual_alias_maps.empty() || internal.empty()) return addresses;
  std::set<std::string> expanded_to_self;  // lower case
  for (size_t arg = 0; arg < addresses.size(); ++arg) {
    if (static_cast<int64_t>(addresses.size()) > settings_.virtual_alias_expansion_limit) {
      return AliasError("unreasonable virtual_alias_maps map expansion size", internal);
    }
    for (int64_t count = 0;; ++count) {
      if (expanded_to_self.count(Lowercase(addresses[arg]))) break;
      if (count >= settings_.virtual_alias_recursion_limit) {
        return AliasError("unreasonable virtual_alias_maps map nesting", internal);
      }
      auto mapped = MapAddress(settings_.virtual_alias_maps, QuoteLocalPart(addresses[arg]),
                               settings_.propagate_virtual_extension);
      if (!mapped) {
        spdlog::warn("virtual_alias_maps map lookup problem for {}: {}", internal,
                     mapped.error().message());
        return core::Fail(ErrorCode::kTempFail, "4.6.0 Alias expansion error");
      }
      if (!mapped->has_value()) break;
      std::string saved = addresses[arg];
      const std::vector<std::string>& results = **mapped;
      for (size_t i = 0; i < results.size(); ++i) {
        if (static_cast<int64_t>(results[i].size()) >
            settings_.virtual_alias_address_length_limit) {
          return AliasError(fmt::format("unreasonable virtual_alias_maps result {:.300}",
                                        results[i]),
                            internal);
        }
        std::string address = UnquoteLocalPart(results[i]);
        if (EqualsIgnoreCase(saved, address)) expanded_to_self.insert(Lowercase(saved));
        if (i == 0) {
          addresses[arg] = std::move(address);
        } else {
          addresses.push_back(std::move(address));
        }
      }
    }
  }
  return addresses;
}

core::Result<std::string> AddressMapper::MasqueradeExternal(std::string external) const {
  if (settings_.masquerade_domains.empty()) return external;
  size_t at = DomainSeparator(external);
  if (at == std::string::npos) return external;
  std::string local = Lowercase(UnquoteLocalPart(external.substr(0, at)));
  if (settings_.masquerade_exception_names.count(local)) return external;
  if (!settings_.masquerade_exception_tables.empty()) {
    auto found = settings_.masquerade_exception_tables.Lookup(local);
    if (!found) return LookupProblem("masquerade_exceptions", external, found.error());
    if (found->has_value()) return external;
  }
  std::string domain = Lowercase(std::string_view(external).substr(at + 1));
  for (const std::string& entry : settings_.masquerade_domains) {
    std::string_view masq = entry;
    bool truncate = true;
    while (masq.starts_with('!')) {
      masq.remove_prefix(1);
      truncate = !truncate;
    }
    if (masq.empty()) continue;
    if (masq.size() == domain.size()) {
      if (masq == domain) break;
    } else if (masq.size() < domain.size()) {
      std::string_view parent = std::string_view(domain).substr(domain.size() - masq.size());
      if (domain[domain.size() - masq.size() - 1] == '.' && parent == masq) {
        if (truncate) {
          external.resize(at + 1);
          external.append(masq);
        }
        break;
      }
    }
  }
  return external;
}

core::Result<std::string> AddressMapper::Masquerade(std::string_view internal) const {
  auto masked = MasqueradeExternal(QuoteLocalPart(internal));
  if (!masked) return masked;
  return UnquoteLocalPart(*masked);
}

core::Result<std::string> AddressMapper::RewriteEnvelopeSender(std::string_view sender) const {
  std::string address = Qualify(sender);
  if (address.empty()) return address;
  using namespace address_class;
  if (settings_.sender_canonical_classes & kEnvelopeSender) {
    auto mapped = MapOne(settings_.sender_canonical_maps, address, "sender_canonical_maps");
    if (!mapped) return mapped;
    address = std::move(*mapped);
  }
  if (settings_.canonical_classes & kEnvelopeSender) {
    auto mapped = MapOne(settings_.canonical_maps, address, "canonical_maps");
    if (!mapped) return mapped;
    address = std::move(*mapped);
  }
  if (settings_.masquerade_classes & kEnvelopeSender) return Masquerade(address);
  return address;
}

core::Result<std::string> AddressMapper::RewriteEnvelopeRecipient(
    std::string_view recipient) const {
  std::string address = Qualify(recipient.empty() ? settings_.empty_address_recipient : recipient);
  using namespace address_class;
  if (settings_.recipient_canonical_classes & kEnvelopeRecipient) {
    auto mapped =
        MapOne(settings_.recipient_canonical_maps, address, "recipient_canonical_maps");
    if (!mapped) return mapped;
    address = std::move(*mapped);
  }
  if (settings_.canonical_classes & kEnvelopeRecipient) {
    auto mapped = MapOne(settings_.canonical_maps, address, "canonical_maps");
    if (!mapped) return mapped;
    address = std::move(*mapped);
  }
  if (settings_.masquerade_classes & kEnvelopeRecipient) return Masquerade(address);
  return address;
}

core::Result<std::string> AddressMapper::RewriteHeaderAddress(std::string_view external,
                                                              bool sender_header,
                                                              std::string_view qualify_domain)
    const {
  std::string address(external);
  if (DomainSeparator(address) == std::string::npos && !qualify_domain.empty()) {
    address = fmt::format("{}@{}", address, qualify_domain);
  }
  using namespace address_class;
  unsigned header_class = sender_header ? kHeaderSender : kHeaderRecipient;
  const core::TableList& specific =
      sender_header ? settings_.sender_canonical_maps : settings_.recipient_canonical_maps;
  unsigned specific_classes = sender_header ? settings_.sender_canonical_classes
                                            : settings_.recipient_canonical_classes;
  if ((specific_classes & header_class) && !specific.empty()) {
    auto mapped = MapOneExternal(specific, address,
                                 sender_header ? "sender_canonical_maps"
                                               : "recipient_canonical_maps");
    if (!mapped) return mapped;
    address = std::move(*mapped);
  }
  if ((settings_.canonical_classes & header_class) && !settings_.canonical_maps.empty()) {
    auto mapped = MapOneExternal(settings_.canonical_maps, address, "canonical_maps");
    if (!mapped) return mapped;
    address = std::move(*mapped);
  }
  if (settings_.masquerade_classes & header_class) return MasqueradeExternal(std::move(address));
  return address;
}

}  // namespace moat::mta
