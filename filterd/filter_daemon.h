// filter_daemon.h - moat-filterd as a whole: configuration snapshots, LMTP listeners per policy
// bank, the worker pools, the reinjection pool, the quarantine writer, signals.
//
// Life cycle:
//   FilterDaemon(options)  loads filterd.cf into the first snapshot (throws core::ConfigError,
//                          or what the content factory throws);
//   Start()                opens the quarantine as its writer (recovery runs here after a crash),
//                          binds one LMTP listener per configured bank (kIo when an address is
//                          taken), starts the I/O threads, the CPU pool (worker_threads, queue
//                          worker_queue_limit), a small disk pool for quarantine writes and
//                          expiry, the reinjector's idle sweeper and the expiry schedule
//                          (ExpireOlderThan(quarantine_retention) every
//                          quarantine_expiry_interval);
//   RequestReload()        what SIGHUP does: a background thread builds a new snapshot from the
//                          same -c/-o source and swaps it in atomically; messages already in
//                          flight finish with the snapshot they started with. A configuration
//                          that does not load is logged and the running one stays. Listen
//                          addresses, pool sizes and the quarantine directory are fixed at
//                          Start(); a reload that changes them logs that a restart is needed;
//   Stop()                 what SIGTERM does: stops accepting, lets every transaction in flight
//                          finish (at most shutdown_timeout), QUITs the reinjection connections,
//                          stops the threads. Blocks until done; idempotent;
//   Run()                  Start(), then serve until SIGTERM/SIGINT (Stop) with SIGHUP reloading;
//                          returns the exit status. What main() calls.
//
// The content seam: FilterDaemonOptions::content is the ContentFactory of filterd_snapshot.h.
//
// Metrics (filterd_metrics.h): the daemon owns the MetricsRegistry and FilterdMetrics, and with
// metrics_listen set, Start() binds the /metrics endpoint (metrics_http_server.h) on the I/O
// threads (kIo when the address is taken). Sessions open and the ClamAV database
// (FilterDaemonOptions::clamav, when given) are read at each scrape.
//
// Thread safety: construct, Start(), Stop() and Run() from one thread; RequestReload(), the
// accessors and the counters from any thread.
#pragma once

// clang-format off
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
// clang-format on

#include "core/config.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/metrics_http_server.h"
#include "core/smtp_listener.h"
#include "filterd/filter_service.h"
#include "filterd/filterd_metrics.h"
#include "filterd/filterd_snapshot.h"
#include "filterd/reinjector.h"
#include "filterd/worker_pool.h"
#include "quarantine/quarantine_store.h"
#include "scanners/clamav_service.h"

namespace moat::filterd {

struct FilterDaemonOptions {
  core::ConfigSource source;  // -c DIR and -o overrides; file_name is set to filterd.cf
  ContentFactory content = BasicContentFactory();
  // The ClamAV service the content uses, for the metrics (null or unset: none).
  std::function<std::shared_ptr<scanners::ClamavService>()> clamav = nullptr;
  // Start() binds the listeners through this when set: moat-filterd's main() passes
  // core::PrivilegeDrop::BindAndDrop, so only the binding runs with root's ids.
  std::function<core::Status(const std::function<core::Status()>& bind)> bind_listeners = nullptr;
};

class FilterDaemon {
 public:
  explicit FilterDaemon(FilterDaemonOptions options);
  ~FilterDaemon();
  FilterDaemon(const FilterDaemon&) = delete;
  FilterDaemon& operator=(const FilterDaemon&) = delete;

  core::Status Start();
  void RequestReload();
  void Stop();
  int Run();

  // Where the bank's listener is bound (empty when the bank has none or before Start()).
  std::vector<core::SmtpSocketAddress> ListenAddresses(std::string_view bank) const;
  std::shared_ptr<const FilterdSnapshot> snapshot() const { return snapshots_.Get(); }
  // Generation of the current snapshot, and reloads that failed (the old snapshot stayed).
  std::uint64_t generation() const { return snapshots_.Get()->generation; }
  std::uint64_t failed_reloads() const { return failed_reloads_.load(); }
  const FilterServiceCounters& counters() const { return service_->counters(); }
  const Reinjector& reinjector() const { return *reinjector_; }
  // Messages waiting for a CPU worker right now.
  std::size_t queued_jobs() const { return cpu_pool_ ? cpu_pool_->queued() : 0; }
  quarantine::QuarantineStore* quarantine_store() const { return store_.get(); }
  const core::MetricsRegistry& metrics() const { return registry_; }
  // Where /metrics is served (empty without metrics_listen or before Start()).
  std::vector<core::SmtpSocketAddress> MetricsAddresses() const;

 private:
  struct Listener {
    std::string bank;
    std::unique_ptr<core::SmtpListener> listener;
  };

  void ReloadLoop();
  void Reload();
  asio::awaitable<void> ExpiryLoop();
  asio::awaitable<void> StopServing();
  ReinjectorOptions MakeReinjectorOptions(const FilterdSettings& settings) const;
  void CollectMetrics();

  FilterDaemonOptions options_;
  // Before io_: the connections of the metrics server read them until the io_context is gone.
  core::MetricsRegistry registry_;
  FilterdMetrics metrics_{registry_};
  // Declared first so every asio object below dies before it.
  asio::io_context io_;
  SnapshotHolder snapshots_;
  std::unique_ptr<WorkerPool> cpu_pool_;
  std::unique_ptr<WorkerPool> disk_pool_;
  std::unique_ptr<quarantine::QuarantineStore> store_;
  std::unique_ptr<Reinjector> reinjector_;
  std::shared_ptr<FilterService> service_;
  std::vector<Listener> listeners_;
  std::unique_ptr<core::MetricsHttpServer> metrics_server_;
  std::unique_ptr<asio::steady_timer> expiry_timer_;
  std::vector<std::thread> io_threads_;

  std::mutex reload_mutex_;
  std::condition_variable reload_wake_;
  bool reload_requested_ = false;
  bool reload_stop_ = false;
  std::thread reload_thread_;
  std::atomic<std::uint64_t> failed_reloads_{0};

  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
};

}  // namespace moat::filterd
