// address_parser_test.cc - :addr and :name as SpamAssassin's Util::parse_header_addresses.
#include "rules/address_parser.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

std::vector<std::string> Addresses(const std::string& value) {
  std::vector<std::string> out;
  for (const auto& a : ParseHeaderAddresses(value)) {
    if (a.address) out.push_back(*a.address);
  }
  return out;
}

std::vector<std::string> Names(const std::string& value) {
  std::vector<std::string> out;
  for (const auto& a : ParseHeaderAddresses(value)) {
    if (a.phrase) out.push_back(DisplayName(*a.phrase));
  }
  return out;
}

TEST(AddressParserTest, SpamAssassinDocumentedForms) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Addresses("example@foo.example"), V{"example@foo.example"});
  EXPECT_EQ(Addresses("example@foo.example (Foo Blah), <example@bar.example>"),
            (V{"example@foo.example", "example@bar.example"}));
  EXPECT_EQ(Addresses("example@foo.example, example@bar.example"),
            (V{"example@foo.example", "example@bar.example"}));
  EXPECT_EQ(Addresses("display: example@foo.example (Foo Blah), example@bar.example ;"),
            (V{"example@foo.example", "example@bar.example"}));
  EXPECT_EQ(Addresses("Foo Blah <example@foo.example>"), V{"example@foo.example"});
  EXPECT_EQ(Addresses("\"Foo Blah\" <example@foo.example>"), V{"example@foo.example"});
  EXPECT_EQ(Names("example@foo.example (Foo Blah), \"Bar Baz\" <example@bar.example>"),
            (V{"Foo Blah", "Bar Baz"}));
  EXPECT_EQ(Names("\"'Foo Blah'\" <example@foo.example>"), V{"Foo Blah"});
  EXPECT_EQ(Names("=?utf-8?Q?J=C3=BCrgen?=  Smith <j@example.com>"), V{"Jürgen Smith"});
}

TEST(AddressParserTest, OddInput) {
  EXPECT_TRUE(Addresses("").empty());
  EXPECT_TRUE(Addresses("   ").empty());
  EXPECT_TRUE(Addresses("undisclosed-recipients:;").empty());
  EXPECT_EQ(Addresses("a@b.example@c.example"), std::vector<std::string>{"a@b.example"});
  EXPECT_EQ(Addresses("\"quoted \\\"name\\\" \" <x@y.example>"),
            std::vector<std::string>{"x@y.example"});
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "u" + std::to_string(i) + "@example.com, ";
  EXPECT_EQ(Addresses(many).size(), 2000u);
}

}  // namespace
}  // namespace moat::rules
