// smtpd_access_result_test.cc - access(5) right-hand sides, as Postfix's check_table_result()
// reads them.
#include "mta/smtpd_access_result.h"

#include <gtest/gtest.h>

namespace moat::mta {
namespace {

struct Case {
  std::string value;
  AccessActionKind kind;
  int code;
  std::string dsn;
  std::string text;
};

TEST(SmtpdAccessResultTest, EveryActionOfAccess5) {
  const Case cases[] = {
      {"OK", AccessActionKind::kOk, 0, "", ""},
      {"ok trailing text is ignored", AccessActionKind::kOk, 0, "", ""},
      {"RELAY", AccessActionKind::kOk, 0, "", ""},
      {"1234567890", AccessActionKind::kOk, 0, "", ""},
      {"550", AccessActionKind::kOk, 0, "", ""},  // all digits: Postfix reads OK
      {"DUNNO", AccessActionKind::kDunno, 0, "", ""},
      {"REJECT", AccessActionKind::kReject, 0, "", ""},
      {"REJECT no spam here", AccessActionKind::kReject, 0, "", "no spam here"},
      {"reject 5.7.0 go away", AccessActionKind::kReject, 0, "5.7.0", "go away"},
      {"DEFER later", AccessActionKind::kDefer, 0, "", "later"},
      {"DEFER_IF_PERMIT maybe", AccessActionKind::kDeferIfPermit, 0, "", "maybe"},
      {"DEFER_IF_REJECT 4.7.2 hmm", AccessActionKind::kDeferIfReject, 0, "4.7.2", "hmm"},
      {"550 no such user", AccessActionKind::kReply, 550, "", "no such user"},
      {"450 4.2.0 busy now", AccessActionKind::kReply, 450, "4.2.0", "busy now"},
      {"554 5.7.1", AccessActionKind::kReply, 554, "5.7.1", ""},
      {"DISCARD spam trap", AccessActionKind::kDiscard, 0, "", "spam trap"},
      {"HOLD check it", AccessActionKind::kHold, 0, "", "check it"},
      {"FILTER smtp:[127.0.0.1]:10025", AccessActionKind::kFilter, 0, "",
       "smtp:[127.0.0.1]:10025"},
      {"REDIRECT abuse@example.test", AccessActionKind::kRedirect, 0, "", "abuse@example.test"},
      {"PREPEND X-Checked: yes", AccessActionKind::kPrepend, 0, "", "X-Checked: yes"},
      {"WARN look at this", AccessActionKind::kWarn, 0, "", "look at this"},
      {"permit_mynetworks, reject", AccessActionKind::kRestrictions, 0, "",
       "permit_mynetworks, reject"},
      {"my_class", AccessActionKind::kRestrictions, 0, "", "my_class"},
      {"check_client_access hash:/x", AccessActionKind::kTableInValue, 0, "", ""},
      {"FILTER nocolon", AccessActionKind::kInvalid, 0, "", ""},
      {"FILTER", AccessActionKind::kInvalid, 0, "", ""},
      {"REDIRECT nobody", AccessActionKind::kInvalid, 0, "", ""},
      {"PREPEND not a header", AccessActionKind::kInvalid, 0, "", ""},
      {"  OK  ", AccessActionKind::kOk, 0, "", ""},
  };
  for (const Case& c : cases) {
    AccessAction action = ParseAccessAction(c.value);
    EXPECT_EQ(action.kind, c.kind) << c.value << " -> " << AccessActionName(action.kind);
    EXPECT_EQ(action.code, c.code) << c.value;
    EXPECT_EQ(action.dsn, c.dsn) << c.value;
    if (c.kind != AccessActionKind::kInvalid && c.kind != AccessActionKind::kTableInValue) {
      EXPECT_EQ(action.text, c.text) << c.value;
    }
  }
}

TEST(SmtpdAccessResultTest, EnhancedStatusCodes) {
  EXPECT_EQ(LeadingDsnLength("5.7.1 text"), 5u);
  EXPECT_EQ(LeadingDsnLength("4.1.10"), 6u);
  EXPECT_EQ(LeadingDsnLength("2.0.0"), 5u);
  EXPECT_EQ(LeadingDsnLength("5.7.1x text"), 0u);
  EXPECT_EQ(LeadingDsnLength("3.7.1 text"), 0u);
  EXPECT_EQ(LeadingDsnLength("5.1234.1 t"), 0u);
  EXPECT_EQ(LeadingDsnLength("5..1"), 0u);
  EXPECT_EQ(LeadingDsnLength(""), 0u);
}

TEST(SmtpdAccessResultTest, GarbageNeverCrashes) {
  const std::string junk[] = {"", " ", ":", "5", "55", "555", "5555 x", "REJECT\t\t5.",
                              std::string(10000, 'A'), std::string("OK\0x", 4)};
  for (const std::string& value : junk) {
    AccessAction action = ParseAccessAction(value);
    (void)action;
  }
}

}  // namespace
}  // namespace moat::mta
