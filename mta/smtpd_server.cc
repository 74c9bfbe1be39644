// smtpd_server.cc - running the smtpd services of a snapshot.
#include "mta/smtpd_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/strand.hpp>

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {

SmtpdServer::SmtpdServer(asio::io_context& io, std::shared_ptr<MessageAcceptor> acceptor,
                         MtaMetrics* metrics)
    : io_(io), acceptor_(std::move(acceptor)), metrics_(metrics) {
  passwords_ = std::make_unique<PasswordVerifier>(password_workers_.get_executor());
}

SmtpdServer::~SmtpdServer() {
  running_.clear();
  spf_dns_.reset();
  dnsbl_.reset();
  dns_.reset();
  password_workers_.join();
}

std::string SmtpdServer::EndpointKey(const SmtpdService& service) {
  std::string key;
  for (const core::SmtpEndpoint& endpoint : service.endpoints) {
    if (!key.empty()) key.push_back(' ');
    key.append(endpoint.ToString());
  }
  return key;
}

std::shared_ptr<const MtaSnapshot> SmtpdServer::snapshot() const { return snapshot_; }

core::Result<std::unique_ptr<SmtpdServer::Running>> SmtpdServer::StartService(
    std::shared_ptr<const SmtpdService> service) {
  auto running = std::make_unique<Running>();
  running->key = EndpointKey(*service);
  running->service =
      std::make_shared<std::atomic<std::shared_ptr<const SmtpdService>>>(service);
  std::shared_ptr<std::atomic<std::shared_ptr<const SmtpdService>>> slot = running->service;
  std::shared_ptr<const SmtpdRuntime> runtime = runtime_;
  running->listener = std::make_unique<core::SmtpListener>(
      io_.get_executor(), service->session_options, service->listener_options,
      [slot, runtime]() -> std::unique_ptr<core::SmtpHandler> {
        return std::make_unique<SmtpdHandler>(slot->load(), runtime);
      });
  for (const core::SmtpEndpoint& endpoint : service->endpoints) {
    if (auto status = running->listener->Listen(endpoint); !status) {
      return core::Fail(status.error().code(), "service {}: listening on {}: {}",
                        service->settings.service_name, endpoint.ToString(),
                        status.error().message());
    }
  }
  running->listener->Start();
  for (const auto& address : running->listener->local_addresses()) {
    spdlog::info("service {} listening on {}:{}", service->settings.service_name,
                 address.address, address.port);
  }
  return running;
}

core::Status SmtpdServer::Start(std::shared_ptr<const MtaSnapshot> snapshot) {
  core::DnsResolverOptions dns_options;
  dns_options.servers = snapshot->dns_servers;
  auto dns = core::DnsResolver::Create(asio::make_strand(io_), dns_options);
  if (dns) {
    dns_ = std::move(*dns);
  } else {
    // DNS-based restrictions then defer (450) instead of guessing.
    spdlog::error("DNS resolver: {}; DNS-based restrictions will defer mail",
                  dns.error().message());
  }
  if (dns_) {
    const core::Config& main = *snapshot->main;
    DnsblCacheOptions cache;
    cache.min_ttl = main.GetTime("postscreen_dnsbl_min_ttl");
    cache.max_ttl = main.GetTime("postscreen_dnsbl_max_ttl");
    cache.max_entries = static_cast<size_t>(main.GetInt("postscreen_dnsbl_cache_limit"));
    dnsbl_cache_ = std::make_unique<DnsblCache>(cache);
    dnsbl_ = std::make_unique<DnsblClient>(*dns_, *dnsbl_cache_);
    spf_dns_ = std::make_unique<ResolverSpfDns>(*dns_);
  }
  auto runtime = std::make_shared<SmtpdRuntime>();
  runtime->acceptor = acceptor_;
  runtime->policy.dns = dns_.get();
  runtime->policy.dnsbl = dnsbl_.get();
  runtime->policy.spf_dns = spf_dns_.get();
  runtime->limits = &limits_;
  runtime->passwords = passwords_.get();
  runtime->metrics = metrics_;
  runtime_ = std::move(runtime);

  std::vector<std::unique_ptr<Running>> started;
  for (const auto& service : snapshot->smtpd_services) {
    auto running = StartService(service);
    if (!running) {
      // Nothing is left half-started: listeners already running are stopped by the caller
      // exiting (the io_context never ran their sessions).
      return std::unexpected(running.error());
    }
    started.push_back(std::move(*running));
  }
  running_ = std::move(started);
  snapshot_ = std::move(snapshot);
  return {};
}

asio::awaitable<core::Status> SmtpdServer::Reload(std::shared_ptr<const MtaSnapshot> snapshot) {
  if (snapshot_ && snapshot->dns_servers != snapshot_->dns_servers) {
    spdlog::warn("dns_servers changed: the new servers are used after a restart");
  }
  std::vector<std::unique_ptr<Running>> next;
  std::vector<std::string> failures;
  for (const auto& service : snapshot->smtpd_services) {
    std::string key = EndpointKey(*service);
    auto it = std::find_if(running_.begin(), running_.end(),
                           [&](const auto& r) { return r && r->key == key; });
    if (it != running_.end()) {
      (*it)->service->store(service);
      (*it)->listener->SetSessionOptions(service->session_options);
      next.push_back(std::move(*it));
      continue;
    }
    auto running = StartService(service);
    if (!running) {
      spdlog::error("reload: {}", running.error().message());
      failures.push_back(running.error().message());
      continue;
    }
    next.push_back(std::move(*running));
  }
  for (auto& old : running_) {
    if (!old) continue;
    spdlog::info("reload: service on {} removed; stopping it", old->key);
    co_await old->listener->Stop(std::chrono::seconds(30));
  }
  running_ = std::move(next);
  snapshot_ = std::move(snapshot);
  if (!failures.empty()) {
    co_return core::Fail(core::ErrorCode::kIo, "{}", fmt::join(failures, "; "));
  }
  co_return core::Status();
}

asio::awaitable<void> SmtpdServer::Stop(std::chrono::milliseconds grace) {
  for (auto& running : running_) {
    co_await running->listener->Stop(grace);
  }
}

std::vector<core::SmtpSocketAddress> SmtpdServer::LocalAddresses(std::string_view service) const {
  for (const auto& running : running_) {
    if (running->service->load()->settings.service_name == service) {
      return running->listener->local_addresses();
    }
  }
  return {};
}

}  // namespace moat::mta
