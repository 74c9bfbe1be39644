// resolve_domain_list.h - Postfix domain lists: mydestination, relay_domains,
// virtual_alias_domains, virtual_mailbox_domains (match_list(3) with match_string/match_hostname).
//
// A list is entries separated by commas or whitespace, tried in order; the first entry that
// matches decides:
//
//   example.com        the domain itself (case-insensitive); see "parents" below
//   .example.com       subdomains of example.com (dot style only)
//   type:table         the domain is looked up as a key; found means "in the list"
//   /path/file         entries read from the file (# comments, several per line)
//   !entry             matching here means NOT in the list (the search stops)
//
// Two flavours, as in Postfix:
//   kExact   string_list (mydestination, virtual_alias_domains, virtual_mailbox_domains): names
//            and table keys are compared with the whole domain only.
//   kDomain  domain_list (relay_domains): parent domains match too. With ParentDomainStyle::kParent
//            (relay_domains listed in parent_domain_matches_subdomains, the default) "example.com"
//            matches "a.example.com" and tables are asked "a.example.com", "example.com", "com";
//            with kDotParent only ".example.com" entries match subdomains and tables are asked
//            "a.example.com", ".example.com", ".com". Pattern tables (pcre:, regexp:) are only
//            asked the whole domain.
//
// Errors: Parse() returns kInvalid/kNotFound/kIo naming the entry (unreadable file, bad table);
// Contains() returns a table's lookup error, never "not in the list" — the caller defers.
// Thread safety: immutable after Parse(); Contains() is safe from many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/address_lookup.h"
#include "core/lookup_table.h"

namespace moat::mta {

enum class DomainMatch { kExact, kDomain };

class DomainList {
 public:
  DomainList() = default;

  static core::Result<DomainList> Parse(std::string_view list, DomainMatch match,
                                        core::ParentDomainStyle style,
                                        const core::TableOpenOptions& options = {});

  // `domain` without a trailing dot; case does not matter.
  core::Result<bool> Contains(std::string_view domain) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string pattern;  // lower case; empty for a table
    std::shared_ptr<const core::LookupTable> table;
    bool negated = false;
  };
  core::Status AddEntries(std::string_view list, const core::TableOpenOptions& options, int depth,
                          std::string_view origin);
  bool MatchesName(std::string_view domain, std::string_view pattern) const;

  DomainMatch match_ = DomainMatch::kExact;
  core::ParentDomainStyle style_ = core::ParentDomainStyle::kNone;
  std::vector<Entry> entries_;
};

// Lower-cases ASCII letters (domains, table keys).
std::string LowerAscii(std::string_view text);

}  // namespace moat::mta
