// qmgr_policy_test.cc - the queue manager's scheduling policy with injected time: backoff,
// expiry and delay warnings; concurrency feedback and dead destinations; round-robin fairness,
// recipient limits, maxproc, rate delays and defer_transports.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "mta/qmgr_policy_concurrency.h"
#include "mta/qmgr_policy_scheduler.h"
#include "mta/qmgr_policy_timing.h"
#include "tests/mta/routing_fixture.h"

namespace moat::mta {
namespace {

using namespace std::chrono_literals;
using testing::RoutingFixture;

SystemTime T0() { return SystemTime(std::chrono::seconds(1'700'000'000)); }

TEST(RetryTimingTest, BackoffGrowsWithTimeInQueueBetweenTheLimits) {
  RetryTiming t;  // Postfix defaults: 300s .. 4000s
  SystemTime arrival = T0();
  // Attempt times when each retry happens exactly at its next-attempt time.
  std::vector<std::chrono::seconds> waits;
  SystemTime now = arrival;
  for (int i = 0; i < 8; ++i) {
    SystemTime next = NextAttempt(t, arrival, now);
    waits.push_back(std::chrono::duration_cast<std::chrono::seconds>(next - now));
    now = next;
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::seconds>{300s, 300s, 600s, 1200s, 2400s, 4000s,
                                                       4000s, 4000s}));
}

TEST(RetryTimingTest, ConfigValues) {
  RoutingFixture fixture(
      "minimal_backoff_time = 10s\nmaximal_backoff_time = 5s\nbounce_queue_lifetime = 9d\n"
      "maximal_queue_lifetime = 1d\ndelay_warning_time = 4h\nqueue_run_delay = 1m\n");
  RetryTiming t = RetryTiming::FromConfig(fixture.main());
  EXPECT_EQ(t.minimal_backoff, 10s);
  EXPECT_EQ(t.maximal_backoff, 10s);  // never below the minimum
  EXPECT_EQ(t.maximal_queue_lifetime, 86400s);
  EXPECT_EQ(t.bounce_queue_lifetime, 86400s);  // capped, as Postfix's qmgr does
  EXPECT_EQ(t.delay_warning_time, 4h);
  EXPECT_EQ(t.queue_run_delay, 60s);
}

TEST(RetryTimingTest, ExpiryAndWarnings) {
  RetryTiming t;
  t.maximal_queue_lifetime = 86400s;
  t.bounce_queue_lifetime = 3600s;
  t.delay_warning_time = 4h;
  SystemTime arrival = T0();
  int64_t due = 1'700'000'000 + 4 * 3600;
  auto decide = [&](std::chrono::seconds age, bool null_sender, WarningState warning) {
    return DecideDeferred(t, arrival, arrival + age, null_sender, warning);
  };
  WarningState first{0, true};
  WarningState later{due, false};  // scheduled at the first deferral
  WarningState sent{0, false};     // warned already (or none was wanted)
  // The first deferral schedules the warning in the SCHEDULE record.
  DeferDecision d = decide(1h, false, first);
  EXPECT_EQ(d.action, DeferredAction::kRetryLater);
  EXPECT_EQ(d.warn_time, due);
  EXPECT_EQ(decide(1h, false, later).warn_time, due);  // kept until it is due
  EXPECT_EQ(decide(4h - 2s, false, later).action, DeferredAction::kRetryLater);
  d = decide(4h - 1s, false, later);  // Postfix: one second early
  EXPECT_EQ(d.action, DeferredAction::kWarnAndRetryLater);
  EXPECT_EQ(d.warn_time, 0);  // cleared: once per message
  EXPECT_EQ(decide(5h, false, sent).action, DeferredAction::kRetryLater);  // warned once only
  EXPECT_EQ(decide(5h, false, sent).warn_time, 0);
  // A first deferral already past the warning time warns at once.
  EXPECT_EQ(decide(5h, false, first).action, DeferredAction::kWarnAndRetryLater);
  EXPECT_EQ(decide(86400s - 1s, false, sent).action, DeferredAction::kRetryLater);
  EXPECT_EQ(decide(86400s, false, sent).action, DeferredAction::kExpire);
  EXPECT_EQ(decide(86400s, false, later).action, DeferredAction::kExpire);  // expiry beats it
  // The null sender: bounce_queue_lifetime, and no delay warnings.
  EXPECT_EQ(decide(3599s, true, first).action, DeferredAction::kRetryLater);
  EXPECT_EQ(decide(3599s, true, first).warn_time, 0);
  EXPECT_EQ(decide(3600s, true, first).action, DeferredAction::kExpire);
  // delay_warning_time = 0: never.
  RetryTiming off;
  EXPECT_EQ(DecideDeferred(off, arrival, arrival + 9h, false, first).action,
            DeferredAction::kRetryLater);
  EXPECT_EQ(DecideDeferred(off, arrival, arrival + 9h, false, first).warn_time, 0);
  // A lifetime of 0: returned after the first failed attempt.
  t.maximal_queue_lifetime = 0s;
  EXPECT_EQ(decide(0s, false, first).action, DeferredAction::kExpire);
  EXPECT_EQ(RetryUntil(t, arrival, true), arrival + 3600s);
  d = DecideDeferred(RetryTiming{}, arrival, arrival + 1000s, false, sent);
  EXPECT_EQ(d.next_attempt, arrival + 2000s);
  EXPECT_TRUE(DueForRetry(d.next_attempt, arrival + 2000s));
  EXPECT_FALSE(DueForRetry(d.next_attempt, arrival + 1999s));
}

ConcurrencyPolicy Policy(int initial, int limit, int cohorts, const char* positive = "1",
                         const char* negative = "1") {
  ConcurrencyPolicy p;
  p.initial = initial;
  p.limit = limit;
  p.failed_cohort_limit = cohorts;
  p.positive = *ParseConcurrencyFeedback(positive);
  p.negative = *ParseConcurrencyFeedback(negative);
  return p;
}

TEST(DestinationWindowTest, GrowsOnSuccessUpToTheLimitWhileBusy) {
  DestinationWindow w(Policy(5, 8, 1));
  EXPECT_EQ(w.Slots(), 5);
  EXPECT_TRUE(w.CanStart(4));
  EXPECT_FALSE(w.CanStart(5));
  w.OnSuccess(4);
  EXPECT_EQ(w.Slots(), 6);
  for (int i = 0; i < 10; ++i) w.OnSuccess(w.Slots() - 1);
  EXPECT_EQ(w.Slots(), 8);  // destination_concurrency_limit
  // An idle destination does not grow past busy + initial.
  DestinationWindow idle(Policy(2, 0, 1));
  for (int i = 0; i < 10; ++i) idle.OnSuccess(0);
  EXPECT_EQ(idle.Slots(), 2);
}

TEST(DestinationWindowTest, FractionalFeedback) {
  DestinationWindow w(Policy(4, 0, 0, "1/concurrency"));
  for (int i = 0; i < 3; ++i) w.OnSuccess(3);
  EXPECT_EQ(w.Slots(), 4);  // 3/4 so far
  w.OnSuccess(3);
  EXPECT_EQ(w.Slots(), 5);
}

TEST(DestinationWindowTest, ShrinksOnFailuresThenDies) {
  DestinationWindow w(Policy(5, 20, 1));
  w.OnSiteFailure("connect to a: refused");
  EXPECT_EQ(w.Slots(), 4);
  EXPECT_FALSE(w.dead());
  w.OnSiteFailure("x");
  w.OnSiteFailure("x");
  EXPECT_EQ(w.Slots(), 2);
  w.OnSiteFailure("connect to b: refused");  // 1/5 + 1/4 + 1/3 + 1/2 >= 1 cohort
  EXPECT_TRUE(w.dead());
  EXPECT_EQ(w.dead_reason(), "connect to b: refused");
  EXPECT_FALSE(w.CanStart(0));
  w.Resume(0);
  EXPECT_FALSE(w.dead());
  EXPECT_EQ(w.Slots(), 5);
  // A success resets the failed-cohort count.
  DestinationWindow single(Policy(1, 20, 2));
  single.OnSiteFailure("x");
  single.OnSuccess(0);
  single.OnSiteFailure("x");
  EXPECT_FALSE(single.dead());
  single.OnSiteFailure("x");
  EXPECT_TRUE(single.dead());
  // failed_cohort_limit = 0: never dead.
  DestinationWindow never(Policy(1, 20, 0));
  for (int i = 0; i < 50; ++i) never.OnSiteFailure("x");
  EXPECT_FALSE(never.dead());
  EXPECT_EQ(never.Slots(), 1);
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : fixture_("initial_destination_concurrency = 2\n"
                 "default_destination_recipient_limit = 3\n"
                 "slow_destination_rate_delay = 10s\n"
                 "defer_transports = lmtp\n"
                 "smtp-amavis_destination_recipient_limit = 1\n") {}

  DeliveryScheduler Make(bool flush = false) {
    SchedulerOptions options;
    options.minimal_backoff = 300s;
    options.flush_deferred_transports = flush;
    return DeliveryScheduler(fixture_.shared_catalog(), options);
  }
  std::vector<std::uint32_t> Recipients(std::uint32_t n) {
    std::vector<std::uint32_t> out(n);
    for (std::uint32_t i = 0; i < n; ++i) out[i] = i;
    return out;
  }

  RoutingFixture fixture_;
  SteadyTime now_ = SteadyTime(std::chrono::hours(1));
};

TEST_F(SchedulerTest, RoundRobinBetweenDestinations) {
  DeliveryScheduler s = Make();
  // A big destination queued first must not starve the others.
  for (std::uint64_t m = 1; m <= 20; ++m) s.Add(m, {"smtp", "big.test"}, Recipients(1), now_);
  s.Add(100, {"smtp", "small1.test"}, Recipients(1), now_);
  s.Add(101, {"smtp", "small2.test"}, Recipients(1), now_);
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto batch = s.Next(now_);
    ASSERT_TRUE(batch);
    order.push_back(batch->route.destination);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"big.test", "small1.test", "small2.test",
                                             "big.test"}));
  // big.test is at its window of 2 now; nothing else waits.
  EXPECT_FALSE(s.Next(now_));
  EXPECT_EQ(s.running(), 4u);
  EXPECT_EQ(s.queued_recipients(), 18u);
}

TEST_F(SchedulerTest, RecipientLimitSplitsAMessage) {
  DeliveryScheduler s = Make();
  s.Add(7, {"smtp", "example.test"}, Recipients(8), now_);
  std::vector<std::size_t> sizes;
  while (auto batch = s.Next(now_)) {
    EXPECT_EQ(batch->message, 7u);
    sizes.push_back(batch->recipients.size());
    s.Done(*batch, BatchOutcome::kDelivered, now_);
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 2}));
  EXPECT_TRUE(s.idle());
}

