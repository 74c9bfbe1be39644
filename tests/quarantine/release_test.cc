// release_test.cc - releasing held mail: the bytes sent (original + one header on top), what is
// recorded, force, chosen recipients, transport failures, and a DKIM signature that still
// verifies with dkimpy after the release.
#include <gtest/gtest.h>

#include "quarantine/quarantine_store.h"
#include "quarantine/release_message.h"
#include "tests/quarantine/quarantine_test_util.h"
#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

TEST(ReleasedHeaderTest, GoesOnTopInTheMessagesOwnLineEnding) {
  TimePoint time = FromUnixMicros(1'795'248'300'000'000);  // Sat, 21 Nov 2026 08:05:00 +0000
  std::string id = "20261121-080117.123456-9f3ac2e17b4d";
  std::string crlf = test::SampleMessage(1, "\r\n");
  std::string released = BuildReleasedMessage(crlf, id, "cli:root", time);
  std::string expected_header =
      "X-Quarantine-Released: id 20261121-080117.123456-9f3ac2e17b4d\r\n"
      "\tby cli:root; Sat, 21 Nov 2026 08:05:00 +0000\r\n";
  EXPECT_EQ(released, expected_header + crlf);

  std::string lf = test::SampleMessage(1, "\n");
  std::string released_lf = BuildReleasedMessage(lf, id, "web:alice", time);
  EXPECT_EQ(released_lf,
            "X-Quarantine-Released: id 20261121-080117.123456-9f3ac2e17b4d\n"
            "\tby web:alice; Sat, 21 Nov 2026 08:05:00 +0000\n" +
                lf);
  // RFC 5322's 78-character advice holds even for the longest actor.
  std::string header = ReleasedHeader(id, std::string(200, 'a'), time, "\r\n");
  for (size_t start = 0, end; (end = header.find("\r\n", start)) != std::string::npos;
       start = end + 2) {
    EXPECT_LE(end - start, 78u) << header;
  }
}

TEST(ReleasedHeaderTest, ActorCannotInjectHeaders) {
  EXPECT_EQ(SanitizeActor("web:alice"), "web:alice");
  EXPECT_EQ(SanitizeActor("x\r\nBcc: victim@example.org"), "x__Bcc:_victim@example.org");
  EXPECT_EQ(SanitizeActor(""), "unknown");
  EXPECT_EQ(SanitizeActor(std::string(100, 'b')).size(), 64u);
  std::string header =
      ReleasedHeader("20261121-080117.123456-9f3ac2e17b4d", "a\nb: c", FromUnixMicros(0), "\r\n");
  EXPECT_EQ(std::count(header.begin(), header.end(), '\n'), 2);
}

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.directory = dir_.path();
    options.clock = clock_.Function();
    auto store = QuarantineStore::Open(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    auto id = store_->Store(message_, test::SampleMetadata());
    ASSERT_TRUE(id);
    id_ = *id;
    clock_.now += std::chrono::hours(2);
  }
  testing::TempDir dir_;
  test::FakeClock clock_;
  std::unique_ptr<QuarantineStore> store_;
  std::string message_ = test::SampleMessage(1);
  std::string id_;
  test::FakeSender sender_;
};

TEST_F(ReleaseTest, SendsTheOriginalBytesAndRecordsWhoWhenAndToWhom) {
  auto released = store_->Release(id_, {{}, "cli:root", false}, sender_);
  ASSERT_TRUE(released) << released.error().ToString();
  ASSERT_EQ(sender_.calls.size(), 1u);
  const test::FakeSender::Call& call = sender_.calls[0];
  EXPECT_EQ(call.sender, "sender@example.net");
  EXPECT_EQ(call.recipients, test::SampleMetadata().recipients);
  std::string header = ReleasedHeader(id_, "cli:root", clock_.now, "\r\n");
  EXPECT_EQ(call.message, header + message_);
  EXPECT_EQ(released->outcome.accepted, test::SampleMetadata().recipients);

  auto entry = store_->GetEntry(id_);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->state, EntryState::kReleased);
  ASSERT_EQ(entry->history.size(), 1u);
  const EntryEvent& event = entry->history[0];
  EXPECT_EQ(event.kind, EntryEvent::Kind::kRelease);
  EXPECT_EQ(event.time, clock_.now);
  EXPECT_EQ(event.actor, "cli:root");
  EXPECT_EQ(event.recipients, test::SampleMetadata().recipients);
  EXPECT_TRUE(std::filesystem::exists(store_->MessagePath(id_)));  // the copy is kept
}

TEST_F(ReleaseTest, ReleasingAgainNeedsForce) {
  ASSERT_TRUE(store_->Release(id_, {{}, "cli:root", false}, sender_));
  auto again = store_->Release(id_, {{}, "web:bob", false}, sender_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kPermFail);
  EXPECT_NE(again.error().message().find("released already"), std::string::npos);
  EXPECT_NE(again.error().message().find("cli:root"), std::string::npos);  // by whom, before
  EXPECT_EQ(sender_.calls.size(), 1u);

  clock_.now += std::chrono::minutes(5);
  auto forced = store_->Release(id_, {{}, "web:bob", true}, sender_);
  ASSERT_TRUE(forced) << forced.error().ToString();
  EXPECT_EQ(sender_.calls.size(), 2u);
  auto entry = store_->GetEntry(id_);
  ASSERT_EQ(entry->history.size(), 2u);
  EXPECT_EQ(entry->history[1].actor, "web:bob");
  EXPECT_EQ(entry->history[1].detail, "forced");
}

