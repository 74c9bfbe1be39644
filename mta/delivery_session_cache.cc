// delivery_session_cache.cc - the connection cache of the delivery agents.
// clang-format off
#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
// clang-format on

#include "mta/delivery_session_cache.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {

using Clock = std::chrono::steady_clock;

SessionCache::SessionCache(asio::any_io_executor executor) : executor_(std::move(executor)) {}

SessionCache::Entry SessionCache::Take(const std::string& key) {
  std::vector<std::unique_ptr<core::SmtpClient>> stale;
  Entry found;
  {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    auto range = idle_.equal_range(key);
    for (auto it = range.first; it != range.second;) {
      Entry& e = it->second;
      bool expired = now - e.idle_since >= e.limits.idle_limit ||
                     now - e.created >= e.limits.reuse_limit || !e.client->ready();
      if (expired) {
        stale.push_back(std::move(e.client));
        it = idle_.erase(it);
        continue;
      }
      if (!found.client) {
        found = std::move(e);
        it = idle_.erase(it);
        ++hits_;
        continue;
      }
      ++it;
    }
  }
  if (!stale.empty()) asio::co_spawn(executor_, QuitAll(std::move(stale)), asio::detached);
  return found;
}

void SessionCache::Put(const std::string& key, Entry entry) {
  if (!entry.client) return;
  auto now = Clock::now();
  bool keep = entry.client->ready() && now - entry.created < entry.limits.reuse_limit &&
              (entry.limits.count_limit == 0 ||
               entry.client->transactions() < entry.limits.count_limit) &&
              entry.limits.idle_limit.count() > 0;
  bool start_sweep = false;
  {
    std::lock_guard lock(mutex_);
    if (keep && !shut_down_) {
      entry.idle_since = now;
      idle_.emplace(key, std::move(entry));
      start_sweep = !sweeping_;
      sweeping_ = true;
    }
  }
  if (start_sweep) asio::co_spawn(executor_, Sweep(weak_from_this(), executor_), asio::detached);
  if (!entry.client) return;  // kept
  std::vector<std::unique_ptr<core::SmtpClient>> one;
  one.push_back(std::move(entry.client));
  asio::co_spawn(executor_, QuitAll(std::move(one)), asio::detached);
}

std::vector<std::unique_ptr<core::SmtpClient>> SessionCache::TakeExpired(Clock::time_point now) {
  std::vector<std::unique_ptr<core::SmtpClient>> out;
  for (auto it = idle_.begin(); it != idle_.end();) {
    Entry& e = it->second;
    if (shut_down_ || now - e.idle_since >= e.limits.idle_limit ||
        now - e.created >= e.limits.reuse_limit) {
      out.push_back(std::move(e.client));
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

asio::awaitable<void> SessionCache::Sweep(std::weak_ptr<SessionCache> weak,
                                          asio::any_io_executor executor) {
  asio::steady_timer timer(executor);
  for (;;) {
    std::vector<std::unique_ptr<core::SmtpClient>> expired;
    Clock::time_point wake;
    {
      auto self = weak.lock();
      if (!self) co_return;
      std::lock_guard lock(self->mutex_);
      auto now = Clock::now();
      expired = self->TakeExpired(now);
      if (self->idle_.empty()) {
        self->sweeping_ = false;
      } else {
        wake = Clock::time_point::max();
        for (const auto& [key, e] : self->idle_) {
          wake = std::min({wake, e.idle_since + e.limits.idle_limit,
                           e.created + e.limits.reuse_limit});
        }
      }
      if (!self->sweeping_) {
        if (!expired.empty()) co_spawn(executor, QuitAll(std::move(expired)), asio::detached);
        co_return;
      }
    }
    if (!expired.empty()) co_spawn(executor, QuitAll(std::move(expired)), asio::detached);
    timer.expires_at(wake);
    auto [error] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (error) co_return;
  }
}

asio::awaitable<void> SessionCache::QuitAll(
    std::vector<std::unique_ptr<core::SmtpClient>> clients) {
  for (auto& client : clients) {
    if (client) co_await client->Quit();
  }
}

asio::awaitable<void> SessionCache::Shutdown() {
  std::vector<std::unique_ptr<core::SmtpClient>> all;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    all = TakeExpired(Clock::now());
  }
  co_await QuitAll(std::move(all));
}

std::size_t SessionCache::idle_count() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace moat::mta
