// qmgr_policy_timing.h - when a deferred message is tried again, when it expires, when its sender
// is warned: Postfix qmgr(8)'s time rules as pure functions of injected times.
//
//   Next attempt   after a delivery attempt leaves recipients deferred, the message waits as long
//                  as it has been queued so far, clamped to [minimal_backoff_time,
//                  maximal_backoff_time] (qmgr_active.c: "we look at actual time in queue, not
//                  time since last delivery attempt"). So waits roughly double: 5m, 10m, 20m...
//                  up to the maximum. The deferred queue is scanned every queue_run_delay; a
//                  message becomes eligible at the first scan after its next-attempt time.
//   Expiry         after an attempt, a message whose age reached maximal_queue_lifetime (or
//                  bounce_queue_lifetime for the null sender: bounces and notifications) is
//                  returned to its sender with every remaining recipient ("status=expired,
//                  returned to sender"). A lifetime of 0 means "after the first failed attempt".
//   Delay warning  once per message, when delay_warning_time > 0 and the message's age reached
//                  it (Postfix sends it one second early), unless it expires first. The due time
//                  lives in the message's SCHEDULE record (warn_time, Unix seconds): it is set at
//                  the first deferral (Postfix's cleanup sets it at arrival; the first deferral
//                  is the first moment it matters) and cleared once the warning is queued, so
//                  "0 after the first deferral" means "sent, or none wanted". Never for the null
//                  sender: a notice to <> would go nowhere (Postfix would send the postmaster a
//                  copy with notify_classes = delay; Moat does not warn about bounces at all).
//
// Everything here is stateless and thread-safe; times are std::chrono::system_clock points so
// they match queue file timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/config.h"

namespace moat::mta {

using SystemTime = std::chrono::system_clock::time_point;

struct RetryTiming {
  std::chrono::seconds minimal_backoff{300};
  std::chrono::seconds maximal_backoff{4000};
  std::chrono::seconds queue_run_delay{300};
  std::chrono::seconds maximal_queue_lifetime{5 * 86400};
  std::chrono::seconds bounce_queue_lifetime{5 * 86400};
  std::chrono::seconds delay_warning_time{0};  // 0: never

  // From main.cf (minimal_backoff_time, maximal_backoff_time, queue_run_delay,
  // maximal_queue_lifetime, bounce_queue_lifetime, delay_warning_time). Throws core::ConfigError.
  static RetryTiming FromConfig(const core::Config& main);
};

// What to do with a message that still has deferred recipients after an attempt at `now`.
enum class DeferredAction { kRetryLater, kWarnAndRetryLater, kExpire };

// The delay-warning bookkeeping of one message, from its SCHEDULE record.
struct WarningState {
  int64_t warn_time = 0;        // Unix seconds a warning is due; 0: none pending
  bool first_deferral = false;  // no attempt recorded yet (schedule.attempts == 0)
};

struct DeferDecision {
  DeferredAction action = DeferredAction::kRetryLater;
  SystemTime next_attempt;  // for kRetryLater / kWarnAndRetryLater
  int64_t warn_time = 0;    // what the SCHEDULE record keeps from now on (0 after a warning)
};

// `null_sender`: the envelope sender is <> (bounce_queue_lifetime applies, never a warning).
DeferDecision DecideDeferred(const RetryTiming& timing, SystemTime arrival, SystemTime now,
                             bool null_sender, WarningState warning);

// The next-attempt time alone (the backoff rule above).
SystemTime NextAttempt(const RetryTiming& timing, SystemTime arrival, SystemTime now);

// The lifetime that applies to a message.
std::chrono::seconds QueueLifetime(const RetryTiming& timing, bool null_sender);

// For DSNs: "Will-Retry-Until" of a delayed message (arrival + its lifetime).
SystemTime RetryUntil(const RetryTiming& timing, SystemTime arrival, bool null_sender);

// True when a deferred message is due at a deferred-queue scan at `now`.
inline bool DueForRetry(SystemTime next_attempt, SystemTime now) { return next_attempt <= now; }

}  // namespace moat::mta
