// mta_parameters.cc - the moat-mta parameter registry as data, and master.cf checks.
//
// Defaults are Postfix 3.7's text (tests/mta/mta_parameters_test.cc compares them with
// postfix_parameters.inc); the docs are one line each. A doc that starts with "(moat)" is a Moat
// extension Postfix does not have; "Moat default:" marks a default that differs from Postfix's.
#include "mta/mta_parameters.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/config_expand.h"
#include "core/config_host.h"
#include "core/config_value.h"
#include "mta/dnsbl_site.h"
#include "mta/postfix_parameters.inc"
#include "mta/smtpd_restriction.h"

namespace moat::mta {
namespace {

namespace s = core::spec;
using core::ParameterSpec;
using core::ParameterType;

constexpr ParameterSpec Restr(std::string_view name, std::string_view default_value,
                              std::string_view doc) {
  return s::Checked(s::Restrictions(name, default_value, doc), CheckRestrictionList);
}

// Identity, addresses, directories, logging.
constexpr ParameterSpec kGeneral[] = {
    s::Computed(s::String("myhostname", "", "Internet hostname of this mail system (default: "
                                            "gethostname(), made fully qualified with $mydomain)"),
                core::MyhostnameDefault),
    s::Computed(s::String("mydomain", "", "Internet domain name of this system (default: "
                                          "$myhostname without its first label)"),
                core::MydomainDefault),
    s::String("myorigin", "$myhostname", "Domain that locally-posted mail appears to come from"),
    s::List("mydestination", "$myhostname, localhost.$mydomain, localhost",
            "Domains this machine considers itself the final destination for"),
    s::Computed(s::Networks("mynetworks", "",
                            "Trusted client networks (default: computed from mynetworks_style)"),
                core::MynetworksDefault),
    s::Choice("mynetworks_style", "${{$compatibility_level} <level {2} ? {subnet} : {host}}",
              "host|subnet|class", "How to compute mynetworks when it is not set"),
    s::List("inet_interfaces", "all", "Addresses inet services without a host part listen on "
                                      "(all, loopback-only, or addresses)"),
    s::Choices("inet_protocols", "all", "all|ipv4|ipv6", "IP protocols to use: all, ipv4, ipv6"),
    s::String("compatibility_level", "3.6",
              "Postfix compatibility level selecting default values. Moat default: 3.6"),
    s::Computed(s::Path("config_directory", "", "The configuration directory (the -c option)"),
                core::ConfigDirectoryDefault),
    s::Path("queue_directory", "/var/spool/moat",
            "Root of the mail queue (incoming, active, deferred, hold, corrupt). Moat default: "
            "/var/spool/moat"),
    s::Path("data_directory", "/var/lib/moat",
            "Directory for moat-mta's persistent data (caches, greylisting). Moat default: "
            "/var/lib/moat"),
    s::String("mail_owner", "moat",
              "User moat-mta runs as when started as root, root's ids kept only to bind its "
              "ports (a uid 0 user keeps root on purpose; a missing user stops the start). Moat "
              "default: moat"),
    s::String("mail_name", "Moat", "Mail system name in the SMTP greeting and Received headers. "
                                   "Moat default: Moat"),
    s::String("syslog_name", "${multi_instance_name?{$multi_instance_name}:{moat-mta}}",
              "Program name in log lines. Moat default: moat-mta"),
    s::String("syslog_facility", "mail", "Syslog facility when log_target = syslog"),
    s::Choice("log_target", "stderr", "stderr|syslog", "(moat) Where moat-mta logs: stderr or syslog"),
    s::Choice("log_level", "info", "trace|debug|info|warn|error|critical|off",
              "(moat) Lowest severity that is logged"),
    s::String("stress", "", "Set by the daemon under overload; selects the stress defaults"),
    s::Integer("default_process_limit", "100",
               "Default process limit of a master.cf service (its concurrency in moat-mta)"),
    s::Addresses("dns_servers", "",
                 "(moat) Nameservers (host:port) for every DNS lookup instead of "
                 "/etc/resolv.conf"),
    s::Address("metrics_listen", "",
               "(moat) host:port (loopback) for Prometheus text metrics; empty: none"),
    s::Bool("disable_dns_lookups", "no", "Do not use DNS for MX and address lookups"),
    s::Bool("soft_bounce", "no", "Turn every hard rejection and bounce into a soft one (testing)"),
    s::Bool("smtputf8_enable", "${{$compatibility_level} <level {1} ? {no} : {yes}}",
            "Offer and accept SMTPUTF8"),
};

// Address rewriting and resolution (trivial-rewrite's and cleanup's jobs).
constexpr ParameterSpec kAddressing[] = {
    s::String("recipient_delimiter", "",
              "Characters that separate a user name from its extension (user+ext)"),
    s::List("parent_domain_matches_subdomains",
            "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,"
            "qmqpd_authorized_clients,relay_domains,smtpd_access_maps",
            "Features where a domain also matches its subdomains"),
    s::Bool("append_dot_mydomain", "${{$compatibility_level} <level {1} ? {yes} : {no}}",
            "Append .$mydomain to host-only addresses"),
    s::Bool("append_at_myorigin", "yes", "Append @$myorigin to local-part-only addresses"),
    s::Bool("swap_bangpath", "yes", "Rewrite site!user to user@site"),
    s::Bool("allow_percent_hack", "yes", "Rewrite user%domain to user@domain"),
    s::Bool("resolve_dequoted_address", "yes", "Resolve addresses after removing quotes"),
    s::Bool("resolve_null_domain", "no", "Resolve user@ (empty domain) like user"),
    s::Bool("resolve_numeric_domain", "no", "Resolve user@ipaddress as a local address"),
    s::Bool("allow_untrusted_routing", "no",
            "Let access maps permit routed recipients (user%host@domain, host!user@domain)"),
    s::List("proxy_interfaces", "",
            "Addresses this host receives mail on through a proxy or NAT (local [literals])"),
    s::String("empty_address_recipient", "MAILER-DAEMON", "Recipient of mail sent to <>"),
    s::Bool("strict_rfc821_envelopes", "no",
            "Require RFC 821 syntax (<address>) in MAIL FROM and RCPT TO"),
    s::Tables("canonical_maps", "", "Address mapping for envelope and header addresses"),
    s::Tables("sender_canonical_maps", "", "Address mapping for sender addresses"),
    s::Tables("recipient_canonical_maps", "", "Address mapping for recipient addresses"),
    s::Choices("canonical_classes",
               "envelope_sender, envelope_recipient, header_sender, header_recipient",
               "envelope_sender|envelope_recipient|header_sender|header_recipient",
               "Which addresses canonical_maps rewrites"),
    s::Choices("sender_canonical_classes", "envelope_sender, header_sender",
               "envelope_sender|header_sender", "Which addresses sender_canonical_maps rewrites"),
    s::Choices("recipient_canonical_classes", "envelope_recipient, header_recipient",
               "envelope_recipient|header_recipient",
               "Which addresses recipient_canonical_maps rewrites"),
    s::List("masquerade_domains", "", "Domains whose subdomains are hidden (!domain excepts)"),
    s::List("masquerade_exceptions", "", "Local parts that are never masqueraded"),
    s::Choices("masquerade_classes", "envelope_sender, header_sender, header_recipient",
               "envelope_sender|envelope_recipient|header_sender|header_recipient",
               "Which addresses masquerade_domains applies to"),
    s::Tables("virtual_alias_maps", "$virtual_maps",
              "Aliases for any recipient domain (recursive, see the limits below)"),
    s::List("virtual_alias_domains", "$virtual_alias_maps",
            "Domains whose every address is an alias in virtual_alias_maps"),
    s::List("virtual_mailbox_domains", "$virtual_mailbox_maps",
            "Domains delivered to mailboxes by virtual_transport"),
    s::Tables("virtual_mailbox_maps", "",
              "Valid recipients of virtual_mailbox_domains; others are refused at RCPT TO"),
    s::Tables("local_recipient_maps", "",
              "Valid recipients of mydestination (user names); others are refused at RCPT TO. "
              "Moat default: unset = no local users (Moat has no local delivery agent); set it "
              "empty to accept every local address"),
    s::Integer("virtual_alias_recursion_limit", "1000",
               "Maximal nesting depth of virtual alias expansion", 1),
    s::Integer("virtual_alias_expansion_limit", "1000",
               "Maximal number of addresses one virtual alias expansion produces", 1),
    s::Integer("virtual_alias_address_length_limit", "1000",
               "Maximal length of an address produced by virtual alias expansion", 1),
    s::Tables("relocated_maps", "", "Addresses that have moved: \"user has moved to\" bounces"),
    s::String("local_header_rewrite_clients", "permit_inet_interfaces",
              "Clients whose message headers get local-style address rewriting"),
    s::String("remote_header_rewrite_domain", "",
              "Domain appended to incomplete header addresses from other clients"),
};

// Routing: address classes, transports, relays, content filter.
constexpr ParameterSpec kRouting[] = {
    s::List("relay_domains", "${{$compatibility_level} <level {2} ? {$mydestination} : {}}",
            "Domains (and tables of domains) this gateway relays mail to"),
    s::Tables("relay_recipient_maps", "",
              "Valid recipients of relay_domains; others are refused at RCPT TO"),
    s::String("relay_transport", "relay", "Default transport:nexthop for relay_domains"),
    s::String("default_transport", "smtp", "Default transport:nexthop for other domains"),
    s::String("local_transport", "local:$myhostname", "Transport for mydestination domains"),
    s::String("virtual_transport", "virtual", "Transport for virtual_mailbox_domains"),
    s::Tables("transport_maps", "", "Per-address and per-domain transport:nexthop overrides"),
    s::String("relayhost", "", "Next hop for non-local mail ([host]:port skips MX lookups)"),
    s::Tables("sender_dependent_relayhost_maps", "", "relayhost by envelope sender"),
    s::Tables("sender_dependent_default_transport_maps", "",
              "default_transport by envelope sender"),
    s::List("defer_transports", "", "Transports whose mail waits until `moat queue flush`"),
    s::String("content_filter", "", "transport:nexthop that receives every message first"),
    s::List("fast_flush_domains", "$relay_domains",
            "Destinations `moat queue flush --site` may flush"),
    s::List("smtp_fallback_relay", "$fallback_relay",
            "Hosts to try when the SMTP client cannot reach a destination"),
};

// Cleanup and limits on what is accepted.
constexpr ParameterSpec kCleanup[] = {
    s::Tables("header_checks", "", "Patterns for message headers (REJECT, WARN, FILTER, ...)"),
    s::Tables("mime_header_checks", "$header_checks", "Patterns for MIME part headers"),
    s::Tables("nested_header_checks", "$header_checks",
              "Patterns for headers of attached messages"),
    s::Tables("body_checks", "", "Patterns for body lines"),
    s::Size("body_checks_size_limit", "51200", "Bytes of each body part that body_checks sees"),
    s::Choices("receive_override_options", "",
               "no_unknown_recipient_checks|no_address_mappings|no_header_body_checks|no_milters",
               "Features to switch off (per service with -o)"),
    s::Bool("always_add_missing_headers", "no",
            "Add From, To, Date, Message-ID when missing, whoever the client"),
    s::Size("message_size_limit", "10240000", "Largest message accepted, in bytes"),
    s::Size("header_size_limit", "102400", "Largest message header accepted, in bytes"),
    s::Integer("hopcount_limit", "50", "Maximal number of Received headers before a bounce", 1),
    s::Integer("header_address_token_limit", "10240",
               "Maximal number of address tokens in a header", 1),
    s::Integer("line_length_limit", "2048",
               "Longer lines are broken into pieces of this length", 1),
    s::List("message_drop_headers", "bcc, content-length, resent-bcc, return-path",
            "Headers removed from every message"),
    s::Bool("enable_original_recipient", "yes", "Keep the original recipient (X-Original-To)"),
    s::String("undisclosed_recipients_header", "",
              "Header added when a message has no recipient headers"),
    s::Choice("header_from_format", "standard", "standard|obsolete",
              "Format of a From header added by cleanup"),
    s::Choices("propagate_unmatched_extensions", "canonical, virtual",
               "canonical|virtual|alias|forward|include|generic",
               "Lookups whose result gets the address extension a key without it did not match"),
    s::Integer("duplicate_filter_limit", "1000",
               "Recipients remembered for dropping duplicates of one message (0 = no limit)", 0),
    s::Bool("disable_mime_input_processing", "no",
            "Treat everything after the primary headers as body (no MIME header checks)"),
    s::Integer("mime_nesting_limit", "100", "Maximal MIME multipart and message nesting", 1),
    s::String("message_reject_characters", "",
              "Characters that get a message rejected (C escapes such as \\0 allowed)"),
    s::String("message_strip_characters", "",
              "Characters removed from message content (C escapes such as \\0 allowed)"),
    s::Integer("queue_writer_threads", "16",
               "(moat) Threads that run cleanup and write and fsync queue files; concurrent "
               "commits share one directory fsync",
               1, 1024),
    s::Integer("queue_file_reuse_limit", "100",
               "(moat) Delivered queue files kept in queue_directory/spare to be overwritten by "
               "new mail instead of creating files (cheaper: no inode or page allocation); 0 "
               "unlinks them",
               0, 100000),
};

// The SMTP server.
constexpr ParameterSpec kSmtpd[] = {
    s::String("smtpd_banner", "$myhostname ESMTP $mail_name", "Text after 220 in the greeting"),
    Restr("smtpd_client_restrictions", "", "Restrictions applied to the client at connect time"),
    Restr("smtpd_helo_restrictions", "", "Restrictions applied at HELO/EHLO"),
    Restr("smtpd_sender_restrictions", "", "Restrictions applied at MAIL FROM"),
    Restr("smtpd_relay_restrictions",
          "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, "
          "permit_sasl_authenticated, defer_unauth_destination}}",
          "Relay control at RCPT TO, before smtpd_recipient_restrictions"),
    Restr("smtpd_recipient_restrictions", "", "Restrictions applied at RCPT TO"),
    Restr("smtpd_data_restrictions", "", "Restrictions applied at DATA"),
    Restr("smtpd_end_of_data_restrictions", "", "Restrictions applied after the message"),
    s::Checked(s::Names("smtpd_restriction_classes", "",
                        "Names of user-defined restriction lists usable in restrictions and "
                        "access tables"),
               CheckRestrictionList),
    s::Bool("smtpd_relay_before_recipient_restrictions",
            "${{$compatibility_level} <level {3.6} ? {no} : {yes}}",
            "Evaluate smtpd_relay_restrictions before smtpd_recipient_restrictions"),
    s::Bool("smtpd_delay_reject", "yes", "Delay rejections until RCPT TO"),
    s::Bool("smtpd_helo_required", "no", "Require HELO or EHLO before MAIL FROM"),
    s::Bool("smtpd_reject_unlisted_recipient", "yes",
            "Reject unknown recipients even without reject_unlisted_recipient"),
    s::Bool("smtpd_reject_unlisted_sender", "no",
            "Reject senders that would be unknown as recipients"),
    s::String("smtpd_null_access_lookup_key", "<>", "Access-table key for the null sender"),
    s::Integer("smtpd_recipient_limit", "1000", "Maximal recipients per message"),
    s::Integer("smtpd_recipient_overshoot_limit", "1000",
               "Recipients over the limit that count as errors"),
    s::Time("smtpd_error_sleep_time", "1s", 's', "Delay before each error reply"),
    s::Integer("smtpd_soft_error_limit", "10", "Errors after which replies slow down"),
    s::Integer("smtpd_hard_error_limit", "${stress?{1}:{20}}",
               "Errors after which the session is ended"),
    s::Integer("smtpd_junk_command_limit", "${stress?{1}:{100}}",
               "NOOP, RSET, VRFY, ETRN commands allowed without counting as errors"),
    s::Time("smtpd_timeout", "${stress?{10}:{300}}s", 's',
            "Time to wait for a client command or data"),
    s::Time("smtpd_starttls_timeout", "${stress?{10}:{300}}s", 's',
            "Time allowed for the TLS handshake"),
    s::Integer("smtpd_client_connection_count_limit", "50",
               "Simultaneous connections per client (0 = no limit)"),
    s::Integer("smtpd_client_connection_rate_limit", "0",
               "Connections per client per anvil_rate_time_unit (0 = no limit)"),
    s::Integer("smtpd_client_message_rate_limit", "0",
               "Messages per client per anvil_rate_time_unit (0 = no limit)"),
    s::Integer("smtpd_client_recipient_rate_limit", "0",
               "Recipients per client per anvil_rate_time_unit (0 = no limit)"),
    s::Integer("smtpd_client_auth_rate_limit", "0",
               "AUTH attempts per client per anvil_rate_time_unit (0 = no limit)"),
    s::Networks("smtpd_client_event_limit_exceptions",
                "${smtpd_client_connection_limit_exceptions:$mynetworks}",
                "Clients exempt from the connection and rate limits"),
    s::Time("anvil_rate_time_unit", "60s", 's', "Time unit of the client rate limits"),
    s::Networks("smtpd_authorized_xforward_hosts", "", "Clients allowed to send XFORWARD"),
    s::List("smtpd_discard_ehlo_keywords", "", "EHLO keywords not to announce"),
    s::Bool("smtpd_peername_lookup", "yes", "Look up the client's hostname in DNS"),
    s::Bool("smtpd_client_port_logging", "no", "Log the client's port too"),
    s::Bool("smtpd_forbid_unauth_pipelining", "no",
            "Disconnect clients that pipeline without PIPELINING"),
    s::Bool("smtpd_forbid_bare_newline", "no", "Refuse bare LF line endings in DATA"),
    s::Networks("smtpd_forbid_bare_newline_exclusions", "$mynetworks",
                "Clients exempt from smtpd_forbid_bare_newline"),
    s::Raw("smtpd_reject_footer", "", "Text appended to 4xx/5xx replies ($client_address ...)"),
    s::Bool("disable_vrfy_command", "no", "Turn off the VRFY command"),
    // SMTP AUTH
    s::Bool("smtpd_sasl_auth_enable", "no", "Offer SMTP AUTH (PLAIN and LOGIN, over TLS only)"),
    s::List("smtpd_sasl_security_options", "noanonymous",
            "AUTH restrictions on plaintext sessions"),
    s::List("smtpd_sasl_tls_security_options", "$smtpd_sasl_security_options",
            "AUTH restrictions on TLS sessions"),
    s::Bool("smtpd_sasl_authenticated_header", "no",
            "Add the AUTH user name to the Received header"),
    s::Tables("smtpd_sasl_password_maps", "",
              "(moat) Table of user name -> password hash for AUTH (make entries with "
              "`moat passwd`)"),
    s::Tables("smtpd_sender_login_maps", "",
              "Owners (AUTH login names) of envelope sender addresses"),
    // TLS
    s::Choice("smtpd_tls_security_level", "", "|none|may|encrypt",
              "Server TLS: none, may (offer STARTTLS), encrypt (require it)"),
    s::Bool("smtpd_use_tls", "no", "Legacy: offer STARTTLS (use smtpd_tls_security_level)"),
    s::Bool("smtpd_enforce_tls", "no", "Legacy: require STARTTLS (use smtpd_tls_security_level)"),
    s::Bool("smtpd_tls_auth_only", "no", "Offer AUTH only after STARTTLS"),
    s::Path("smtpd_tls_cert_file", "", "Server certificate (PEM), with its chain"),
    s::Path("smtpd_tls_key_file", "$smtpd_tls_cert_file", "Server private key (PEM)"),
    s::List("smtpd_tls_chain_files", "", "Key and certificate chain files (PEM), in order"),
    s::Path("smtpd_tls_CAfile", "", "CA certificates for verifying client certificates"),
    s::String("smtpd_tls_protocols", ">=TLSv1.2",
              "TLS versions offered with opportunistic TLS. Moat default: >=TLSv1.2"),
    s::String("smtpd_tls_mandatory_protocols", ">=TLSv1.2",
              "TLS versions accepted with mandatory TLS. Moat default: >=TLSv1.2"),
    s::Choice("smtpd_tls_ciphers", "medium", "export|low|medium|high|null",
              "Cipher grade with opportunistic TLS"),
    s::Choice("smtpd_tls_mandatory_ciphers", "medium", "export|low|medium|high|null",
              "Cipher grade with mandatory TLS"),
    s::List("smtpd_tls_exclude_ciphers", "", "Ciphers or cipher types to exclude"),
    s::Integer("smtpd_tls_loglevel", "0", "TLS logging detail (0 to 4)", 0, 4),
    s::Bool("smtpd_tls_received_header", "no", "Record protocol and cipher in Received"),
    s::Time("smtpd_tls_session_cache_timeout", "3600s", 's', "Lifetime of TLS sessions"),
    // Reply codes
    s::Integer("access_map_reject_code", "554", "Reply code of an access table REJECT", 400, 599),
    s::Integer("access_map_defer_code", "450", "Reply code of an access table DEFER", 400, 599),
    s::Integer("reject_code", "554", "Reply code of the reject restriction", 400, 599),
    s::Integer("defer_code", "450", "Reply code of the defer restriction", 400, 599),
    s::Integer("relay_domains_reject_code", "554",
               "Reply code for relay attempts (reject_unauth_destination)", 400, 599),
    s::Integer("unknown_address_reject_code", "450",
               "Reply code for unknown sender or recipient domains", 400, 599),
    s::Integer("unknown_client_reject_code", "450",
               "Reply code for clients without a valid hostname", 400, 599),
    s::Integer("unknown_hostname_reject_code", "450",
               "Reply code for a HELO hostname that does not resolve", 400, 599),
    s::Integer("invalid_hostname_reject_code", "501",
               "Reply code for a malformed HELO hostname", 400, 599),
    s::Integer("non_fqdn_reject_code", "504",
               "Reply code for non-fully-qualified names", 400, 599),
    s::Integer("unknown_relay_recipient_reject_code", "550",
               "Reply code for recipients not in relay_recipient_maps", 400, 599),
    s::Integer("unknown_local_recipient_reject_code", "550",
               "Reply code for unknown local recipients", 400, 599),
    s::Integer("unknown_virtual_alias_reject_code", "550",
               "Reply code for unknown virtual alias recipients", 400, 599),
    s::Integer("unknown_virtual_mailbox_reject_code", "550",
               "Reply code for unknown virtual mailbox recipients", 400, 599),
    s::Bool("show_user_unknown_table_name", "yes",
            "Name the table in \"User unknown in ... table\" replies"),
    s::Integer("maps_rbl_reject_code", "554", "Reply code for DNSBL-listed clients", 400, 599),
    s::Integer("plaintext_reject_code", "450",
               "Reply code for AUTH or mail refused without TLS", 400, 599),
    s::Integer("multi_recipient_bounce_reject_code", "550",
               "Reply code for bounces with several recipients", 400, 599),
    s::Raw("default_rbl_reply",
           "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
           "$rbl_domain${rbl_reason?; $rbl_reason}",
           "Reply template for DNSBL rejections ($rbl_code, $rbl_domain, ... filled in)"),
    s::Tables("rbl_reply_maps", "", "Reply templates by DNSBL domain"),
};

// Connect-time DNSBLs (postscreen's job), greylisting and SPF.
constexpr ParameterSpec kPolicy[] = {
    s::Checked(s::List("postscreen_dnsbl_sites", "",
                       "DNSBLs with optional reply filter and weight: zen.example=127.0.0.[2..11]*2"),
               CheckDnsblSites),
    s::Integer("postscreen_dnsbl_threshold", "1", "Summed weight at which a client is listed", 1),
    s::Integer("postscreen_dnsbl_allowlist_threshold",
               "${postscreen_dnsbl_whitelist_threshold?{$postscreen_dnsbl_whitelist_threshold}:"
               "{0}}",
               "Summed (negative) weight that allow-lists a client (0 = off)", -1000000),
    s::Choice("postscreen_dnsbl_action", "ignore", "ignore|enforce|drop",
              "What to do with a DNSBL-listed client"),
    s::Time("postscreen_dnsbl_min_ttl", "60s", 's', "Shortest time a DNSBL result is cached"),
    s::Time("postscreen_dnsbl_max_ttl", "${postscreen_dnsbl_ttl?{$postscreen_dnsbl_ttl}:{1}}h",
            'h', "Longest time a DNSBL result is cached"),
    s::Time("postscreen_dnsbl_timeout", "10s", 's', "Time to wait for DNSBL answers"),
    s::Tables("postscreen_dnsbl_reply_map", "", "DNSBL names to show in rejections"),
    s::List("postscreen_access_list", "permit_mynetworks",
            "Permanent allow/deny list: permit_mynetworks and cidr: tables"),
    s::Choice("postscreen_denylist_action",
              "${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}",
              "ignore|enforce|drop", "What to do with clients on postscreen_access_list's deny"),
    s::Time("postscreen_greet_wait", "${stress?{2}:{6}}s", 's',
            "Time to watch for clients that talk before the greeting"),
    s::Choice("postscreen_greet_action", "ignore", "ignore|enforce|drop",
              "What to do with clients that talk too early"),
    s::String("postscreen_greet_banner", "$smtpd_banner", "Text of the early 220- greeting"),
    s::Integer("postscreen_client_connection_count_limit", "$smtpd_client_connection_count_limit",
               "Simultaneous connections per client at the screen"),
    s::Time("greylist_delay", "300s", 's',
            "(moat) How long a new (client network, sender, recipient) triplet waits"),
    s::Time("greylist_retry_window", "2d", 'd',
            "(moat) How long after the delay a retry still passes a new triplet"),
    s::Time("greylist_max_age", "35d", 'd', "(moat) When unused triplets are forgotten"),
    s::Integer("greylist_auto_allow_clients", "5",
               "(moat) Successful retries after which a client skips greylisting (0 = never)"),
    s::Tables("greylist_client_exemptions", "",
              "(moat) Clients never greylisted, looked up as check_client_access does (address, "
              "networks, name): any value but DUNNO exempts (postgrey's --whitelist-clients)"),
    s::Tables("greylist_recipient_exemptions", "",
              "(moat) Recipients never greylisted, looked up as check_recipient_access does: any "
              "value but DUNNO exempts (postgrey's --whitelist-recipients)"),
    s::Path("greylist_database", "$data_directory/greylist.sqlite",
            "(moat) SQLite file with the greylisting state"),
    s::Integer("greylist_ipv4_prefix", "24", "(moat) IPv4 client network size for triplets", 0,
               32),
    s::Integer("greylist_ipv6_prefix", "64", "(moat) IPv6 client network size for triplets", 0,
               128),
    s::Bool("smtpd_spf_checks", "no",
            "(moat) Check SPF as policyd-spf does, at smtpd_spf_stage (never for mynetworks or "
            "authenticated clients)"),
    s::Choice("smtpd_spf_stage", "rcpt", "mail|rcpt",
              "(moat) Where smtpd_spf_checks checks: at MAIL FROM, or at the first RCPT TO the "
              "restrictions accepted"),
    s::Bool("smtpd_spf_reject_fail", "no", "(moat) Reject mail whose SPF result is fail"),
    s::Bool("smtpd_spf_received_header", "yes", "(moat) Add a Received-SPF header"),
    // --- issue 12 (inbound policy): parameters of mta/spf_*, mta/dnsbl_*, mta/greylist_* ---
    s::Bool("smtpd_spf_helo_checks", "yes",
            "(moat) Also check the HELO identity (a HELO fail rejects with smtpd_spf_reject_fail)"),
    s::Bool("smtpd_spf_defer_temperror", "no",
            "(moat) Defer (451 4.7.24) mail whose SPF check failed temporarily"),
    s::Bool("smtpd_spf_reject_permerror", "no",
            "(moat) Reject (550 5.7.24) mail whose SPF record is broken"),
    s::Time("smtpd_spf_time_limit", "20s", 's', "(moat) Time allowed for one SPF evaluation"),
    s::Integer("smtpd_spf_void_lookup_limit", "2",
               "(moat) SPF lookups answering no records before permerror (RFC 7208 4.6.4)", 0, 100),
    s::Integer("postscreen_dnsbl_cache_limit", "100000",
               "(moat) Most DNSBL answers kept in the result cache", 0),
    s::Time("rbl_lookup_timeout", "10s", 's',
            "(moat) Time reject_rbl_client and reject_rhsbl_* wait for DNSBL answers"),
    s::Bool("greylist_normalize_sender", "yes",
            "(moat) Strip +extensions, BATV and SRS tags and numbers from greylisted senders "
            "(as postgrey does)"),
    s::String("greylist_text", "Greylisted, see https://www.rfc-editor.org/rfc/rfc6647",
              "(moat) Text of the 450 4.7.1 reply to greylisted mail (%s: seconds left, %r: "
              "recipient domain)"),
    s::Bool("greylist_header", "yes",
            "(moat) Add an X-Greylist header to mail that was delayed, as postgrey does"),
    // --- end of issue 12 block ---
};

// Queue manager, bounces, notifications.
constexpr ParameterSpec kQueue[] = {
    s::Time("minimal_backoff_time", "300s", 's', "Shortest time a deferred message waits"),
    s::Time("maximal_backoff_time", "4000s", 's', "Longest time a deferred message waits"),
    s::Time("queue_run_delay", "300s", 's', "Interval between deferred queue scans"),
    s::Time("maximal_queue_lifetime", "5d", 'd', "Age at which a deferred message bounces"),
    s::Time("bounce_queue_lifetime", "5d", 'd', "Age at which an undeliverable bounce is dropped"),
    s::Time("delay_warning_time", "0h", 'h', "Age at which senders are warned (0 = never)"),
    s::Integer("initial_destination_concurrency", "5", "Initial connections per destination", 1),
    s::Integer("default_destination_concurrency_limit", "20",
               "Maximal connections per destination", 0),
    s::Integer("default_destination_recipient_limit", "50",
               "Maximal recipients per delivery", 0),
    s::Time("default_destination_rate_delay", "0s", 's',
            "Pause between deliveries to the same destination"),
    s::Integer("qmgr_message_active_limit", "20000", "Maximal messages in the active queue", 1),
    s::Integer("qmgr_message_recipient_limit", "20000",
               "Maximal recipients held in memory by the queue manager", 1),
    s::Choices("notify_classes", "resource, software",
               "bounce|2bounce|data|delay|policy|protocol|resource|software",
               "Problems reported to the postmaster"),
    s::String("bounce_notice_recipient", "postmaster", "Recipient of bounce notifications"),
    s::String("2bounce_notice_recipient", "postmaster", "Recipient of undeliverable bounces"),
    s::String("delay_notice_recipient", "postmaster", "Recipient of delay notifications"),
    s::String("error_notice_recipient", "postmaster", "Recipient of error notifications"),
    s::String("double_bounce_sender", "double-bounce", "Sender of postmaster notifications"),
    s::Size("bounce_size_limit", "50000", "Bytes of the original message returned in a bounce"),
};

// The SMTP and LMTP delivery agents.
constexpr ParameterSpec kClients[] = {
    s::Time("smtp_connect_timeout", "30s", 's', "SMTP client: time to connect"),
    s::Time("smtp_helo_timeout", "300s", 's', "SMTP client: time for the greeting and EHLO"),
    s::Time("smtp_xforward_timeout", "300s", 's', "SMTP client: time for XFORWARD"),
    s::Time("smtp_mail_timeout", "300s", 's', "SMTP client: time for MAIL FROM"),
    s::Time("smtp_rcpt_timeout", "300s", 's', "SMTP client: time for RCPT TO"),
    s::Time("smtp_data_init_timeout", "120s", 's', "SMTP client: time for DATA"),
    s::Time("smtp_data_xfer_timeout", "180s", 's', "SMTP client: time to send the content"),
    s::Time("smtp_data_done_timeout", "600s", 's', "SMTP client: time for the final reply"),
    s::Time("smtp_quit_timeout", "300s", 's', "SMTP client: time for QUIT"),
    s::Time("smtp_rset_timeout", "20s", 's', "SMTP client: time for RSET"),
    s::Time("smtp_starttls_timeout", "300s", 's', "SMTP client: time for the TLS handshake"),
    s::String("smtp_helo_name", "$myhostname", "SMTP client: name sent in EHLO"),
    s::String("smtp_bind_address", "", "SMTP client: local IPv4 address to connect from"),
    s::String("smtp_bind_address6", "", "SMTP client: local IPv6 address to connect from"),
    s::String("smtp_tcp_port", "smtp", "SMTP client: default port"),
    s::Choice("smtp_tls_security_level", "",
              "|none|may|encrypt|dane|dane-only|fingerprint|verify|secure",
              "SMTP client TLS: none, may, encrypt, verify, secure, ..."),
    s::Bool("smtp_use_tls", "no", "Legacy: opportunistic TLS (use smtp_tls_security_level)"),
    s::Bool("smtp_enforce_tls", "no", "Legacy: mandatory TLS (use smtp_tls_security_level)"),
    s::Path("smtp_tls_CAfile", "", "SMTP client: CA certificates for verifying servers"),
    s::Path("smtp_tls_CApath", "", "SMTP client: directory of CA certificates"),
    s::Path("smtp_tls_cert_file", "", "SMTP client: client certificate"),
    s::Path("smtp_tls_key_file", "$smtp_tls_cert_file", "SMTP client: client private key"),
    s::String("smtp_tls_protocols", ">=TLSv1", "SMTP client: versions for opportunistic TLS"),
    s::String("smtp_tls_mandatory_protocols", ">=TLSv1.2",
              "SMTP client: versions for mandatory TLS. Moat default: >=TLSv1.2"),
    s::Choice("smtp_tls_ciphers", "medium", "export|low|medium|high|null",
              "SMTP client: cipher grade with opportunistic TLS"),
    s::Choice("smtp_tls_mandatory_ciphers", "medium", "export|low|medium|high|null",
              "SMTP client: cipher grade with mandatory TLS"),
    s::List("smtp_tls_exclude_ciphers", "", "SMTP client: ciphers to exclude"),
    s::Integer("smtp_tls_loglevel", "0", "SMTP client: TLS logging detail (0 to 4)", 0, 4),
    s::Tables("smtp_tls_policy_maps", "", "SMTP client: TLS level per destination"),
    s::List("smtp_tls_verify_cert_match", "hostname",
            "SMTP client: names a certificate must match at level verify"),
    s::List("smtp_tls_secure_cert_match", "nexthop, dot-nexthop",
            "SMTP client: names a certificate must match at level secure"),
    s::String("smtp_tls_servername", "", "SMTP client: SNI name to send"),
    s::Bool("smtp_tls_note_starttls_offer", "no", "SMTP client: log servers that offer STARTTLS"),
    s::Bool("smtp_send_xforward_command", "no", "SMTP client: send XFORWARD when offered"),
    s::Bool("smtp_connection_cache_on_demand", "yes",
            "SMTP client: reuse connections to busy destinations"),
    s::List("smtp_connection_cache_destinations", "",
            "SMTP client: destinations whose connections are always reused"),
    s::Time("smtp_connection_cache_time_limit", "2s", 's',
            "SMTP client: how long an idle connection is kept"),
    s::Time("smtp_connection_reuse_time_limit", "300s", 's',
            "SMTP client: how long a connection may be reused"),
    s::Integer("smtp_connection_reuse_count_limit", "0",
               "SMTP client: deliveries per connection (0 = no limit)"),
    s::Integer("smtp_mx_address_limit", "5", "SMTP client: MX addresses tried per delivery"),
    s::Integer("smtp_mx_session_limit", "2", "SMTP client: sessions tried per delivery"),
    s::Choice("smtp_address_preference", "any", "any|ipv4|ipv6",
              "SMTP client: address family preferred"),
    s::Choices("smtp_host_lookup", "dns", "dns|native", "SMTP client: how to find servers"),
    s::Choice("smtp_dns_support_level", "", "|disabled|enabled|dnssec",
              "SMTP client: DNS use (empty: per disable_dns_lookups)"),
    s::Bool("smtp_skip_5xx_greeting", "yes", "SMTP client: try the next MX after a 5xx greeting"),
    s::Bool("smtp_always_send_ehlo", "yes", "SMTP client: always send EHLO"),
    s::Bool("smtp_never_send_ehlo", "no", "SMTP client: never send EHLO"),
    s::Bool("smtp_defer_if_no_mx_address_found", "no",
            "SMTP client: defer instead of using A records when MX hosts have no address"),
    s::Integer("smtp_line_length_limit", "998", "SMTP client: longer lines are folded"),
    s::Bool("smtp_sasl_auth_enable", "no", "SMTP client: authenticate to the relay"),
    s::Tables("smtp_sasl_password_maps", "", "SMTP client: user:password per destination"),
    s::List("smtp_sasl_security_options", "noplaintext, noanonymous",
            "SMTP client: AUTH restrictions on plaintext sessions"),
    s::List("smtp_sasl_tls_security_options", "$smtp_sasl_security_options",
            "SMTP client: AUTH restrictions on TLS sessions"),
    s::Time("lmtp_connect_timeout", "0s", 's', "LMTP client: time to connect (0 = system)"),
    s::String("lmtp_lhlo_name", "$myhostname", "LMTP client: name sent in LHLO"),
    s::Time("lmtp_lhlo_timeout", "300s", 's', "LMTP client: time for the greeting and LHLO"),
    s::Time("lmtp_xforward_timeout", "300s", 's', "LMTP client: time for XFORWARD"),
    s::Time("lmtp_mail_timeout", "300s", 's', "LMTP client: time for MAIL FROM"),
    s::Time("lmtp_rcpt_timeout", "300s", 's', "LMTP client: time for RCPT TO"),
    s::Time("lmtp_data_init_timeout", "120s", 's', "LMTP client: time for DATA"),
    s::Time("lmtp_data_xfer_timeout", "180s", 's', "LMTP client: time to send the content"),
    s::Time("lmtp_data_done_timeout", "600s", 's', "LMTP client: time for the replies"),
    s::Time("lmtp_quit_timeout", "300s", 's', "LMTP client: time for QUIT"),
    s::Time("lmtp_rset_timeout", "20s", 's', "LMTP client: time for RSET"),
    s::Time("lmtp_starttls_timeout", "300s", 's', "LMTP client: time for the TLS handshake"),
    s::String("lmtp_tcp_port", "24", "LMTP client: default port"),
    s::String("lmtp_bind_address", "", "LMTP client: local IPv4 address to connect from"),
    s::Bool("lmtp_send_xforward_command", "no", "LMTP client: send XFORWARD when offered"),
    s::Choice("lmtp_tls_security_level", "",
              "|none|may|encrypt|dane|dane-only|fingerprint|verify|secure",
              "LMTP client TLS level"),
    s::Path("lmtp_tls_CAfile", "", "LMTP client: CA certificates for verifying servers"),
    s::Bool("lmtp_connection_cache_on_demand", "yes", "LMTP client: reuse connections"),
    s::List("lmtp_connection_cache_destinations", "",
            "LMTP client: destinations whose connections are always reused"),
    s::Time("lmtp_connection_cache_time_limit", "2s", 's',
            "LMTP client: how long an idle connection is kept"),
    s::Time("lmtp_connection_reuse_time_limit", "300s", 's',
            "LMTP client: how long a connection may be reused"),
    s::Integer("lmtp_connection_reuse_count_limit", "0",
               "LMTP client: deliveries per connection (0 = no limit)"),
    s::Integer("lmtp_line_length_limit", "998", "LMTP client: longer lines are folded"),
    s::Choices("lmtp_host_lookup", "dns", "dns|native", "LMTP client: how to find servers"),
};

// --- Delivery block (issue 9: resolution, delivery agents, bounces, scheduling) -------------
// Parameters the resolver (mta/resolve_*), the delivery agents (mta/delivery_*), the DSN
// composer (mta/bounce_*) and the scheduling policy (mta/qmgr_policy_*) read, beyond the ones
// above. Keep this block together.
constexpr ParameterSpec kDelivery[] = {
    s::List("virtual_mailbox_domains", "$virtual_mailbox_maps",
            "Domains delivered by virtual_transport (routing only: moat-mta has no virtual(8))"),
    s::List("proxy_interfaces", "",
            "Addresses of proxies/NAT in front of this host: [address] destinations are local"),
    s::String("default_filter_nexthop", "",
              "Nexthop of a content_filter without one (empty: the recipient domain)"),
    s::String("empty_address_relayhost_maps_lookup_key", "<>",
              "sender_dependent_relayhost_maps key for the null sender"),
    s::String("empty_address_default_transport_maps_lookup_key", "<>",
              "sender_dependent_default_transport_maps key for the null sender"),
    s::Bool("show_user_unknown_table_name", "yes",
            "Name the table in \"User unknown\" replies and bounces"),
    s::Bool("allow_min_user", "no", "Allow recipient addresses that start with '-'"),
    s::Integer("default_destination_concurrency_failed_cohort_limit", "1",
               "Failed connections in a row after which a destination is declared dead", 0),
    s::String("default_destination_concurrency_positive_feedback", "1",
              "Concurrency window growth per success: N, N/concurrency or N/sqrt_concurrency"),
    s::String("default_destination_concurrency_negative_feedback", "1",
              "Concurrency window shrink per failure: N, N/concurrency or N/sqrt_concurrency"),
    s::Bool("smtp_tls_enforce_peername", "yes",
            "Legacy: with smtp_enforce_tls, also verify the server name (level verify)"),
    s::Integer("lmtp_mx_address_limit", "5", "LMTP client: addresses tried per delivery"),
    s::Integer("lmtp_mx_session_limit", "2", "LMTP client: sessions tried per delivery"),
    s::Choice("lmtp_address_preference", "any", "any|ipv4|ipv6",
              "LMTP client: address family preferred"),
    s::Choice("lmtp_dns_support_level", "", "|disabled|enabled|dnssec",
              "LMTP client: DNS use (empty: per disable_dns_lookups)"),
    s::Bool("lmtp_skip_5xx_greeting", "yes", "LMTP client: try the next address after a 5xx "
                                             "greeting"),
    s::Path("lmtp_tls_CApath", "", "LMTP client: directory of CA certificates"),
    s::Bool("lmtp_use_tls", "no", "Legacy: opportunistic TLS (use lmtp_tls_security_level)"),
    s::Bool("lmtp_enforce_tls", "no", "Legacy: mandatory TLS (use lmtp_tls_security_level)"),
    s::Bool("lmtp_tls_enforce_peername", "yes",
            "Legacy: with lmtp_enforce_tls, also verify the server name"),
    s::Tables("lmtp_tls_policy_maps", "", "LMTP client: TLS level per destination"),
    s::String("lmtp_tls_servername", "", "LMTP client: SNI name to send"),
    s::Path("lmtp_tls_cert_file", "", "LMTP client: client certificate"),
    s::Path("lmtp_tls_key_file", "$lmtp_tls_cert_file", "LMTP client: client private key"),
    s::Bool("lmtp_sasl_auth_enable", "no", "LMTP client: authenticate to the server"),
    s::Tables("lmtp_sasl_password_maps", "", "LMTP client: user:password per destination"),
    s::List("lmtp_sasl_security_options", "noplaintext, noanonymous",
            "LMTP client: AUTH restrictions on plaintext sessions"),
    s::List("lmtp_sasl_tls_security_options", "$lmtp_sasl_security_options",
            "LMTP client: AUTH restrictions on TLS sessions"),
};

// Per-transport parameters Moat implements; the other Postfix ones are recognised.
constexpr core::ParameterTemplate kTransportTemplates[] = {
    s::Template(ParameterType::kInteger, "destination_concurrency_limit",
                "$default_destination_concurrency_limit",
                "Maximal connections per destination for this transport"),
    s::Template(ParameterType::kInteger, "destination_recipient_limit",
                "$default_destination_recipient_limit",
                "Maximal recipients per delivery for this transport"),
    s::Template(ParameterType::kInteger, "initial_destination_concurrency",
                "$initial_destination_concurrency",
                "Initial connections per destination for this transport"),
    s::Template(ParameterType::kTime, "destination_rate_delay", "$default_destination_rate_delay",
                "Pause between deliveries to one destination for this transport"),
    // Delivery block (issue 9).
    s::Template(ParameterType::kInteger, "destination_concurrency_failed_cohort_limit",
                "$default_destination_concurrency_failed_cohort_limit",
                "Failed connections in a row that make a destination dead, this transport"),
    s::Template(ParameterType::kString, "destination_concurrency_positive_feedback",
                "$default_destination_concurrency_positive_feedback",
                "Concurrency window growth per success for this transport"),
    s::Template(ParameterType::kString, "destination_concurrency_negative_feedback",
                "$default_destination_concurrency_negative_feedback",
                "Concurrency window shrink per failure for this transport"),
};

// Postfix's restriction vocabulary (postconf(5), smtpd_*_restrictions).
enum class Argument { kNone, kTable, kDomain, kServer, kNumber };
struct RestrictionName {
  std::string_view name;
  Argument argument;
  bool supported;
};

constexpr RestrictionName kRestrictions[] = {
    {"permit", Argument::kNone, true},
    {"reject", Argument::kNone, true},
    {"defer", Argument::kNone, true},
    {"defer_if_permit", Argument::kNone, true},
    {"defer_if_reject", Argument::kNone, true},
    {"warn_if_reject", Argument::kNone, true},
    {"permit_mynetworks", Argument::kNone, true},
    {"permit_sasl_authenticated", Argument::kNone, true},
    {"permit_inet_interfaces", Argument::kNone, true},
    {"reject_unauth_destination", Argument::kNone, true},
    {"defer_unauth_destination", Argument::kNone, true},
    {"permit_auth_destination", Argument::kNone, true},
    {"reject_unauth_pipelining", Argument::kNone, true},
    {"reject_unknown_sender_domain", Argument::kNone, true},
    {"reject_unknown_recipient_domain", Argument::kNone, true},
    {"reject_non_fqdn_sender", Argument::kNone, true},
    {"reject_non_fqdn_recipient", Argument::kNone, true},
    {"reject_non_fqdn_helo_hostname", Argument::kNone, true},
    {"reject_non_fqdn_hostname", Argument::kNone, true},
    {"reject_invalid_helo_hostname", Argument::kNone, true},
    {"reject_invalid_hostname", Argument::kNone, true},
    {"reject_unlisted_recipient", Argument::kNone, true},
    {"reject_unlisted_sender", Argument::kNone, true},
    {"reject_sender_login_mismatch", Argument::kNone, true},
    {"reject_authenticated_sender_login_mismatch", Argument::kNone, true},
    {"reject_known_sender_login_mismatch", Argument::kNone, true},
    {"reject_unauthenticated_sender_login_mismatch", Argument::kNone, true},
    {"reject_multi_recipient_bounce", Argument::kNone, true},
    {"check_client_access", Argument::kTable, true},
    {"check_helo_access", Argument::kTable, true},
    {"check_sender_access", Argument::kTable, true},
    {"check_recipient_access", Argument::kTable, true},
    {"reject_rbl_client", Argument::kDomain, true},
    {"reject_rhsbl_sender", Argument::kDomain, true},
    {"reject_rhsbl_client", Argument::kDomain, true},
    {"reject_rhsbl_helo", Argument::kDomain, true},
    {"reject_rhsbl_recipient", Argument::kDomain, true},
    {"reject_rhsbl_reverse_client", Argument::kDomain, true},
    {"permit_dnswl_client", Argument::kDomain, true},
    {"permit_rhswl_client", Argument::kDomain, true},
    {"check_greylist", Argument::kNone, true},  // (moat) built-in greylisting
    {"check_spf", Argument::kNone, true},       // (moat) built-in SPF (policyd-spf)
    // Postfix has these; moat-mta does not implement them.
    {"check_policy_service", Argument::kServer, false},
    {"check_reverse_client_hostname_access", Argument::kTable, false},
    {"check_client_a_access", Argument::kTable, false},
    {"check_client_mx_access", Argument::kTable, false},
    {"check_client_ns_access", Argument::kTable, false},
    {"check_reverse_client_hostname_a_access", Argument::kTable, false},
    {"check_reverse_client_hostname_mx_access", Argument::kTable, false},
    {"check_reverse_client_hostname_ns_access", Argument::kTable, false},
    {"check_helo_a_access", Argument::kTable, false},
    {"check_helo_mx_access", Argument::kTable, false},
    {"check_helo_ns_access", Argument::kTable, false},
    {"check_sender_a_access", Argument::kTable, false},
    {"check_sender_mx_access", Argument::kTable, false},
    {"check_sender_ns_access", Argument::kTable, false},
    {"check_recipient_a_access", Argument::kTable, false},
    {"check_recipient_mx_access", Argument::kTable, false},
    {"check_recipient_ns_access", Argument::kTable, false},
    {"check_ccert_access", Argument::kTable, false},
    {"check_sasl_access", Argument::kTable, false},
    {"check_etrn_access", Argument::kTable, false},
    {"permit_tls_clientcerts", Argument::kNone, false},
    {"permit_tls_all_clientcerts", Argument::kNone, false},
    {"permit_mx_backup", Argument::kNone, false},
    {"reject_unknown_client_hostname", Argument::kNone, false},
    {"reject_unknown_client", Argument::kNone, false},
    {"reject_unknown_reverse_client_hostname", Argument::kNone, false},
    {"reject_unknown_helo_hostname", Argument::kNone, false},
    {"reject_unknown_hostname", Argument::kNone, false},
    {"reject_unverified_sender", Argument::kNone, false},
    {"reject_unverified_recipient", Argument::kNone, false},
    {"reject_plaintext_session", Argument::kNone, false},
    {"reject_maps_rbl", Argument::kNone, false},
    {"check_recipient_maps", Argument::kNone, false},
    {"check_relay_domains", Argument::kNone, false},
    {"permit_naked_ip_address", Argument::kNone, false},
    {"sleep", Argument::kNumber, false},
};

const RestrictionName* FindRestriction(std::string_view name) {
  for (const RestrictionName& r : kRestrictions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses "name = default" lines of the generated data.
template <typename Callback>
void ForEachDataLine(std::string_view data, Callback callback) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) end = data.size();
    std::string_view line = data.substr(pos, end - pos);
    pos = end + 1;
    size_t equals = line.find(" = ");
    if (equals == std::string_view::npos) {
      if (line.ends_with(" =")) callback(line.substr(0, line.size() - 2), std::string_view());
      continue;
    }
    callback(line.substr(0, equals), line.substr(equals + 3));
  }
}

core::ParameterRegistry BuildRegistry() {
  core::ParameterRegistry registry("moat-mta");
  auto add_all = [&](const auto& specs) {
    for (const ParameterSpec& spec : specs) registry.Add(spec);
  };
  add_all(kGeneral);
  add_all(kAddressing);
  add_all(kRouting);
  add_all(kCleanup);
  add_all(kSmtpd);
  add_all(kPolicy);
  add_all(kQueue);
  add_all(kClients);
  add_all(kDelivery);  // delivery block (issue 9)

  // Every other Postfix parameter is recognised. So are the names Postfix's own defaults refer
  // to (legacy names such as virtual_maps or postscreen_dnsbl_ttl that postconf -d does not
  // list), except the per-event macros of raw parameters ($rbl_code, $home, ...).
  std::set<std::string> referenced;
  ForEachDataLine(kPostfixParameters, [&](std::string_view name, std::string_view value) {
    registry.AddRecognised(name, value);
    if (name != "forward_path" && name != "default_rbl_reply") {
      for (const std::string& r : core::ReferencedNames(value)) referenced.insert(r);
    }
  });
  for (const std::string& name : referenced) registry.AddRecognised(name, "");

  for (const core::ParameterTemplate& t : kTransportTemplates) registry.AddTemplate(t);
  ForEachDataLine(kPostfixTransportParameters, [&](std::string_view suffix, std::string_view value) {
    bool supported = std::any_of(std::begin(kTransportTemplates), std::end(kTransportTemplates),
                                 [&](const core::ParameterTemplate& t) { return t.suffix == suffix; });
    if (supported) return;
    registry.AddTemplate(s::Template(ParameterType::kString, suffix, value,
                                     "Postfix per-transport parameter",
                                     core::Support::kRecognised));
  });
  return registry;
}

}  // namespace

