// filterd_service_test.cc - one message from the end of DATA to the LMTP replies: policy banks,
// per-recipient reinjection replies, destinies, quarantine before the reply, DKIM signing of the
// originating bank, and the 4xx paths. The MTA's return listener is an in-process SMTP server
// (FakeRelay); the LMTP side is FilterService::Process without a socket (the daemon tests in
// tests/integration/ add the wire).
#include "filterd/filter_service.h"

#include <gtest/gtest.h>

#include "core/smtp_sasl.h"
#include "filterd/dkim_key.h"
#include "filterd/dkim_verifier.h"
#include "filterd/pass_policy.h"
#include "filterd/reinjector.h"
#include "quarantine/quarantine_store.h"
#include "tests/filterd/filterd_test_helpers.h"

namespace moat::filterd {
namespace {

using core::SmtpEnvelope;
using core::SmtpReply;
using moat::testing::TempDir;

const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: test\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "\r\n"
    "Hello.\r\n"
    ".leading dot, already unstuffed\r\n";

SmtpEnvelope Envelope(std::vector<std::string> recipients, std::string sender = "alice@example.com") {
  SmtpEnvelope envelope;
  envelope.mail.sender = std::move(sender);
  for (auto& r : recipients) envelope.recipients.push_back({r, 0, "", ""});
  return envelope;
}

// Fails every fsync once armed: a disk that refuses to make the quarantine copy durable.
class FailingSyncFileSystem : public quarantine::PosixStoreFileSystem {
 public:
  core::Status Sync(int fd, const std::string& path) override {
    if (fail.load()) return core::Fail(core::ErrorCode::kIo, "fsync {}: Input/output error", path);
    return PosixStoreFileSystem::Sync(fd, path);
  }
  std::atomic<bool> fail{false};
};

class FilterServiceTest : public ::testing::Test {
 protected:
  ~FilterServiceTest() override {
    if (reinjector_) io_.Run(reinjector_->Close());
  }

  void SetUpService(ContentFactory factory, std::vector<std::string> overrides = {}) {
    config_ = testing::LoadTestConfig(dir_, relay_.port(), std::move(overrides));
    holder_ = std::make_unique<SnapshotHolder>(BuildFilterdSnapshot(config_, factory, 1));
    const FilterdSettings& s = holder_->Get()->settings;
    quarantine::StoreOptions store_options;
    store_options.directory = s.quarantine_directory;
    store_options.file_system = file_system_;
    auto store = quarantine::QuarantineStore::Open(std::move(store_options));
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
    ReinjectorOptions options;
    options.peer = s.forward_to;
    options.client.helo_name = "filter.test";
    options.client.timeouts = s.forward_timeouts;
    reinjector_ = std::make_unique<Reinjector>(io_.io(), options);
    service_ = std::make_unique<FilterService>(
        *holder_, cpu_, FinisherServices{store_.get(), &cpu_, &disk_, reinjector_.get()});
  }

  std::vector<SmtpReply> Send(const std::string& bank, SmtpEnvelope envelope,
                              std::string message = kMessage,
                              core::XforwardAttributes xforward = {}) {
    core::SmtpSessionInfo info;
    info.mode = core::SmtpMode::kLmtp;
    info.client_address = "127.0.0.1";
    info.client_port = 40000;
    info.helo = "mta.test";
    info.local_port = 10024;
    info.xforward = std::move(xforward);
    return io_.Run(service_->Process(bank, info, envelope, message));
  }

  // The message as the relay got it, split into the fields filterd added and the rest.
  static std::pair<std::string, std::string> SplitAdded(const std::string& received) {
    std::size_t at = received.find(kMessage);
    if (at == std::string::npos) return {"", ""};
    return {received.substr(0, at), received.substr(at)};
  }

  TempDir dir_;
  testing::FakeRelay relay_;
  core::testing::IoThread io_{2};
  WorkerPool cpu_{"cpu", 2, 16};
  WorkerPool disk_{"disk", 1, 16};
  std::shared_ptr<FailingSyncFileSystem> file_system_ = std::make_shared<FailingSyncFileSystem>();
  std::shared_ptr<const core::Config> config_;
  std::unique_ptr<SnapshotHolder> holder_;
  std::unique_ptr<quarantine::QuarantineStore> store_;
  std::unique_ptr<Reinjector> reinjector_;
  std::unique_ptr<FilterService> service_;
};

TEST_F(FilterServiceTest, PassesByteIdenticalApartFromAddedHeaders) {
  SetUpService(BasicContentFactory());
  auto replies = Send("inbound", Envelope({"bob@example.org"}));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code(), 250) << replies[0].ToString();
  EXPECT_NE(replies[0].text().find("from MTA(127.0.0.1:"), std::string::npos);
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 1u);
  auto [added, rest] = SplitAdded(messages[0].message);
  EXPECT_EQ(rest, kMessage);
  for (std::size_t p; (p = added.find("\r\n ")) != std::string::npos;) added.erase(p, 2);
  EXPECT_TRUE(added.starts_with("Received: from mta.test ([127.0.0.1]) by filter.test "
                                "(moat-filterd, port 10024) with LMTP id "))
      << added;
  EXPECT_NE(added.find(" for <bob@example.org>; "), std::string::npos) << added;
  EXPECT_TRUE(added.ends_with("X-Virus-Scanned: " + config_->GetString("virus_scanned_header") +
                              "\r\n"))
      << added;
}

