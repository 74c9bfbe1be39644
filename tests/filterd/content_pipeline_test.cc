// content_pipeline_test.cc - the whole content pipeline (decompose, header checks, ClamAV,
// banned rules, spam rules) and the bank policy on real messages, with a real ClamAV engine and
// archives made by the real tools.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "filterd/content_artefacts.h"
#include "filterd/content_header_edits.h"
#include "tests/filterd/content_test_util.h"

namespace moat::filterd {
namespace {

using moat::testing::TempDir;
using scanners::testing::Base64Encode;
using scanners::testing::ClamExe;
using scanners::testing::Eicar;
using scanners::testing::MessageWith;
using scanners::testing::ReadBinaryFile;
using scanners::testing::RunTool;
using scanners::testing::WriteBinaryFile;
using testing::ContentEnv;
using testing::Describe;
using testing::HasClass;
using testing::HasFinding;

const char kGtube[] = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

std::string Plain(const std::string& subject, const std::string& body,
                  const std::string& extra_headers = "") {
  return "From: Sender <sender@example.org>\r\nTo: rcpt@example.net\r\nSubject: " + subject +
         "\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <p@example.org>\r\n" +
         extra_headers + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
         body + "\r\n";
}

std::string Zip(const TempDir& dir, const std::string& script, const std::string& result) {
  RunTool({"/bin/sh", "-ec", script}, dir.path());
  return ReadBinaryFile(dir.Path(result));
}

bool HasEdit(const RecipientDecision& r, HeaderEdit::Kind kind, std::string_view name,
             std::string_view value_prefix = "") {
  return std::any_of(r.header_edits.begin(), r.header_edits.end(), [&](const HeaderEdit& e) {
    return e.kind == kind && e.name == name && e.value.starts_with(value_prefix);
  });
}

TEST(ContentPipelineTest, CleanMessagePassesWithScannedHeader) {
  ScanResult r = ContentEnv::Get().Scan(MessageWith({{"notes.txt", "just notes\n", "text/plain"}}));
  ASSERT_FALSE(r.tempfail) << Describe(r);
  EXPECT_EQ(r.decision.content_class, ContentClass::kClean) << Describe(r);
  ASSERT_EQ(r.decision.recipients.size(), 1u);
  const RecipientDecision& rcpt = r.decision.recipients[0];
  EXPECT_EQ(rcpt.destiny, Destiny::kPass);
  EXPECT_FALSE(r.decision.quarantine);
  ASSERT_FALSE(rcpt.header_edits.empty());
  EXPECT_EQ(rcpt.header_edits[0].kind, HeaderEdit::Kind::kRemoveAll);
  EXPECT_EQ(rcpt.header_edits[0].name, "X-Spam-*");
  EXPECT_TRUE(HasEdit(rcpt, HeaderEdit::Kind::kPrepend, "X-Virus-Scanned", "Moat at moat.test"));
  const auto* virus = r.context.Artefact<VirusArtefact>(kVirusArtefact);
  ASSERT_NE(virus, nullptr);
  EXPECT_EQ(virus->database.signature_count, 6u);
  EXPECT_EQ(virus->raw_message_pass, "skipped");
  EXPECT_EQ(virus->scanned_nodes, 2u);
  // The stages ran in the documented order (no DKIM stage work without signatures).
  std::vector<std::string> stages;
  for (const StageTiming& t : r.context.timings) stages.push_back(t.stage);
  EXPECT_EQ(stages,
            (std::vector<std::string>{"dkim", "dmarc", "decompose", "header", "clamav", "banned",
                                      "spam"}));
}

TEST(ContentPipelineTest, EicarInZipInZipInAttachedMessageIsVirus) {
  TempDir work;
  WriteBinaryFile(work.Path("eicar.com"), Eicar());
  std::string outer =
      Zip(work, "zip -q -X inner.zip eicar.com && zip -q -X outer.zip inner.zip", "outer.zip");
  std::string inner = MessageWith({{"outer.zip", outer, "application/zip"}});
  std::string raw =
      "From: a@example.org\r\nTo: b@example.net\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
      "--xx\r\nContent-Type: text/plain\r\n\r\nforwarding\r\n"
      "--xx\r\nContent-Type: message/rfc822\r\n\r\n" +
      inner + "\r\n--xx--\r\n";
  ScanResult r = ContentEnv::Get().Scan(raw);
  EXPECT_EQ(r.decision.content_class, ContentClass::kVirus) << Describe(r);
  EXPECT_TRUE(HasFinding(r, "clamav", "Eicar-Test-Signature", "2/2/outer.zip/inner.zip/eicar.com"))
      << Describe(r);
  EXPECT_EQ(r.decision.recipients[0].destiny, Destiny::kDiscard);
  EXPECT_TRUE(r.decision.quarantine);
  EXPECT_NE(r.decision.reason.find("Eicar-Test-Signature"), std::string::npos);
  // The banned rules saw the member too (named .com: blocked by extension).
  EXPECT_TRUE(HasFinding(r, "banned", "eicar.com", "2/2/outer.zip/inner.zip/eicar.com"));
}

TEST(ContentPipelineTest, VirusDestinyAndRepliesFollowTheBank) {
  std::string raw = MessageWith({{"clam.exe", ClamExe()}});
  ScanResult bounce = ContentEnv::Get().Scan(raw, {"inbound_final_virus_destiny=BOUNCE"});
  ASSERT_EQ(bounce.decision.content_class, ContentClass::kVirus) << Describe(bounce);
  EXPECT_EQ(bounce.decision.recipients[0].destiny, Destiny::kBounce);
  EXPECT_EQ(bounce.decision.recipients[0].reply.code(), 554);
  EXPECT_NE(bounce.decision.recipients[0].reply.text().find("VIRUS: ClamAV-Test-File"),
            std::string::npos);
  ScanResult pass = ContentEnv::Get().Scan(raw, {"final_virus_destiny=PASS"});
  EXPECT_EQ(pass.decision.recipients[0].destiny, Destiny::kPass);
  EXPECT_FALSE(pass.decision.quarantine);
  EXPECT_TRUE(HasEdit(pass.decision.recipients[0], HeaderEdit::Kind::kPrepend, "X-Moat-Alert",
                      "INFECTED, message contains virus: ClamAV-Test-File"));
  EXPECT_TRUE(HasEdit(pass.decision.recipients[0], HeaderEdit::Kind::kPrepend, "X-Moat-Alert",
                      "BANNED, message contains 2"));
}

TEST(ContentPipelineTest, PasswordZipIsUncheckedOrBannedWhereRulesSaySo) {
  TempDir work;
  WriteBinaryFile(work.Path("eicar.com"), Eicar());
  WriteBinaryFile(work.Path("notes.txt"), "secret notes\n");
  std::string zip = Zip(work, "zip -q -X -P infected secret.zip notes.txt", "secret.zip");
  std::string raw = MessageWith({{"secret.zip", zip, "application/zip"}}, "the figures");
  ScanResult r = ContentEnv::Get().Scan(raw);
  EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked) << Describe(r);
  EXPECT_EQ(r.decision.subclass, "encrypted");
  EXPECT_TRUE(HasFinding(r, "decompose", "encrypted", "2/secret.zip/notes.txt"));
  const RecipientDecision& rcpt = r.decision.recipients[0];
  EXPECT_EQ(rcpt.destiny, Destiny::kPass);
  EXPECT_TRUE(HasEdit(rcpt, HeaderEdit::Kind::kPrepend, "Subject", "***UNCHECKED*** the figures"));
  EXPECT_TRUE(HasEdit(rcpt, HeaderEdit::Kind::kPrepend, "X-Moat-Alert",
                      "UNCHECKED, encrypted: 2/secret.zip/notes.txt"));

