// moat-mta - the Postfix-compatible MTA of the Moat mail gateway.
//
// NAME
//   moat-mta - SMTP server, cleanup, durable queue, queue manager and SMTP/LMTP delivery,
//   reading Postfix's main.cf and master.cf
//
// SYNOPSIS
//   moat-mta [-c DIR] [-o name=value]... [--check]
//   moat-mta --version | --help
//
// DESCRIPTION
//   Runs every `inet` service of master.cf whose command is smtpd (or postscreen) as an SMTP
//   listener with that service's -o overrides, in the foreground, logging to stderr (or syslog,
//   log_target). Accepted mail goes through cleanup (canonical/virtual rewriting, header and body
//   checks, missing headers) into the queue at queue_directory; the 250 reply comes only after
//   the queue file and its directory are fsynced. At start-up the queue is recovered (files a
//   crash left half-written are removed, interrupted deliveries requeued).
//
//   The built-in queue manager delivers queued mail: each recipient is routed by trivial-rewrite
//   rules and transport_maps to a master.cf transport (smtp, lmtp, error, retry, discard) and
//   delivered under Postfix's concurrency and recipient limits; with content_filter (main.cf
//   or a service's -o) the message goes to the filter first, and mail received on a service
//   with `-o content_filter=` (the return listener) is delivered normally. Temporary failures
//   are retried with exponential backoff (minimal_backoff_time .. maximal_backoff_time, deferred
//   queue scanned every queue_run_delay); permanent failures, and recipients still deferred
//   after maximal_queue_lifetime, are returned to the sender in an RFC 3464 report (never to
//   the null sender). Delivered and failed recipients are marked in the queue file, so a
//   restart never delivers a recipient twice that was marked, and never loses one.
//   `moat queue` reaches the running queue manager through a unix-domain socket,
//   queue_directory/public/qmgr (mode 0660; mta/qmgr_control.h): `moat queue flush [--site D]`
//   (postqueue -f / -s) and a wake-up after release and requeue. It is created at start (a
//   stale one is replaced; one that answers means another moat-mta runs on the queue: exit 1)
//   and removed at stop.
//   Not built in: local/virtual/pipe delivery (such mail is deferred with a reason), delay
//   warnings, success DSNs.
//
//   With metrics_listen = host:port it serves Prometheus text metrics at
//   http://host:port/metrics (connections, messages accepted and rejected by stage, queue
//   sizes, deliveries by transport, deferral reasons, delivery delays; see the README).
//
//   -c DIR          configuration directory (default /etc/moat): DIR/main.cf and DIR/master.cf
//   -o name=value   override a main.cf parameter (repeatable; wins over main.cf, loses to a
//                   master.cf service's own -o for that service)
//   --check         load and compile the configuration (tables, certificates, restrictions), print
//                   every warning, exit 0 (or 1 on an error) without listening
//
//   Started as root, it becomes mail_owner (default moat) before opening the queue, taking
//   root's ids back only to bind the listeners, and then gives root up for good.
//
//   Signals: SIGHUP re-reads main.cf, master.cf and the tables into a new snapshot in the
//   background and swaps it in for new connections (smtpd and cleanup; the queue manager keeps
//   its routing until a restart); a configuration with errors is logged and the old one stays.
//   SIGTERM (and SIGINT) stop accepting, let every session finish its transaction and every
//   delivery in progress finish (30 s at most each) and exit 0.
//
//   A configuration error at start-up is printed as "file:line: error: message"; exit status 1.
//   A port that cannot be bound is a fatal error (exit 1).
//
// CONFIGURATION
//   Postfix's main.cf and master.cf syntax and parameter names (`moat config show -d --doc`
//   lists them). Relative paths resolve against DIR. See the README for SMTP AUTH (`moat passwd`)
//   and what Moat does for local delivery (it has no local delivery agent).
//
// SEE ALSO
//   moat(1) check-config, config show, passwd; postconf(5); master(5); smtpd(8)
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/config_error.h"
#include "core/config_version.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/metrics_http_server.h"
#include "core/privileges.h"
#include "mta/mta_parameters.h"
#include "mta/mta_metrics.h"
#include "mta/mta_snapshot.h"
#include "mta/qmgr_control.h"
#include "mta/qmgr_runtime.h"
#include "mta/resolve_domain_list.h"
#include "mta/cleanup_acceptor.h"
#include "mta/cleanup_settings.h"
#include "mta/smtpd_server.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

