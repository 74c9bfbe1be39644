// stage_dmarc_test.cc - DMARC in the content pipeline (what `moat scan` and moat-filterd run):
// the MTA's Received-SPF and our DKIM results against policies from a real DNS server
// (dnsmasq), the destinies of dmarc_*_destiny, Authentication-Results, SpamAssassin's SPF and
// DMARC rules (Debian's own 25_spf.cf and 25_dmarc.cf), the scan report, and DNS trouble.
// clang-format off
#include <optional>
#include <stdexcept>
#include <asio.hpp>
// clang-format on

#include "filterd/stage_dmarc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/config_error.h"
#include "core/received_spf.h"
#include "filterd/content_artefacts.h"
#include "filterd/dkim_signer.h"
#include "filterd/dkim_tags.h"
#include "filterd/dmarc_policy.h"
#include "tests/filterd/content_test_util.h"
#include "tests/mta/servfail_server.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::filterd {
namespace {

using testing::ContentEnv;
using testing::Describe;
using testing::HasFinding;

constexpr int64_t kSigned = 1700000000;

// The Received-SPF field moat-mta's smtpd prepends (core/received_spf.h), above its Received.
std::string MtaFields(core::SpfResult result, const std::string& sender) {
  core::ReceivedSpf spf;
  spf.result = result;
  spf.identity = core::SpfIdentity::kMailFrom;
  spf.comment = "mx.moat.test: test";
  spf.receiver = "mx.moat.test";
  spf.client_ip = "192.0.2.1";
  spf.envelope_from = sender;
  spf.helo = "mx.sender.example";
  return core::FormatReceivedSpf(spf) +
         "Received: from mx.sender.example (mx.sender.example [192.0.2.1])\r\n"
         "\tby mx.moat.test (Moat) with ESMTP id 4XyZ1 for <r@moat.test>;\r\n"
         "\tTue, 14 Nov 2023 22:13:20 +0000\r\n";
}

std::string Message(const std::string& from, const std::string& id = "dmarc-1") {
  return "From: " + from +
         "\r\nTo: r@moat.test\r\nSubject: quarterly report\r\n"
         "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <" +
         id +
         "@example.test>\r\n"
         "\r\nThe figures are attached.\r\n";
}

std::string SaRules() {
  std::string text = moat::testing::ReadTextFile("/usr/share/spamassassin/25_spf.cf") +
                     moat::testing::ReadTextFile("/usr/share/spamassassin/25_dmarc.cf");
  for (const char* rule :
       {"SPF_PASS", "SPF_FAIL", "SPF_SOFTFAIL", "SPF_NEUTRAL", "SPF_NONE", "SPF_HELO_NONE",
        "DMARC_PASS", "DMARC_REJECT", "DMARC_QUAR", "DMARC_NONE", "DMARC_MISSING"}) {
    text += fmt::format("score {} 0.5\n", rule);
  }
  return text;
}

class DmarcStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = DkimPrivateKey::Generate(DkimKeyType::kEd25519, 0);
    ASSERT_TRUE(key);
    key_.emplace(DkimSigningKey{"bank.example", "s1", *key});
    dns_ = moat::testing::DnsmasqServer::Start(
        {"bank.example", "news.example", "open.example", "sender.example"},
        {moat::testing::DnsmasqTxtRecord("_dmarc.bank.example", "v=DMARC1; p=reject"),
         moat::testing::DnsmasqTxtRecord("_dmarc.news.example", "v=DMARC1; p=quarantine"),
         moat::testing::DnsmasqTxtRecord("_dmarc.open.example", "v=DMARC1; p=none"),
         moat::testing::DnsmasqTxtRecord(
             "s1._domainkey.bank.example",
             "v=DKIM1; k=ed25519; p=" + EncodeBase64(*key->PublicKeyData()))});
    ASSERT_TRUE(dns_);
    resources_ = ContentEnv::Get().resources();
    resources_.rules = rules::RuleSet::FromText(SaRules());
    ASSERT_TRUE(resources_.rules->report().errors.empty());
  }

  ScanResult Scan(const std::string& message, std::vector<std::string> overrides = {},
                  const std::string& client = "", const std::string& bank = "inbound") {
    overrides.push_back("dns_servers=" + dns_->address());
    overrides.push_back("authserv_id=mx.moat.test");
    auto config = ContentEnv::Get().Config(overrides);
    resources_.dns = NewDnsResolverProvider(*config);
    ContentPipeline pipeline = BuildContent(*config, bank, resources_);
    WorkerResources worker;
    ScanRequest request;
    request.message = message;
    request.client_address = client;
    request.recipients = {"r@moat.test", "s@moat.test"};
    return RunScan(std::move(request), pipeline, worker);
  }

  std::set<std::string> RuleHits(const ScanResult& r) {
    std::set<std::string> hits;
    if (const auto* spam = r.context.Artefact<SpamArtefact>(kSpamArtefact)) {
      for (const auto& h : spam->evaluation.hits) hits.insert(h.name);
    }
    return hits;
  }

  static std::string OurAuthenticationResults(const ScanResult& r) {
    for (const HeaderEdit& e : r.context.header_edits) {
      if (e.kind == HeaderEdit::Kind::kPrepend && e.name == "Authentication-Results") {
        return e.value;
      }
    }
    return "";
  }

  std::unique_ptr<moat::testing::DnsmasqServer> dns_;
  std::optional<DkimSigningKey> key_;
  ContentResources resources_;
};

