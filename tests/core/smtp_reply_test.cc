// smtp_reply_test.cc - SmtpReply formatting and the client-side reply parser.
#include "core/smtp_reply.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(SmtpReplyTest, FormatsSingleAndMultiLineWithEnhancedCodeOnEveryLine) {
  EXPECT_EQ(SmtpReply(250, "2.1.0", "Ok").Format(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(SmtpReply(220, "", "mx.example ESMTP").Format(), "220 mx.example ESMTP\r\n");
  EXPECT_EQ(SmtpReply(250, "", "mx\nPIPELINING\nSIZE 100").Format(),
            "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
  EXPECT_EQ(SmtpReply(550, "5.7.1", "first\nsecond").Format(),
            "550-5.7.1 first\r\n550 5.7.1 second\r\n");
  EXPECT_EQ(SmtpReply(334, "", "").Format(), "334 \r\n");
}

TEST(SmtpReplyTest, NeverPutsBareCrOrLfOnTheWire) {
  SmtpReply reply(550, "5.7.1", "a\rb\r\nc");
  EXPECT_EQ(reply.Format(), "550-5.7.1 a b\r\n550 5.7.1 c\r\n");
}

TEST(SmtpReplyTest, ClassifiesCodes) {
  EXPECT_TRUE(SmtpReply().empty());
  EXPECT_TRUE(SmtpReply(250, "", "x").positive());
  EXPECT_TRUE(SmtpReply(354, "", "x").positive());
  EXPECT_TRUE(SmtpReply(450, "", "x").transient());
  EXPECT_TRUE(SmtpReply(554, "", "x").permanent());
  EXPECT_TRUE(SmtpReply(421, "", "x").closes_connection());
  EXPECT_EQ(SmtpReply(451, "4.3.0", "x").ToError().code(), ErrorCode::kTempFail);
  EXPECT_EQ(SmtpReply(550, "5.1.1", "x").ToError().code(), ErrorCode::kPermFail);
}

TEST(SmtpReplyTest, AddsDefaultEnhancedCodeOnlyWhenMissing) {
  EXPECT_EQ(SmtpReply(550, "", "no").WithDefaultEnhanced().enhanced(), "5.0.0");
  EXPECT_EQ(SmtpReply(250, "", "ok").WithDefaultEnhanced().enhanced(), "2.0.0");
  EXPECT_EQ(SmtpReply(550, "5.7.1", "no").WithDefaultEnhanced().enhanced(), "5.7.1");
  EXPECT_EQ(SmtpReply(354, "", "go").WithDefaultEnhanced().enhanced(), "");
}

TEST(SmtpReplyTest, FromStringReadsAccessMapStyleReplies) {
  struct Case {
    std::string input;
    bool ok;
    int code;
    std::string enhanced;
    std::string text;
  };
  const Case cases[] = {
      {"550 5.7.1 Go away", true, 550, "5.7.1", "Go away"},
      {"450 try later", true, 450, "", "try later"},
      {"250", true, 250, "", ""},
      {"550 4.7.1 class mismatch is text", true, 550, "", "4.7.1 class mismatch is text"},
      {"55 short", false, 0, "", ""},
      {"650 no such class", false, 0, "", ""},
      {"250x", false, 0, "", ""},
      {"abc def", false, 0, "", ""},
  };
  for (const auto& c : cases) {
    auto reply = SmtpReply::FromString(c.input);
    ASSERT_EQ(reply.has_value(), c.ok) << c.input;
    if (!c.ok) continue;
    EXPECT_EQ(reply->code(), c.code) << c.input;
    EXPECT_EQ(reply->enhanced(), c.enhanced) << c.input;
    EXPECT_EQ(reply->text(), c.text) << c.input;
  }
}

TEST(SmtpReplyTest, EnhancedStatusCodeSyntax) {
  EXPECT_TRUE(IsEnhancedStatusCode("2.0.0"));
  EXPECT_TRUE(IsEnhancedStatusCode("5.123.456"));
  EXPECT_FALSE(IsEnhancedStatusCode("3.0.0"));
  EXPECT_FALSE(IsEnhancedStatusCode("5.1234.0"));
  EXPECT_FALSE(IsEnhancedStatusCode("5.1."));
  EXPECT_FALSE(IsEnhancedStatusCode("5.1.1x"));
}

TEST(SmtpReplyParserTest, ReadsMultiLineRepliesAndStripsEnhancedCodes) {
  SmtpReplyParser parser;
  EXPECT_EQ(parser.Feed("250-mx.example"), SmtpReplyParser::State::kMore);
  EXPECT_EQ(parser.Feed("250-PIPELINING"), SmtpReplyParser::State::kMore);
  EXPECT_EQ(parser.Feed("250 SIZE 1000\r"), SmtpReplyParser::State::kDone);
  SmtpReply reply = parser.Take();
  EXPECT_EQ(reply.code(), 250);
  EXPECT_EQ(reply.text(), "mx.example\nPIPELINING\nSIZE 1000");

  EXPECT_EQ(parser.Feed("550-5.1.1 first"), SmtpReplyParser::State::kMore);
  EXPECT_EQ(parser.Feed("550 5.1.1 second"), SmtpReplyParser::State::kDone);
  reply = parser.Take();
  EXPECT_EQ(reply.enhanced(), "5.1.1");
  EXPECT_EQ(reply.text(), "first\nsecond");
  EXPECT_EQ(reply.Format(), "550-5.1.1 first\r\n550 5.1.1 second\r\n");
}

TEST(SmtpReplyParserTest, RejectsMalformedReplies) {
  const std::vector<std::vector<std::string>> bad = {
      {"hello"}, {"25"}, {"250*x"}, {"250-a", "251 b"}, {"999 nope"}, {"\x01\x02\x03"},
  };
  for (const auto& lines : bad) {
    SmtpReplyParser parser;
    SmtpReplyParser::State state = SmtpReplyParser::State::kMore;
    for (const auto& line : lines) state = parser.Feed(line);
    EXPECT_EQ(state, SmtpReplyParser::State::kError) << lines.front();
    EXPECT_FALSE(parser.error().empty());
  }
}

TEST(SmtpReplyParserTest, BoundsTheNumberOfLines) {
  SmtpReplyParser parser;
  SmtpReplyParser::State state = SmtpReplyParser::State::kMore;
  for (std::size_t i = 0; i <= SmtpReplyParser::kMaxLines && state == SmtpReplyParser::State::kMore;
       ++i) {
    state = parser.Feed("250-x");
  }
  EXPECT_EQ(state, SmtpReplyParser::State::kError);
}

TEST(SmtpReplyParserTest, BareCodeIsAFinalLine) {
  SmtpReplyParser parser;
  EXPECT_EQ(parser.Feed("354"), SmtpReplyParser::State::kDone);
  EXPECT_EQ(parser.Take().code(), 354);
}

}  // namespace
}  // namespace moat::core
