// greylist_test.cc - greylisting as postgrey does it, over a real SQLite file with a hand-moved
// clock: a new triplet is deferred, a retry before the delay is deferred again, a retry after it
// passes (once, and the triplet is known from then on), a retry after the retry window starts
// over, client networks that retried enough skip greylisting, unused entries expire, and the
// state survives reopening the file. Also postgrey's sender normalisation and triplet networks.
#include <gtest/gtest.h>

#include "mta/greylist_policy.h"
#include "mta/greylist_store.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kHour = 3600 * kSecond;

class GreylistTest : public ::testing::Test {
 protected:
  std::unique_ptr<GreylistPolicy> Policy(GreylistOptions options = Defaults()) {
    auto store = GreylistStore::Open(dir_.Path("state/greylist.sqlite"));
    EXPECT_TRUE(store) << store.error().message();
    return std::make_unique<GreylistPolicy>(*store, std::move(options), [this] { return now_; });
  }
  static GreylistOptions Defaults() {
    GreylistOptions options;
    options.delay = std::chrono::seconds(300);
    options.retry_window = std::chrono::hours(48);
    options.max_age = std::chrono::hours(24 * 35);
    options.auto_allow_clients = 2;
    options.hostname = "mx.example.test";
    return options;
  }
  GreylistOutcome Check(GreylistPolicy& policy, const std::string& client,
                        const std::string& sender = "alice@example.org",
                        const std::string& recipient = "bob@example.test") {
    auto decision = policy.Check({client, sender, recipient});
    EXPECT_TRUE(decision) << decision.error().message();
    last_ = decision ? *decision : GreylistDecision{};
    return last_.outcome;
  }

  moat::testing::TempDir dir_;
  int64_t now_ = 1'800'000'000'000;
  GreylistDecision last_;
};

TEST_F(GreylistTest, DelayThenPassThenKnown) {
  auto policy = Policy();
  EXPECT_EQ(Check(*policy, "192.0.2.10"), GreylistOutcome::kGreylisted);
  EXPECT_EQ(last_.wait_seconds, 300);
  EXPECT_EQ(last_.client, "192.0.2.0/24");
  now_ += 100 * kSecond;
  EXPECT_EQ(Check(*policy, "192.0.2.10"), GreylistOutcome::kTooEarly);
  EXPECT_EQ(last_.wait_seconds, 200);
  // Another host of the same /24 retries: the triplet is the network's.
  now_ += 200 * kSecond;
  EXPECT_EQ(Check(*policy, "192.0.2.99"), GreylistOutcome::kPassed);
  EXPECT_EQ(last_.delayed_seconds, 300);
  now_ += kSecond;
  EXPECT_EQ(Check(*policy, "192.0.2.10"), GreylistOutcome::kKnown);
  // Another recipient, another network: new triplets.
  EXPECT_EQ(Check(*policy, "192.0.2.10", "alice@example.org", "carol@example.test"),
            GreylistOutcome::kGreylisted);
  EXPECT_EQ(Check(*policy, "198.51.100.1"), GreylistOutcome::kGreylisted);

  auto triplets = policy->store().Triplets();
  ASSERT_TRUE(triplets);
  ASSERT_EQ(triplets->size(), 3u);
  EXPECT_EQ((*triplets)[0].attempts, 4);
  EXPECT_NE((*triplets)[0].passed, 0);
}

TEST_F(GreylistTest, RetryAfterTheWindowStartsOver) {
  auto policy = Policy();
  EXPECT_EQ(Check(*policy, "192.0.2.10"), GreylistOutcome::kGreylisted);
  now_ += 300 * kSecond + 48 * kHour + kSecond;
  EXPECT_EQ(Check(*policy, "192.0.2.10"), GreylistOutcome::kGreylisted);
  EXPECT_EQ(last_.wait_seconds, 300);
  now_ += 300 * kSecond;
  EXPECT_EQ(Check(*policy, "192.0.2.10"), GreylistOutcome::kPassed);
}

TEST_F(GreylistTest, ClientsThatRetriedSkipGreylisting) {
  auto policy = Policy();  // auto_allow_clients = 2
  for (const char* rcpt : {"a@example.test", "b@example.test"}) {
    EXPECT_EQ(Check(*policy, "192.0.2.10", "x@example.org", rcpt), GreylistOutcome::kGreylisted);
    now_ += 301 * kSecond;
    EXPECT_EQ(Check(*policy, "192.0.2.10", "x@example.org", rcpt), GreylistOutcome::kPassed);
    // At most one successful retry counts per hour, as postgrey counts them.
    now_ += kHour;
  }
  EXPECT_EQ(Check(*policy, "192.0.2.20", "y@example.org", "new@example.test"),
            GreylistOutcome::kAutoAllowed);
  EXPECT_EQ(Check(*policy, "203.0.113.5", "y@example.org", "new@example.test"),
            GreylistOutcome::kGreylisted);

  GreylistOptions off = Defaults();
  off.auto_allow_clients = 0;
  auto never = Policy(off);
  EXPECT_EQ(Check(*never, "192.0.2.20", "z@example.org", "new@example.test"),
            GreylistOutcome::kGreylisted);
}