  std::string rules = work.WriteFile("banned", "block encrypted\n");
  ScanResult banned = ContentEnv::Get().Scan(raw, {"banned_rules=" + rules});
  EXPECT_EQ(banned.decision.content_class, ContentClass::kBanned) << Describe(banned);
  EXPECT_EQ(banned.decision.recipients[0].destiny, Destiny::kDiscard);
  EXPECT_TRUE(banned.decision.quarantine);
}

TEST(ContentPipelineTest, ABlockInsideAnArchiveIsNotUndoneByAnAllowOnTheArchive) {
  TempDir work;
  WriteBinaryFile(work.Path("clam.exe"), ClamExe());
  WriteBinaryFile(work.Path("readme.txt"), "read me\n");
  std::string zip = Zip(work, "zip -q -X tools.zip readme.txt clam.exe", "tools.zip");
  std::string rules = work.WriteFile("banned", "allow name=*.zip\nblock detected=exe\n");
  ScanResult r = ContentEnv::Get().Scan(MessageWith({{"tools.zip", zip, "application/zip"}}),
                                        {"banned_rules=" + rules, "bypass_virus_checks=yes"});
  EXPECT_EQ(r.decision.content_class, ContentClass::kBanned) << Describe(r);
  EXPECT_TRUE(HasFinding(r, "banned", "clam.exe", "2/tools.zip/clam.exe"));
  const auto* banned = r.context.Artefact<BannedArtefact>(kBannedArtefact);
  ASSERT_NE(banned, nullptr);
  bool zip_allowed = false;
  for (const rules::BannedCheck& check : banned->checks) {
    if (check.subject.path == "2") {
      zip_allowed = check.verdict.rule != nullptr && !check.verdict.blocked;
      EXPECT_EQ(check.subject.short_type, "zip");
    }
  }
  EXPECT_TRUE(zip_allowed);
}

TEST(ContentPipelineTest, BannedNamesAndPerBankRules) {
  std::string rtlo = MessageWith({{"invoice\xE2\x80\xAE" "fdp.js", "alert(1)\n", "text/plain"}});
  ScanResult r = ContentEnv::Get().Scan(rtlo, {"bypass_virus_checks=yes"});
  EXPECT_EQ(r.decision.content_class, ContentClass::kBanned) << Describe(r);
  EXPECT_NE(r.decision.reason.find("unicode-trick"), std::string::npos) << r.decision.reason;

  std::string script = MessageWith({{"deploy.js", "console.log(1)\n", "text/plain"}});
  EXPECT_EQ(ContentEnv::Get().Scan(script, {"bypass_virus_checks=yes"}).decision.content_class,
            ContentClass::kBanned);
  ScanResult originating = ContentEnv::Get().Scan(script, {"bypass_virus_checks=yes"}, "originating");
  EXPECT_EQ(originating.decision.content_class, ContentClass::kClean) << Describe(originating);
  EXPECT_EQ(originating.context.policy_bank, "originating");

  std::string iso = MessageWith({{"disk.iso", std::string(4096, '\0')}});
  EXPECT_EQ(ContentEnv::Get().Scan(iso, {"bypass_virus_checks=yes"}).decision.content_class,
            ContentClass::kBanned);
  EXPECT_EQ(ContentEnv::Get()
                .Scan(iso, {"bypass_virus_checks=yes"}, "originating")
                .decision.content_class,
            ContentClass::kClean);
}

TEST(ContentPipelineTest, GtubeIsSpamAndDiscardedWithQuarantine) {
  ScanResult r = ContentEnv::Get().Scan(Plain("test", kGtube));
  EXPECT_EQ(r.decision.content_class, ContentClass::kSpam) << Describe(r);
  EXPECT_GE(r.context.spam_score, 1000);
  EXPECT_TRUE(HasFinding(r, "spam", "GTUBE"));
  EXPECT_EQ(r.decision.recipients[0].destiny, Destiny::kDiscard);
  EXPECT_TRUE(r.decision.quarantine);
  // Rule hits in the JSON, stage "spam", with their scores.
  nlohmann::json json = nlohmann::json::parse(ScanReportJson(r));
  bool gtube = false;
  for (const auto& f : json["findings"]) {
    if (f["stage"] == "spam" && f["name"] == "GTUBE") gtube = f["score"].get<double>() == 1000;
  }
  EXPECT_TRUE(gtube) << json.dump(2);
}

TEST(ContentPipelineTest, SpamLevelsPerRecipientFromATable) {
  TempDir work;
  work.WriteFile("levels", "lover@example.net  tag=-999 tag2=5000 kill=9000\n");
  std::vector<std::string> overrides = {"spam_levels_maps=hash:" + work.Path("levels")};
  ScanResult r = ContentEnv::Get().Scan(Plain("Hello", kGtube), overrides, "inbound",
                                        {"lover@example.net", "boss@example.net"});
  ASSERT_FALSE(r.tempfail) << Describe(r);
  ASSERT_EQ(r.decision.recipients.size(), 2u);
  const RecipientDecision& lover = r.decision.recipients[0];
  const RecipientDecision& boss = r.decision.recipients[1];
  EXPECT_EQ(lover.destiny, Destiny::kPass);
  EXPECT_TRUE(HasEdit(lover, HeaderEdit::Kind::kPrepend, "X-Spam-Flag", "NO"));
  EXPECT_FALSE(HasEdit(lover, HeaderEdit::Kind::kPrepend, "Subject"));
  EXPECT_EQ(boss.destiny, Destiny::kDiscard);
  EXPECT_EQ(r.decision.content_class, ContentClass::kSpam);
  EXPECT_TRUE(r.decision.quarantine);

  // Tagged but not killed: X-Spam-* and the subject tag, and a planted verdict is gone.
  ScanResult spammy = ContentEnv::Get().Scan(
      Plain("Hello", kGtube, "X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-100\r\n"),
      {"spam_kill_level=5000"});
  EXPECT_EQ(spammy.decision.content_class, ContentClass::kSpammy) << Describe(spammy);
  const RecipientDecision& p = spammy.decision.recipients[0];
  EXPECT_EQ(p.destiny, Destiny::kPass);
  std::vector<HeaderEdit> edits = spammy.context.header_edits;
  edits.insert(edits.end(), p.header_edits.begin(), p.header_edits.end());
  std::string edited = ApplyHeaderEdits(spammy.context.message, edits);
  EXPECT_EQ(edited.find("X-Spam-Flag: NO"), std::string::npos) << edited;
  EXPECT_EQ(edited.find("score=-100"), std::string::npos);
  EXPECT_NE(edited.find("X-Spam-Flag: YES\r\n"), std::string::npos) << edited;
  EXPECT_NE(edited.find("Subject: ***Spam*** Hello\r\n"), std::string::npos) << edited;
  EXPECT_NE(edited.find("tests=[GTUBE=1000"), std::string::npos) << edited;
}

TEST(ContentPipelineTest, ABadSpamLevelsEntryDefersInsteadOfGuessing) {
  TempDir work;
  work.WriteFile("levels", "rcpt@example.net  kill=lots\n");
  ScanResult r = ContentEnv::Get().Scan(Plain("Hello", "hi"),
                                        {"spam_levels_maps=hash:" + work.Path("levels")},
                                        "inbound", {"rcpt@example.net"});
  ASSERT_TRUE(r.tempfail.has_value()) << Describe(r);
  EXPECT_EQ(r.failed_stage, "spam");
  EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked);
}

