// filter_daemon.cc - start, reload, expiry schedule, graceful stop.
#include "filterd/filter_daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/signal_set.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <future>

#include "core/config_version.h"
#include "filterd/lmtp_handler.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::filterd {
namespace {

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
// Quarantine writes and expiry: a few threads, so an fsync never waits behind scanning.
constexpr unsigned kDiskThreads = 2;

core::ConfigSource FilterdSource(core::ConfigSource source) {
  source.file_name = "filterd.cf";
  return source;
}

void ApplyLogLevel(const FilterdSettings& settings) {
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
}

}  // namespace

FilterDaemon::FilterDaemon(FilterDaemonOptions options)
    : options_{FilterdSource(std::move(options.source)), std::move(options.content),
               std::move(options.clamav), std::move(options.bind_listeners)},
      snapshots_([&] {
        core::ConfigDiagnostics warnings;
        auto snapshot = BuildFilterdSnapshot(options_.source, options_.content, 1, &warnings);
        for (const auto& w : warnings) spdlog::warn("{}", w.ToString());
        return snapshot;
      }()) {}

FilterDaemon::~FilterDaemon() { Stop(); }

ReinjectorOptions FilterDaemon::MakeReinjectorOptions(const FilterdSettings& s) const {
  ReinjectorOptions options;
  options.peer = s.forward_to;
  options.client.mode = core::SmtpMode::kSmtp;
  options.client.helo_name = s.forward_helo_name;
  options.client.timeouts = s.forward_timeouts;
  options.reuse_time_limit = s.forward_reuse_time_limit;
  return options;
}

core::Status FilterDaemon::Start() {
  if (started_) return {};
  auto snapshot = snapshots_.Get();
  const FilterdSettings& s = snapshot->settings;
  ApplyLogLevel(s);

  if (!s.quarantine_directory.empty()) {
    quarantine::StoreOptions store_options;
    store_options.directory = s.quarantine_directory;
    store_options.role = quarantine::StoreRole::kWriter;
    auto store = quarantine::QuarantineStore::Open(std::move(store_options));
    if (!store) {
      return core::Fail(store.error().WithContext(
          fmt::format("quarantine_directory {}", s.quarantine_directory)));
    }
    store_ = std::move(*store);
    const quarantine::RecoveryReport& r = store_->recovery_at_open();
    if (r.ran && (r.orphans_reindexed || r.temporary_files_removed || r.missing_files_marked ||
                  r.deleted_files_removed)) {
      spdlog::warn("quarantine recovery: {} orphan(s) re-indexed, {} temporary file(s) removed, "
                   "{} missing file(s) marked, {} deleted file(s) removed",
                   r.orphans_reindexed, r.temporary_files_removed, r.missing_files_marked,
                   r.deleted_files_removed);
    }
  }

  cpu_pool_ = std::make_unique<WorkerPool>("scan", s.worker_threads, s.worker_queue_limit);
  disk_pool_ = std::make_unique<WorkerPool>("disk", kDiskThreads, 4 * s.worker_queue_limit);
  reinjector_ = std::make_unique<Reinjector>(io_, MakeReinjectorOptions(s));
  FinisherServices finisher{store_.get(), cpu_pool_.get(), disk_pool_.get(), reinjector_.get(),
                            &metrics_};
  service_ = std::make_shared<FilterService>(snapshots_, *cpu_pool_, finisher);

  auto bind = [&]() -> core::Status {
    for (const BankListener& bank : s.listeners) {
      auto service = service_;
      std::string name = bank.bank;
      auto listener = std::make_unique<core::SmtpListener>(
          io_.get_executor(), snapshot->lmtp_options,
          core::SmtpListenerOptions{s.max_sessions, 128},
          [service, name] { return std::make_unique<LmtpHandler>(service, name); });
      core::Status bound = listener->Listen(bank.endpoint);
      if (!bound) {
        listeners_.clear();
        return core::Fail(bound.error().WithContext(fmt::format("{}_lmtp_listen", bank.bank)));
      }
      listeners_.push_back(Listener{bank.bank, std::move(listener)});
    }
    return {};
  };
  core::Status bound = options_.bind_listeners ? options_.bind_listeners(bind) : bind();
  if (!bound) return bound;
  if (s.metrics_listen) {
    auto server = std::make_unique<core::MetricsHttpServer>(io_.get_executor(), registry_);
    core::Status metrics_bound = server->Listen(*s.metrics_listen);
    if (!metrics_bound) {
      listeners_.clear();
      return core::Fail(metrics_bound.error());
    }
    metrics_server_ = std::move(server);
  }
  registry_.AddCollectHook([this] { CollectMetrics(); });
  for (Listener& l : listeners_) l.listener->Start();
  if (metrics_server_) metrics_server_->Start();
  reinjector_->Start();
  if (store_) {
    expiry_timer_ = std::make_unique<asio::steady_timer>(asio::make_strand(io_));
    asio::co_spawn(expiry_timer_->get_executor(), ExpiryLoop(), asio::detached);
  }
  for (unsigned i = 0; i < s.io_threads; ++i) {
    io_threads_.emplace_back([this] {
      auto guard = asio::make_work_guard(io_);
      (void)guard;
      io_.run();
    });
  }
  reload_thread_ = std::thread([this] { ReloadLoop(); });
  started_ = true;

  std::string where;
  for (const Listener& l : listeners_) {
    for (const auto& address : l.listener->local_addresses()) {
      where += fmt::format("{}{} LMTP on {}", where.empty() ? "" : ", ", l.bank,
                           address.ToString());
    }
  }
  for (const auto& address : MetricsAddresses()) {
    where += fmt::format(", metrics on http://{}/metrics", address.ToString());
  }
  spdlog::info("moat-filterd {} started: {}; forward_to {}; {} worker thread(s), queue {}; "
               "quarantine {}",
               core::kMoatVersion, where, s.forward_to.ToString(), cpu_pool_->threads(),
               cpu_pool_->queue_limit(),
               s.quarantine_directory.empty() ? std::string("off") : s.quarantine_directory);
  return {};
}