TEST_F(SchedulerTest, SuccessOpensTheWindowAndMaxprocCapsTheTransport) {
  DeliveryScheduler s = Make();
  for (std::uint64_t m = 1; m <= 10; ++m) s.Add(m, {"smtp", "a.test"}, Recipients(1), now_);
  auto b1 = s.Next(now_);
  auto b2 = s.Next(now_);
  ASSERT_TRUE(b1 && b2);
  EXPECT_FALSE(s.Next(now_));
  s.Done(*b1, BatchOutcome::kDelivered, now_);  // window 2 -> 3
  EXPECT_TRUE(s.Next(now_));
  EXPECT_TRUE(s.Next(now_));
  EXPECT_FALSE(s.Next(now_));
  // "slow" has maxproc 1 (master.cf) for all its destinations together.
  s.Add(50, {"slow", "x.test"}, Recipients(1), now_);
  s.Add(51, {"slow", "y.test"}, Recipients(1), now_);
  auto slow = s.Next(now_);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->route.transport, "slow");
  EXPECT_FALSE(s.Next(now_));
}

TEST_F(SchedulerTest, DeadDestinationRefusesItsRecipientsUntilTheBackoffEnds) {
  DeliveryScheduler s = Make();
  s.Add(1, {"smtp", "down.test"}, Recipients(1), now_);
  s.Add(2, {"smtp", "down.test"}, Recipients(1), now_);
  s.Add(3, {"smtp", "down.test"}, Recipients(2), now_);
  auto a = s.Next(now_);
  auto c = s.Next(now_);
  ASSERT_TRUE(a && c);
  EXPECT_EQ(c->route.destination, "down.test");
  EXPECT_FALSE(s.Next(now_));  // window 2
  s.Done(*a, BatchOutcome::kSiteFailure, now_, "4.4.1", "connect to down.test: refused");
  EXPECT_TRUE(s.TakeRefused().empty());  // window 2 -> 1, 1/2 cohort
  s.Done(*c, BatchOutcome::kSiteFailure, now_, "4.4.1", "connect to down.test: refused");
  auto refused = s.TakeRefused();
  ASSERT_EQ(refused.size(), 1u);  // message 3 was still queued
  EXPECT_EQ(refused[0].message, 3u);
  EXPECT_EQ(refused[0].recipients.size(), 2u);
  EXPECT_EQ(refused[0].dsn, "4.4.1");
  EXPECT_EQ(refused[0].reason, "delivery temporarily suspended: connect to down.test: refused");
  // New mail for it is refused at once, other destinations go on.
  s.Add(4, {"smtp", "down.test"}, Recipients(1), now_);
  ASSERT_EQ(s.TakeRefused().size(), 1u);
  ASSERT_EQ(s.NextWakeup(), now_ + 300s);
  s.Add(9, {"smtp", "up.test"}, Recipients(1), now_);
  auto up = s.Next(now_);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->route.destination, "up.test");
  // After minimal_backoff_time it takes mail again.
  s.Add(5, {"smtp", "down.test"}, Recipients(1), now_ + 300s);
  EXPECT_TRUE(s.TakeRefused().empty());
  auto retry = s.Next(now_ + 300s);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->message, 5u);
}

