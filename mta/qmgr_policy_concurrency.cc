// qmgr_policy_concurrency.cc - concurrency feedback (after Postfix qmgr_queue.c, with the
// hysteresis of 1 that Postfix uses).
#include "mta/qmgr_policy_concurrency.h"

#include <algorithm>
#include <cmath>

namespace moat::mta {

ConcurrencyPolicy ConcurrencyPolicy::FromTransport(const TransportSettings& transport) {
  ConcurrencyPolicy p;
  p.initial = std::max(1, transport.initial_destination_concurrency);
  p.limit = std::max(0, transport.destination_concurrency_limit);
  p.failed_cohort_limit = std::max(0, transport.failed_cohort_limit);
  p.positive = transport.positive_feedback;
  p.negative = transport.negative_feedback;
  return p;
}

DestinationWindow::DestinationWindow(ConcurrencyPolicy policy)
    : policy_(policy), window_(policy.initial) {
  if (policy_.limit > 0) window_ = std::min<double>(window_, policy_.limit);
}

int DestinationWindow::Slots() const {
  if (dead_) return 0;
  return std::max(1, static_cast<int>(std::floor(window_ + 1e-9)));
}

void DestinationWindow::OnSuccess(int busy) {
  fail_cohorts_ = 0;
  if (dead_) {
    Resume(busy);
    return;
  }
  if (policy_.limit != 0 && policy_.limit <= window_) return;
  if (window_ >= busy + policy_.initial) return;
  double feedback = policy_.positive.At(window_);
  success_ += feedback;
  while (success_ + feedback / 2 >= 1) {
    window_ += 1;
    success_ -= 1;
    failure_ = 0;
  }
  if (policy_.limit > 0 && window_ > policy_.limit) window_ = policy_.limit;
}

void DestinationWindow::OnSiteFailure(const std::string& reason) {
  if (dead_) return;
  fail_cohorts_ += 1.0 / std::max(1.0, window_);
  if (policy_.failed_cohort_limit > 0 && fail_cohorts_ >= policy_.failed_cohort_limit - 1e-9) {
    dead_ = true;
    dead_reason_ = reason;
    return;
  }
  double feedback = policy_.negative.At(window_);
  failure_ -= feedback;
  // Mirror of the positive loop: one step down per whole unit of negative feedback.
  while (failure_ - feedback / 2 <= -1) {
    window_ -= 1;
    success_ = 0;
    failure_ += 1;
    if (window_ < 1) break;
  }
  if (window_ < 1) window_ = 1;
}

void DestinationWindow::Resume(int busy) {
  dead_ = false;
  dead_reason_.clear();
  fail_cohorts_ = 0;
  success_ = failure_ = 0;
  window_ = busy > 0 ? busy : policy_.initial;
  if (policy_.limit > 0) window_ = std::min<double>(window_, policy_.limit);
}

}  // namespace moat::mta