TEST(ContentPipelineTest, RawMessagePassOnlyWhenTheStructureIsAmbiguous) {
  std::string ambiguous =
      "From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b trailing text\r\n"
      "Content-Type: application/octet-stream\r\n\r\nxx\r\n--b--\r\n";
  ScanResult r = ContentEnv::Get().Scan(ambiguous);
  const auto* virus = r.context.Artefact<VirusArtefact>(kVirusArtefact);
  ASSERT_NE(virus, nullptr);
  EXPECT_EQ(virus->raw_message_pass, "parsed") << Describe(r);
  EXPECT_TRUE(HasClass(r, ContentClass::kUnchecked, "mime-ambiguity")) << Describe(r);

  std::string plain = Plain("x", "hello");
  EXPECT_EQ(ContentEnv::Get()
                .Scan(plain)
                .context.Artefact<VirusArtefact>(kVirusArtefact)
                ->raw_message_pass,
            "skipped");
  EXPECT_EQ(ContentEnv::Get()
                .Scan(plain, {"clamav_raw_message_scan=always"})
                .context.Artefact<VirusArtefact>(kVirusArtefact)
                ->raw_message_pass,
            "bytes");
  EXPECT_EQ(ContentEnv::Get()
                .Scan(ambiguous, {"clamav_raw_message_scan=never"})
                .context.Artefact<VirusArtefact>(kVirusArtefact)
                ->raw_message_pass,
            "skipped");
}

