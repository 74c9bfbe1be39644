// qmgr_policy_timing.cc - backoff, expiry and delay warnings (after Postfix qmgr_active.c).
#include "mta/qmgr_policy_timing.h"

#include <algorithm>

namespace moat::mta {

RetryTiming RetryTiming::FromConfig(const core::Config& main) {
  RetryTiming t;
  t.minimal_backoff = main.GetTime("minimal_backoff_time");
  t.maximal_backoff = main.GetTime("maximal_backoff_time");
  t.queue_run_delay = main.GetTime("queue_run_delay");
  t.maximal_queue_lifetime = main.GetTime("maximal_queue_lifetime");
  t.bounce_queue_lifetime = main.GetTime("bounce_queue_lifetime");
  t.delay_warning_time = main.GetTime("delay_warning_time");
  // Postfix (postconf(5)): bounce_queue_lifetime is capped by maximal_queue_lifetime, and the
  // maximal backoff is never shorter than the minimal one.
  t.bounce_queue_lifetime = std::min(t.bounce_queue_lifetime, t.maximal_queue_lifetime);
  t.maximal_backoff = std::max(t.maximal_backoff, t.minimal_backoff);
  return t;
}

SystemTime NextAttempt(const RetryTiming& timing, SystemTime arrival, SystemTime now) {
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - arrival);
  auto delay = std::clamp(age, timing.minimal_backoff, timing.maximal_backoff);
  return now + delay;
}

std::chrono::seconds QueueLifetime(const RetryTiming& timing, bool null_sender) {
  return null_sender ? timing.bounce_queue_lifetime : timing.maximal_queue_lifetime;
}

SystemTime RetryUntil(const RetryTiming& timing, SystemTime arrival, bool null_sender) {
  return arrival + QueueLifetime(timing, null_sender);
}

DeferDecision DecideDeferred(const RetryTiming& timing, SystemTime arrival, SystemTime now,
                             bool null_sender, WarningState warning) {
  DeferDecision decision;
  if (now >= arrival + QueueLifetime(timing, null_sender)) {
    decision.action = DeferredAction::kExpire;
    return decision;
  }
  decision.next_attempt = NextAttempt(timing, arrival, now);
  if (null_sender) return decision;  // no warnings about bounces: warn_time stays 0
  std::optional<SystemTime> due;
  if (warning.warn_time > 0) {
    due = SystemTime(std::chrono::seconds(warning.warn_time));
  } else if (warning.first_deferral && timing.delay_warning_time.count() > 0) {
    due = arrival + timing.delay_warning_time;
  }
  if (!due) return decision;
  // Postfix warns one second early (qmgr_active.c), so a warning due at the next retry is not
  // a whole backoff late.
  if (now >= *due - std::chrono::seconds(1)) {
    decision.action = DeferredAction::kWarnAndRetryLater;
    return decision;  // warn_time 0: sent
  }
  decision.warn_time = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::ceil<std::chrono::seconds>(*due).time_since_epoch())
                           .count();
  return decision;
}

}  // namespace moat::mta