TEST_F(GreylistTest, OneRetryPerHourCounts) {
  auto policy = Policy();
  for (const char* rcpt : {"a@example.test", "b@example.test"}) {
    Check(*policy, "192.0.2.10", "x@example.org", rcpt);
  }
  now_ += 301 * kSecond;
  for (const char* rcpt : {"a@example.test", "b@example.test"}) {
    EXPECT_EQ(Check(*policy, "192.0.2.10", "x@example.org", rcpt), GreylistOutcome::kPassed);
  }
  EXPECT_EQ(Check(*policy, "192.0.2.10", "x@example.org", "c@example.test"),
            GreylistOutcome::kGreylisted);
  auto clients = policy->store().Clients();
  ASSERT_TRUE(clients);
  ASSERT_EQ(clients->size(), 1u);
  EXPECT_EQ((*clients)[0].retries, 1);
}

TEST_F(GreylistTest, StateSurvivesReopeningAndUnusedEntriesExpire) {
  {
    auto policy = Policy();
    EXPECT_EQ(Check(*policy, "2001:db8:1:2::10"), GreylistOutcome::kGreylisted);
    EXPECT_EQ(last_.client, "[2001:db8:1:2::]/64");
  }
  now_ += 301 * kSecond;
  {
    auto policy = Policy();  // a new process, the same file
    EXPECT_EQ(Check(*policy, "2001:db8:1:2::99"), GreylistOutcome::kPassed);
  }
  auto policy = Policy();
  now_ += 24 * 35 * kHour + kSecond;  // greylist_max_age without mail
  EXPECT_EQ(Check(*policy, "2001:db8:1:2::10"), GreylistOutcome::kGreylisted);
  auto clients = policy->store().Clients();
  ASSERT_TRUE(clients);
  EXPECT_TRUE(clients->empty());

  auto cleared = policy->store().Clear();
  ASSERT_TRUE(cleared);
  EXPECT_EQ(*cleared, 1);
}

TEST_F(GreylistTest, UnixSocketClientsAreNotGreylisted) {
  auto policy = Policy();
  EXPECT_EQ(Check(*policy, "/var/run/moat/smtpd.sock"), GreylistOutcome::kNotApplicable);
}

TEST_F(GreylistTest, DeferTextAndHeader) {
  GreylistOptions options = Defaults();
  options.text = "Greylisted for %s seconds, see https://help.example/%r.html (100%%)";
  auto policy = Policy(options);
  Check(*policy, "192.0.2.10", "a@example.org", "Bob@Example.TEST");
  EXPECT_EQ(policy->DeferText(last_),
            "Greylisted for 300 seconds, see https://help.example/example.test.html (100%)");
  now_ += 400 * kSecond;
  Check(*policy, "192.0.2.10", "a@example.org", "bob@example.test");
  EXPECT_EQ(last_.outcome, GreylistOutcome::kPassed);
  EXPECT_EQ(policy->Header(last_).rfind("X-Greylist: delayed 400 seconds by moat-mta at "
                                        "mx.example.test; ",
                                        0),
            0u);
}

TEST(GreylistNormalizeTest, SendersAsPostgreyNormalisesThem) {
  EXPECT_EQ(NormalizeGreylistSender("Alice@Example.ORG", true), "alice@example.org");
  EXPECT_EQ(NormalizeGreylistSender("list+bounces-123@lists.example", true),
            "list@lists.example");
  EXPECT_EQ(NormalizeGreylistSender("prvs=1234abcdef=user@example.org", true), "user@example.org");
  EXPECT_EQ(NormalizeGreylistSender("bounce-42-7@mail.example", true), "bounce-#-#@mail.example");
  EXPECT_EQ(NormalizeGreylistSender("user2@example.org", true), "user2@example.org");
  EXPECT_EQ(NormalizeGreylistSender("list+x@lists.example", false), "list+x@lists.example");
  EXPECT_EQ(NormalizeGreylistSender("", true), "");
  EXPECT_EQ(GreylistClientNetwork("192.0.2.77", 24, 64), "192.0.2.0/24");
  EXPECT_EQ(GreylistClientNetwork("192.0.2.77", 32, 64), "192.0.2.77/32");
  EXPECT_EQ(GreylistClientNetwork("::ffff:192.0.2.77", 24, 64), "192.0.2.0/24");
  EXPECT_EQ(GreylistClientNetwork("unknown", 24, 64), "");
}

TEST(GreylistStoreTest, ACorruptFileIsAnError) {
  moat::testing::TempDir dir;
  std::string path = dir.WriteFile("greylist.sqlite", std::string(8192, 'x'));
  auto store = GreylistStore::Open(path);
  EXPECT_FALSE(store);
}

}  // namespace
}  // namespace moat::mta