const core::ParameterRegistry& MtaParameterRegistry() {
  static const core::ParameterRegistry registry = BuildRegistry();
  return registry;
}

void CheckRestrictionList(std::string_view value, const core::ParameterContext& context,
                          std::vector<core::ValueProblem>& problems) {
  std::vector<std::string> classes = core::SplitList(
      context.Value("smtpd_restriction_classes").value_or(""));
  std::vector<std::string> items = core::SplitList(value);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string item = Lower(items[i]);
    if (std::find(classes.begin(), classes.end(), items[i]) != classes.end()) continue;
    if (core::LooksLikeTableSpec(item)) continue;  // a bare table: an access(5) lookup
    const RestrictionName* r = FindRestriction(item);
    if (r == nullptr) {
      std::string suggestion;
      size_t best = 3;
      for (const RestrictionName& known : kRestrictions) {
        size_t d = core::EditDistance(item, known.name);
        if (d < best) {
          best = d;
          suggestion = fmt::format(" (did you mean \"{}\"?)", known.name);
        }
      }
      problems.push_back({core::Severity::kError,
                          fmt::format("unknown restriction \"{}\"{}", items[i], suggestion)});
      continue;
    }
    if (DefaultRestrictionRegistry().Find(r->name) == nullptr) {
      // Known to Postfix, not implemented here: moat-mta refuses to start with it in a list
      // (skipping it could accept mail the administrator meant to refuse).
      problems.push_back({core::Severity::kWarning,
                          fmt::format("restriction \"{}\" is not supported by moat-mta, which "
                                      "refuses to start with it",
                                      r->name)});
    }
    if (r->argument == Argument::kNone) continue;
    if (i + 1 >= items.size()) {
      problems.push_back({core::Severity::kError,
                          fmt::format("restriction \"{}\" needs an argument", r->name)});
      continue;
    }
    const std::string& argument = items[++i];
    if (r->argument == Argument::kTable && !core::LooksLikeTableSpec(argument)) {
      problems.push_back({core::Severity::kError,
                          fmt::format("{} {}: expected a lookup table type:name", r->name,
                                      argument)});
    } else if (r->argument == Argument::kNumber && !core::ParseInteger(argument)) {
      problems.push_back({core::Severity::kError,
                          fmt::format("{} {}: expected a number", r->name, argument)});
    } else if (r->argument == Argument::kDomain && FindRestriction(Lower(argument)) != nullptr) {
      problems.push_back({core::Severity::kError,
                          fmt::format("restriction \"{}\" needs a domain before \"{}\"", r->name,
                                      argument)});
    }
  }
}

