// literal_prefilter_test.cc - required literals of patterns, and the Aho-Corasick matcher.
#include "rules/literal_prefilter.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

using Lits = std::vector<std::string>;

TEST(LiteralPrefilterTest, FindsTheBestRequiredLiteral) {
  EXPECT_EQ(RequiredLiterals("\\bfree money\\b", "i"), Lits{"free money"});
  EXPECT_EQ(RequiredLiterals("Viagra|Cialis", ""), (Lits{"cialis", "viagra"}));
  EXPECT_EQ(RequiredLiterals("^(?:buy|order) now\\s+cheap (?:meds|pills)", "i"), Lits{"cheap "});
  EXPECT_EQ(RequiredLiterals("ab+cde", ""), Lits{"cde"});
  EXPECT_EQ(RequiredLiterals("x(?:abcd)?yz", ""), std::nullopt);  // only short pieces required
  EXPECT_EQ(RequiredLiterals("\\Qa.b*c\\E", ""), Lits{"a.b*c"});
  EXPECT_EQ(RequiredLiterals("\\x41BC\\.com", ""), Lits{"abc.com"});
  EXPECT_EQ(RequiredLiterals(" hel lo # comment\n", "x"), Lits{"hello"});
}

TEST(LiteralPrefilterTest, GivesUpWhenUnsure) {
  for (const char* p : {"[a-z]+", "(?=abcdef)", "(?R)", "(?(1)abc|def)", "foo|[a-z]",
                        "(*UTF)abcdef", "abc(?x) d e f", "(unclosed"}) {
    EXPECT_EQ(RequiredLiterals(p, ""), std::nullopt) << p;
  }
}

TEST(LiteralPrefilterTest, MatcherFindsLiteralsCaseInsensitively) {
  LiteralMatcher m({"viagra", "cialis", "free money", "ree"});
  std::vector<uint8_t> visited, found;
  m.FindAll("Get FREE Money and VIAGRA", visited);
  m.Collect(visited, found);
  EXPECT_EQ(found, (std::vector<uint8_t>{1, 0, 1, 1}));
  visited.clear();
  m.FindAll("nothing here", visited);
  m.Collect(visited, found);
  EXPECT_EQ(found, (std::vector<uint8_t>{0, 0, 0, 0}));
}

}  // namespace
}  // namespace moat::rules
