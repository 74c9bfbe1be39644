// queue_directory_sync.cc - one directory fsync for every rename that is waiting on it.
#include "mta/queue_directory_sync.h"

namespace moat::mta {

uint64_t DirectorySyncGroup::Renamed() {
  std::lock_guard lock(mutex_);
  return ++renamed_;
}

core::Status DirectorySyncGroup::WaitDurable(uint64_t ticket) {
  std::unique_lock lock(mutex_);
  while (durable_ < ticket) {
    if (syncing_) {
      done_.wait(lock);
      continue;
    }
    syncing_ = true;
    uint64_t from = durable_ + 1;
    uint64_t covers = renamed_;
    lock.unlock();
    core::Status status = sync_();
    lock.lock();
    syncing_ = false;
    ++syncs_;
    durable_ = covers;
    if (!status) {
      failures_.push_back({from, covers, status.error()});
      if (failures_.size() > 1024) failures_.pop_front();
    }
    done_.notify_all();
  }
  for (auto it = failures_.rbegin(); it != failures_.rend(); ++it) {
    if (ticket >= it->first && ticket <= it->last) return std::unexpected(it->error);
  }
  return {};
}

uint64_t DirectorySyncGroup::syncs() const {
  std::lock_guard lock(mutex_);
  return syncs_;
}

}  // namespace moat::mta
