// clamav_service.cc - background reload and database watching for the ClamAV engine.
#include "scanners/clamav_service.h"

#include <spdlog/spdlog.h>

namespace moat::scanners {

ClamavService::ClamavService(ClamavServiceOptions options) : options_(std::move(options)) {}

core::Result<std::unique_ptr<ClamavService>> ClamavService::Start(ClamavServiceOptions options) {
  std::unique_ptr<ClamavService> service(new ClamavService(std::move(options)));
  if (auto status = service->Reload(); !status) return core::Fail(status.error());
  service->thread_ = std::thread([raw = service.get()] { raw->Run(); });
  return service;
}

ClamavService::~ClamavService() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const ClamavEngine> ClamavService::engine() const { return engine_.load(); }

void ClamavService::RequestReload() {
  {
    std::lock_guard lock(mutex_);
    reload_requested_ = true;
  }
  wake_.notify_all();
}

core::Status ClamavService::ReloadNow() { return Reload(); }

std::optional<core::Error> ClamavService::last_reload_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

core::Status ClamavService::Reload() {
  std::lock_guard reload_lock(reload_mutex_);
  // Watch from before the load: a change made while loading is noticed by the next check.
  auto watch = DatabaseWatch::Start(options_.engine.database_directory);
  auto loaded = ClamavEngine::Load(options_.engine);
  if (watch) watch_ = std::move(*watch);
  if (!loaded) {
    spdlog::error("ClamAV reload failed, keeping the current engine: {}",
                  loaded.error().ToString());
    std::lock_guard lock(mutex_);
    last_error_ = loaded.error();
    return core::Fail(loaded.error());
  }
  std::shared_ptr<const ClamavEngine> engine = std::move(*loaded);
  spdlog::info("ClamAV {} engine loaded from {}: {}", ClamavEngine::LibraryVersion(),
               engine->info().directory, engine->info().Describe());
  // Counted before it is published: whoever sees the new engine sees the new generation.
  generation_.fetch_add(1);
  engine_.store(std::move(engine));
  std::lock_guard lock(mutex_);
  last_error_.reset();
  return {};
}

void ClamavService::Run() {
  using namespace std::chrono_literals;
  std::chrono::milliseconds interval =
      options_.watch_interval.count() > 0 ? options_.watch_interval : std::chrono::hours(24 * 365);
  while (true) {
    bool requested = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, interval, [&] { return stop_ || reload_requested_; });
      if (stop_) return;
      requested = reload_requested_;
      reload_requested_ = false;
    }
    bool changed = false;
    if (!requested && options_.watch_interval.count() > 0) {
      std::lock_guard reload_lock(reload_mutex_);
      changed = watch_.has_value() ? watch_->Changed() : true;
    }
    if (requested || changed) {
      if (changed) spdlog::info("ClamAV database directory changed; reloading");
      (void)Reload();
    }
  }
}

}  // namespace moat::scanners