TEST_F(FilterServiceTest, OneReplyPerRecipientFromTheReinjection) {
  SetUpService(BasicContentFactory());
  auto replies = Send("inbound", Envelope({"ok@example.org", "reject@example.org",
                                           "tempfail@example.org"}));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].code(), 250);
  EXPECT_EQ(replies[1].code(), 550);
  EXPECT_EQ(replies[1].enhanced(), "5.1.1");
  EXPECT_NE(replies[1].text().find("User unknown"), std::string::npos);
  EXPECT_TRUE(replies[2].transient()) << replies[2].ToString();
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0].envelope.recipients[0].recipient, "ok@example.org");
}

TEST_F(FilterServiceTest, EnvelopeDsnAndXforwardArePreserved) {
  SetUpService(BasicContentFactory());
  SmtpEnvelope envelope = Envelope({"bob@example.org", "carol@example.org"}, "alice@example.com");
  envelope.mail.ret = core::DsnRet::kHeaders;
  envelope.mail.envid = "QQ314159";
  envelope.mail.body = core::SmtpBodyType::k8BitMime;
  envelope.recipients[0].notify = core::dsn_notify::kSuccess | core::dsn_notify::kFailure;
  envelope.recipients[0].orcpt_type = "rfc822";
  envelope.recipients[0].orcpt = "Bob@Example.org";
  envelope.recipients[1].notify = core::dsn_notify::kNever;
  core::XforwardAttributes x;
  x.addr = "203.0.113.9";
  x.name = "client.example.net";
  x.helo = "client-helo";
  x.proto = "ESMTP";
  x.ident = "4XyZ12";
  auto replies = Send("inbound", envelope, kMessage, x);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].code(), 250);
  EXPECT_EQ(replies[1].code(), 250);
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 1u);
  const auto& got = messages[0].envelope;
  EXPECT_EQ(got.mail.sender, "alice@example.com");
  EXPECT_EQ(got.mail.ret, core::DsnRet::kHeaders);
  EXPECT_EQ(got.mail.envid, "QQ314159");
  EXPECT_EQ(got.mail.body, core::SmtpBodyType::k8BitMime);
  ASSERT_EQ(got.recipients.size(), 2u);
  EXPECT_EQ(got.recipients[0], envelope.recipients[0]);
  EXPECT_EQ(got.recipients[1], envelope.recipients[1]);
  EXPECT_EQ(messages[0].xforward.addr, x.addr);
  EXPECT_EQ(messages[0].xforward.name, x.name);
  EXPECT_EQ(messages[0].xforward.helo, x.helo);
  EXPECT_EQ(messages[0].xforward.ident, x.ident);
}

TEST_F(FilterServiceTest, ReinjectionDownIsATempFailForEveryone) {
  SetUpService(BasicContentFactory());
  relay_.Stop();
  auto replies = Send("inbound", Envelope({"a@example.org", "b@example.org"}));
  ASSERT_EQ(replies.size(), 2u);
  for (const auto& reply : replies) {
    EXPECT_EQ(reply.code(), 451) << reply.ToString();  // 421 from the client becomes 451
  }
}

TEST_F(FilterServiceTest, ConnectionsAreReused) {
  SetUpService(BasicContentFactory());
  for (int i = 0; i < 5; ++i) {
    auto replies = Send("inbound", Envelope({"bob@example.org"}));
    ASSERT_EQ(replies[0].code(), 250);
  }
  EXPECT_EQ(reinjector_->counters().connections_opened.load(), 1u);
  EXPECT_EQ(reinjector_->counters().reused.load(), 4u);
}

