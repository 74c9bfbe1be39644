// qmgr_policy_concurrency.h - the per-destination concurrency window of Postfix's queue manager
// (qmgr_queue.c, SCHEDULER_README "concurrency scheduling").
//
// Each (transport, destination) pair has a window: how many deliveries may run at once.
//   - It starts at initial_destination_concurrency.
//   - Positive feedback: a delivery that reached the destination adds the transport's positive
//     feedback (1, 1/concurrency or 1/sqrt_concurrency of the window) to a success counter; each
//     whole unit grows the window by one, up to destination_concurrency_limit (0 = no limit), and
//     only while the window is less than busy + initial concurrency (so an idle destination does
//     not grow without bound).
//   - Negative feedback: a delivery that could not reach the destination (connection refused,
//     timeout, 421 greeting...: a "site" failure, not a recipient's 4xx) subtracts the negative
//     feedback; each whole unit shrinks the window by one, down to 1. It also adds 1/window to a
//     failed-cohort count; when that reaches destination_concurrency_failed_cohort_limit (> 0) the
//     destination is dead: no deliveries, every recipient for it is deferred at once with the
//     failure's reason, until Resume() (the queue manager calls it minimal_backoff_time later).
//   - Any success resets the failed-cohort count; a dead destination that comes back restarts at
//     max(busy, initial concurrency).
//
// Not thread-safe: the queue manager owns one window per destination and updates it from its
// scheduling strand.
#pragma once

#include <string>

#include "mta/resolve_transport_catalog.h"

namespace moat::mta {

struct ConcurrencyPolicy {
  int initial = 5;
  int limit = 20;  // 0: no limit
  int failed_cohort_limit = 1;  // 0: never dead
  ConcurrencyFeedback positive;
  ConcurrencyFeedback negative;

  static ConcurrencyPolicy FromTransport(const TransportSettings& transport);
};

class DestinationWindow {
 public:
  explicit DestinationWindow(ConcurrencyPolicy policy);

  // May another delivery start while `busy` are running?
  bool CanStart(int busy) const { return !dead_ && busy < Slots(); }
  // The window rounded down (at least 1 while alive), as a delivery count.
  int Slots() const;

  void OnSuccess(int busy);
  void OnSiteFailure(const std::string& reason);
  void Resume(int busy);

  bool dead() const { return dead_; }
  const std::string& dead_reason() const { return dead_reason_; }
  double window() const { return window_; }

 private:
  ConcurrencyPolicy policy_;
  double window_;
  double success_ = 0;
  double failure_ = 0;
  double fail_cohorts_ = 0;
  bool dead_ = false;
  std::string dead_reason_;
};

}  // namespace moat::mta