TEST_F(ReleaseTest, ToAChosenAddress) {
  auto released = store_->Release(id_, {{"admin@example.com"}, "cli:root", false}, sender_);
  ASSERT_TRUE(released);
  EXPECT_EQ(sender_.calls[0].recipients, std::vector<std::string>{"admin@example.com"});
  EXPECT_EQ(store_->GetEntry(id_)->history[0].recipients,
            std::vector<std::string>{"admin@example.com"});
}

TEST_F(ReleaseTest, TransportFailureRecordsNothing) {
  sender_.error = core::Error(ErrorCode::kTempFail, "connect 127.0.0.1:10025: Connection refused");
  auto released = store_->Release(id_, {{}, "cli:root", false}, sender_);
  ASSERT_FALSE(released);
  EXPECT_EQ(released.error().code(), ErrorCode::kTempFail);
  EXPECT_NE(released.error().message().find("Connection refused"), std::string::npos);
  auto entry = store_->GetEntry(id_);
  EXPECT_EQ(entry->state, EntryState::kHeld);
  EXPECT_TRUE(entry->history.empty());
}

TEST_F(ReleaseTest, RejectedRecipientsAreNotRecordedAsReleased) {
  sender_.reject = {"other@example.com"};
  auto partial = store_->Release(id_, {{}, "cli:root", false}, sender_);
  ASSERT_TRUE(partial) << partial.error().ToString();
  ASSERT_EQ(partial->outcome.rejected.size(), 1u);
  auto entry = store_->GetEntry(id_);
  EXPECT_EQ(entry->history[0].recipients, std::vector<std::string>{"rcpt@example.com"});
  EXPECT_NE(entry->history[0].detail.find("rejected <other@example.com>: 550"), std::string::npos);

  sender_.reject = {"nobody@example.com"};
  auto none = store_->Release(id_, {{"nobody@example.com"}, "cli:root", true}, sender_);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kPermFail);
  EXPECT_EQ(store_->GetEntry(id_)->history.size(), 1u);
}

TEST_F(ReleaseTest, RefusesAddressesThatWouldBreakTheSmtpCommand) {
  for (std::string bad : {"a@b>\r\nRCPT TO:<c@d", "two words@x", "", "<x@y>"}) {
    auto released = store_->Release(id_, {{bad}, "cli:root", false}, sender_);
    ASSERT_FALSE(released) << bad;
    EXPECT_EQ(released.error().code(), ErrorCode::kInvalid) << bad;
  }
  EXPECT_TRUE(sender_.calls.empty());
}

TEST_F(ReleaseTest, DeletedEntryCannotBeReleased) {
  ASSERT_TRUE(store_->Delete(id_, "cli:root"));
  auto released = store_->Release(id_, {{}, "cli:root", true}, sender_);
  ASSERT_FALSE(released);
  EXPECT_EQ(released.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(sender_.calls.empty());
}

// A message signed by dkimpy, held, and released still verifies with dkimpy: the header went on
// top, outside the signed set, and not one byte of the rest changed. A body edit must break it,
// or the check would prove nothing.
TEST(ReleaseDkimTest, SignatureStillVerifiesAfterRelease) {
  if (!testing::HaveTool(testing::kSystemPython) || !testing::HaveTool("openssl")) {
    GTEST_SKIP() << "needs /usr/bin/python3 with python3-dkim and openssl";
  }
  testing::TempDir dir;
  std::string key = dir.Path("key.pem"), pub = dir.Path("pub.pem");
  ASSERT_EQ(testing::RunCommand({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                 "rsa_keygen_bits:2048", "-out", key})
                .exit_code,
            0);
  ASSERT_EQ(testing::RunCommand({"openssl", "pkey", "-in", key, "-pubout", "-out", pub}).exit_code,
            0);
  std::string tool = testing::SourcePath("tests/quarantine/dkim_sign_verify.py");
  auto verify = [&](const std::string& message) {
    testing::CommandOptions options;
    options.stdin_data = message;
    auto result = testing::RunCommand({testing::kSystemPython, tool, "verify", pub}, options);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out == "pass\n";
  };

  StoreOptions options;
  options.directory = dir.Path("quarantine");
  auto store = QuarantineStore::Open(options);
  ASSERT_TRUE(store);
  for (std::string canonicalization : {"simple/simple", "relaxed/relaxed"}) {
    testing::CommandOptions sign_options;
    sign_options.stdin_data = test::SampleMessage(7);
    auto signed_message = testing::RunCommand(
        {testing::kSystemPython, tool, "sign", key, "sel1", "example.net", canonicalization},
        sign_options);
    ASSERT_EQ(signed_message.exit_code, 0) << signed_message.err;
    ASSERT_TRUE(signed_message.out.starts_with("DKIM-Signature:"));
    ASSERT_TRUE(verify(signed_message.out)) << canonicalization << ": the signature itself";

    auto id = (*store)->Store(signed_message.out, test::SampleMetadata());
    ASSERT_TRUE(id);
    test::FakeSender sender;
    ASSERT_TRUE((*store)->Release(*id, {{}, "cli:root", false}, sender));
    const std::string& sent = sender.calls.at(0).message;
    ASSERT_TRUE(sent.starts_with("X-Quarantine-Released: id " + *id));
    EXPECT_EQ(sent.substr(sent.size() - signed_message.out.size()), signed_message.out);
    EXPECT_TRUE(verify(sent)) << canonicalization << ": after release";

    std::string tampered = sent;
    tampered.replace(tampered.rfind("message 7"), 9, "message 8");
    EXPECT_FALSE(verify(tampered)) << canonicalization << ": a changed body must fail";
  }
}

}  // namespace
}  // namespace moat::quarantine
