// address_lookup.cc - Postfix address/domain search order (after mail_addr_find.c, strip_addr.c,
// split_addr.c and match_ops.c).
#include "core/address_lookup.h"

#include <algorithm>

namespace moat::core {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

struct SplitAddress {
  std::string bare;       // the address without its extension
  std::string extension;  // with the delimiter
};

// strip_addr()/split_addr(): where the extension starts, if the address has one.
std::optional<SplitAddress> SplitExtension(std::string_view address,
                                           const AddressContext& context) {
  const std::string& delimiters = context.recipient_delimiter;
  if (delimiters.empty()) return std::nullopt;
  size_t at = address.rfind('@');
  std::string_view local = address.substr(0, at);
  if (EqualsIgnoreCase(local, "postmaster") || EqualsIgnoreCase(local, "mailer-daemon") ||
      EqualsIgnoreCase(local, context.double_bounce_sender)) {
    return std::nullopt;
  }
  if (delimiters.find('-') != std::string::npos) {
    if (local.size() >= 6 && EqualsIgnoreCase(local.substr(0, 6), "owner-")) return std::nullopt;
    if (local.size() > 8 && EqualsIgnoreCase(local.substr(local.size() - 8), "-request")) {
      return std::nullopt;
    }
  }
  size_t split = local.find_first_of(delimiters);
  if (split == 0 || split == std::string_view::npos) return std::nullopt;
  SplitAddress out;
  out.extension.assign(local.substr(split));
  out.bare.assign(local.substr(0, split));
  if (at != std::string_view::npos) out.bare.append(address.substr(at));
  return out;
}

void AddDomainKeys(std::string_view domain, ParentDomainStyle style, bool first_partial,
                   std::vector<SearchKey>& keys) {
  if (domain.empty()) return;
  std::string_view name = domain;
  bool first = true;
  for (;;) {
    keys.push_back(SearchKey{std::string(name), first ? first_partial : true, false});
    first = false;
    if (style == ParentDomainStyle::kNone) break;
    size_t next = name.find('.', 1);
    if (next == std::string_view::npos) break;
    name = style == ParentDomainStyle::kParent ? name.substr(next + 1) : name.substr(next);
    if (name.empty() || name == ".") break;
  }
}

}  // namespace

AddressSearch AddressSearch::Virtual() {
  AddressSearch s;
  s.local_part_if_local = true;
  s.at_domain = true;
  return s;
}

AddressSearch AddressSearch::Transport(bool parent_matches_subdomains) {
  AddressSearch s;
  s.domain = true;
  s.parent_style =
      parent_matches_subdomains ? ParentDomainStyle::kParent : ParentDomainStyle::kDotParent;
  s.wildcard = true;
  return s;
}

AddressSearch AddressSearch::Access(bool parent_matches_subdomains) {
  AddressSearch s;
  s.domain = true;
  s.parent_style =
      parent_matches_subdomains ? ParentDomainStyle::kParent : ParentDomainStyle::kDotParent;
  s.local_part_at = true;
  return s;
}

std::string AddressExtension(std::string_view address, const AddressContext& context) {
  auto split = SplitExtension(address, context);
  return split ? split->extension : std::string();
}

std::vector<SearchKey> AddressSearchKeys(std::string_view address, const AddressSearch& search,
                                         const AddressContext& context) {
  std::vector<SearchKey> keys;
  std::optional<SplitAddress> split;
  if (search.strip_extension) split = SplitExtension(address, context);
  if (search.full) keys.push_back(SearchKey{std::string(address), false, false});
  if (split) keys.push_back(SearchKey{split->bare, true, true});

  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) {
    if (search.wildcard) keys.push_back(SearchKey{"*", true, false});
    return keys;
  }
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  std::string_view bare_local;
  if (split) bare_local = std::string_view(split->bare).substr(0, split->bare.rfind('@'));

  auto add_local_parts = [&](std::string_view suffix) {
    keys.push_back(SearchKey{std::string(local) + std::string(suffix), true, false});
    if (split) keys.push_back(SearchKey{std::string(bare_local) + std::string(suffix), true, true});
  };
  if ((search.local_part_if_local || search.local_part_at_if_local) && context.is_local_domain &&
      context.is_local_domain(domain)) {
    if (search.local_part_if_local) add_local_parts("");
    if (search.local_part_at_if_local) add_local_parts("@");
  }
  if (search.at_domain) keys.push_back(SearchKey{std::string(address.substr(at)), true, false});
  if (search.domain) AddDomainKeys(domain, search.parent_style, true, keys);
  if (search.local_part_at) add_local_parts("@");
  if (search.wildcard) keys.push_back(SearchKey{"*", true, false});
  return keys;
}

std::vector<SearchKey> DomainSearchKeys(std::string_view domain, ParentDomainStyle style) {
  std::vector<SearchKey> keys;
  AddDomainKeys(domain, style, false, keys);
  return keys;
}

Result<std::optional<TableMatch>> FindFirst(const TableList& tables,
                                            const std::vector<SearchKey>& keys,
                                            std::string_view extension) {
  std::string value;
  for (const SearchKey& key : keys) {
    for (const auto& table : tables.tables()) {
      if (key.partial && table->IsPattern()) continue;
      auto found = table->LookupInto(key.key, value);
      if (!found) return std::unexpected(found.error());
      if (!*found) continue;
      TableMatch match;
      match.value = std::move(value);
      match.key = key.key;
      match.table = table->spec();
      if (key.extension_stripped) match.extension.assign(extension);
      return std::optional<TableMatch>(std::move(match));
    }
  }
  return std::optional<TableMatch>();
}

Result<std::optional<TableMatch>> FindAddress(const TableList& tables, std::string_view address,
                                              const AddressSearch& search,
                                              const AddressContext& context) {
  return FindFirst(tables, AddressSearchKeys(address, search, context),
                   AddressExtension(address, context));
}

Result<std::optional<TableMatch>> FindDomain(const TableList& tables, std::string_view domain,
                                             ParentDomainStyle style) {
  return FindFirst(tables, DomainSearchKeys(domain, style));
}

bool ParentDomainMatchesSubdomains(std::string_view feature, std::string_view parameter_value) {
  size_t i = 0;
  auto separator = [](char c) {
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  while (i < parameter_value.size()) {
    while (i < parameter_value.size() && separator(parameter_value[i])) ++i;
    size_t begin = i;
    while (i < parameter_value.size() && !separator(parameter_value[i])) ++i;
    if (i > begin && EqualsIgnoreCase(parameter_value.substr(begin, i - begin), feature))
      return true;
  }
  return false;
}

}  // namespace moat::core