using moat::mta::MtaConfig;
using moat::mta::MtaSnapshot;

constexpr auto kStopGrace = std::chrono::seconds(30);

struct Loaded {
  std::shared_ptr<const MtaSnapshot> snapshot;
  std::shared_ptr<const moat::mta::QueueManagerConfig> qmgr;
};

// Loads and compiles a configuration; the error text is printable as is.
moat::core::Result<Loaded> LoadSnapshot(const moat::core::ConfigSource& source,
                                        std::vector<std::string>& warnings) {
  try {
    MtaConfig config = moat::mta::LoadMtaConfig(source);
    for (const moat::core::ConfigDiagnostic& d : config.warnings) warnings.push_back(d.ToString());
    auto snapshot = moat::mta::BuildMtaSnapshot(config);
    if (!snapshot) return std::unexpected(snapshot.error());
    for (const std::string& warning : (*snapshot)->warnings) warnings.push_back(warning);
    auto qmgr = moat::mta::QueueManagerConfig::Build(config.main, config.master,
                                                     (*snapshot)->dns_servers);
    if (!qmgr) return std::unexpected(qmgr.error());
    return Loaded{std::move(*snapshot), std::move(*qmgr)};
  } catch (const moat::core::ConfigError& e) {
    return moat::core::Fail(moat::core::ErrorCode::kInvalid, "{}: error: {}",
                            e.location().ToString(), e.message());
  }
}

// smtpd's acceptor: cleanup + durable commit, then a wake-up for the queue manager; counts what
// was queued and what cleanup refused.
class QueueingAcceptor final : public moat::mta::MessageAcceptor {
 public:
  QueueingAcceptor(std::shared_ptr<moat::mta::CleanupAcceptor> cleanup,
                   moat::mta::QueueManager* qmgr, moat::mta::MtaMetrics* metrics)
      : cleanup_(std::move(cleanup)), qmgr_(qmgr), metrics_(metrics) {}
  asio::awaitable<moat::core::Result<moat::mta::AcceptResult>> Accept(
      moat::mta::IncomingMessage message) override {
    std::string service = message.service;
    const std::size_t bytes = message.content.size();
    // GCC 12: no temporary inside the co_await expression (see brief): awaitable first.
    asio::awaitable<moat::core::Result<moat::mta::AcceptResult>> accepting =
        cleanup_->Accept(std::move(message));
    auto result = co_await std::move(accepting);
    if (result && !result->discarded) {
      qmgr_->Wakeup();
      metrics_->RecordAccepted(service, bytes);
    } else if (!result && result.error().code() == moat::core::ErrorCode::kPermFail) {
      metrics_->RecordReject("cleanup");
    }
    co_return result;
  }

 private:
  std::shared_ptr<moat::mta::CleanupAcceptor> cleanup_;
  moat::mta::QueueManager* qmgr_;
  moat::mta::MtaMetrics* metrics_;
};

