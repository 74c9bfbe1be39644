// cleanup_settings.h - what cleanup needs from main.cf, resolved once: the opened lookup tables
// (canonical, virtual alias, header and body checks), address classes, limits and names.
//
// Built from a configuration snapshot (main.cf with its -o overrides, or a master.cf service's
// view of it) when moat-mta starts or reloads, then shared read-only by every cleanup run
// (std::shared_ptr<const CleanupSettings>). Tables reload themselves when their files change
// (core/lookup_table.h), so a table edit needs no rebuild.
//
// Build() errors: kInvalid for a table that does not open (with its file:line) or a value cleanup
// cannot use; kNotFound/kIo for table files that are missing or unreadable. Thread safety:
// immutable after Build().
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/address_lookup.h"
#include "core/config.h"
#include "core/error.h"
#include "core/ip_network.h"
#include "core/lookup_table.h"
#include "core/network_list.h"

namespace moat::mta {

// canonical_classes and friends, as bit flags.
namespace address_class {
inline constexpr unsigned kEnvelopeSender = 1;
inline constexpr unsigned kEnvelopeRecipient = 2;
inline constexpr unsigned kHeaderSender = 4;
inline constexpr unsigned kHeaderRecipient = 8;
}  // namespace address_class

// One local_header_rewrite_clients entry.
struct RewriteClientRule {
  enum class Kind {
    kInetInterfaces,  // permit_inet_interfaces
    kMynetworks,      // permit_mynetworks
    kSaslAuthenticated,
    kTlsClientCerts,  // permit_tls_clientcerts / permit_tls_all_clientcerts
    kAddressMap,      // check_address_map type:table (the client address is looked up)
    kAll,             // static:all
  };
  Kind kind;
  std::shared_ptr<const core::LookupTable> table;  // kAddressMap
};

struct CleanupSettings {
  // Names.
  std::string myhostname;
  std::string mail_name = "Moat";
  std::string myorigin;
  std::string mydomain;
  std::vector<std::string> mydestination_domains;  // plain names, lower case
  core::TableList mydestination_tables;            // type:table entries of mydestination
  std::string empty_address_recipient = "MAILER-DAEMON";
  bool append_at_myorigin = true;
  core::AddressContext address_context;  // recipient_delimiter, local domains, double-bounce

  // Address mappings.
  core::TableList canonical_maps;
  core::TableList sender_canonical_maps;
  core::TableList recipient_canonical_maps;
  unsigned canonical_classes = 15;
  unsigned sender_canonical_classes = address_class::kEnvelopeSender | address_class::kHeaderSender;
  unsigned recipient_canonical_classes =
      address_class::kEnvelopeRecipient | address_class::kHeaderRecipient;
  core::TableList virtual_alias_maps;
  int64_t virtual_alias_recursion_limit = 1000;
  int64_t virtual_alias_expansion_limit = 1000;
  int64_t virtual_alias_address_length_limit = 1000;
  bool propagate_canonical_extension = true;
  bool propagate_virtual_extension = true;
  std::vector<std::string> masquerade_domains;  // in order, "!" kept
  std::set<std::string> masquerade_exception_names;
  core::TableList masquerade_exception_tables;
  unsigned masquerade_classes = address_class::kEnvelopeSender | address_class::kHeaderSender |
                                address_class::kHeaderRecipient;
  bool enable_original_recipient = true;
  int64_t duplicate_filter_limit = 1000;

  // Header rewriting context.
  std::vector<RewriteClientRule> local_header_rewrite_clients;
  std::string remote_header_rewrite_domain;
  core::NetworkList mynetworks;
  std::vector<core::IpAddress> interface_addresses;  // for permit_inet_interfaces

  // Content.
  core::TableList header_checks;
  core::TableList mime_header_checks;
  core::TableList nested_header_checks;
  core::TableList body_checks;
  uint64_t body_checks_size_limit = 51200;
  bool disable_mime_input_processing = false;
  int64_t mime_nesting_limit = 100;
  std::set<std::string> message_drop_headers;  // lower case
  std::string message_reject_characters;
  std::string message_strip_characters;
  bool always_add_missing_headers = false;
  std::string undisclosed_recipients_header;
  bool header_from_obsolete = false;  // header_from_format = obsolete
  bool tls_received_header = false;   // smtpd_tls_received_header
  bool sasl_authenticated_header = false;

  // Limits.
  uint64_t message_size_limit = 10240000;  // 0: none
  uint64_t header_size_limit = 102400;
  int64_t hopcount_limit = 50;
  int64_t header_address_token_limit = 10240;
  int64_t line_length_limit = 2048;

  static core::Result<std::shared_ptr<const CleanupSettings>> Build(const core::Config& config);
};

// Parses the C-style escapes Postfix allows in message_*_characters ("\t", "\0", "\177").
std::string UnescapeCharacterSet(std::string_view text);

}  // namespace moat::mta