TEST(ContentPipelineTest, BadHeaderPassesWithAnAlert) {
  std::string raw = Plain("caf\xC3\xA9 8-bit subject", "hello");
  ScanResult r = ContentEnv::Get().Scan(raw);
  EXPECT_EQ(r.decision.content_class, ContentClass::kBadHeader) << Describe(r);
  EXPECT_EQ(r.decision.recipients[0].destiny, Destiny::kPass);
  EXPECT_TRUE(HasEdit(r.decision.recipients[0], HeaderEdit::Kind::kPrepend, "X-Moat-Alert",
                      "BAD HEADER SECTION, 8bit-header"))
      << Describe(r);
  ScanResult bypass = ContentEnv::Get().Scan(raw, {"bypass_header_checks=yes"});
  EXPECT_EQ(bypass.decision.content_class, ContentClass::kClean) << Describe(bypass);
}

TEST(ContentPipelineTest, ScanJsonHasTheInterfaceFields) {
  TempDir work;
  WriteBinaryFile(work.Path("eicar.com"), Eicar());
  std::string zip = Zip(work, "zip -q -X e.zip eicar.com", "e.zip");
  ScanResult r = ContentEnv::Get().Scan(MessageWith({{"e.zip", zip, "application/zip"}}));
  nlohmann::json json = nlohmann::json::parse(ScanReportJson(r));
  EXPECT_EQ(json["verdict"], "VIRUS");
  EXPECT_TRUE(json["score"].is_number());
  EXPECT_EQ(json["policy_bank"], "inbound");
  ASSERT_TRUE(json["parts"].is_array());
  bool member = false;
  for (const auto& part : json["parts"]) {
    for (const char* key : {"path", "name", "declared_type", "detected_type", "size", "encrypted"}) {
      EXPECT_TRUE(part.contains(key)) << key;
    }
    if (part["path"] == "2/e.zip/eicar.com") {
      member = true;
      EXPECT_EQ(part["name"], "eicar.com");
      EXPECT_EQ(part["size"], 68);
      EXPECT_EQ(part["encrypted"], false);
    }
  }
  EXPECT_TRUE(member) << json["parts"].dump(2);
  ASSERT_TRUE(json["findings"].is_array());
  for (const auto& f : json["findings"]) {
    for (const char* key : {"stage", "name", "class", "score", "part", "detail"}) {
      EXPECT_TRUE(f.contains(key)) << key;
    }
  }
  EXPECT_TRUE(json["dkim"].is_array());
  EXPECT_EQ(json["clamav"]["signatures"], 6);
  ASSERT_TRUE(json["banned"].is_array());
  EXPECT_FALSE(json["banned"].empty());
}

