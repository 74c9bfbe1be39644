// cleanup_address_map.h - cleanup's address rewriting, as Postfix's cleanup does it:
//
//   Qualify       an address without a domain gets @$myorigin (append_at_myorigin), or the
//                 remote_header_rewrite_domain for headers from remote clients.
//   MapOne        canonical(5) one-to-one mapping (cleanup_map11): the address is looked up with
//                 the virtual(5)/canonical(5) search order (user+ext@domain, user@domain, user
//                 for local domains, @domain); a result "@other" keeps the user part; an address
//                 extension that the matching key lacked is appended to the result
//                 (propagate_unmatched_extensions); the result is looked up again, up to 10
//                 times, until it maps to itself or to nothing.
//   ExpandVirtual virtual_alias_maps one-to-many expansion (cleanup_map1n): every result is
//                 expanded again; an address that maps to a list including itself is kept and not
//                 expanded again (been_here); more than virtual_alias_expansion_limit addresses,
//                 a nesting deeper than virtual_alias_recursion_limit (which is how an alias loop
//                 a -> b -> a ends) or a result longer than virtual_alias_address_length_limit
//                 is an error.
//   Masquerade    masquerade_domains: user@host.sub.example.com -> user@example.com for the first
//                 listed parent domain ("!domain" excepts that domain); never for local parts in
//                 masquerade_exceptions.
//
// Addresses go in and out in internal form (local part unquoted); tables see the external form
// (quoted when needed), as in Postfix.
//
// Errors: a table lookup error, and every virtual alias limit, is kTempFail with an enhanced
// status code first ("4.6.0 Alias expansion error", "4.3.0 ..."): the message is deferred,
// never delivered half-rewritten. Thread safety: const methods over immutable settings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/lookup_table.h"
#include "mta/cleanup_settings.h"

namespace moat::mta {

class AddressMapper {
 public:
  explicit AddressMapper(const CleanupSettings& settings) : settings_(settings) {}

  // `domain` empty: $myorigin (only when append_at_myorigin). Empty addresses stay empty.
  std::string Qualify(std::string_view internal, std::string_view domain = {}) const;
  core::Result<std::string> MapOne(const core::TableList& maps, std::string_view internal,
                                   std::string_view map_name) const;
  core::Result<std::vector<std::string>> ExpandVirtual(std::string_view internal) const;
  core::Result<std::string> Masquerade(std::string_view internal) const;

  // The envelope pipelines (qualify, sender/recipient canonical, canonical, masquerade per the
  // *_classes parameters). Virtual expansion is separate (it makes several recipients).
  core::Result<std::string> RewriteEnvelopeSender(std::string_view sender) const;
  core::Result<std::string> RewriteEnvelopeRecipient(std::string_view recipient) const;
  // A header address in external form; `qualify_domain` per the rewrite context.
  core::Result<std::string> RewriteHeaderAddress(std::string_view external, bool sender_header,
                                                 std::string_view qualify_domain) const;

 private:
  // mail_addr_map(3): the results for one lookup (external form), or nullopt when not found.
  core::Result<std::optional<std::vector<std::string>>> MapAddress(const core::TableList& maps,
                                                                   std::string_view external,
                                                                   bool propagate) const;
  core::Result<std::string> MapOneExternal(const core::TableList& maps, std::string external,
                                           std::string_view map_name) const;
  core::Result<std::string> MasqueradeExternal(std::string external) const;

  const CleanupSettings& settings_;
};

}  // namespace moat::mta
