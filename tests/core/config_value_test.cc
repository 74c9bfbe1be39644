// config_value_test.cc - time, size, bool, number, list, host:port and network syntaxes.
#include "core/config_value.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

using std::chrono::seconds;

TEST(ConfigValueTest, TimeUnitsAndDefaultUnit) {
  EXPECT_EQ(*ParseTime("300"), seconds(300));
  EXPECT_EQ(*ParseTime("300s"), seconds(300));
  EXPECT_EQ(*ParseTime("5m"), seconds(300));
  EXPECT_EQ(*ParseTime("1h"), seconds(3600));
  EXPECT_EQ(*ParseTime("5d"), seconds(5 * 86400));
  EXPECT_EQ(*ParseTime("1w"), seconds(604800));
  EXPECT_EQ(*ParseTime("4", 'h'), seconds(4 * 3600));  // maximal_backoff_time style
  EXPECT_EQ(*ParseTime("5", 'd'), seconds(5 * 86400));
  EXPECT_EQ(*ParseTime("0"), seconds(0));
}

TEST(ConfigValueTest, BadTimesSayWhatIsExpected) {
  auto bad_unit = ParseTime("10x");
  ASSERT_FALSE(bad_unit);
  EXPECT_EQ(bad_unit.error().message(),
            "bad time value \"10x\": unknown unit 'x' (use s, m, h, d or w)");
  EXPECT_FALSE(ParseTime("ten seconds"));
  EXPECT_FALSE(ParseTime(""));
  EXPECT_FALSE(ParseTime("-5s"));
  EXPECT_FALSE(ParseTime("1h30m"));
  EXPECT_FALSE(ParseTime("99999999999w"));
}

TEST(ConfigValueTest, Integers) {
  EXPECT_EQ(*ParseInteger("42"), 42);
  EXPECT_EQ(*ParseInteger("-1"), -1);
  EXPECT_EQ(*ParseInteger(" 7 "), 7);
  EXPECT_FALSE(ParseInteger("4x"));
  EXPECT_FALSE(ParseInteger(""));
  EXPECT_FALSE(ParseInteger("99999999999999999999999"));
}

TEST(ConfigValueTest, Sizes) {
  EXPECT_EQ(*ParseSize("10240000"), 10240000u);
  EXPECT_EQ(*ParseSize("10k"), 10240u);
  EXPECT_EQ(*ParseSize("50M"), 50u << 20);
  EXPECT_EQ(*ParseSize("1g"), 1u << 30);
  EXPECT_FALSE(ParseSize("10 MB"));
  EXPECT_FALSE(ParseSize("-1"));
}

TEST(ConfigValueTest, Booleans) {
  EXPECT_TRUE(*ParseBool("yes"));
  EXPECT_TRUE(*ParseBool("YES"));
  EXPECT_TRUE(*ParseBool("true"));
  EXPECT_FALSE(*ParseBool("no"));
  EXPECT_FALSE(ParseBool("maybe"));
  EXPECT_FALSE(ParseBool(""));
}

TEST(ConfigValueTest, Numbers) {
  EXPECT_DOUBLE_EQ(*ParseNumber("6.31"), 6.31);
  EXPECT_DOUBLE_EQ(*ParseNumber("-0.5"), -0.5);
  EXPECT_DOUBLE_EQ(*ParseNumber("2"), 2.0);
  EXPECT_FALSE(ParseNumber("six"));
  EXPECT_FALSE(ParseNumber("nan"));
  EXPECT_FALSE(ParseNumber("1e400"));
}

TEST(ConfigValueTest, ListsSplitOnCommasAndWhitespaceKeepingBraces) {
  EXPECT_EQ(SplitList("permit_mynetworks, reject_unauth_destination,reject"),
            (std::vector<std::string>{"permit_mynetworks", "reject_unauth_destination",
                                      "reject"}));
  EXPECT_EQ(SplitList("  a\tb\n c ,, d "), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(SplitList("hash:/etc/a, inline:{ x=1, y=2 } static:z"),
            (std::vector<std::string>{"hash:/etc/a", "inline:{ x=1, y=2 }", "static:z"}));
  EXPECT_TRUE(SplitList("").empty());
  EXPECT_TRUE(SplitList(" , ").empty());
}

TEST(ConfigValueTest, HostPort) {
  auto v4 = ParseHostPort("127.0.0.1:10024");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 10024);
  auto v6 = ParseHostPort("[::1]:10025");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:10025");
  EXPECT_TRUE(ParseHostPort("localhost:25"));
  EXPECT_FALSE(ParseHostPort("127.0.0.1"));
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0"));
  EXPECT_FALSE(ParseHostPort("127.0.0.1:65536"));
  EXPECT_FALSE(ParseHostPort("::1:25"));
  EXPECT_FALSE(ParseHostPort("[nothost]:25"));
}

TEST(ConfigValueTest, Networks) {
  EXPECT_TRUE(ValidateNetwork("127.0.0.0/8"));
  EXPECT_TRUE(ValidateNetwork("192.168.1.1"));
  EXPECT_TRUE(ValidateNetwork("[::1]/128"));
  EXPECT_TRUE(ValidateNetwork("[2001:db8::]/32"));
  EXPECT_TRUE(ValidateNetwork("2001:db8::/32"));
  EXPECT_TRUE(ValidateNetwork("!10.0.0.0/8"));
  EXPECT_FALSE(ValidateNetwork("10.0.0.0/33"));
  EXPECT_FALSE(ValidateNetwork("300.1.1.1/8"));
  EXPECT_FALSE(ValidateNetwork("[::1]/129"));
  EXPECT_FALSE(ValidateNetwork("10.0.0.0/"));
  EXPECT_FALSE(ValidateNetwork("example.com"));
}

TEST(ConfigValueTest, TableSpecsAndEditDistance) {
  EXPECT_TRUE(LooksLikeTableSpec("hash:/etc/postfix/transport"));
  EXPECT_TRUE(LooksLikeTableSpec("PCRE:/x"));
  EXPECT_TRUE(LooksLikeTableSpec("inline:{a=b}"));
  EXPECT_FALSE(LooksLikeTableSpec("hsah:/x"));
  EXPECT_FALSE(LooksLikeTableSpec("/etc/postfix/transport"));
  EXPECT_EQ(EditDistance("relay_domain", "relay_domains"), 1u);
  EXPECT_EQ(EditDistance("mynetwroks", "mynetworks"), 1u);  // a transposition counts once
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

}  // namespace
}  // namespace moat::core
