// smtp_xtext_test.cc - RFC 3461 xtext.
#include "core/smtp_xtext.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(SmtpXtextTest, EncodesPlusEqualsSpaceControlAndEightBit) {
  const std::pair<std::string, std::string> cases[] = {
      {"user@example.com", "user@example.com"},
      {"a+b", "a+2Bb"},
      {"a=b", "a+3Db"},
      {"a b", "a+20b"},
      {std::string("\0\r\n", 3), "+00+0D+0A"},
      {"\xc3\xbc", "+C3+BC"},
      {"[UNAVAILABLE]", "[UNAVAILABLE]"},
      {"", ""},
  };
  for (const auto& [raw, xtext] : cases) {
    EXPECT_EQ(XtextEncode(raw), xtext);
    auto decoded = XtextDecode(xtext);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, raw);
  }
}

TEST(SmtpXtextTest, DecodesLowerCaseHexAndRejectsMalformedInput) {
  EXPECT_EQ(*XtextDecode("a+2bb"), "a+b");
  for (const char* bad : {"+", "+2", "+2G", "a b", "a=b", "\x80", "+zz"}) {
    auto decoded = XtextDecode(bad);
    ASSERT_FALSE(decoded.has_value()) << bad;
    EXPECT_EQ(decoded.error().code(), ErrorCode::kInvalid);
  }
}

TEST(SmtpXtextTest, EveryByteRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  auto decoded = XtextDecode(XtextEncode(all));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, all);
}

}  // namespace
}  // namespace moat::core
