// address_lookup.h - Postfix's search order for address and domain keys.
//
// A table maps keys; which keys an address is looked up under depends on the feature, exactly
// as in Postfix (mail_addr_find(3), transport(5), access(5), match_list(3)). An AddressSearch
// says which of these keys are tried, always in this order, stopping at the first table entry
// found (for each key every table of the list is asked before the next key, so an address entry
// in a later table beats a domain entry in an earlier one):
//
//   1 full             user+ext@domain        (pattern tables are asked this key only)
//   2 strip_extension  user@domain            when recipient_delimiter splits the local part
//   3 local_part_if_local     user+ext, user  when the domain is local ($myorigin,
//   4 local_part_at_if_local  user+ext@, user@  $mydestination, interface addresses)
//   5 at_domain        @domain
//   6 domain           domain, then parents:  .parent.example, .example  (dot style), or
//                                             parent.example, example    (parent style)
//   7 local_part_at    user+ext@, user@       whatever the domain (access(5))
//   8 wildcard         *                      (transport(5))
//
// Presets: Virtual() is Postfix's default (virtual(5), canonical(5), relocated(5),
// relay_recipient_maps...: 1 2 3 5); Transport() is transport(5) (1 2 6 8, parent domains as
// .example.com entries unless transport_maps is listed in parent_domain_matches_subdomains);
// Access() is access(5) for check_*_access (1 2 6 7).
//
// The extension is split off as Postfix's strip_addr() does: at the first delimiter character of
// the local part, never for postmaster, mailer-daemon or the double-bounce sender, never when the
// local part would become empty, and with "-" as a delimiter never for owner-* or *-request.
// Keys keep the case of the address; hash-like tables fold case themselves, pattern tables
// decide with their own flags.
//
// DomainSearchKeys()/FindDomain() are the domain-only search of match lists (relay_domains,
// mydestination given as tables): the domain itself (pattern tables included), then its parents
// in the given style (pattern tables excluded).
//
// Errors: the first table error stops the search and is returned unchanged — it never reads as
// "not found". Thread safety: pure functions over immutable tables.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lookup_table.h"

namespace moat::core {

enum class ParentDomainStyle {
  kNone,       // the domain itself only
  kDotParent,  // ".example.com" entries match subdomains (transport(5) default)
  kParent,     // "example.com" entries match subdomains too (parent_domain_matches_...)
};

struct AddressSearch {
  bool full = true;
  bool strip_extension = true;
  bool local_part_if_local = false;
  bool local_part_at_if_local = false;
  bool at_domain = false;
  bool domain = false;
  ParentDomainStyle parent_style = ParentDomainStyle::kNone;
  bool local_part_at = false;
  bool wildcard = false;

  static AddressSearch Virtual();
  static AddressSearch Transport(bool parent_matches_subdomains);
  static AddressSearch Access(bool parent_matches_subdomains);
};

struct AddressContext {
  // recipient_delimiter: a set of characters ("+", "+-"); empty means no extensions.
  std::string recipient_delimiter;
  // True when mail for the domain is delivered here ($myorigin, $mydestination, [interface
  // addresses]); unset means no domain is local.
  std::function<bool(std::string_view domain)> is_local_domain;
  // $double_bounce_sender, never split at a delimiter.
  std::string double_bounce_sender = "double-bounce";
};

struct SearchKey {
  std::string key;
  bool partial = false;             // true: pattern tables are not asked
  bool extension_stripped = false;  // the key lacks the address extension
};

// The keys FindAddress() tries for `address`, in order.
std::vector<SearchKey> AddressSearchKeys(std::string_view address, const AddressSearch& search,
                                         const AddressContext& context);
std::vector<SearchKey> DomainSearchKeys(std::string_view domain, ParentDomainStyle style);

struct TableMatch {
  std::string value;
  std::string key;        // the key that was found
  std::string table;      // spec() of the table that had it
  std::string extension;  // "+foo" when the key lacks the extension, else empty
};

// Tries `keys` in order against every table of `tables`; the first entry found wins.
Result<std::optional<TableMatch>> FindFirst(const TableList& tables,
                                            const std::vector<SearchKey>& keys,
                                            std::string_view extension = {});

Result<std::optional<TableMatch>> FindAddress(const TableList& tables, std::string_view address,
                                              const AddressSearch& search,
                                              const AddressContext& context);
Result<std::optional<TableMatch>> FindDomain(const TableList& tables, std::string_view domain,
                                             ParentDomainStyle style);

// The extension of `address` under `context` ("+foo" with its delimiter), empty when none.
std::string AddressExtension(std::string_view address, const AddressContext& context);

// True when `feature` (e.g. "relay_domains", "transport_maps") is listed in the value of
// parent_domain_matches_subdomains.
bool ParentDomainMatchesSubdomains(std::string_view feature, std::string_view parameter_value);

}  // namespace moat::core
