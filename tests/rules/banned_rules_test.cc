// banned_rules_test.cc - the attachment-type rules: syntax, first match, banks, safe semantics.
#include "rules/banned_rules.h"

#include <gtest/gtest.h>

#include "rules/banned_subject.h"
#include "scanners/content_tree.h"

namespace moat::rules {
namespace {

BannedSubject Subject(const std::string& name, const std::string& short_type = "data",
                      std::vector<std::string> inside = {}) {
  BannedSubject s;
  s.path = "2/" + name;
  s.raw_name = name;
  s.name = NormalizeAttachmentName(name);
  s.short_type = short_type;
  s.detected_type = short_type == "exe" ? "application/vnd.microsoft.portable-executable"
                                        : "application/octet-stream";
  s.inside_names = inside;
  for (const std::string& i : inside) {
    s.inside_types.push_back(i.ends_with(".zip") ? "zip" : i.ends_with(".7z") ? "7z" : "data");
  }
  s.depth = static_cast<int>(inside.size());
  return s;
}

std::shared_ptr<const BannedRules> Rules(const std::string& text) {
  BannedRules::Loaded loaded = BannedRules::Parse(text, "banned_rules");
  for (const auto& p : loaded.problems) ADD_FAILURE() << p.ToString();
  return loaded.rules;
}

bool Blocked(const BannedRules& rules, const BannedSubject& s, std::string_view bank = "inbound") {
  return rules.Check(bank, s).blocked;
}

TEST(BannedRulesParseTest, ReportsEveryErrorWithFileAndLine) {
  BannedRules::Loaded loaded = BannedRules::Parse(
      "block ext=exe\n"
      "deny name=*.scr\n"
      "block colour=red\n"
      "block name\n"
      "block name~\"(unclosed\"\n"
      "block depth>>2\n"
      "block encrypted=yes\n"
      "block name=\"unterminated\n"
      "[]\n"
      "allow ext=txt  # a comment\n",
      "conf/banned_rules");
  std::vector<std::string> got;
  for (const auto& p : loaded.problems) got.push_back(p.ToString());
  ASSERT_EQ(got.size(), 8u) << ::testing::PrintToString(got);
  EXPECT_NE(got[0].find("conf/banned_rules:2: error: a rule starts with block or allow"),
            std::string::npos);
  EXPECT_NE(got[1].find(":3: error: unknown condition \"colour\""), std::string::npos);
  EXPECT_NE(got[2].find(":4: error: name needs a value"), std::string::npos);
  EXPECT_NE(got[3].find(":5: error: name: bad regular expression"), std::string::npos);
  EXPECT_NE(got[4].find(":6: error: depth"), std::string::npos);
  EXPECT_NE(got[5].find(":7: error: encrypted takes no value"), std::string::npos);
  EXPECT_NE(got[6].find(":8: error: unterminated quote"), std::string::npos);
  EXPECT_NE(got[7].find(":9: error: empty bank section"), std::string::npos);
  // The good lines are kept, with their location and text.
  ASSERT_EQ(loaded.rules->rules().size(), 2u);
  EXPECT_EQ(loaded.rules->rules()[1].text, "allow ext=txt  # a comment");
  EXPECT_EQ(loaded.rules->rules()[1].where.line, 10);
}

TEST(BannedRulesParseTest, UnreadableFileIsAnError) {
  BannedRules::Loaded loaded = BannedRules::Load("/nonexistent/banned_rules");
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_NE(loaded.problems[0].ToString().find("cannot read"), std::string::npos);
}

TEST(BannedRulesTest, FirstMatchingRuleDecides) {
  auto rules = Rules("allow name=readme.exe\nblock ext=exe\n");
  EXPECT_FALSE(Blocked(*rules, Subject("README.EXE")));
  EXPECT_TRUE(Blocked(*rules, Subject("setup.exe")));
  EXPECT_FALSE(Blocked(*rules, Subject("notes.txt")));  // no rule: allowed
  EXPECT_EQ(rules->Check("inbound", Subject("notes.txt")).rule, nullptr);
}

TEST(BannedRulesTest, TrueTypeBeatsTheName) {
  auto rules = Rules("block detected=exe,dll\n");
  EXPECT_TRUE(Blocked(*rules, Subject("invoice.pdf", "exe")));
  EXPECT_FALSE(Blocked(*rules, Subject("setup.exe", "pdf")));
  // The detected MIME type matches too.
  auto by_mime = Rules("block detected=application/vnd.microsoft.*\n");
  EXPECT_TRUE(Blocked(*by_mime, Subject("x.bin", "exe")));
}

TEST(BannedRulesTest, AllowOnTheArchiveDoesNotAllowItsMembers) {
  auto rules = Rules("allow name=*.zip\nblock detected=exe\n");
  BannedSubject zip = Subject("docs.zip", "zip");
  BannedSubject member = Subject("setup.exe", "exe", {"docs.zip"});
  EXPECT_FALSE(Blocked(*rules, zip));
  EXPECT_TRUE(Blocked(*rules, member));
  // Allowing members of an archive takes a rule that matches the members themselves.
  auto inside = Rules("allow inside=*.jar\nblock detected=exe\n");
  EXPECT_FALSE(Blocked(*inside, Subject("Loader.exe", "exe", {"app.jar"})));
  EXPECT_TRUE(Blocked(*inside, Subject("Loader.exe", "exe", {"app.zip"})));
}

TEST(BannedRulesTest, ContainerPathAndDepth) {
  auto rules = Rules(
      "block inside-type=7z inside-type=zip\n"
      "block depth>=3\n"
      "block path=2/*/deep/*\n");
  EXPECT_TRUE(Blocked(*rules, Subject("a.txt", "txt", {"outer.zip", "inner.7z"})));
  EXPECT_FALSE(Blocked(*rules, Subject("a.txt", "txt", {"outer.zip"})));
  EXPECT_TRUE(Blocked(*rules, Subject("a.txt", "txt", {"a.tar", "b.tar", "c.tar"})));
  BannedSubject s = Subject("x.txt", "txt");
  s.path = "2/a.tar/deep/x.txt";
  EXPECT_TRUE(Blocked(*rules, s));
}

TEST(BannedRulesTest, NegationRegexAndFlags) {
  auto rules = Rules(
      "block name~\"^invoice_[0-9]+\\.(zip|rar)$\" !inside=*\n"
      "block encrypted\n"
      "block unicode-trick\n"
      "block double-ext=exe,scr\n");
  EXPECT_TRUE(Blocked(*rules, Subject("Invoice_123.ZIP", "zip")));
  EXPECT_FALSE(Blocked(*rules, Subject("invoice_123.zip", "zip", {"mail.zip"})));
  BannedSubject encrypted = Subject("secret.doc", "data", {"s.zip"});
  encrypted.encrypted = true;
  EXPECT_TRUE(Blocked(*rules, encrypted));
  EXPECT_TRUE(Blocked(*rules, Subject("photo\xE2\x80\xAEgnp.js")));
  EXPECT_TRUE(Blocked(*rules, Subject("scan.jpg.scr")));
  EXPECT_FALSE(Blocked(*rules, Subject("scan.jpg.txt")));
}

TEST(BannedRulesTest, SectionsSeparateTheBanks) {
  auto rules = Rules(
      "block ext=exe\n"
      "[originating]\n"
      "allow ext=js\n"
      "[inbound]\n"
      "block ext=iso\n"
      "[*]\n"
      "block ext=js\n");
  EXPECT_TRUE(Blocked(*rules, Subject("a.exe"), "originating"));
  EXPECT_FALSE(Blocked(*rules, Subject("a.js"), "originating"));
  EXPECT_TRUE(Blocked(*rules, Subject("a.js"), "inbound"));
  EXPECT_TRUE(Blocked(*rules, Subject("disk.iso"), "inbound"));
  EXPECT_FALSE(Blocked(*rules, Subject("disk.iso"), "originating"));
  EXPECT_EQ(rules->RulesFor("inbound").size(), 3u);
  EXPECT_EQ(rules->RulesFor("originating").size(), 3u);
  EXPECT_EQ(rules->rules()[1].banks, (std::vector<std::string>{"originating"}));
}

TEST(BannedRulesTest, ARegexThatHitsItsLimitBlocksNeverAllows) {
  // Catastrophic backtracking on a long name: the block rule counts as matching.
  auto rules = Rules("allow name~\"^(a+)+$\"\nblock name~\"^(a|a)+$\"\n");
  BannedSubject s = Subject(std::string(5000, 'a') + "c");
  BannedVerdict verdict = rules->Check("inbound", s);
  EXPECT_TRUE(verdict.blocked);
  EXPECT_NE(verdict.error.find("match limit"), std::string::npos);
}

TEST(BannedSubjectTest, SubjectsFromAContentTree) {
  scanners::ContentTree tree;
  auto node = [&](scanners::ContentNodeKind kind, std::string path, std::string name, int parent,
                  std::string short_type, bool container = false) {
    scanners::ContentNode n;
    n.kind = kind;
    n.path = std::move(path);
    n.name = std::move(name);
    n.parent = parent;
    n.short_type = std::move(short_type);
    n.container = container;
    tree.nodes.push_back(std::move(n));
    if (parent >= 0) tree.nodes[parent].children.push_back(static_cast<int>(tree.nodes.size() - 1));
  };
  node(scanners::ContentNodeKind::kMessage, "", "", -1, "");
  node(scanners::ContentNodeKind::kMultipart, "", "", 0, "");
  node(scanners::ContentNodeKind::kPart, "1", "", 1, "txt");
  node(scanners::ContentNodeKind::kPart, "2", "Outer.ZIP", 1, "zip", true);
  node(scanners::ContentNodeKind::kMember, "2/Outer.ZIP/in.7z", "in.7z", 3, "7z", true);
  node(scanners::ContentNodeKind::kMember, "2/Outer.ZIP/in.7z/x.exe", "x.exe", 4, "exe");
  std::vector<BannedSubject> subjects = BannedSubjectsOf(tree);
  ASSERT_EQ(subjects.size(), 4u);  // not the message, not the multipart
  const BannedSubject& deepest = subjects.back();
  EXPECT_EQ(deepest.path, "2/Outer.ZIP/in.7z/x.exe");
  EXPECT_EQ(deepest.inside_names, (std::vector<std::string>{"outer.zip", "in.7z"}));
  EXPECT_EQ(deepest.inside_types, (std::vector<std::string>{"zip", "7z"}));
  EXPECT_EQ(deepest.depth, 2);
  EXPECT_EQ(subjects[1].depth, 0);
}

}  // namespace
}  // namespace moat::rules
