// bounce_sender.h - queues the notices bounce_policy.h plans: composes each one
// (bounce_message.h) and commits it as a new queue file, as Postfix's bounce(8) posts its
// notices through cleanup. The queue manager calls it for a message's failures (its bounce
// log), its delay warning, and local resource/software problems.
//
// Each notice is committed with QueueStore::Commit (durable before this returns); the queue
// manager picks it up from incoming/ like any other mail, so a notice is retried, expires
// (bounce_queue_lifetime) and bounces by the same rules. Notices carry no content_filter.
//
// Resource and software notices are rate-limited: at most one per class per
// kProblemNoticeInterval (the first one at once). A broken table or a full disk holds up every
// message at every retry; one notice tells the postmaster, the log has the rest.
//
// Errors: Send() returns the commit's error (kIo / kTempFail) when a critical notice (the
// sender's report, a double bounce) could not be queued: the caller keeps its bounce log and
// tries again later. A postmaster copy that cannot be queued is only logged. kCorrupt / kIo
// when the original's content cannot be read.
//
// Thread safety: not thread-safe (the rate limit is state); the queue manager uses it on its
// strand. Borrows nothing: holds the store by shared_ptr.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/error.h"
#include "mta/bounce_policy.h"
#include "mta/qmgr_policy_timing.h"
#include "mta/queue_store.h"

namespace moat::mta {

struct BounceSettings {
  NotifyPolicy policy;
  std::string myhostname;
  std::size_t bounce_size_limit = 50000;
  RetryTiming timing;  // delay warnings say how long a message has waited and may wait
};

class BounceSender {
 public:
  static constexpr std::chrono::hours kProblemNoticeInterval{1};

  BounceSender(std::shared_ptr<QueueStore> store, BounceSettings settings);

  // Queues the notices for `event` about the message open in `file` (`entries`: the bounce log
  // for kFailure, this attempt's defer notes for kDelay, the local problems otherwise). Returns
  // how many notices were queued. `steady_now` drives the rate limit.
  core::Result<std::size_t> Send(NoticeEvent event, const QueueFile& file,
                                 std::span<const RecipientLogEntry> entries,
                                 std::chrono::steady_clock::time_point steady_now);

  const BounceSettings& settings() const { return settings_; }

 private:
  core::Status Commit(NoticeEvent event, const QueuedMessage& original, const PlannedNotice& notice,
                      std::string* id);

  std::shared_ptr<QueueStore> store_;
  BounceSettings settings_;
  std::optional<std::chrono::steady_clock::time_point> last_resource_, last_software_;
};

}  // namespace moat::mta