TEST_F(DmarcStageTest, SpfPassAlignedIsDmarcPassAndEverySectionSaysSo) {
  ScanResult r = Scan(MtaFields(core::SpfResult::kPass, "bounces@mail.bank.example") +
                      Message("Bank <ceo@bank.example>"));
  const auto* dmarc = r.context.Artefact<DmarcArtefact>(kDmarcArtefact);
  ASSERT_NE(dmarc, nullptr);
  EXPECT_EQ(dmarc->outcome.result, DmarcResult::kPass) << Describe(r);
  EXPECT_TRUE(dmarc->outcome.spf_aligned);
  EXPECT_TRUE(dmarc->enforced);
  EXPECT_TRUE(HasFinding(r, "dmarc", "pass"));
  for (const RecipientDecision& d : r.decision.recipients) EXPECT_EQ(d.destiny, Destiny::kPass);

  // One Authentication-Results field with every method, the forged ones removed.
  EXPECT_EQ(OurAuthenticationResults(r),
            "mx.moat.test; dkim=none; spf=pass smtp.mailfrom=mail.bank.example; "
            "dmarc=pass (p=reject dis=none) header.from=bank.example");
  size_t ours = 0;
  for (const HeaderEdit& e : r.context.header_edits) ours += e.name == "Authentication-Results";
  EXPECT_EQ(ours, 2u);  // the removal and the field

  EXPECT_EQ(RuleHits(r), (std::set<std::string>{"SPF_PASS", "DMARC_PASS"})) << Describe(r);

  nlohmann::json json = nlohmann::json::parse(ScanReportJson(r));
  EXPECT_EQ(json["dmarc"]["result"], "pass");
  EXPECT_EQ(json["dmarc"]["policy"], "reject");
  EXPECT_EQ(json["dmarc"]["domain"], "bank.example");
  EXPECT_EQ(json["dmarc"]["org_domain"], "bank.example");
  EXPECT_EQ(json["dmarc"]["spf_aligned"], true);
  EXPECT_EQ(json["dmarc"]["dkim_aligned"], false);
  EXPECT_EQ(json["dmarc"]["rule"], "DMARC_PASS");
  EXPECT_TRUE(json["dmarc"]["action"].is_null());
  EXPECT_EQ(json["spf"]["mail_from"]["result"], "pass");
  EXPECT_EQ(json["spf"]["mail_from"]["domain"], "mail.bank.example");
  EXPECT_EQ(json["spf"]["mail_from"]["client_ip"], "192.0.2.1");
  EXPECT_EQ(json["spf"]["rules"], nlohmann::json::array({"SPF_PASS"}));
  EXPECT_EQ(json["verdict"], "CLEAN");  // the existing fields are still there
  std::string text = Describe(r);
  EXPECT_NE(text.find("SPF (the MTA's Received-SPF):\n  mailfrom pass for mail.bank.example"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("DMARC: pass for bank.example"), std::string::npos) << text;
  EXPECT_NE(text.find("dmarc: pass for bank.example"), std::string::npos) << text;  // the trace
}

TEST_F(DmarcStageTest, DkimAlignedSignatureIsDmarcPass) {
  std::vector<DkimSigningKey> keys = {*key_};
  auto signatures = SignDkimAll(Message("ceo@bank.example"), keys, kSigned);
  ASSERT_TRUE(signatures);
  ScanResult r = Scan(MtaFields(core::SpfResult::kFail, "x@elsewhere.example") + *signatures +
                      Message("ceo@bank.example"));
  const auto* dmarc = r.context.Artefact<DmarcArtefact>(kDmarcArtefact);
  ASSERT_NE(dmarc, nullptr);
  EXPECT_EQ(dmarc->outcome.result, DmarcResult::kPass) << Describe(r);
  EXPECT_TRUE(dmarc->outcome.dkim_aligned);
  EXPECT_FALSE(dmarc->outcome.spf_aligned);
  EXPECT_EQ(RuleHits(r), (std::set<std::string>{"SPF_FAIL", "DMARC_PASS"})) << Describe(r);
  EXPECT_NE(OurAuthenticationResults(r).find("; spf=fail smtp.mailfrom=elsewhere.example; "
                                             "dmarc=pass (p=reject dis=none) "
                                             "header.from=bank.example"),
            std::string::npos)
      << OurAuthenticationResults(r);
}

TEST_F(DmarcStageTest, RejectPolicyFailureGetsItsConfiguredDestiny) {
  const std::string spoof =
      MtaFields(core::SpfResult::kSoftFail, "x@elsewhere.example") + Message("ceo@bank.example");

  ScanResult q = Scan(spoof);  // default: quarantine
  EXPECT_EQ(RuleHits(q), (std::set<std::string>{"SPF_SOFTFAIL", "DMARC_REJECT"})) << Describe(q);
  EXPECT_EQ(q.decision.content_class, ContentClass::kClean);
  EXPECT_TRUE(q.decision.quarantine);
  EXPECT_EQ(q.decision.subclass, "dmarc-reject");
  EXPECT_TRUE(q.decision.reason.starts_with("DMARC p=reject bank.example: SPF softfail"))
      << q.decision.reason;
  for (const RecipientDecision& d : q.decision.recipients) EXPECT_EQ(d.destiny, Destiny::kDiscard);
  EXPECT_NE(OurAuthenticationResults(q).find("dmarc=fail (p=reject dis=reject)"),
            std::string::npos);
  EXPECT_NE(Describe(q).find("dmarc_reject_destiny = quarantine"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(ScanReportJson(q))["dmarc"]["action"], "quarantine");

  ScanResult j = Scan(spoof, {"dmarc_reject_destiny=reject"});
  EXPECT_FALSE(j.decision.quarantine);
  for (const RecipientDecision& d : j.decision.recipients) {
    EXPECT_EQ(d.destiny, Destiny::kReject);
    EXPECT_EQ(d.reply.code(), 550);
    EXPECT_EQ(d.reply.ToString(), "550 5.7.1 Rejected by DMARC policy for bank.example, id=scan");
  }

  ScanResult t = Scan(spoof, {"dmarc_reject_destiny=tag"});
  EXPECT_FALSE(t.decision.quarantine);
  for (const RecipientDecision& d : t.decision.recipients) {
    EXPECT_EQ(d.destiny, Destiny::kPass);
    bool alert = false;
    for (const HeaderEdit& e : d.header_edits) {
      alert = alert || (e.name == "X-Moat-Alert" &&
                        e.value.starts_with("DMARC FAIL, bank.example asks reject"));
    }
    EXPECT_TRUE(alert) << Describe(t);
  }

  ScanResult p = Scan(spoof, {"dmarc_reject_destiny=pass"});
  EXPECT_FALSE(p.decision.quarantine);
  for (const RecipientDecision& d : p.decision.recipients) {
    EXPECT_EQ(d.destiny, Destiny::kPass);
    for (const HeaderEdit& e : d.header_edits) EXPECT_NE(e.name, "X-Moat-Alert");
  }
}

TEST_F(DmarcStageTest, QuarantineAndNonePolicies) {
  ScanResult q = Scan(Message("news@news.example"), {"dmarc_quarantine_destiny=reject"});
  EXPECT_EQ(RuleHits(q), (std::set<std::string>{"DMARC_QUAR"})) << Describe(q);
  for (const RecipientDecision& d : q.decision.recipients) EXPECT_EQ(d.destiny, Destiny::kReject);
  // The reject destiny belongs to p=reject, not to p=quarantine.
  ScanResult k = Scan(Message("news@news.example"), {"dmarc_reject_destiny=pass"});
  EXPECT_TRUE(k.decision.quarantine);

  ScanResult n = Scan(Message("a@open.example"),
                      {"dmarc_reject_destiny=reject", "dmarc_quarantine_destiny=reject"});
  EXPECT_EQ(RuleHits(n), (std::set<std::string>{"DMARC_NONE"})) << Describe(n);
  for (const RecipientDecision& d : n.decision.recipients) EXPECT_EQ(d.destiny, Destiny::kPass);

  ScanResult m = Scan(Message("a@sender.example"));
  EXPECT_EQ(RuleHits(m), (std::set<std::string>{"DMARC_MISSING"})) << Describe(m);
  EXPECT_NE(OurAuthenticationResults(m).find("dmarc=none header.from=sender.example"),
            std::string::npos);
}

TEST_F(DmarcStageTest, ForgedReceivedSpfBelowTheMtasReceivedIsIgnored) {
  // The client wrote "pass" into its own header section; the MTA recorded softfail above.
  std::string forged =
      MtaFields(core::SpfResult::kSoftFail, "x@elsewhere.example") +
      "Received-SPF: pass client-ip=192.0.2.1; envelope-from=ceo@bank.example\r\n" +
      Message("ceo@bank.example");
  ScanResult r = Scan(forged);
  const auto* dmarc = r.context.Artefact<DmarcArtefact>(kDmarcArtefact);
  ASSERT_NE(dmarc, nullptr);
  EXPECT_EQ(dmarc->outcome.result, DmarcResult::kFail);
  EXPECT_TRUE(r.decision.quarantine);
  // Without any field from the MTA there is no SPF result at all.
  ScanResult none = Scan(
      "Received: from x by mx.moat.test\r\n"
      "Received-SPF: pass client-ip=192.0.2.1; envelope-from=ceo@bank.example\r\n" +
      Message("ceo@bank.example"));
  EXPECT_EQ(none.context.Artefact<DmarcArtefact>(kDmarcArtefact)->outcome.result,
            DmarcResult::kFail);
  EXPECT_FALSE(RuleHits(none).contains("SPF_PASS"));
}

TEST_F(DmarcStageTest, NeverEnforcedForMynetworksOrTheOriginatingBank) {
  const std::string spoof = Message("ceo@bank.example");
  // conf/filterd.cf's mynetworks holds 127.0.0.0/8: a client there is ours.
  ScanResult mine = Scan(spoof, {"dmarc_reject_destiny=reject"}, "127.0.0.9");
  const auto* dmarc = mine.context.Artefact<DmarcArtefact>(kDmarcArtefact);
  ASSERT_NE(dmarc, nullptr);
  EXPECT_EQ(dmarc->outcome.result, DmarcResult::kFail);
  EXPECT_FALSE(dmarc->enforced);
  EXPECT_EQ(dmarc->not_enforced, "client 127.0.0.9 in mynetworks");
  for (const RecipientDecision& d : mine.decision.recipients) EXPECT_EQ(d.destiny, Destiny::kPass);

  ScanResult outside = Scan(spoof, {"dmarc_reject_destiny=reject"}, "198.51.100.7");
  for (const RecipientDecision& d : outside.decision.recipients) {
    EXPECT_EQ(d.destiny, Destiny::kReject);
  }

  ScanResult originating = Scan(spoof, {"dmarc_reject_destiny=reject"}, "", "originating");
  EXPECT_EQ(originating.context.Artefact<DmarcArtefact>(kDmarcArtefact), nullptr);
  for (const RecipientDecision& d : originating.decision.recipients) {
    EXPECT_EQ(d.destiny, Destiny::kPass);
  }
  EXPECT_TRUE(nlohmann::json::parse(ScanReportJson(originating))["dmarc"].is_null());

  ScanResult off = Scan(spoof, {"dmarc_verify=no"});
  EXPECT_EQ(off.context.Artefact<DmarcArtefact>(kDmarcArtefact), nullptr);
  EXPECT_FALSE(off.decision.quarantine);
}

TEST_F(DmarcStageTest, ContentDestiniesStayWhenTheyAreStricter) {
  // GTUBE makes the message SPAM (discarded); DMARC's reject does not turn that into a 550.
  std::string gtube = Message("ceo@bank.example");
  gtube += "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n";
  resources_.rules = ContentEnv::Get().resources().rules;  // the shipped rules know GTUBE
  ScanResult r = Scan(gtube, {"dmarc_reject_destiny=reject"});
  EXPECT_EQ(r.decision.content_class, ContentClass::kSpam) << Describe(r);
  for (const RecipientDecision& d : r.decision.recipients) EXPECT_EQ(d.destiny, Destiny::kDiscard);
}

TEST_F(DmarcStageTest, DnsTroublePassesOrDefersAsConfigured) {
  mta::testing::ServfailServer servfail;
  auto scan = [&](std::vector<std::string> overrides) {
    overrides.push_back("dns_servers=" + servfail.address());
    overrides.push_back("authserv_id=mx.moat.test");
    auto config = ContentEnv::Get().Config(overrides);
    resources_.dns = NewDnsResolverProvider(*config);
    ContentPipeline pipeline = BuildContent(*config, "inbound", resources_);
    WorkerResources worker;
    ScanRequest request;
    request.message = Message("ceo@bank.example");
    return RunScan(std::move(request), pipeline, worker);
  };
  ScanResult passed = scan({});
  EXPECT_FALSE(passed.tempfail) << Describe(passed);
  const auto* dmarc = passed.context.Artefact<DmarcArtefact>(kDmarcArtefact);
  ASSERT_NE(dmarc, nullptr);
  EXPECT_EQ(dmarc->outcome.result, DmarcResult::kTempError);
  EXPECT_EQ(passed.decision.recipients[0].destiny, Destiny::kPass);
  EXPECT_NE(OurAuthenticationResults(passed).find("dmarc=temperror reason="), std::string::npos);
  EXPECT_TRUE(RuleHits(passed).empty()) << Describe(passed);  // unknown: no DMARC rule

  ScanResult deferred = scan({"dmarc_temperror_destiny=defer"});
  ASSERT_TRUE(deferred.tempfail) << Describe(deferred);
  EXPECT_EQ(deferred.failed_stage, "dmarc");
  EXPECT_EQ(deferred.tempfail->code(), core::ErrorCode::kTempFail);
  EXPECT_NE(deferred.tempfail->message().find("dmarc_temperror_destiny = defer"),
            std::string::npos);
  EXPECT_EQ(deferred.decision.content_class, ContentClass::kUnchecked);  // never read as clean
}

TEST_F(DmarcStageTest, WithoutADkimFieldItPlansItsOwnAuthenticationResults) {
  auto config = ContentEnv::Get().Config({"dns_servers=" + dns_->address()});
  DmarcStageOptions options;
  options.authserv_id = "mx.moat.test";
  options.public_suffixes = resources_.public_suffixes;
  ASSERT_TRUE(options.public_suffixes);
  DmarcStage stage(NewDnsResolverProvider(*config), options);
  MessageContext context;
  context.policy_bank = "inbound";
  context.message = WithCrlfLineEnds(Message("ceo@bank.example"));
  asio::io_context io;
  std::optional<core::Status> status;
  asio::co_spawn(io, stage.RunAsync(context),
                 [&](std::exception_ptr, core::Status s) { status = std::move(s); });
  io.run();
  ASSERT_TRUE(status && *status);
  ASSERT_EQ(context.header_edits.size(), 2u);
  EXPECT_EQ(context.header_edits[0].kind, HeaderEdit::Kind::kRemoveAll);
  EXPECT_EQ(context.header_edits[0].authserv_id, "mx.moat.test");
  EXPECT_EQ(context.header_edits[1].value,
            "mx.moat.test; dmarc=fail (p=reject dis=reject) header.from=bank.example");

  options.public_suffixes = nullptr;
  EXPECT_THROW(DmarcStage(nullptr, options), std::invalid_argument);
}

TEST_F(DmarcStageTest, BadConfigurationIsAConfigError) {
  auto config = ContentEnv::Get().Config({"public_suffix_list=/nonexistent/list.dat"});
  ContentResources without = resources_;
  without.public_suffixes = nullptr;
  try {
    BuildContent(*config, "inbound", without);
    ADD_FAILURE() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("public_suffix_list"), std::string::npos) << e.what();
  }
  EXPECT_ANY_THROW(ContentEnv::Get().Config({"dmarc_reject_destiny=bounce"}));
}

}  // namespace
}  // namespace moat::filterd
