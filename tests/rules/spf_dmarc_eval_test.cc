// spf_dmarc_eval_test.cc - SpamAssassin's SPF and DMARC eval rules as Debian ships them
// (/usr/share/spamassassin/25_spf.cf, 25_dmarc.cf: Mail::SpamAssassin::Plugin::SPF and ::DMARC)
// load, and each rule hits exactly for the result its plugin gives it - the names moat-filterd's
// spam stage hands over from the MTA's Received-SPF and the DMARC stage.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "rules/message_view.h"
#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "tests/rules/mime_splitter.h"
#include "tests/support/test_support.h"

namespace moat::rules {
namespace {

constexpr const char* kMessage = "From: a@example.com\nSubject: s\n\nbody\n";

std::shared_ptr<const RuleSet> SpamAssassinAuthRules() {
  std::string text;
  for (const char* file :
       {"/usr/share/spamassassin/25_spf.cf", "/usr/share/spamassassin/25_dmarc.cf"}) {
    EXPECT_TRUE(std::filesystem::exists(file)) << file << " (Debian package spamassassin)";
    text += moat::testing::ReadTextFile(file);
  }
  return RuleSet::FromText(text);
}

std::set<std::string> Hits(const RuleSet& set, const AuthenticationResults& auth) {
  ParsedMessage parsed = testing::SplitMessage(kMessage);
  parsed.auth = auth;
  std::set<std::string> out;
  for (const RuleHit& hit : Evaluate(set, BuildMessageView(parsed, {})).hits) out.insert(hit.name);
  return out;
}

TEST(SpfDmarcEvalTest, SpamAssassinsRuleFilesLoadWithEveryRule) {
  auto set = SpamAssassinAuthRules();
  for (const ConfigProblem& p : set->report().errors) {
    ADD_FAILURE() << p.where.ToString() << ": " << p.message;
  }
  for (const char* name :
       {"SPF_PASS", "SPF_NEUTRAL", "SPF_FAIL", "SPF_SOFTFAIL", "SPF_NONE", "SPF_HELO_PASS",
        "SPF_HELO_NEUTRAL", "SPF_HELO_FAIL", "SPF_HELO_SOFTFAIL", "SPF_HELO_NONE",
        "T_SPF_PERMERROR", "T_SPF_TEMPERROR", "T_SPF_HELO_PERMERROR", "T_SPF_HELO_TEMPERROR",
        "DMARC_PASS", "DMARC_REJECT", "DMARC_QUAR", "DMARC_NONE", "DMARC_MISSING"}) {
    EXPECT_GE(set->Find(name), 0) << name << " was not loaded";
  }
}

TEST(SpfDmarcEvalTest, EachSpfResultHitsItsRule) {
  auto set = SpamAssassinAuthRules();
  struct Case {
    AuthResult result;
    const char* mail_from;
    const char* helo;
  };
  const Case cases[] = {
      {AuthResult::kPass, "SPF_PASS", "SPF_HELO_PASS"},
      {AuthResult::kNeutral, "SPF_NEUTRAL", "SPF_HELO_NEUTRAL"},
      {AuthResult::kFail, "SPF_FAIL", "SPF_HELO_FAIL"},
      {AuthResult::kSoftFail, "SPF_SOFTFAIL", "SPF_HELO_SOFTFAIL"},
      {AuthResult::kNone, "SPF_NONE", "SPF_HELO_NONE"},
      {AuthResult::kPermError, "T_SPF_PERMERROR", "T_SPF_HELO_PERMERROR"},
      {AuthResult::kTempError, "T_SPF_TEMPERROR", "T_SPF_HELO_TEMPERROR"},
  };
  for (const Case& c : cases) {
    AuthenticationResults mail_from;
    mail_from.spf = c.result;
    EXPECT_EQ(Hits(*set, mail_from), std::set<std::string>{c.mail_from}) << c.mail_from;
    AuthenticationResults helo;
    helo.spf_helo = c.result;
    EXPECT_EQ(Hits(*set, helo), std::set<std::string>{c.helo}) << c.helo;
  }
  EXPECT_TRUE(Hits(*set, {}).empty());  // not checked: no SPF rule hits, not even SPF_NONE
}

TEST(SpfDmarcEvalTest, EachDmarcValueHitsItsRule) {
  auto set = SpamAssassinAuthRules();
  const std::pair<const char*, const char*> cases[] = {
      {"pass", "DMARC_PASS"}, {"reject", "DMARC_REJECT"},   {"quarantine", "DMARC_QUAR"},
      {"none", "DMARC_NONE"}, {"missing", "DMARC_MISSING"},
  };
  for (const auto& [value, rule] : cases) {
    AuthenticationResults auth;
    auth.dmarc = value;
    EXPECT_EQ(Hits(*set, auth), std::set<std::string>{rule}) << value;
  }
}

}  // namespace
}  // namespace moat::rules
