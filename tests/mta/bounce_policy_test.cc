// bounce_policy_test.cc - who gets which notice (Postfix bounce(8) and notify_classes), table by
// table: the sender's report and its NOTIFY, postmaster copies per class, double bounces, the
// double-bounce address that ends the loop, delay warnings, resource/software notices.
#include "mta/bounce_policy.h"

#include <gtest/gtest.h>

#include "core/smtp_envelope.h"
#include "tests/mta/routing_fixture.h"

namespace moat::mta {
namespace {

NotifyPolicy Policy(unsigned classes) {
  NotifyPolicy p;
  p.classes = classes;
  p.bounce_notice_recipient = "bounce-admin";
  p.two_bounce_notice_recipient = "2bounce-admin@example.net";
  p.delay_notice_recipient = "delay-admin";
  p.error_notice_recipient = "error-admin";
  p.double_bounce_address = "double-bounce@mx.example.test";
  p.myorigin = "example.test";
  return p;
}

QueueEnvelope Envelope(std::string sender, unsigned notify_a = 0, unsigned notify_b = 0) {
  QueueEnvelope e;
  e.sender = std::move(sender);
  QueueRecipient a;
  a.address = "a@example.net";
  a.offset = 100;
  a.notify = notify_a;
  QueueRecipient b;
  b.address = "b@example.net";
  b.offset = 200;
  b.notify = notify_b;
  e.recipients = {a, b};
  return e;
}

std::vector<RecipientLogEntry> Entries() {
  return {{1, 100, "a@example.net", "5.1.1", "failed", "no such user"},
          {1, 200, "b@example.net", "5.1.1", "failed", "no such user"}};
}

// "recipient<-sender[P][H][C]:n" per notice, P postmaster, H headers only, C critical, n entries.
std::string Describe(const NoticePlan& plan) {
  std::string out;
  for (const PlannedNotice& n : plan.notices) {
    if (!out.empty()) out += " ";
    out += n.recipient + "<-" + (n.sender.empty() ? "<>" : n.sender) + (n.postmaster ? "P" : "") +
           (n.headers_only ? "H" : "") + (n.critical ? "C" : "") + ":" +
           std::to_string(n.entries.size());
  }
  return out;
}

TEST(BouncePolicyTest, FailureNotices) {
  using namespace notify_class;
  struct Case {
    unsigned classes;
    std::string sender;
    std::string expected;
    std::string discarded;
  };
  const Case cases[] = {
      // Postfix's default (resource, software): the sender only.
      {kResource | kSoftware, "alice@example.org", "alice@example.org<-<>C:2", ""},
      // bounce: plus a headers-only postmaster copy from the double-bounce address.
      {kBounce, "alice@example.org",
       "alice@example.org<-<>C:2 bounce-admin@example.test<-double-bounce@mx.example.testPH:2", ""},
      // A failed bounce (<>): discarded by default, all of it to 2bounce_notice_recipient with
      // 2bounce or bounce (bounce implies 2bounce).
      {kResource | kSoftware, "", "", "undeliverable notification from <> discarded"},
      {kTwoBounce, "", "2bounce-admin@example.net<-double-bounce@mx.example.testPC:2", ""},
      {kBounce, "", "2bounce-admin@example.net<-double-bounce@mx.example.testPC:2", ""},
      // A failed postmaster notice: never another notice (no loop), whatever the classes.
      {kBounce | kTwoBounce | kDelay, "double-bounce@mx.example.test", "",
       "undeliverable postmaster notification discarded"},
      {kTwoBounce, "Double-Bounce@MX.example.test", "",
       "undeliverable postmaster notification discarded"},
  };
  for (const Case& c : cases) {
    NoticePlan plan =
        PlanNotices(Policy(c.classes), NoticeEvent::kFailure, Envelope(c.sender), Entries());
    EXPECT_EQ(Describe(plan), c.expected) << c.sender << " " << c.classes;
    EXPECT_EQ(plan.discarded, c.discarded) << c.sender << " " << c.classes;
    for (const PlannedNotice& n : plan.notices) {
      EXPECT_NE(n.recipient, "") << "never to the null sender";
    }
  }
}

TEST(BouncePolicyTest, SenderNotifyFlagsSelectRecipients) {
  using core::dsn_notify::kDelay;
  using core::dsn_notify::kFailure;
  using core::dsn_notify::kNever;
  using core::dsn_notify::kSuccess;
  // NOTIFY=NEVER for a@, none for b@: only b@ in the sender's report; the postmaster copy
  // still has both (Postfix's DSN_NOTIFY_OVERRIDE).
  NoticePlan plan = PlanNotices(Policy(notify_class::kBounce), NoticeEvent::kFailure,
                                Envelope("alice@example.org", kNever, 0), Entries());
  ASSERT_EQ(plan.notices.size(), 2u);
  ASSERT_EQ(plan.notices[0].entries.size(), 1u);
  EXPECT_EQ(plan.notices[0].entries[0].address, "b@example.net");
  EXPECT_EQ(plan.notices[1].entries.size(), 2u);
  // Nobody wants a failure notice: none, and the log says why.
  plan = PlanNotices(Policy(0), NoticeEvent::kFailure,
                     Envelope("alice@example.org", kNever, kSuccess | kDelay), Entries());
  EXPECT_EQ(Describe(plan), "");
  EXPECT_EQ(plan.discarded, "sender asked for no failure notice (NOTIFY)");
  // Delay warnings: NOTIFY without DELAY opts out.
  plan = PlanNotices(Policy(0), NoticeEvent::kDelay,
                     Envelope("alice@example.org", kFailure, kFailure | kDelay), Entries());
  EXPECT_EQ(Describe(plan), "alice@example.org<-<>HC:1");
  EXPECT_EQ(plan.notices[0].entries[0].address, "b@example.net");
}

TEST(BouncePolicyTest, DelayAndProblemNotices) {
  using namespace notify_class;
  auto describe = [](unsigned classes, NoticeEvent event, std::string sender) {
    return Describe(PlanNotices(Policy(classes), event, Envelope(sender), Entries()));
  };
  EXPECT_EQ(describe(0, NoticeEvent::kDelay, "alice@example.org"), "alice@example.org<-<>HC:2");
  EXPECT_EQ(describe(kDelay, NoticeEvent::kDelay, "alice@example.org"),
            "alice@example.org<-<>HC:2 "
            "delay-admin@example.test<-double-bounce@mx.example.testPH:2");
  // No warnings about bounces or postmaster notices.
  EXPECT_EQ(describe(kDelay, NoticeEvent::kDelay, ""), "");
  EXPECT_EQ(describe(kDelay, NoticeEvent::kDelay, "double-bounce@mx.example.test"), "");
  // resource and software: error_notice_recipient, each only with its class.
  EXPECT_EQ(describe(kResource, NoticeEvent::kResource, "alice@example.org"),
            "error-admin@example.test<-double-bounce@mx.example.testPH:2");
  EXPECT_EQ(describe(kResource, NoticeEvent::kSoftware, "alice@example.org"), "");
  EXPECT_EQ(describe(kSoftware, NoticeEvent::kSoftware, ""),
            "error-admin@example.test<-double-bounce@mx.example.testPH:2");
  EXPECT_EQ(describe(kBounce | kTwoBounce | kDelay, NoticeEvent::kSoftware, "alice@example.org"),
            "");
  // A stuck postmaster notice does not produce more notices.
  EXPECT_EQ(describe(kSoftware, NoticeEvent::kSoftware, "double-bounce@mx.example.test"), "");
  // Nothing to report, nothing planned.
  EXPECT_TRUE(PlanNotices(Policy(kBounce), NoticeEvent::kFailure, Envelope("a@example.org"), {})
                  .notices.empty());
}

TEST(BouncePolicyTest, FromMainCf) {
  testing::RoutingFixture fixture(
      "myhostname = mx.example.test\nmyorigin = example.test\n"
      "notify_classes = bounce, delay, protocol\n2bounce_notice_recipient = pm@example.net\n");
  NotifyPolicy p = NotifyPolicy::FromConfig(fixture.main());
  EXPECT_EQ(p.classes, notify_class::kBounce | notify_class::kDelay | notify_class::kOther);
  EXPECT_EQ(p.double_bounce_address, "double-bounce@mx.example.test");
  EXPECT_EQ(p.two_bounce_notice_recipient, "pm@example.net");
  EXPECT_EQ(p.bounce_notice_recipient, "postmaster");
  EXPECT_EQ(p.myorigin, "example.test");
  // Postfix's default.
  testing::RoutingFixture defaults("");
  EXPECT_EQ(NotifyPolicy::FromConfig(defaults.main()).classes,
            notify_class::kResource | notify_class::kSoftware);
  EXPECT_FALSE(NotifyPolicy::ParseClasses("bounce, nonsense"));
  EXPECT_EQ(*NotifyPolicy::ParseClasses(""), 0u);
}

}  // namespace
}  // namespace moat::mta
