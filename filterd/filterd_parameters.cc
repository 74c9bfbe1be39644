// filterd_parameters.cc - the moat-filterd parameter registry as data.
//
// Defaults follow amavisd-new where it has an equivalent (named in the doc), and Postfix where
// the name is Postfix's (mynetworks, message_size_limit, myhostname).
#include "filterd/filterd_parameters.h"

#include <fmt/format.h>

#include "core/config_host.h"

namespace moat::filterd {
namespace {

namespace s = core::spec;
using core::ParameterSpec;

constexpr std::string_view kDestinies = "PASS|DISCARD|BOUNCE|REJECT";

// Host, directories, logging, DNS.
constexpr ParameterSpec kGeneral[] = {
    s::Computed(s::String("myhostname", "", "Hostname used in LMTP greetings and headers "
                                            "(default: gethostname(), fully qualified)"),
                core::MyhostnameDefault),
    s::Computed(s::String("mydomain", "", "Domain of this host (default: $myhostname without its "
                                          "first label)"),
                core::MydomainDefault),
    s::Computed(s::Path("config_directory", "", "The configuration directory (the -c option)"),
                core::ConfigDirectoryDefault),
    s::Path("data_directory", "/var/lib/moat", "Directory for moat-filterd's state"),
    s::String("daemon_user", "moat",
              "User moat-filterd runs as when started as root, root's ids kept only to bind its "
              "listeners (amavis $daemon_user; a uid 0 user keeps root on purpose; a missing user "
              "stops the start)"),
    s::Choice("log_target", "stderr", "stderr|syslog", "Where moat-filterd logs: stderr or syslog"),
    s::Choice("log_level", "info", "trace|debug|info|warn|error|critical|off",
              "Lowest severity that is logged"),
    s::String("syslog_name", "moat-filterd", "Program name in log lines"),
    s::String("syslog_facility", "mail", "Syslog facility when log_target = syslog"),
    s::Addresses("dns_servers", "",
                 "Nameservers (host:port) for every DNS lookup instead of /etc/resolv.conf"),
    s::Address("metrics_listen", "",
               "host:port (loopback) for Prometheus text metrics; empty: no metrics listener"),
};

// LMTP in, SMTP out, and the limits on both (amavis: $inet_socket_port, $forward_method).
constexpr ParameterSpec kTransport[] = {
    s::Address("inbound_lmtp_listen", "127.0.0.1:10024",
               "LMTP listener of the inbound policy bank (empty: none)"),
    s::Address("originating_lmtp_listen", "127.0.0.1:10026",
               "LMTP listener of the originating policy bank, which DKIM-signs (empty: none)"),
    s::Address("forward_to", "127.0.0.1:10025",
               "SMTP server that receives checked mail (the MTA's return listener)"),
    s::String("forward_helo_name", "$myhostname", "Name sent in EHLO to forward_to"),
    s::Networks("mynetworks", "127.0.0.0/8 [::1]/128",
                "Clients (XFORWARD ADDR) whose mail uses the originating bank (amavis @mynetworks)"),
    s::Size("message_size_limit", "52428800",
            "Largest message accepted (552 5.3.4), in bytes; above the MTA's so its limit applies "
            "first"),
    s::Integer("lmtp_recipient_limit", "1000", "Maximal recipients per message", 1),
    s::Integer("max_sessions", "100",
               "LMTP sessions served at once; more are refused with 421 (amavis $max_servers)", 1),
    s::Integer("worker_threads", "0", "Scanning threads (0 = one per CPU core)"),
    s::Integer("worker_queue_limit", "0",
               "Messages waiting for a worker before 451 4.3.2 (0 = max_sessions per listener, "
               "at least twice worker_threads)"),
    s::Integer("io_threads", "0",
               "Threads running the LMTP sessions and the reinjection (0 = one)"),
    s::Time("lmtp_timeout", "300s", 's', "Time to wait for an LMTP command (amavis $smtpd_timeout)"),
    s::Time("lmtp_data_timeout", "600s", 's', "Time allowed to receive one message"),
    s::Time("forward_connect_timeout", "30s", 's', "Time to connect to forward_to"),
    s::Time("forward_timeout", "300s", 's', "Time to wait for each reply of forward_to"),
    s::Time("forward_data_done_timeout", "600s", 's',
            "Time to wait for forward_to's reply to the end of a message"),
    s::Time("forward_connection_reuse_time_limit", "300s", 's',
            "How long a connection to forward_to is reused"),
    s::Time("shutdown_timeout", "60s", 's',
            "On SIGTERM, how long transactions in flight may take to finish"),
};

// Decoding and scanning (amavis: $MAXLEVELS, $MAXFILES, $MAX_EXPANSION_QUOTA, ...).
constexpr ParameterSpec kScanning[] = {
    s::Path("clamav_database_directory", "/var/lib/clamav", "ClamAV signature databases"),
    s::Time("clamav_reload_check_interval", "60s", 's',
            "How often the ClamAV database directory is checked for changes"),
    s::Choice("scanner_failure_action", "tempfail", "tempfail|unchecked|pass",
              "When a scanner fails: tempfail (4xx), unchecked (class UNCHECKED) or pass"),
    s::Integer("max_decode_depth", "14",
               "Deepest nesting of archives and attached messages (amavis $MAXLEVELS)", 1),
    s::Integer("max_decode_parts", "3000",
               "Most MIME parts and archive members per message (amavis $MAXFILES)", 1),
    s::Size("max_unpacked_bytes", "100m", "Most bytes decoded from one message in total"),
    s::Size("max_member_bytes", "50m", "Most bytes decoded from one part or archive member"),
    s::Integer("max_compression_ratio", "500",
               "Largest unpacked/packed ratio of an archive member", 1),
    s::Time("decode_time_limit", "60s", 's', "Time allowed to decode and scan one message"),
    s::Path("banned_rules", "", "Attachment-type rules file (empty: no banned checks)"),
    s::String("virus_scanned_header", "Moat at $mydomain",
              "Value of the X-Virus-Scanned header (amavis $X_HEADER_LINE)"),
    s::Path("clamav_temp_directory", "/dev/shm",
            "Where libclamav makes its per-scan scratch directory; on tmpfs a scan of a small part "
            "costs ~20 us, on a disk file system ~3 ms (a missing directory: $TMPDIR or /tmp)"),
    s::Choice("clamav_raw_message_scan", "ambiguous", "never|ambiguous|always",
              "Second ClamAV pass over the raw message: never, only when the MIME structure is "
              "ambiguous (ClamAV then parses it itself), or always (doubles the ClamAV cost)"),
    s::String("unchecked_subject_tag", "***UNCHECKED***",
              "Prefix added to the Subject of UNCHECKED mail that passes (amavis "
              "$undecipherable_subject_tag; empty: none)"),
};

// Rules and spam levels (amavis: $sa_tag_level_deflt, ...).
constexpr ParameterSpec kSpam[] = {
    s::List("rules_directories", "/usr/share/moat/rules, $config_directory/rules",
            "Folders whose *.cf rule files load in order; later definitions win"),
    s::Number("spam_tag_level", "2.0", "Score from which X-Spam-* headers are added"),
    s::Number("spam_tag2_level", "6.2",
              "Score from which mail is spammy: X-Spam-Flag: YES and the subject tag"),
    s::Number("spam_kill_level", "6.9", "Score from which mail is SPAM (final_spam_destiny)"),
    s::Number("spam_dsn_cutoff_level", "10", "Score above which no bounce is sent for SPAM"),
    s::String("spam_subject_tag", "***Spam***",
              "Prefix added to the Subject of spammy mail (empty: none)"),
    s::Size("spam_scan_size_limit", "400k",
            "Larger messages skip the rules (amavis $sa_mail_body_size_limit)"),
    s::Tables("spam_levels_maps", "",
              "Per-recipient spam levels: tables whose value for user@domain, @domain or domain "
              "sets any of \"tag=N tag2=N kill=N\" (amavis @spam_kill_level_maps)"),
};

// Verdicts, destinies, quarantine.
constexpr ParameterSpec kPolicy[] = {
    s::Choice("final_virus_destiny", "DISCARD", kDestinies,
              "Destiny of VIRUS mail: PASS, DISCARD, BOUNCE or REJECT"),
    s::Choice("final_banned_destiny", "DISCARD", kDestinies, "Destiny of BANNED mail"),
    s::Choice("final_unchecked_destiny", "PASS", kDestinies,
              "Destiny of UNCHECKED mail (encrypted, over a limit, undecodable)"),
    s::Choice("final_spam_destiny", "DISCARD", kDestinies,
              "Destiny of SPAM (at or above spam_kill_level); discarded mail is quarantined"),
    s::Choice("final_bad_header_destiny", "PASS", kDestinies, "Destiny of BAD-HEADER mail"),
    s::Bool("bypass_virus_checks", "no", "Skip ClamAV"),
    s::Bool("bypass_banned_checks", "no", "Skip the banned attachment rules"),
    s::Bool("bypass_spam_checks", "no", "Skip the spam rules"),
    s::Bool("bypass_header_checks", "no", "Skip the header sanity checks (BAD-HEADER)"),
    s::Choices("quarantine_classes", "VIRUS, BANNED, UNCHECKED, SPAM, BAD-HEADER",
               "VIRUS|BANNED|UNCHECKED|SPAM|BAD-HEADER",
               "Classes whose blocked mail (destiny not PASS) is kept in the quarantine"),
    s::Path("quarantine_directory", "$data_directory/quarantine",
            "Where quarantined messages are stored (gzip-compressed)"),
    s::Path("quarantine_database", "$quarantine_directory/index.sqlite",
            "The quarantine index (SQLite)"),
    s::Time("quarantine_retention", "30d", 'd', "Age at which quarantined mail is expired"),
    s::Time("quarantine_expiry_interval", "1h", 'h', "How often expiry runs"),
};

// DKIM, Authentication-Results, DMARC.
constexpr ParameterSpec kAuthentication[] = {
    s::String("dkim_key_table", "",
              "OpenDKIM KeyTable: key name -> domain:selector:keyfile (empty: no signing)"),
    s::String("dkim_signing_table", "",
              "OpenDKIM SigningTable: From address or domain -> key name (refile: for patterns)"),
    s::Bool("dkim_sign", "yes", "Sign mail of the originating policy bank"),
    s::Bool("dkim_verify", "yes", "Verify DKIM signatures of inbound mail"),
    s::Choice("dkim_canonicalization", "relaxed/relaxed",
              "relaxed/relaxed|relaxed/simple|simple/relaxed|simple/simple|relaxed|simple",
              "Header/body canonicalization of new signatures"),
    s::Time("dkim_signature_ttl", "0s", 's', "Lifetime (x=) of new signatures; 0: no x="),
    s::List("dkim_signed_headers",
            "from, reply-to, subject, date, to, cc, in-reply-to, references, message-id, "
            "mime-version, content-type, content-transfer-encoding, list-id, list-unsubscribe",
            "Headers covered by new signatures (From is signed twice)"),
    s::Integer("dkim_min_key_bits", "1024", "Shortest RSA key accepted when verifying", 512),
    s::String("authserv_id", "$myhostname", "authserv-id of Authentication-Results headers"),
    s::Bool("dmarc_verify", "yes",
            "Evaluate DMARC (RFC 7489) for inbound mail; needs dkim_verify = yes"),
    s::Choice("dmarc_reject_destiny", "quarantine", "quarantine|reject|pass|tag",
              "What a DMARC failure under p=reject does to inbound mail: quarantine, reject "
              "(550 5.7.1), pass, or tag (an X-Moat-Alert header); never to mail from mynetworks"),
    s::Choice("dmarc_quarantine_destiny", "quarantine", "quarantine|reject|pass|tag",
              "What a DMARC failure under p=quarantine does to inbound mail"),
    s::Choice("dmarc_temperror_destiny", "pass", "pass|defer",
              "When DMARC cannot be evaluated (DNS timeout, SERVFAIL): pass the mail on with "
              "dmarc=temperror, or defer it (451, the MTA retries)"),
    s::Path("public_suffix_list", "/usr/share/publicsuffix/public_suffix_list.dat",
            "Public suffix list for DMARC organisational domains"),
};

// The quarantine review in the browser (`moat web`, cli/web_command.cc).
constexpr ParameterSpec kWebReview[] = {
    s::Address("web_listen", "127.0.0.1:8025",
               "host:port of `moat web`; an address other than loopback needs web_allow_remote "
               "and TLS"),
    s::Path("web_users_file", "",
            "Users of `moat web`, one `name role hash` line each (role admin or reviewer; hash "
            "as `moat passwd` writes it); empty: nobody can log in"),
    s::Bool("web_allow_remote", "no", "Let `moat web` listen on an address other than loopback"),
    s::Path("web_tls_cert_file", "", "PEM certificate (chain) of `moat web`; empty: plain HTTP"),
    s::Path("web_tls_key_file", "", "PEM private key of web_tls_cert_file"),
    s::Time("web_session_timeout", "30m", 'm', "Idle time after which a web login expires"),
};

// Settings that exist per policy bank as <bank>_<name>.
constexpr std::string_view kPerBank[] = {
    "spam_tag_level",       "spam_tag2_level",         "spam_kill_level",
    "final_virus_destiny",  "final_banned_destiny",    "final_unchecked_destiny",
    "final_spam_destiny",   "final_bad_header_destiny", "banned_rules",
    "bypass_virus_checks",  "bypass_banned_checks",    "bypass_spam_checks",
    "bypass_header_checks", "spam_levels_maps",
};

core::ParameterRegistry BuildRegistry() {
  core::ParameterRegistry registry("moat-filterd");
  auto add_all = [&](const auto& specs) {
    for (const ParameterSpec& spec : specs) registry.Add(spec);
  };
  add_all(kGeneral);
  add_all(kTransport);
  add_all(kScanning);
  add_all(kSpam);
  add_all(kPolicy);
  add_all(kAuthentication);
  add_all(kWebReview);
  for (std::string_view bank : kPolicyBanks) {
    for (std::string_view name : kPerBank) {
      core::ParameterDefinition d = *registry.Find(name);
      d.doc = fmt::format("{} policy bank: {}", bank, d.doc);
      d.default_value = fmt::format("${}", name);
      d.name = fmt::format("{}_{}", bank, name);
      d.compute_default = nullptr;
      registry.Add(std::move(d));
    }
  }
  return registry;
}

}  // namespace

const core::ParameterRegistry& FilterdParameterRegistry() {
  static const core::ParameterRegistry registry = BuildRegistry();
  return registry;
}

std::shared_ptr<const core::Config> LoadFilterdConfig(const core::ConfigSource& source,
                                                      core::ConfigDiagnostics* warnings) {
  core::ConfigSource filterd = source;
  filterd.file_name = "filterd.cf";
  return core::Config::Load(FilterdParameterRegistry(), filterd, {}, warnings);
}

}  // namespace moat::filterd