core::ConfigBuildOptions MasterCfBuildOptions(const core::MasterCf& master) {
  core::ConfigBuildOptions options;
  std::set<std::string> transports;
  for (const core::MasterService& service : master.services) {
    if (service.type == core::MasterServiceType::kUnix && core::IsDeliveryAgent(service.command)) {
      transports.insert(service.name);
    }
    for (const std::string& name : core::ReferencedNames(service.name)) {
      options.external_references.insert(name);
    }
    for (const core::ConfigEntry& o : service.overrides) {
      for (const std::string& name : core::ReferencedNames(o.value)) {
        options.external_references.insert(name);
      }
    }
  }
  options.template_prefixes.assign(transports.begin(), transports.end());
  return options;
}

void CheckMasterCf(const core::MasterCf& master, const core::Config& main,
                   core::ConfigDiagnostics& diagnostics) {
  for (const core::MasterService& service : master.services) {
    switch (core::ClassifyCommand(service.command)) {
      case core::CommandSupport::kImplemented:
      case core::CommandSupport::kBuiltIn:
        break;
      case core::CommandSupport::kUnsupported:
        diagnostics.push_back(
            {core::Severity::kWarning, service.location,
             fmt::format("service {}: command \"{}\" is not supported by moat-mta; the service "
                         "is ignored",
                         service.Key(), service.command)});
        continue;
      case core::CommandSupport::kUnknown: {
        auto suggestion = core::SuggestCommand(service.command);
        diagnostics.push_back(
            {core::Severity::kError, service.location,
             fmt::format("service {}: unknown command \"{}\"{}", service.Key(), service.command,
                         suggestion ? fmt::format(" (did you mean \"{}\"?)", *suggestion) : "")});
        continue;
      }
    }
    if (service.type == core::MasterServiceType::kInet) {
      if (auto address = core::ExpandServiceName(service, main); !address) {
        diagnostics.push_back({core::Severity::kError, service.location,
                               fmt::format("service {}: {}", service.Key(),
                                           address.error().message())});
      }
    }
    if (!service.overrides.empty()) main.WithOverrides(service.overrides, &diagnostics);
  }
}

MtaConfig LoadMtaConfig(const core::ConfigSource& source) {
  std::string directory = source.directory.empty() ? "." : source.directory;
  std::string separator = directory.ends_with('/') ? "" : "/";
  MtaConfig result;
  result.master = core::ReadMasterCf(directory + separator + "master.cf");
  core::ConfigDiagnostics diagnostics = result.master.diagnostics;
  for (const core::ConfigDiagnostic& d : diagnostics) {
    if (d.severity == core::Severity::kError) throw core::ConfigError(d);
  }
  result.main = core::Config::Load(MtaParameterRegistry(), source,
                                   MasterCfBuildOptions(result.master), &diagnostics);
  CheckMasterCf(result.master, *result.main, diagnostics);
  for (const core::ConfigDiagnostic& d : diagnostics) {
    if (d.severity == core::Severity::kError) throw core::ConfigError(d);
  }
  result.warnings = std::move(diagnostics);
  return result;
}

}  // namespace moat::mta