std::vector<core::SmtpSocketAddress> FilterDaemon::ListenAddresses(std::string_view bank) const {
  for (const Listener& l : listeners_) {
    if (l.bank == bank) return l.listener->local_addresses();
  }
  return {};
}

std::vector<core::SmtpSocketAddress> FilterDaemon::MetricsAddresses() const {
  return metrics_server_ ? metrics_server_->local_addresses()
                         : std::vector<core::SmtpSocketAddress>{};
}

void FilterDaemon::CollectMetrics() {
  std::uint64_t open = 0, refused = 0;
  for (const Listener& l : listeners_) {
    open += l.listener->active_sessions();
    refused += l.listener->counters().refused_busy.load();
  }
  metrics_.SetSessions(open, refused);
  std::shared_ptr<scanners::ClamavService> clamav = options_.clamav ? options_.clamav() : nullptr;
  std::shared_ptr<const scanners::ClamavEngine> engine = clamav ? clamav->engine() : nullptr;
  metrics_.SetClamav(engine ? engine->info() : scanners::ClamavDatabaseInfo{},
                     std::chrono::system_clock::now());
}

void FilterDaemon::RequestReload() {
  {
    std::lock_guard lock(reload_mutex_);
    reload_requested_ = true;
  }
  reload_wake_.notify_one();
}

void FilterDaemon::ReloadLoop() {
  while (true) {
    {
      std::unique_lock lock(reload_mutex_);
      reload_wake_.wait(lock, [this] { return reload_requested_ || reload_stop_; });
      if (reload_stop_) return;
      reload_requested_ = false;
    }
    Reload();
  }
}

void FilterDaemon::Reload() {
  auto current = snapshots_.Get();
  std::uint64_t generation = current->generation + 1;
  std::shared_ptr<const FilterdSnapshot> next;
  try {
    core::ConfigDiagnostics warnings;
    next = BuildFilterdSnapshot(options_.source, options_.content, generation, &warnings);
    for (const auto& w : warnings) spdlog::warn("{}", w.ToString());
  } catch (const core::ConfigError& e) {
    failed_reloads_.fetch_add(1);
    spdlog::error("reload failed, keeping configuration generation {}: {}: {}",
                  current->generation, e.location().ToString(), e.message());
    return;
  } catch (const std::exception& e) {
    failed_reloads_.fetch_add(1);
    spdlog::error("reload failed, keeping configuration generation {}: {}", current->generation,
                  e.what());
    return;
  }
  const FilterdSettings& old_s = current->settings;
  const FilterdSettings& new_s = next->settings;
  bool listeners_changed = old_s.listeners.size() != new_s.listeners.size();
  for (std::size_t i = 0; !listeners_changed && i < new_s.listeners.size(); ++i) {
    listeners_changed = old_s.listeners[i].bank != new_s.listeners[i].bank ||
                        !(old_s.listeners[i].endpoint == new_s.listeners[i].endpoint);
  }
  if (listeners_changed) spdlog::warn("reload: LMTP listen addresses change only on restart");
  if (old_s.worker_threads != new_s.worker_threads ||
      old_s.worker_queue_limit != new_s.worker_queue_limit || old_s.io_threads != new_s.io_threads) {
    spdlog::warn("reload: worker_threads, worker_queue_limit and io_threads change only on restart");
  }
  if (old_s.quarantine_directory != new_s.quarantine_directory) {
    spdlog::warn("reload: quarantine_directory changes only on restart");
  }
  ApplyLogLevel(new_s);
  snapshots_.Set(next);
  for (Listener& l : listeners_) l.listener->SetSessionOptions(next->lmtp_options);
  reinjector_->SetOptions(MakeReinjectorOptions(new_s));
  spdlog::info("reloaded configuration: generation {}", generation);
}

