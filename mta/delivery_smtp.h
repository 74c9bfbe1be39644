// delivery_smtp.h - the SMTP and LMTP delivery agents (Postfix smtp(8) / lmtp(8)) on Asio, over
// core::SmtpClient.
//
// One SmtpDeliveryAgent serves every smtp- and lmtp-command transport of master.cf. Deliver()
// takes one resolved route and one request (a message and up to destination_recipient_limit of
// its recipients) and answers every recipient:
//
//   1. a cached idle connection to the same transport/nexthop is tried first (SessionCache);
//   2. otherwise each next-hop destination in turn (a nexthop may list several): its hosts from
//      FindDeliveryHosts() (MX, [host], unix:/path), and each address in order, up to
//      smtp_mx_address_limit addresses and smtp_mx_session_limit sessions that got a greeting;
//   3. per host: connect (smtp_connect_timeout), greeting, EHLO/LHLO, STARTTLS per the TLS level,
//      AUTH when smtp_sasl_auth_enable finds credentials, then XFORWARD (with
//      smtp_send_xforward_command / lmtp_send_xforward_command, carrying the original client of
//      the queue file), MAIL, RCPT..., DATA with PIPELINING when offered;
//   4. 2xx: delivered; 5xx: bounced; 4xx and broken connections: the recipient is tried at the
//      next host unless this was the last one (Postfix's "final server" rule), then deferred.
//      A 5xx greeting skips to the next host (smtp_skip_5xx_greeting).
//   5. a connection still usable afterwards goes back to the cache.
//
// TLS (smtp_tls_security_level / lmtp_tls_security_level, or the legacy smtp_use_tls /
// smtp_enforce_tls; smtp_tls_policy_maps per destination): none; may (STARTTLS when offered,
// plain text when not or when the handshake fails); encrypt (required, any certificate);
// verify (required, certificate chain against smtp_tls_CAfile / smtp_tls_CApath, or the system
// store when neither is set, and the MX host name); secure (as verify, but the certificate must
// match the nexthop domain). dane is treated as may (no DNSSEC validation here); dane-only and
// fingerprint defer the mail with a clear reason.
//
// The port of destinations without one is smtp_tcp_port (default "smtp", 25) or lmtp_tcp_port
// (24): tests and non-standard setups route MX hosts to another port with -o smtp_tcp_port=N.
//
// Reasons are worded as Postfix logs them: "host mx.example.com[192.0.2.1] said: 550 5.1.1 ...
// (in reply to RCPT TO command)", "connect to mx.example.com[192.0.2.1]:25: Connection refused",
// "TLS is required, but was not offered by host ...".
//
// Construction reads every transport's settings and opens its tables (throws core::ConfigError).
// Deliver() may run concurrently from many coroutines of one io_context (each delivery uses its
// own connections; the cache is locked); `dns` must outlive the agent. Call Shutdown() before
// destroying the agent while its io_context runs, to QUIT cached connections.
#pragma once

// clang-format off
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/dns_resolver.h"
#include "core/lookup_table.h"
#include "core/smtp_client.h"
#include "mta/delivery_hosts.h"
#include "mta/delivery_result.h"
#include "mta/delivery_session_cache.h"
#include "mta/resolve_address.h"

namespace moat::mta {

// One transport's client settings, read from its config (main.cf + the service's -o).
struct SmtpAgentSettings {
  core::SmtpMode mode = core::SmtpMode::kSmtp;
  std::string prefix;  // "smtp" or "lmtp": parameter names and log tags
  core::SmtpClientOptions client;
  std::string tls_level;  // effective default level: none, may, encrypt, verify, secure, ...
  std::shared_ptr<asio::ssl::context> tls_context;  // when any TLS may be used
  core::TableList tls_policy_maps;
  std::string tls_servername;  // smtp_tls_servername
  std::uint16_t default_port = 25;
  HostLookupOptions hosts;
  std::size_t session_limit = 2;  // 0: no limit
  bool skip_5xx_greeting = true;
  SessionCacheLimits cache;
  bool sasl_enabled = false;
  bool sasl_plaintext_allowed = false;  // "noplaintext" absent from *_sasl_security_options
  core::TableList sasl_passwords;

  // Throws core::ConfigError.
  static std::shared_ptr<const SmtpAgentSettings> FromTransport(const TransportSettings& t);
};

struct SmtpAgentOptions {
  std::uint64_t random_seed = 0;  // MX shuffling; 0: random
};

class SmtpDeliveryAgent {
 public:
  SmtpDeliveryAgent(asio::any_io_executor executor,
                    std::shared_ptr<const TransportCatalog> catalog, core::DnsResolver* dns,
                    SmtpAgentOptions options = {});
  ~SmtpDeliveryAgent();

  // `route.agent` must be kSmtp or kLmtp with parsed destinations.
  asio::awaitable<DeliveryResult> Deliver(Resolution route, DeliveryRequest request);
  asio::awaitable<void> Shutdown();

  const SessionCache& cache() const { return *cache_; }
  const SmtpAgentSettings* Settings(std::string_view transport) const;

 private:
  struct Attempt;
  asio::awaitable<void> DeliverBody(const Resolution& route, const DeliveryRequest& request,
                                    const SmtpAgentSettings& settings, Attempt& attempt);
  asio::awaitable<bool> Transact(SessionCache::Entry& session, const DeliveryRequest& request,
                                 const SmtpAgentSettings& settings, bool final_server,
                                 Attempt& attempt);

  asio::any_io_executor executor_;
  std::shared_ptr<const TransportCatalog> catalog_;
  core::DnsResolver* dns_;
  SmtpAgentOptions options_;
  std::map<std::string, std::shared_ptr<const SmtpAgentSettings>, std::less<>> settings_;
  std::shared_ptr<SessionCache> cache_;
};

}  // namespace moat::mta
