// bounce_sender_test.cc - notices queued into a real queue directory: the sender's report from
// <>, the postmaster copy from the double-bounce address, the double bounce of a failed bounce,
// and the rate limit of resource/software notices. Read back with the queue store.
#include "mta/bounce_sender.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/mta/queue_test_util.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using namespace std::chrono_literals;

class BounceSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = QueueStore::Open(testing::StoreOptions(dir_.Path("queue")));
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = *store;
    settings_.myhostname = "mx.example.test";
    settings_.policy.double_bounce_address = "double-bounce@mx.example.test";
    settings_.policy.myorigin = "example.test";
  }

  // Commits a message from `sender` and opens it as the queue manager would.
  QueueFile Queue(const std::string& sender) {
    QueueEnvelope envelope = testing::SampleEnvelope(2);
    envelope.sender = sender;
    envelope.attributes.ret = core::DsnRet::kUnspecified;
    for (QueueRecipient& r : envelope.recipients) r.notify = 0;
    std::string id = store_->NewId();
    EXPECT_TRUE(store_->Commit(id, envelope, "Subject: original\r\n\r\nthe body\r\n"));
    EXPECT_TRUE(store_->Move(id, QueueName::kIncoming, QueueName::kActive));
    auto file = store_->OpenFile(QueueName::kActive, id, true);
    EXPECT_TRUE(file) << file.error().ToString();
    return std::move(*file);
  }

  std::vector<RecipientLogEntry> Failed(const QueueFile& file) {
    std::vector<RecipientLogEntry> entries;
    for (const QueueRecipient& r : file.message().envelope.recipients) {
      entries.push_back({1, r.offset, r.address, "5.1.1", "failed", "no such user"});
    }
    return entries;
  }

  // The notices in incoming/ (with content), minus the originals still in active/.
  std::vector<QueuedMessage> Notices() {
    std::vector<QueuedMessage> out;
    auto ids = store_->List(QueueName::kIncoming);
    EXPECT_TRUE(ids);
    for (const QueueEntry& e : *ids) {
      auto m = store_->Read(QueueName::kIncoming, e.id, true);
      EXPECT_TRUE(m) << m.error().ToString();
      out.push_back(std::move(*m));
    }
    return out;
  }

  moat::testing::TempDir dir_;
  std::shared_ptr<QueueStore> store_;
  BounceSettings settings_;
};

TEST_F(BounceSenderTest, ReportToTheSenderAndAPostmasterCopy) {
  settings_.policy.classes = notify_class::kBounce;
  BounceSender sender(store_, settings_);
  QueueFile file = Queue("alice@example.org");
  auto sent =
      sender.Send(NoticeEvent::kFailure, file, Failed(file), std::chrono::steady_clock::now());
  ASSERT_TRUE(sent) << sent.error().ToString();
  EXPECT_EQ(*sent, 2u);
  auto notices = Notices();
  ASSERT_EQ(notices.size(), 2u);
  std::map<std::string, const QueuedMessage*> by_recipient;
  for (const QueuedMessage& m : notices) {
    ASSERT_EQ(m.envelope.recipients.size(), 1u);
    by_recipient[m.envelope.recipients[0].address] = &m;
  }
  const QueuedMessage* report = by_recipient["alice@example.org"];
  const QueuedMessage* copy = by_recipient["postmaster@example.test"];
  ASSERT_TRUE(report && copy);
  EXPECT_EQ(report->envelope.sender, "");
  EXPECT_NE(report->content.find("Subject: Undelivered Mail Returned to Sender"),
            std::string::npos);
  EXPECT_NE(report->content.find("the body"), std::string::npos);  // the whole original
  EXPECT_EQ(copy->envelope.sender, "double-bounce@mx.example.test");
  EXPECT_NE(copy->content.find("Subject: Postmaster Copy: Undelivered Mail"), std::string::npos);
  EXPECT_EQ(copy->content.find("the body"), std::string::npos);  // headers only
  EXPECT_NE(copy->content.find("text/rfc822-headers"), std::string::npos);
  // Notices are not filtered (no content_filter) and come from the bounce service.
  EXPECT_EQ(report->envelope.attributes.filter, "");
  EXPECT_EQ(report->envelope.attributes.service, "bounce");
}

TEST_F(BounceSenderTest, FailedBounceGoesWholeToTheDoubleBounceRecipientOrNowhere) {
  settings_.policy.classes = notify_class::kTwoBounce;
  settings_.policy.two_bounce_notice_recipient = "pm@example.net";
  BounceSender sender(store_, settings_);
  QueueFile bounce = Queue("");
  auto sent = sender.Send(NoticeEvent::kFailure, bounce, Failed(bounce), {});
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 1u);
  auto notices = Notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].envelope.sender, "double-bounce@mx.example.test");
  EXPECT_EQ(notices[0].envelope.recipients[0].address, "pm@example.net");
  EXPECT_NE(notices[0].content.find("the body"), std::string::npos);  // all of it

  // That notice failing in turn: nothing more.
  QueueFile notice = Queue("double-bounce@mx.example.test");
  sent = sender.Send(NoticeEvent::kFailure, notice, Failed(notice), {});
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, 0u);
  EXPECT_EQ(Notices().size(), 1u);
}

TEST_F(BounceSenderTest, ProblemNoticesAreRateLimitedPerClass) {
  settings_.policy.classes = notify_class::kResource | notify_class::kSoftware;
  BounceSender sender(store_, settings_);
  QueueFile file = Queue("alice@example.org");
  auto t0 = std::chrono::steady_clock::time_point(1000h);
  EXPECT_EQ(*sender.Send(NoticeEvent::kSoftware, file, Failed(file), t0), 1u);
  EXPECT_EQ(*sender.Send(NoticeEvent::kSoftware, file, Failed(file), t0 + 59min), 0u);
  EXPECT_EQ(*sender.Send(NoticeEvent::kResource, file, Failed(file), t0 + 59min), 1u);
  EXPECT_EQ(*sender.Send(NoticeEvent::kSoftware, file, Failed(file), t0 + 61min), 1u);
  auto notices = Notices();
  ASSERT_EQ(notices.size(), 3u);
  for (const QueuedMessage& m : notices) {
    EXPECT_EQ(m.envelope.recipients[0].address, "postmaster@example.test");
    EXPECT_NE(m.content.find("Subject: Postmaster Warning: Delivery Problem ("), std::string::npos);
  }
}

TEST_F(BounceSenderTest, DelayWarningSaysHowLongAndUntilWhen) {
  settings_.policy.classes = 0;
  settings_.timing.maximal_queue_lifetime = 5 * 24h;
  BounceSender sender(store_, settings_);
  QueueFile file = Queue("alice@example.org");
  std::vector<RecipientLogEntry> delayed = Failed(file);
  for (auto& e : delayed) {
    e.status = "4.4.1";
    e.action = "delayed";
  }
  ASSERT_EQ(*sender.Send(NoticeEvent::kDelay, file, delayed, {}), 1u);
  auto notices = Notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].envelope.sender, "");
  const std::string& text = notices[0].content;
  EXPECT_NE(text.find("Subject: Delayed Mail (still being retried)"), std::string::npos);
  EXPECT_NE(text.find("It will be retried until it is 5.0 day(s) old."), std::string::npos);
  // The sample message arrived in November 2023: Will-Retry-Until is five days later.
  EXPECT_NE(text.find("Will-Retry-Until: Sun, 19 Nov 2023"), std::string::npos) << text;
  EXPECT_EQ(text.find("the body"), std::string::npos);
}

}  // namespace
}  // namespace moat::mta
