// smtpd_server.h - the smtpd services of moat-mta running: one SmtpListener per master.cf smtpd
// service, fed from the current MtaSnapshot, with reload and graceful stop.
//
// Start() binds every service's endpoints and starts accepting; each connection gets an
// SmtpdHandler built from the service as it is at that moment. Reload() applies a new snapshot:
// a service whose endpoints still exist keeps its listening sockets and serves new connections
// with the new configuration (sessions in progress keep theirs); a new service is bound and
// started; a service that disappeared is stopped (its sessions finish their transaction). A
// reload that cannot bind a new endpoint leaves that one service out and reports it; everything
// else is applied. Stop() stops accepting, lets every session finish its transaction within the
// grace period, then closes what is left.
//
// The server owns what the handlers share: the per-client limits (anvil), the password checker
// and its worker thread, the DNS resolver (dns_servers of the first snapshot; a change needs
// a restart and is logged), the DNSBL result cache (postscreen_dnsbl_min_ttl, _max_ttl and
// _cache_limit of the first snapshot) shared by postscreen's screen and reject_rbl_client, and
// the DNS behind SPF. The MessageAcceptor is given.
//
// Thread safety: Start() before the io_context runs (or on its executor); Reload() and Stop()
// are awaitables for the io_context's executor, not to be run concurrently with each other.
// Destroy the server after the io_context stopped running (or after Stop() completed).
#pragma once

// clang-format off
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
// clang-format on

#include "core/dns_resolver.h"
#include "core/smtp_listener.h"
#include "mta/dnsbl_cache.h"
#include "mta/dnsbl_client.h"
#include "mta/spf_dns.h"
#include "mta/incoming_message.h"
#include "mta/mta_snapshot.h"
#include "mta/smtpd_auth.h"
#include "mta/smtpd_client_limits.h"
#include "mta/smtpd_handler.h"

namespace moat::mta {

class SmtpdServer {
 public:
  SmtpdServer(asio::io_context& io, std::shared_ptr<MessageAcceptor> acceptor,
              MtaMetrics* metrics = nullptr);
  ~SmtpdServer();
  SmtpdServer(const SmtpdServer&) = delete;
  SmtpdServer& operator=(const SmtpdServer&) = delete;

  // kIo when an endpoint cannot be bound (the port is taken), kInvalid for a bad dns_servers.
  core::Status Start(std::shared_ptr<const MtaSnapshot> snapshot);
  // Errors name the services that could not be started; the rest of the snapshot is applied.
  asio::awaitable<core::Status> Reload(std::shared_ptr<const MtaSnapshot> snapshot);
  asio::awaitable<void> Stop(std::chrono::milliseconds grace);

  std::shared_ptr<const MtaSnapshot> snapshot() const;
  // Where a service listens (its name as in MtaSnapshot::FindService); empty when unknown.
  std::vector<core::SmtpSocketAddress> LocalAddresses(std::string_view service) const;
  const ClientLimits& limits() const { return limits_; }

 private:
  struct Running {
    std::string key;  // the endpoints, canonical
    std::shared_ptr<std::atomic<std::shared_ptr<const SmtpdService>>> service;
    std::unique_ptr<core::SmtpListener> listener;
  };
  static std::string EndpointKey(const SmtpdService& service);
  core::Result<std::unique_ptr<Running>> StartService(std::shared_ptr<const SmtpdService> service);

  asio::io_context& io_;
  std::shared_ptr<MessageAcceptor> acceptor_;
  MtaMetrics* metrics_;  // null: nothing counted
  ClientLimits limits_;
  asio::thread_pool password_workers_{1};
  std::unique_ptr<PasswordVerifier> passwords_;
  std::unique_ptr<core::DnsResolver> dns_;
  std::unique_ptr<DnsblCache> dnsbl_cache_;
  std::unique_ptr<DnsblClient> dnsbl_;
  std::unique_ptr<ResolverSpfDns> spf_dns_;
  std::shared_ptr<const SmtpdRuntime> runtime_;
  std::vector<std::unique_ptr<Running>> running_;
  std::shared_ptr<const MtaSnapshot> snapshot_;
};

}  // namespace moat::mta