TEST_F(FilterServiceTest, DestiniesPerRecipient) {
  SetUpService(testing::FactoryWith({}, std::make_shared<testing::ByRecipientPolicy>()));
  auto replies = Send("inbound", Envelope({"pass@example.org", "discard@example.org",
                                           "bounce@example.org", "policyreject@example.org",
                                           "tag@example.org"}));
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].code(), 250);
  EXPECT_EQ(replies[1].code(), 250);
  EXPECT_EQ(replies[1].enhanced(), "2.7.0");
  EXPECT_EQ(replies[2].code(), 554);
  EXPECT_EQ(replies[2].enhanced(), "5.7.1");
  EXPECT_EQ(replies[3].code(), 554);
  EXPECT_EQ(replies[3].enhanced(), "5.7.0");
  EXPECT_EQ(replies[4].code(), 250);
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 2u);  // one copy per distinct set of recipient edits
  EXPECT_EQ(messages[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(messages[0].envelope.recipients[0].recipient, "pass@example.org");
  EXPECT_EQ(messages[0].message.find("X-Test-Tag"), std::string::npos);
  EXPECT_EQ(messages[1].envelope.recipients[0].recipient, "tag@example.org");
  EXPECT_NE(messages[1].message.find("X-Test-Tag: tagged\r\n"), std::string::npos);
}

TEST_F(FilterServiceTest, QuarantineIsDurableBeforeTheReply) {
  SetUpService(testing::FactoryWith({}, std::make_shared<testing::QuarantineAllPolicy>()));
  core::XforwardAttributes x;
  x.addr = "198.51.100.7";
  auto replies = Send("inbound", Envelope({"bob@example.org", "carol@example.org"}), kMessage, x);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].code(), 250);
  EXPECT_EQ(replies[0].enhanced(), "2.7.0");
  std::string text = replies[0].text();
  std::size_t at = text.find("quarantined as ");
  ASSERT_NE(at, std::string::npos) << text;
  std::string id = text.substr(at + 15);
  EXPECT_TRUE(relay_.Messages().empty());

  // A second store (a reviewer, as `moat quarantine` opens it) sees the committed entry.
  quarantine::StoreOptions options;
  options.directory = holder_->Get()->settings.quarantine_directory;
  options.role = quarantine::StoreRole::kReviewer;
  auto reviewer = quarantine::QuarantineStore::Open(options);
  ASSERT_TRUE(reviewer.has_value()) << reviewer.error().ToString();
  auto entry = (*reviewer)->GetEntry(id);
  ASSERT_TRUE(entry.has_value()) << entry.error().ToString();
  EXPECT_EQ(entry->metadata.content_class, quarantine::ContentClass::kVirus);
  EXPECT_EQ(entry->metadata.reason, "Test.Quarantine");
  EXPECT_EQ(entry->metadata.envelope_sender, "alice@example.com");
  EXPECT_EQ(entry->metadata.recipients,
            (std::vector<std::string>{"bob@example.org", "carol@example.org"}));
  EXPECT_EQ(entry->metadata.client_address, "198.51.100.7");
  EXPECT_EQ(entry->metadata.policy_bank, "inbound");
  EXPECT_EQ(entry->metadata.message_id, "<m1@example.com>");
  EXPECT_EQ(entry->size, kMessage.size());
  EXPECT_NE(entry->metadata.trace_json.find("\"verdict\":\"VIRUS\""), std::string::npos);
  auto bytes = (*reviewer)->ReadMessage(id);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, kMessage);  // the original, not the edited copy
}

TEST_F(FilterServiceTest, QuarantineFailureDefersEveryRecipient) {
  SetUpService(testing::FactoryWith({}, std::make_shared<testing::QuarantineAllPolicy>()));
  file_system_->fail = true;
  auto replies = Send("inbound", Envelope({"bob@example.org", "carol@example.org"}));
  ASSERT_EQ(replies.size(), 2u);
  for (const auto& reply : replies) EXPECT_EQ(reply.code(), 451) << reply.ToString();
  file_system_->fail = false;
  auto page = store_->List({});
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->entries.empty());  // no half entry
}

TEST_F(FilterServiceTest, StageFailureIsATempFail) {
  SetUpService(testing::FactoryWith(
      {std::make_shared<testing::FailingStage>(FailureMode::kTempFail)},
      std::make_shared<PassAllPolicy>()));
  auto replies = Send("inbound", Envelope({"bob@example.org"}));
  EXPECT_EQ(replies[0].code(), 451);
  EXPECT_EQ(replies[0].enhanced(), "4.3.0");
  EXPECT_TRUE(relay_.Messages().empty());
}

