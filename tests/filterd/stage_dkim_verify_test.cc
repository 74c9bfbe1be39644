// stage_dkim_verify_test.cc - DKIM in the content pipeline: keys from a real DNS server
// (dnsmasq), results in the scan JSON, SpamAssassin's DKIM_* names in the rules, and
// Authentication-Results planned as header edits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "filterd/content_artefacts.h"
#include "filterd/dkim_signer.h"
#include "filterd/dkim_tags.h"
#include "filterd/stage_dkim_verify.h"
#include "tests/filterd/content_test_util.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::filterd {
namespace {

using testing::ContentEnv;
using testing::Describe;
using testing::HasFinding;
constexpr int64_t kSigned = 1700000000;

const char* kMessage =
    "From: Alice <alice@example.test>\r\nTo: bob@example.net\r\nSubject: hello\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <dkim-1@example.test>\r\n"
    "Authentication-Results: mx.moat.test; dkim=pass header.d=forged.example\r\n"
    "\r\nHello Bob.\r\n";

// Rules that read the DKIM results, as SpamAssassin's 25_dkim.cf does, plus a meta on them.
const char* kDkimRules =
    "full DKIM_SIGNED eval:check_dkim_signed()\nscore DKIM_SIGNED 0.1\n"
    "full DKIM_VALID eval:check_dkim_valid()\nscore DKIM_VALID -0.1\n"
    "full DKIM_VALID_AU eval:check_dkim_valid_author_sig()\nscore DKIM_VALID_AU -0.1\n"
    "meta DKIM_INVALID DKIM_SIGNED && !DKIM_VALID\nscore DKIM_INVALID 0.1\n"
    "meta LOCAL_TRUSTED_AUTHOR DKIM_VALID_AU && !DKIM_INVALID\nscore LOCAL_TRUSTED_AUTHOR -2\n"
    "describe LOCAL_TRUSTED_AUTHOR Signed by the author's own domain\n";

class DkimStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rsa = DkimPrivateKey::Generate(DkimKeyType::kRsa, 2048);
    auto ed = DkimPrivateKey::Generate(DkimKeyType::kEd25519, 0);
    ASSERT_TRUE(rsa && ed);
    rsa_.emplace(DkimSigningKey{"example.test", "rsa1", *rsa});
    ed_.emplace(DkimSigningKey{"example.test", "ed1", *ed});
    third_.emplace(DkimSigningKey{"list.test", "lists", *rsa});
    auto record = [](const DkimPrivateKey& key) {
      return "v=DKIM1; k=" + std::string(DkimKeyTypeName(key.type())) +
             "; p=" + EncodeBase64(*key.PublicKeyData());
    };
    dns_ = moat::testing::DnsmasqServer::Start(
        {"example.test", "list.test"},
        {moat::testing::DnsmasqTxtRecord("rsa1._domainkey.example.test", record(rsa_->key)),
         moat::testing::DnsmasqTxtRecord("ed1._domainkey.example.test", record(ed_->key)),
         moat::testing::DnsmasqTxtRecord("lists._domainkey.list.test", record(rsa_->key))});
    ASSERT_TRUE(dns_);
    resources_ = ContentEnv::Get().resources();
    resources_.rules = rules::RuleSet::FromText(kDkimRules);
    ASSERT_TRUE(resources_.rules->report().errors.empty());
  }

  ScanResult Scan(const std::string& message, std::vector<std::string> overrides = {}) {
    overrides.push_back("dns_servers=" + dns_->address());
    overrides.push_back("authserv_id=mx.moat.test");
    auto config = ContentEnv::Get().Config(overrides);
    resources_.dns = NewDnsResolverProvider(*config);
    ContentPipeline pipeline = BuildContent(*config, "inbound", resources_);
    WorkerResources worker;
    ScanRequest request;
    request.message = message;
    return RunScan(std::move(request), pipeline, worker);
  }

  std::string Signed(const std::vector<DkimSigningKey>& keys, const std::string& message) {
    auto fields = SignDkimAll(message, keys, kSigned);
    EXPECT_TRUE(fields) << fields.error().ToString();
    return *fields + message;
  }

  std::set<std::string> SpamHits(const ScanResult& r) {
    std::set<std::string> names;
    for (const Finding& f : r.context.findings) {
      if (f.stage == "spam") names.insert(f.name);
    }
    return names;
  }

  std::optional<DkimSigningKey> rsa_, ed_, third_;
  std::unique_ptr<moat::testing::DnsmasqServer> dns_;
  ContentResources resources_;
};

