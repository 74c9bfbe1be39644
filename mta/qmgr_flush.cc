// qmgr_flush.cc - `moat queue flush` in the queue manager (QueueManager::Flush, see
// qmgr_runtime.h), after Postfix's postqueue -f / -s: QMGR_REQ_FLUSH_DEAD + QMGR_REQ_SCAN_ALL
// for the whole queue, the flush(8) service's per-site requests for one domain.
#include <algorithm>
#include <iterator>

// clang-format off
#include "mta/qmgr_runtime.h"
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
// clang-format on

#include <spdlog/spdlog.h>

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

std::string_view WithoutTrailingDot(std::string_view domain) {
  if (domain.ends_with('.')) domain.remove_suffix(1);
  return domain;
}

// A pending recipient of `message` whose domain is `domain` (lower case, no trailing dot).
bool HasPendingRecipientIn(const QueuedMessage& message, std::string_view domain) {
  for (const QueueRecipient& r : message.envelope.recipients) {
    if (r.status != RecipientStatus::kPending) continue;
    std::size_t at = r.address.rfind('@');
    if (at == std::string::npos) continue;
    std::string_view recipient_domain = std::string_view(r.address).substr(at + 1);
    if (LowerAscii(WithoutTrailingDot(recipient_domain)) == domain) return true;
  }
  return false;
}

}  // namespace

asio::awaitable<std::size_t> QueueManager::Flush(std::optional<std::string> site) {
  // Reading envelopes for a site flush may take a while on a big queue: on the caller's
  // executor, not on the strand that delivers.
  std::vector<std::string> ids;
  std::vector<QueueName> queues{QueueName::kDeferred};
  if (!site) queues.push_back(QueueName::kIncoming);
  std::string domain = site ? LowerAscii(WithoutTrailingDot(*site)) : std::string();
  for (QueueName queue : queues) {
    auto entries = store_->List(queue);
    if (!entries) {
      spdlog::error("flush: cannot list {}/: {}", QueueNameText(queue), entries.error().message());
      continue;
    }
    for (QueueEntry& entry : *entries) {
      if (site) {
        auto message = store_->Read(queue, entry.id);
        if (!message || !HasPendingRecipientIn(*message, domain)) continue;
      }
      ids.push_back(std::move(entry.id));
    }
  }
  // GCC 12: the awaitable is a named local, never a temporary inside co_await.
  auto applying = asio::co_spawn(strand_, ApplyFlush(std::move(ids), !site.has_value()),
                                 asio::use_awaitable);
  std::size_t scheduled = co_await std::move(applying);
  if (site) {
    spdlog::info("flush {}: {} messages scheduled for delivery", domain, scheduled);
  } else {
    spdlog::info("flush: {} messages scheduled for delivery", scheduled);
  }
  co_return scheduled;
}

asio::awaitable<std::size_t> QueueManager::ApplyFlush(std::vector<std::string> ids, bool all) {
  // Marks an earlier flush left for messages that have gone since (deleted, held).
  for (auto it = flush_ids_.begin(); it != flush_ids_.end();) {
    auto where = store_->Locate(*it);
    bool waiting = where && *where &&
                   (**where == QueueName::kDeferred || **where == QueueName::kIncoming);
    it = waiting ? std::next(it) : flush_ids_.erase(it);
  }
  std::size_t scheduled = 0;
  for (std::string& id : ids) {
    if (active_ids_.count(id)) continue;  // being delivered right now
    flush_ids_.insert(std::move(id));
    ++scheduled;
  }
  if (all) scheduler_.ForgetDeadDestinations();
  // The next loop turn scans both queues; ScanDeferred() takes flushed messages whatever
  // their schedule says, and Activate() routes them with the flush mark.
  incoming_dirty_ = true;
  next_deferred_scan_ = std::chrono::steady_clock::time_point{};
  Poke();
  co_return scheduled;
}

}  // namespace moat::mta
