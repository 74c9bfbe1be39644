// dnsbl_access_list.h - postscreen_access_list: the permanent allow/deny list checked before any
// DNSBL query.
//
// The list is evaluated left to right and the first entry that decides wins (postscreen(8)):
//   permit_mynetworks   the client is in mynetworks: PERMIT
//   type:table          the client address is looked up (cidr: tables match networks); the value
//                       "permit" (or OK) allows, "reject" denies, "dunno" goes on to the next
//                       entry; any other value is a configuration error reported at lookup time
//                       (and read as DUNNO)
// Nothing decides: DUNNO, and the DNSBLs are asked.
//
// A table error never denies: it is logged and the entry reads as DUNNO (as every DNS failure in
// this module never refuses mail). Errors: Parse() returns kInvalid for an unknown entry and the
// table's error for a table that does not open. Thread safety: immutable after Parse().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/lookup_table.h"
#include "core/network_list.h"

namespace moat::mta {

enum class AccessDecision { kDunno, kPermit, kReject };

class DnsblAccessList {
 public:
  DnsblAccessList() = default;

  // `mynetworks` is what permit_mynetworks consults (may be null when the list does not use it).
  static core::Result<DnsblAccessList> Parse(std::string_view value,
                                             std::shared_ptr<const core::NetworkList> mynetworks,
                                             const core::TableOpenOptions& options = {});

  struct Match {
    AccessDecision decision = AccessDecision::kDunno;
    std::string entry;  // what decided ("permit_mynetworks", "cidr:/etc/moat/ps.cidr")
    std::string error;  // a table error that was read as DUNNO
  };
  Match Check(std::string_view client_address) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string text;
    std::shared_ptr<const core::LookupTable> table;  // null for permit_mynetworks
  };
  std::vector<Entry> entries_;
  std::shared_ptr<const core::NetworkList> mynetworks_;
};

}  // namespace moat::mta