asio::awaitable<void> FilterDaemon::ExpiryLoop() {
  while (!stopping_.load()) {
    auto snapshot = snapshots_.Get();
    expiry_timer_->expires_after(snapshot->settings.quarantine_expiry_interval);
    auto [error] = co_await expiry_timer_->async_wait(kUseTuple);
    if (error || stopping_.load()) break;
    auto retention = snapshots_.Get()->settings.quarantine_retention;
    core::Result<quarantine::ExpireReport> report =
        core::Fail(core::ErrorCode::kTempFail, "not run");
    quarantine::QuarantineStore* store = store_.get();
    WorkerPool::RunResult run = co_await disk_pool_->Run([&report, store, retention](
                                                             WorkerResources&) {
      report = store->ExpireOlderThan(retention, quarantine::Clock::now());
    });
    if (run != WorkerPool::RunResult::kDone) {
      spdlog::warn("quarantine expiry skipped: disk pool busy");
    } else if (!report) {
      spdlog::error("quarantine expiry failed: {}", report.error().ToString());
    } else if (report->entries_removed > 0 || report->failures > 0) {
      spdlog::info("quarantine expiry: {} entr{} older than {}s removed, {} bytes freed, {} "
                   "failure(s)",
                   report->entries_removed, report->entries_removed == 1 ? "y" : "ies",
                   retention.count(), report->bytes_freed, report->failures);
    }
  }
}

asio::awaitable<void> FilterDaemon::StopServing() {
  auto grace = snapshots_.Get()->settings.shutdown_timeout;
  if (metrics_server_) metrics_server_->Stop();
  for (Listener& l : listeners_) co_await l.listener->Stop(grace);
  co_await reinjector_->Close();
}

void FilterDaemon::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  spdlog::info("stopping: finishing transactions in flight");
  auto done = asio::co_spawn(io_, StopServing(), asio::use_future);
  done.wait();
  if (expiry_timer_) {
    asio::post(expiry_timer_->get_executor(), [this] { expiry_timer_->cancel(); });
  }
  {
    std::lock_guard lock(reload_mutex_);
    reload_stop_ = true;
  }
  reload_wake_.notify_one();
  if (reload_thread_.joinable()) reload_thread_.join();
  // Whatever is still queued (a QUIT to an idle connection, the expiry wake-up) may go.
  cpu_pool_->Stop();
  disk_pool_->Stop();
  io_.stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
  const FilterServiceCounters& c = service_->counters();
  spdlog::info("stopped: {} message(s), {} passed, {} blocked, {} deferred ({} overload), {} "
               "quarantined",
               c.messages.load(), c.passed.load(), c.blocked.load(), c.deferred.load(),
               c.overloaded.load(), c.quarantined.load());
}

int FilterDaemon::Run() {
  asio::signal_set signals(io_, SIGHUP, SIGTERM, SIGINT);
  core::Status started = Start();
  if (!started) {
    spdlog::critical("cannot start: {}", started.error().ToString());
    return 1;
  }
  std::promise<int> stop_signal;
  std::function<void(const std::error_code&, int)> on_signal;
  on_signal = [&](const std::error_code& error, int number) {
    if (error) return;
    if (number == SIGHUP) {
      spdlog::info("SIGHUP: reloading configuration");
      RequestReload();
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("{}: shutting down", number == SIGTERM ? "SIGTERM" : "SIGINT");
    stop_signal.set_value(number);
  };
  signals.async_wait(on_signal);
  stop_signal.get_future().wait();
  Stop();
  return 0;
}

}  // namespace moat::filterd