TEST_F(DkimStageTest, ValidSignaturesReachTheJsonAndTheRules) {
  ScanResult r = Scan(Signed({*rsa_, *ed_}, kMessage));
  ASSERT_FALSE(r.tempfail) << Describe(r);
  const auto* dkim = r.context.Artefact<DkimArtefact>(kDkimArtefact);
  ASSERT_NE(dkim, nullptr);
  ASSERT_EQ(dkim->results.size(), 2u);
  for (const DkimSignatureResult& s : dkim->results) {
    EXPECT_EQ(s.result, DkimResult::kPass) << s.reason;
  }
  EXPECT_EQ(dkim->hits.Names(),
            (std::vector<std::string>{"DKIM_SIGNED", "DKIM_VALID", "DKIM_VALID_AU"}));
  EXPECT_EQ(SpamHits(r), (std::set<std::string>{"DKIM_SIGNED", "DKIM_VALID", "DKIM_VALID_AU",
                                                "LOCAL_TRUSTED_AUTHOR"}))
      << Describe(r);
  EXPECT_TRUE(HasFinding(r, "dkim", "pass"));

  nlohmann::json json = nlohmann::json::parse(ScanReportJson(r));
  ASSERT_EQ(json["dkim"].size(), 2u);
  EXPECT_EQ(json["dkim"][0]["domain"], "example.test");
  EXPECT_EQ(json["dkim"][0]["selector"], "rsa1");
  EXPECT_EQ(json["dkim"][0]["algorithm"], "rsa-sha256");
  EXPECT_EQ(json["dkim"][0]["result"], "pass");
  EXPECT_EQ(json["dkim"][1]["algorithm"], "ed25519-sha256");
  EXPECT_EQ(json["dkim_rules"],
            nlohmann::json::array({"DKIM_SIGNED", "DKIM_VALID", "DKIM_VALID_AU"}));

  // Authentication-Results: the forged one with our authserv-id goes, ours comes.
  ASSERT_EQ(r.context.header_edits.size(), 2u);
  EXPECT_EQ(r.context.header_edits[0].kind, HeaderEdit::Kind::kRemoveAll);
  EXPECT_EQ(r.context.header_edits[0].authserv_id, "mx.moat.test");
  EXPECT_TRUE(r.context.header_edits[1].value.starts_with("mx.moat.test; dkim=pass"))
      << r.context.header_edits[1].value;
  EXPECT_NE(r.context.header_edits[1].value.find("header.d=example.test"), std::string::npos);
}

TEST_F(DkimStageTest, AlteredBodyFailsAndIsInvalid) {
  std::string message = Signed({*rsa_}, kMessage);
  message.replace(message.find("Hello Bob."), 10, "Hello Eve.");
  ScanResult r = Scan(message);
  const auto* dkim = r.context.Artefact<DkimArtefact>(kDkimArtefact);
  ASSERT_NE(dkim, nullptr);
  ASSERT_EQ(dkim->results.size(), 1u);
  EXPECT_EQ(dkim->results[0].result, DkimResult::kFail);
  EXPECT_EQ(dkim->hits.Names(), (std::vector<std::string>{"DKIM_SIGNED", "DKIM_INVALID"}));
  EXPECT_EQ(SpamHits(r), (std::set<std::string>{"DKIM_SIGNED", "DKIM_INVALID"})) << Describe(r);
  EXPECT_TRUE(r.context.header_edits[1].value.starts_with("mx.moat.test; dkim=fail"));
}

TEST_F(DkimStageTest, ThirdPartySignatureIsValidButNotTheAuthors) {
  ScanResult r = Scan(Signed({*third_}, kMessage));
  EXPECT_EQ(SpamHits(r), (std::set<std::string>{"DKIM_SIGNED", "DKIM_VALID"})) << Describe(r);
}

TEST_F(DkimStageTest, DnsTroubleIsTemperrorAndTheMailIsNotLost) {
  // The environment's own DNS server address is a closed port: every lookup fails at once.
  auto config = ContentEnv::Get().Config({"authserv_id=mx.moat.test"});
  resources_.dns = NewDnsResolverProvider(*config);
  ContentPipeline pipeline = BuildContent(*config, "inbound", resources_);
  WorkerResources worker;
  ScanRequest request;
  request.message = Signed({*rsa_}, kMessage);
  ScanResult r = RunScan(std::move(request), pipeline, worker);
  EXPECT_FALSE(r.tempfail) << Describe(r);
  const auto* dkim = r.context.Artefact<DkimArtefact>(kDkimArtefact);
  ASSERT_NE(dkim, nullptr);
  ASSERT_EQ(dkim->results.size(), 1u);
  EXPECT_EQ(dkim->results[0].result, DkimResult::kTempError) << dkim->results[0].reason;
  EXPECT_EQ(r.decision.recipients[0].destiny, Destiny::kPass);
  EXPECT_TRUE(r.context.header_edits[1].value.starts_with("mx.moat.test; dkim=temperror"));

  // No resolver at all: the same.
  resources_.dns = [](const asio::any_io_executor&)
      -> core::Result<std::shared_ptr<core::DnsResolver>> {
    return core::Fail(core::ErrorCode::kIo, "c-ares cannot start");
  };
  ContentPipeline broken = BuildContent(*config, "inbound", resources_);
  ScanRequest again;
  again.message = Signed({*rsa_}, kMessage);
  ScanResult b = RunScan(std::move(again), broken, worker);
  const auto* d = b.context.Artefact<DkimArtefact>(kDkimArtefact);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->results[0].result, DkimResult::kTempError);
  EXPECT_NE(d->results[0].reason.find("c-ares cannot start"), std::string::npos);
}

TEST_F(DkimStageTest, UnsignedMailHasNoneAndNoLookups) {
  ScanResult r = Scan(kMessage);
  const auto* dkim = r.context.Artefact<DkimArtefact>(kDkimArtefact);
  ASSERT_NE(dkim, nullptr);
  EXPECT_TRUE(dkim->results.empty());
  EXPECT_TRUE(SpamHits(r).empty()) << Describe(r);
  EXPECT_EQ(r.context.header_edits[1].value,
            "mx.moat.test; dkim=none; dmarc=none header.from=example.test");
}

}  // namespace
}  // namespace moat::filterd
