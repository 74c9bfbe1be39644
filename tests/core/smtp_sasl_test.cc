// smtp_sasl_test.cc - base64 and SASL PLAIN.
#include "core/smtp_sasl.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(SmtpSaslTest, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"Username:", "VXNlcm5hbWU6"},
      {"Password:", "UGFzc3dvcmQ6"},
  };
  for (const auto& [raw, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(raw), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, raw);
  }
}

TEST(SmtpSaslTest, Base64RejectsMalformedInput) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!", "Zg==Zg==", "=Zg=", "Zm 9v"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

TEST(SmtpSaslTest, PlainRoundTrip) {
  std::string encoded = EncodeSaslPlain("", "alice", "s3cr\xc3\xa9t");
  EXPECT_EQ(encoded, "AGFsaWNlAHMzY3LDqXQ=");
  auto decoded = Base64Decode(encoded);
  ASSERT_TRUE(decoded.has_value());
  auto credentials = ParseSaslPlain(*decoded);
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->mechanism, "PLAIN");
  EXPECT_EQ(credentials->authzid, "");
  EXPECT_EQ(credentials->username, "alice");
  EXPECT_EQ(credentials->password, "s3cr\xc3\xa9t");
}

TEST(SmtpSaslTest, PlainRejectsWrongShapes) {
  EXPECT_FALSE(ParseSaslPlain("alice").has_value());
  EXPECT_FALSE(ParseSaslPlain(std::string("\0alice", 6)).has_value());
  EXPECT_FALSE(ParseSaslPlain(std::string("\0\0pw", 4)).has_value());
  EXPECT_FALSE(ParseSaslPlain(std::string("a\0b\0c\0d", 7)).has_value());
  auto with_authzid = ParseSaslPlain(std::string("admin\0alice\0pw", 14));
  ASSERT_TRUE(with_authzid.has_value());
  EXPECT_EQ(with_authzid->authzid, "admin");
}

}  // namespace
}  // namespace moat::core