// Opens the queue at queue_directory, recovers what a crash left behind, and returns the acceptor
// smtpd hands messages to (cleanup + durable commit).
moat::core::Result<std::shared_ptr<moat::mta::CleanupAcceptor>> OpenQueue(const MtaSnapshot& snapshot) {
  auto acceptor = moat::mta::CleanupAcceptor::FromConfig(*snapshot.main);
  if (!acceptor) return std::unexpected(acceptor.error());
  auto report = (*acceptor)->store().Recover();
  if (!report) {
    return moat::core::Fail(report.error().code(), "queue recovery in {}: {}",
                            (*acceptor)->store().directory(), report.error().message());
  }
  spdlog::info(
      "queue {}: recovered ({} temporary and {} incomplete files removed, {} interrupted "
      "deliveries back to incoming, {} to deferred, {} orphan logs removed, {} corrupt)",
      (*acceptor)->store().directory(), report->temporary_removed, report->incomplete_removed,
      report->active_to_incoming, report->active_to_deferred, report->orphan_logs_removed,
      report->corrupt.size());
  for (const std::string& corrupt : report->corrupt) spdlog::warn("queue: {} (moved to corrupt/)", corrupt);
  return std::shared_ptr<moat::mta::CleanupAcceptor>(std::move(*acceptor));
}

struct Daemon {
  moat::core::ConfigSource source;
  // Before io: the metrics server's connections read them until the io_context is gone.
  moat::core::MetricsRegistry registry;
  std::unique_ptr<moat::mta::MtaMetrics> metrics;
  asio::io_context io;
  asio::thread_pool loader{1};  // builds new snapshots off the I/O threads
  std::unique_ptr<moat::mta::SmtpdServer> server;
  std::shared_ptr<moat::mta::CleanupAcceptor> acceptor;
  std::unique_ptr<moat::mta::QueueManager> qmgr;
  std::unique_ptr<moat::mta::QueueControlServer> control;  // `moat queue flush`, wake-ups
  std::unique_ptr<moat::core::MetricsHttpServer> metrics_server;
  std::atomic<bool> reloading{false};
  std::atomic<bool> reload_again{false};
  bool stopping = false;
};

void StartReload(Daemon& daemon);

// The control socket under queue_directory (mta/qmgr_control.h). Started before the queue is
// recovered, so a second moat-mta on the same queue stops before it touches anything.
moat::core::Result<std::unique_ptr<moat::mta::QueueControlServer>> StartQueueControl(
    Daemon& daemon, const moat::core::Config& main) {
  bool parent = moat::core::ParentDomainMatchesSubdomains(
      "fast_flush_domains", main.GetString("parent_domain_matches_subdomains"));
  moat::core::TableOpenOptions tables;
  tables.base_directory = main.absolute_directory();
  auto sites = moat::mta::DomainList::Parse(
      main.GetString("fast_flush_domains"), moat::mta::DomainMatch::kDomain,
      parent ? moat::core::ParentDomainStyle::kParent : moat::core::ParentDomainStyle::kDotParent,
      tables);
  if (!sites) return std::unexpected(sites.error().WithContext("fast_flush_domains"));
  auto fast_flush = std::make_shared<const moat::mta::DomainList>(std::move(*sites));
  moat::mta::QueueControlActions actions;
  // The queue manager exists before io runs, and the control socket stops before it does.
  actions.wakeup = [&daemon] { daemon.qmgr->Rescan(); };
  actions.flush = [&daemon](std::optional<std::string> site) {
    return daemon.qmgr->Flush(std::move(site));
  };
  actions.site_allowed = [fast_flush](std::string_view domain) {
    return fast_flush->Contains(domain);
  };
  moat::mta::QueueControlOptions options;
  options.socket_path = moat::mta::QueueControlSocketPath(main.GetPath("queue_directory"));
  return moat::mta::QueueControlServer::Start(daemon.io, std::move(options), std::move(actions));
}

