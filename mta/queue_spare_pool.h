// queue_spare_pool.h - the names of delivered queue files that QueueStore keeps in spare/ to
// overwrite for new mail (QueueStore::Recycle and Commit; the why is in queue_store.h).
//
// Only bookkeeping: the store does the renames. A slot is reserved before the rename into
// spare/ and filled (Add) or given back (Release) after it, so concurrent deliveries never keep
// more than `limit` files. Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace moat::mta {

class QueueSparePool {
 public:
  explicit QueueSparePool(size_t limit) : limit_(limit) {}

  size_t limit() const { return limit_; }

  // A slot for one more spare file; false when the pool is full (or disabled).
  bool TryReserve() {
    std::lock_guard lock(mutex_);
    if (names_.size() + reserved_ >= limit_) return false;
    ++reserved_;
    return true;
  }
  // Gives back a reserved slot that was not filled (the rename failed).
  void Release() {
    std::lock_guard lock(mutex_);
    if (reserved_ > 0) --reserved_;
  }
  // Fills a reserved slot with the file spare/<name>.
  void Add(std::string name) {
    std::lock_guard lock(mutex_);
    if (reserved_ > 0) --reserved_;
    names_.push_back(std::move(name));
  }
  // The most recently added spare (its pages are the likeliest to be cached); nullopt if none.
  std::optional<std::string> Take() {
    std::lock_guard lock(mutex_);
    if (names_.empty()) return std::nullopt;
    std::string name = std::move(names_.back());
    names_.pop_back();
    return name;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    names_.clear();
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return names_.size();
  }

 private:
  mutable std::mutex mutex_;
  const size_t limit_;
  size_t reserved_ = 0;
  std::vector<std::string> names_;
};

}  // namespace moat::mta
