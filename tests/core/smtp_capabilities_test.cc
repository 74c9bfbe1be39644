// smtp_capabilities_test.cc - reading a server's EHLO keywords.
#include "core/smtp_capabilities.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(SmtpCapabilitiesTest, ReadsPostfixStyleEhloReply) {
  SmtpReply reply(250, "",
                  "mx.example.com\nPIPELINING\nSIZE 10240000\nVRFY\nETRN\nSTARTTLS\n"
                  "AUTH PLAIN LOGIN\nAUTH=PLAIN LOGIN\nENHANCEDSTATUSCODES\n8BITMIME\nDSN\n"
                  "smtputf8\nCHUNKING\nXFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
  SmtpCapabilities caps = ParseEhloReply(reply);
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.size_limit, 10240000u);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.dsn);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.chunking);
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_TRUE(caps.HasAuth("LOGIN"));
  EXPECT_FALSE(caps.HasAuth("CRAM-MD5"));
  EXPECT_EQ(caps.xforward_attributes.size(), 7u);
}

TEST(SmtpCapabilitiesTest, MinimalReplyOffersNothing) {
  SmtpCapabilities caps = ParseEhloReply(SmtpReply(250, "", "smtp-sink"));
  EXPECT_TRUE(caps.esmtp);
  EXPECT_FALSE(caps.pipelining);
  EXPECT_FALSE(caps.size);
  EXPECT_FALSE(caps.starttls);
  EXPECT_TRUE(caps.auth_mechanisms.empty());
  EXPECT_TRUE(caps.xforward_attributes.empty());
  // The first line is the server name even when it looks like a keyword.
  EXPECT_FALSE(ParseEhloReply(SmtpReply(250, "", "PIPELINING")).pipelining);
  EXPECT_EQ(ParseEhloReply(SmtpReply(250, "", "x\nSIZE")).size_limit, 0u);
  EXPECT_EQ(ParseEhloReply(SmtpReply(250, "", "x\nSIZE nope")).size_limit, 0u);
}

}  // namespace
}  // namespace moat::core