TEST_F(SchedulerTest, DeferTransportsUnlessFlushing) {
  DeliveryScheduler s = Make();
  s.Add(1, {"lmtp", "[127.0.0.1]:24"}, Recipients(2), now_);
  auto refused = s.TakeRefused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].dsn, "4.3.2");
  EXPECT_EQ(refused[0].reason, "deferred transport");
  EXPECT_FALSE(s.Next(now_));
  DeliveryScheduler flushing = Make(true);
  flushing.Add(1, {"lmtp", "[127.0.0.1]:24"}, Recipients(2), now_);
  EXPECT_TRUE(flushing.TakeRefused().empty());
  EXPECT_TRUE(flushing.Next(now_));
  DeliveryScheduler unknown = Make();
  unknown.Add(1, {"nosuch", "x"}, Recipients(1), now_);
  EXPECT_EQ(unknown.TakeRefused().at(0).reason, "mail transport unavailable");
}

// `moat queue flush`: a flushed message ignores defer_transports and revives its dead
// destination (Postfix's QMGR_FLUSH_DFXP / QMGR_FLUSH_EACH); ForgetDeadDestinations() revives
// them all (QMGR_FLUSH_ONCE). Other messages still see both.
TEST_F(SchedulerTest, FlushedMessagesIgnoreDeferTransportsAndDeadDestinations) {
  DeliveryScheduler s = Make();
  s.Add(1, {"lmtp", "[127.0.0.1]:24"}, Recipients(1), now_, /*flushed=*/true);
  EXPECT_TRUE(s.TakeRefused().empty());
  auto lmtp = s.Next(now_);
  ASSERT_TRUE(lmtp);
  s.Add(2, {"lmtp", "[127.0.0.1]:24"}, Recipients(1), now_);
  EXPECT_EQ(s.TakeRefused().size(), 1u);

  auto kill = [&](const std::string& destination) {
    s.Add(10, {"smtp", destination}, Recipients(1), now_);
    s.Add(11, {"smtp", destination}, Recipients(1), now_);
    auto a = s.Next(now_);
    auto b = s.Next(now_);
    ASSERT_TRUE(a && b);
    s.Done(*a, BatchOutcome::kSiteFailure, now_, "4.4.1", "refused");
    s.Done(*b, BatchOutcome::kSiteFailure, now_, "4.4.1", "refused");
    s.TakeRefused();
  };
  kill("down.test");
  s.Add(3, {"smtp", "down.test"}, Recipients(1), now_);
  EXPECT_EQ(s.TakeRefused().size(), 1u);  // dead for minimal_backoff_time
  s.Add(4, {"smtp", "down.test"}, Recipients(1), now_, /*flushed=*/true);
  EXPECT_TRUE(s.TakeRefused().empty());
  auto revived = s.Next(now_);
  ASSERT_TRUE(revived);
  EXPECT_EQ(revived->message, 4u);

  kill("gone.test");
  s.Add(5, {"smtp", "gone.test"}, Recipients(1), now_);
  EXPECT_EQ(s.TakeRefused().size(), 1u);
  s.ForgetDeadDestinations();
  s.Add(6, {"smtp", "gone.test"}, Recipients(1), now_);
  EXPECT_TRUE(s.TakeRefused().empty());
  auto again = s.Next(now_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->message, 6u);
}

TEST_F(SchedulerTest, RateDelaySerialisesADestination) {
  DeliveryScheduler s = Make();
  s.Add(1, {"slow", "r.test"}, Recipients(1), now_);
  s.Add(2, {"slow", "r.test"}, Recipients(1), now_);
  auto first = s.Next(now_);
  ASSERT_TRUE(first);
  EXPECT_FALSE(s.Next(now_));
  s.Done(*first, BatchOutcome::kDelivered, now_);
  EXPECT_FALSE(s.Next(now_ + 9s));
  EXPECT_EQ(s.NextWakeup(), now_ + 10s);
  EXPECT_TRUE(s.Next(now_ + 10s));
}

TEST_F(SchedulerTest, DestinationKeys) {
  auto r = fixture_.resolver().Resolve("", "User@Example.TEST");
  ASSERT_TRUE(r);
  EXPECT_EQ(DestinationKey(*r), "example.test");
  // A recipient limit of 1 makes every recipient its own destination.
  auto filter = fixture_.resolver().ResolveFilter("smtp-amavis:[127.0.0.1]:10024", "A@b.test");
  ASSERT_TRUE(filter);
  EXPECT_EQ(DestinationKey(*filter), "a@b.test");
}

}  // namespace
}  // namespace moat::mta