asio::awaitable<void> ApplyReload(Daemon& daemon, std::shared_ptr<const MtaSnapshot> snapshot) {
  // The queue manager keeps the routing it started with (transports, transport_maps): a
  // restart applies changes to those.
  if (!daemon.stopping) {
    auto cleanup = moat::mta::CleanupSettings::Build(*snapshot->main);
    if (cleanup) {
      daemon.acceptor->UpdateSettings(std::move(*cleanup));
    } else {
      spdlog::error("reload: cleanup settings: {}; keeping the old ones",
                    cleanup.error().message());
    }
    auto status = co_await daemon.server->Reload(std::move(snapshot));
    if (status) {
      spdlog::info("reload: new configuration in use");
    } else {
      spdlog::error("reload: applied with errors: {}", status.error().message());
    }
  }
  daemon.reloading = false;
  if (daemon.reload_again.exchange(false) && !daemon.stopping) StartReload(daemon);
}

void StartReload(Daemon& daemon) {
  if (daemon.reloading.exchange(true)) {
    daemon.reload_again = true;
    return;
  }
  asio::post(daemon.loader, [&daemon] {
    std::vector<std::string> warnings;
    auto loaded = LoadSnapshot(daemon.source, warnings);
    for (const std::string& warning : warnings) spdlog::warn("{}", warning);
    if (!loaded) {
      spdlog::error("reload failed, keeping the old configuration: {}",
                    loaded.error().message());
      daemon.reloading = false;
      return;
    }
    asio::co_spawn(daemon.io, ApplyReload(daemon, std::move(loaded->snapshot)), asio::detached);
  });
}

asio::awaitable<void> Shutdown(Daemon& daemon) {
  spdlog::info("stopping: finishing transactions in progress");
  daemon.control->Stop();
  if (daemon.metrics_server) daemon.metrics_server->Stop();
  co_await daemon.server->Stop(kStopGrace);
  co_await daemon.qmgr->Stop(kStopGrace);
  spdlog::info("stopped");
  daemon.io.stop();
}

