// regex_test.cc - core::Regex: flags, captures, bounded matching.
#include "core/regex.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(RegexTest, CompilesAndMatchesWithPerlFlags) {
  auto options = RegexOptionsFromFlags("i");
  ASSERT_TRUE(options);
  auto re = Regex::Compile("hello\\s+world", *options);
  ASSERT_TRUE(re) << re.error().ToString();
  EXPECT_TRUE(*re->Matches("say HELLO   World"));
  EXPECT_FALSE(*re->Matches("hello-world"));
}

TEST(RegexTest, ReportsCaptureGroups) {
  auto re = Regex::Compile(R"((\S+)\.(\S+)@nabsd\.cs\.nctu\.edu\.tw)");
  ASSERT_TRUE(re);
  std::string subject = "first.last@nabsd.cs.nctu.edu.tw";
  auto match = re->Search(subject);
  ASSERT_TRUE(match);
  ASSERT_TRUE(match->has_value());
  EXPECT_EQ((*match)->Text(subject, 1), "first");
  EXPECT_EQ((*match)->Text(subject, 2), "last");
}

TEST(RegexTest, InvalidPatternIsAnErrorWithOffset) {
  auto re = Regex::Compile("(unclosed");
  ASSERT_FALSE(re);
  EXPECT_EQ(re.error().code(), ErrorCode::kInvalid);
  EXPECT_NE(re.error().message().find("offset"), std::string::npos);
}

TEST(RegexTest, UnknownFlagIsInvalid) { EXPECT_FALSE(RegexOptionsFromFlags("q")); }

TEST(RegexTest, CatastrophicBacktrackingHitsTheLimitInsteadOfHanging) {
  RegexOptions options;
  options.match_limit = 100'000;
  auto re = Regex::Compile("^(a+)+$", options);
  ASSERT_TRUE(re);
  std::string subject(5000, 'a');
  subject += 'b';
  auto result = re->Matches(subject);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kTempFail);
}

}  // namespace
}  // namespace moat::core