// A stage that fails, to see both failure modes.
class FailingStage : public Stage {
 public:
  explicit FailingStage(FailureMode mode) : mode_(mode) {}
  std::string_view name() const override { return "failing"; }
  FailureMode failure_mode() const override { return mode_; }
  core::Status Run(MessageContext&, WorkerResources&) const override {
    return core::Fail(core::ErrorCode::kTempFail, "engine gone");
  }

 private:
  FailureMode mode_;
};

TEST(ContentPipelineTest, AStageErrorIsNeverReadAsClean) {
  for (FailureMode mode : {FailureMode::kTempFail, FailureMode::kRecordUnchecked}) {
    ContentPipeline pipeline = ContentEnv::Get().Pipeline();
    pipeline.stages.insert(pipeline.stages.begin() + 1, std::make_shared<FailingStage>(mode));
    WorkerResources worker;
    ScanRequest request;
    request.message = Plain("x", "hello");
    ScanResult r = RunScan(std::move(request), pipeline, worker);
    EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked) << Describe(r);
    EXPECT_EQ(r.decision.subclass, "scanner-failure");
    if (mode == FailureMode::kTempFail) {
      ASSERT_TRUE(r.tempfail.has_value());
      EXPECT_EQ(r.failed_stage, "failing");
      EXPECT_EQ(r.context.timings.size(), 2u);  // dkim, failing: nothing after it ran
    } else {
      EXPECT_FALSE(r.tempfail.has_value());
      EXPECT_EQ(r.context.timings.size(), pipeline.stages.size());
    }
  }
}

TEST(ContentPipelineTest, BypassedChecksLeaveTheirStagesOut) {
  ContentPipeline p = ContentEnv::Get().Pipeline(
      {"bypass_virus_checks=yes", "bypass_spam_checks=yes", "bypass_banned_checks=yes",
       "bypass_header_checks=yes", "dkim_verify=no"});
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_EQ(p.stages[0]->name(), "decompose");
  ContentPipeline originating = ContentEnv::Get().Pipeline({}, "originating");
  EXPECT_NE(originating.stages.front()->name(), "dkim");  // no verification of our own mail
  EXPECT_THROW(ContentEnv::Get().Pipeline({}, "outbound"), core::ConfigError);
}

TEST(ContentPipelineTest, ABrokenBannedRulesFileIsAConfigurationError) {
  TempDir work;
  std::string rules = work.WriteFile("banned", "block ext=exe\nblok ext=scr\n");
  try {
    ContentEnv::Get().Pipeline({"banned_rules=" + rules});
    ADD_FAILURE() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.location().line, 2);
    EXPECT_NE(e.message().find("block or allow"), std::string::npos);
  }
  std::string unknown_bank = work.WriteFile("banned2", "[outbound]\nblock ext=exe\n");
  EXPECT_THROW(ContentEnv::Get().Pipeline({"banned_rules=" + unknown_bank}), core::ConfigError);
}

}  // namespace
}  // namespace moat::filterd
