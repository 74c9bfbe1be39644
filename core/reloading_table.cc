// reloading_table.cc - stat-on-lookup change detection and atomic swap of table contents.
#include "core/reloading_table.h"

#include <spdlog/spdlog.h>
#include <time.h>

namespace moat::core {
namespace {

// The coarse monotonic clock (a few ms resolution) costs a fraction of steady_clock::now() and is
// plenty for a once-a-second check that every lookup makes.
int64_t SteadyNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

ReloadingTable::ReloadingTable(std::string spec, std::string path, Compiler compiler,
                               const TableOpenOptions& options)
    : spec_(std::move(spec)),
      path_(std::move(path)),
      compiler_(std::move(compiler)),
      max_file_bytes_(options.max_file_bytes),
      check_interval_(options.reload_check_interval) {}

Result<std::shared_ptr<const ReloadingTable>> ReloadingTable::Open(
    std::string spec, std::string path, Compiler compiler, const TableOpenOptions& options) {
  auto file = ReadTableFile(path, options.max_file_bytes);
  if (!file) return std::unexpected(file.error());
  std::vector<std::string> warnings;
  auto contents = compiler(file->text, warnings);
  if (!contents) return std::unexpected(contents.error());
  for (const auto& w : warnings) {
    if (options.warnings != nullptr) {
      options.warnings->push_back(Printable(w));
    } else {
      spdlog::warn("{}", Printable(w));
    }
  }
  std::shared_ptr<ReloadingTable> table(
      new ReloadingTable(std::move(spec), std::move(path), std::move(compiler), options));
  table->is_pattern_ = (*contents)->IsPattern();
  table->is_cidr_ = (*contents)->IsCidr();
  table->loaded_stamp_ = file->stamp;
  table->contents_.store(std::move(*contents));
  table->generation_.store(1, std::memory_order_release);
  table->next_check_ns_.store(SteadyNowNs() + table->check_interval_.count());
  return std::shared_ptr<const ReloadingTable>(std::move(table));
}

void ReloadingTable::MaybeReload() const {
  int64_t due = next_check_ns_.load(std::memory_order_relaxed);
  int64_t now = SteadyNowNs();
  if (now < due) return;
  // One thread per interval gets to look; the others go on with the current contents.
  if (!next_check_ns_.compare_exchange_strong(due, now + check_interval_.count(),
                                              std::memory_order_relaxed)) {
    return;
  }
  std::unique_lock lock(reload_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // a slow reload is already running
  (void)ReloadLocked();           // failures are logged there; lookups go on with old contents
}

Status ReloadingTable::ReloadIfChanged() const {
  std::lock_guard lock(reload_mutex_);
  next_check_ns_.store(SteadyNowNs() + check_interval_.count(), std::memory_order_relaxed);
  return ReloadLocked();
}

Status ReloadingTable::ReloadLocked() const {
  auto stamp = StatTableFile(path_);
  if (stamp && *stamp == loaded_stamp_) return {};
  auto log_once = [&](const Error& error, const FileStamp& version) -> Status {
    if (!failed_error_ || !(failed_stamp_ == version)) {
      spdlog::error("{}: reload failed, still using the previous contents: {}", Printable(spec_),
                    error.message());
      failed_stamp_ = version;
      failed_error_ = error;
    }
    return std::unexpected(error);
  };
  if (!stamp) return log_once(stamp.error(), FileStamp{});
  // This version already failed: do not read and log it again every interval.
  if (failed_error_ && failed_stamp_ == *stamp) return std::unexpected(*failed_error_);

  auto file = ReadTableFile(path_, max_file_bytes_);
  if (!file) return log_once(file.error(), *stamp);
  std::vector<std::string> warnings;
  auto contents = compiler_(file->text, warnings);
  if (!contents) return log_once(contents.error(), file->stamp);
  for (const auto& w : warnings) spdlog::warn("{}", Printable(w));

  contents_.store(std::move(*contents));
  // The stamp taken before reading: if the file changed while we read it, the next check sees
  // a different stamp and reads it again.
  loaded_stamp_ = file->stamp;
  failed_error_.reset();
  generation_.fetch_add(1, std::memory_order_acq_rel);
  spdlog::info("{}: reloaded {}", spec_, path_);
  return {};
}

Result<bool> ReloadingTable::LookupInto(std::string_view key, std::string& value) const {
  MaybeReload();
  std::shared_ptr<const LookupTable> current = contents_.load();
  return current->LookupInto(key, value);
}

Result<std::optional<std::string>> ReloadingTable::Lookup(std::string_view key) const {
  MaybeReload();
  std::shared_ptr<const LookupTable> current = contents_.load();
  return current->Lookup(key);
}

}  // namespace moat::core
