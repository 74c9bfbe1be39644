// domain_list.h - Postfix domain match lists: mydestination, relay_domains,
// virtual_alias_domains, virtual_mailbox_domains (match_list(3), domain_list(3)).
//
// A list is entries separated by commas or whitespace, tried in order; the first entry that
// matches decides:
//
//   example.com        the domain; with ParentDomainStyle::kParent (the feature is listed in
//                      parent_domain_matches_subdomains, as relay_domains is by default) also
//                      every subdomain
//   .example.com       every subdomain of example.com
//   hash:/etc/domains  a table: the domain is a key (and parent domains, in the list's style,
//                      for non-pattern tables); the value does not matter
//   /etc/moat/domains  a file whose entries are read in place (# comments)
//   !entry             a match here means "not in the list"
//
// Domains are compared case-insensitively; callers pass them without a trailing dot.
//
// Errors: Parse() fails (kInvalid/kIo/kNotFound) on a table that cannot be opened or an unreadable
// file; Contains() returns a table's lookup error, never "not in the list". Thread safety:
// immutable after Parse(); Contains() is const and safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/address_lookup.h"
#include "core/lookup_table.h"
#include "mta/table_set.h"

// smtpd's view of trivial-rewrite lives in its own namespace: the queue manager's resolver
// (mta/resolve_address.h) has classes of the same names. TODO: one resolver for both.
namespace moat::mta::smtpd_rewrite {

class DomainList {
 public:
  DomainList() = default;

  static core::Result<DomainList> Parse(std::string_view list, core::ParentDomainStyle style,
                                        TableSet& tables);

  core::Result<bool> Contains(std::string_view domain) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string pattern;  // lower case; empty for a table
    core::TableList table;  // one table, or empty for a pattern
    bool negated = false;
  };
  core::Status Add(std::string_view list, TableSet& tables, int depth);

  std::vector<Entry> entries_;
  core::ParentDomainStyle style_ = core::ParentDomainStyle::kNone;
};

}  // namespace moat::mta::smtpd_rewrite