TEST_F(FilterServiceTest, RecordUncheckedFailurePassesAsUnchecked) {
  SetUpService(testing::FactoryWith(
      {std::make_shared<testing::FailingStage>(FailureMode::kRecordUnchecked)},
      std::make_shared<PassAllPolicy>()));
  auto replies = Send("inbound", Envelope({"bob@example.org"}));
  EXPECT_EQ(replies[0].code(), 250);
  EXPECT_EQ(relay_.Messages().size(), 1u);
}

TEST(PolicyBankTest, XforwardAddrInMynetworksMeansOriginating) {
  auto networks = core::NetworkList::Parse("127.0.0.0/8 !192.0.2.1 192.0.2.0/24");
  ASSERT_TRUE(networks.has_value());
  core::XforwardAttributes x;
  EXPECT_EQ(*ChoosePolicyBank("inbound", x, *networks), "inbound");  // no XFORWARD: listener
  x.addr = "192.0.2.7";
  EXPECT_EQ(*ChoosePolicyBank("inbound", x, *networks), "originating");
  x.addr = "192.0.2.1";
  EXPECT_EQ(*ChoosePolicyBank("inbound", x, *networks), "inbound");
  x.addr = "203.0.113.1";
  EXPECT_EQ(*ChoosePolicyBank("inbound", x, *networks), "inbound");
  EXPECT_EQ(*ChoosePolicyBank("originating", x, *networks), "originating");
  x.addr = std::string(core::kXforwardUnavailable);
  EXPECT_EQ(*ChoosePolicyBank("inbound", x, *networks), "inbound");
}

class DkimSigningTest : public FilterServiceTest {
 protected:
  void SetUpKeys() {
    auto key = DkimPrivateKey::Generate(DkimKeyType::kEd25519, 0);
    ASSERT_TRUE(key.has_value());
    auto pem = key->ToPem();
    ASSERT_TRUE(pem.has_value());
    dir_.WriteFile("dkim/example.com.key", *pem);
    dir_.WriteFile("dkim/KeyTable", "k1 example.com:sel1:example.com.key\n");
    dir_.WriteFile("dkim/SigningTable", "*@example.com k1\n");
    record_ = "v=DKIM1; k=ed25519; p=" + core::Base64Encode(*key->PublicKeyData());
    SetUpService(BasicContentFactory(), {"dkim_key_table=dkim/KeyTable",
                                         "dkim_signing_table=refile:dkim/SigningTable"});
  }
  DkimSignatureResult Verify(const std::string& message) {
    DkimVerifier verifier(message);
    EXPECT_EQ(verifier.signature_count(), 1u);
    EXPECT_EQ(verifier.KeyName(0), "sel1._domainkey.example.com");
    DkimKeyAnswer answer;
    answer.status = DkimKeyAnswer::Status::kFound;
    answer.records = {record_};
    return verifier.Finish(0, answer, std::time(nullptr));
  }
  std::string record_;
};

TEST_F(DkimSigningTest, OriginatingBankSignsTheFinalBytes) {
  SetUpKeys();
  ASSERT_NE(holder_->Get()->dkim_keys, nullptr);
  auto replies = Send("originating", Envelope({"bob@example.org"}));
  ASSERT_EQ(replies[0].code(), 250);
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].message.starts_with("DKIM-Signature: ")) << messages[0].message;
  DkimSignatureResult result = Verify(messages[0].message);
  EXPECT_EQ(result.result, DkimResult::kPass) << result.reason;
  // The signature covers the headers filterd added: changing one breaks it.
  std::string tampered = messages[0].message;
  tampered.replace(tampered.find("Subject: test"), 13, "Subject: TEST");
  EXPECT_EQ(Verify(tampered).result, DkimResult::kFail);
}

TEST_F(DkimSigningTest, MynetworksClientOnTheInboundListenerIsSignedToo) {
  SetUpKeys();
  core::XforwardAttributes x;
  x.addr = "192.0.2.44";
  auto replies = Send("inbound", Envelope({"bob@example.org"}), kMessage, x);
  ASSERT_EQ(replies[0].code(), 250);
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].message.starts_with("DKIM-Signature: "));
}

TEST_F(DkimSigningTest, InboundAndUnknownDomainsPassUnsigned) {
  SetUpKeys();
  Send("inbound", Envelope({"bob@example.org"}));
  std::string other = kMessage;
  other.replace(other.find("alice@example.com"), 17, "alice@elsewhere.test");
  auto replies = Send("originating", Envelope({"bob@example.org"}), other);
  EXPECT_EQ(replies[0].code(), 250);
  auto messages = relay_.Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].message.find("DKIM-Signature"), std::string::npos);
  EXPECT_EQ(messages[1].message.find("DKIM-Signature"), std::string::npos);
}

}  // namespace
}  // namespace moat::filterd
