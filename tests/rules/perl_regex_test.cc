// perl_regex_test.cc - SpamAssassin's regex literals on PCRE2.
#include "rules/perl_regex.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

TEST(PerlRegexTest, SplitsDelimitersAndModifiers) {
  struct Case {
    const char* literal;
    const char* pattern;
    const char* modifiers;
  } cases[] = {
      {"/foo/", "foo", ""},           {"/foo/i", "foo", "i"},
      {"/a\\/b/ism", "a\\/b", "ism"}, {"m{a/b}i", "a/b", "i"},
      {"m!a/b!", "a/b", ""},          {"m(x)", "x", ""},
      {"qr/x/s", "x", "s"},           {"m'^http.*?goto=(.*?)'i", "^http.*?goto=(.*?)", "i"},
      {"m[a\\]]", "a\\]", ""},
  };
  for (const Case& c : cases) {
    auto split = SplitRegexLiteral(c.literal);
    ASSERT_TRUE(split) << c.literal << ": " << split.error().message();
    EXPECT_EQ(split->pattern, c.pattern) << c.literal;
    EXPECT_EQ(split->modifiers, c.modifiers) << c.literal;
  }
}

TEST(PerlRegexTest, RejectsWhatSpamAssassinRejects) {
  for (const char* bad : {"foo", "/foo", "/a/b/", "m\\a\\", "/(?{ print 1 })/", "/foo/e", ""}) {
    auto split = SplitRegexLiteral(bad);
    EXPECT_FALSE(split) << bad;
    if (!split) {
      EXPECT_EQ(split.error().code(), core::ErrorCode::kInvalid);
    }
  }
}

TEST(PerlRegexTest, CompilesWithPerlModifiers) {
  RegexLimits limits;
  auto re = CompileRegexLiteral("/hello\\s+world/i", limits);
  ASSERT_TRUE(re);
  EXPECT_TRUE(*re->Matches("HELLO   World"));
  auto x = CompileRegexLiteral("/ a b # comment\n c /x", limits);
  ASSERT_TRUE(x);
  EXPECT_TRUE(*x->Matches("abc"));
  auto s = CompileRegexLiteral("/a.b/s", limits);
  ASSERT_TRUE(s);
  EXPECT_TRUE(*s->Matches("a\nb"));
  auto m = CompileRegexLiteral("/^b$/m", limits);
  ASSERT_TRUE(m);
  EXPECT_TRUE(*m->Matches("a\nb\nc"));
  EXPECT_FALSE(CompileRegexLiteral("/a/z", limits));
}

TEST(PerlRegexTest, TranslatesPerlOnlyQuantifierForm) {
  // Perl 5.34+ reads {,3} as {0,3}; PCRE2 would read it literally.
  EXPECT_EQ(TranslatePerlPattern("a{,3}b"), "a{0,3}b");
  EXPECT_EQ(TranslatePerlPattern("[{,3}]"), "[{,3}]");
  EXPECT_EQ(TranslatePerlPattern("\\Q{,3}\\E"), "\\Q{,3}\\E");
  auto re = CompileRegexLiteral("/^x{,2}y$/", {});
  ASSERT_TRUE(re);
  EXPECT_TRUE(*re->Matches("y"));
  EXPECT_TRUE(*re->Matches("xxy"));
  EXPECT_FALSE(*re->Matches("xxxy"));
}

TEST(PerlRegexTest, InvalidPatternIsAnError) {
  auto re = CompileRegexLiteral("/(unclosed/", {});
  ASSERT_FALSE(re);
  EXPECT_EQ(re.error().code(), core::ErrorCode::kInvalid);
}

TEST(PerlRegexTest, CatastrophicBacktrackingHitsTheLimit) {
  RegexLimits limits;
  limits.match_limit = 100'000;
  auto re = CompileRegexLiteral("/^(a+)+$/", limits);
  ASSERT_TRUE(re);
  std::string subject(5000, 'a');
  subject += 'b';
  auto result = re->Matches(subject);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), core::ErrorCode::kTempFail);
}

}  // namespace
}  // namespace moat::rules