asio::awaitable<void> SignalLoop(Daemon& daemon, asio::signal_set& signals) {
  while (true) {
    auto [error, number] = co_await signals.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (error) co_return;
    if (number == SIGHUP) {
      spdlog::info("SIGHUP: reloading the configuration");
      StartReload(daemon);
      continue;
    }
    if (!daemon.stopping) {
      daemon.stopping = true;
      asio::co_spawn(daemon.io, Shutdown(daemon), asio::detached);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "moat-mta - Postfix-compatible MTA of the Moat mail gateway: SMTP listeners from master.cf,\n"
      "cleanup, a durable queue (250 only after fsync) and a queue manager delivering over\n"
      "SMTP/LMTP (transport_maps, content_filter, retries with backoff, RFC 3464 bounces)."};
  app.footer(
      "Runs in the foreground and logs to stderr. SIGHUP reloads the configuration, SIGTERM\n"
      "stops gracefully. Not built in: local/virtual/pipe delivery (such mail is deferred),\n"
      "delay warnings, success DSNs.");
  std::string directory = "/etc/moat";
  std::vector<std::string> overrides;
  bool check = false;
  app.add_option("-c", directory, "Configuration directory (main.cf, master.cf)")
      ->type_name("DIR");
  app.add_option("-o", overrides, "Override a main.cf parameter (repeatable)")
      ->type_name("name=value")
      ->allow_extra_args(false);
  app.add_flag("--check", check,
               "Load and compile the configuration, print every warning and exit");
  app.set_version_flag("--version", fmt::format("moat-mta {}", moat::core::kMoatVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  Daemon daemon;
  daemon.source = {directory, "main.cf", overrides};
  std::vector<std::string> warnings;
  auto loaded = LoadSnapshot(daemon.source, warnings);
  if (check) {
    for (const std::string& warning : warnings) fmt::print(stderr, "{}\n", warning);
    if (!loaded) {
      fmt::print(stderr, "{}\n", loaded.error().message());
      return 1;
    }
    return 0;
  }
  if (!loaded) {
    fmt::print(stderr, "{}\n", loaded.error().message());
    return 1;
  }
  std::shared_ptr<const MtaSnapshot>* snapshot = &loaded->snapshot;
  const moat::core::Config& main = *(*snapshot)->main;
  moat::core::LogOptions log;
  log.program = main.GetString("syslog_name");
  log.target = main.GetString("log_target") == "syslog" ? moat::core::LogTarget::kSyslog
                                                        : moat::core::LogTarget::kStderr;
  log.level = main.GetString("log_level");
  moat::core::InitLogging(log);
  for (const std::string& warning : warnings) spdlog::warn("{}", warning);
  // Started as root: the queue is opened as mail_owner already, root comes back only to bind.
  auto privileges = moat::core::PrivilegeDrop::Begin(main.GetString("mail_owner"), "mail_owner");
  if (!privileges) {
    spdlog::critical("{}", privileges.error().message());
    return 1;
  }

  // A client that vanishes mid-write must not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  asio::signal_set signals(daemon.io, SIGHUP, SIGTERM, SIGINT);
  auto control = StartQueueControl(daemon, main);
  if (!control) {
    spdlog::critical("{}", control.error().message());
    return 1;
  }
  daemon.control = std::move(*control);
  auto acceptor = OpenQueue(**snapshot);
  if (!acceptor) {
    spdlog::critical("{}", acceptor.error().message());
    return 1;
  }
  daemon.acceptor = *acceptor;
  daemon.metrics = std::make_unique<moat::mta::MtaMetrics>(daemon.registry,
                                                           daemon.acceptor->store().directory());
  auto qmgr_config = std::make_shared<moat::mta::QueueManagerConfig>(*loaded->qmgr);
  qmgr_config->metrics = daemon.metrics.get();
  auto qmgr = moat::mta::QueueManager::Create(daemon.io, daemon.acceptor->shared_store(),
                                              std::move(qmgr_config));
  if (!qmgr) {
    spdlog::critical("queue manager: {}", qmgr.error().message());
    return 1;
  }
  daemon.qmgr = std::move(*qmgr);
  daemon.server = std::make_unique<moat::mta::SmtpdServer>(
      daemon.io,
      std::make_shared<QueueingAcceptor>(daemon.acceptor, daemon.qmgr.get(), daemon.metrics.get()),
      daemon.metrics.get());
  std::size_t services = (*snapshot)->smtpd_services.size();
  const std::string metrics_listen = main.GetString("metrics_listen");
  if (auto status = privileges->BindAndDrop(
          [&] { return daemon.server->Start(std::move(*snapshot)); });
      !status) {
    spdlog::critical("{}", status.error().message());
    return 1;
  }
  if (!metrics_listen.empty()) {
    auto endpoint = moat::core::ParseSmtpEndpoint(metrics_listen);
    daemon.metrics_server =
        std::make_unique<moat::core::MetricsHttpServer>(daemon.io.get_executor(), daemon.registry);
    moat::core::Status bound = endpoint ? daemon.metrics_server->Listen(*endpoint)
                                        : moat::core::Status(moat::core::Fail(endpoint.error()));
    if (!bound) {
      spdlog::critical("metrics_listen {}: {}", metrics_listen, bound.error().message());
      return 1;
    }
    daemon.metrics_server->Start();
    for (const auto& address : daemon.metrics_server->local_addresses()) {
      spdlog::info("metrics on http://{}/metrics", address.ToString());
    }
  }
  asio::co_spawn(daemon.io, SignalLoop(daemon, signals), asio::detached);
  daemon.qmgr->Start();
  spdlog::info("moat-mta {} started from {} ({} smtpd services), {}", moat::core::kMoatVersion,
               directory, services, privileges->running());

  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&daemon] { daemon.io.run(); });
  daemon.io.run();
  for (std::thread& thread : pool) thread.join();
  signals.cancel();
  daemon.loader.join();
  daemon.control.reset();
  daemon.server.reset();
  daemon.metrics_server.reset();
  daemon.qmgr.reset();
  daemon.acceptor.reset();  // waits for commits still running on its writer threads
  return 0;
}
