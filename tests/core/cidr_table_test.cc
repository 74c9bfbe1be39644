// cidr_table_test.cc - cidr: tables: first match wins, IPv4/IPv6, negation, if/endif, mapped.
#include "core/cidr_table.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

struct KeyCase {
  const char* key;
  const char* expected;  // "" = not found
};

void Expect(const CidrTable& table, std::initializer_list<KeyCase> cases) {
  for (const KeyCase& c : cases) {
    SCOPED_TRACE(c.key);
    auto result = table.Lookup(c.key);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->value_or(""), c.expected);
  }
}

std::shared_ptr<const CidrTable> MustCompile(std::string_view text) {
  std::vector<std::string> warnings;
  auto table = CidrTable::Compile("cidr:t", "t", text, warnings);
  EXPECT_TRUE(table) << table.error().message();
  return table ? *table : nullptr;
}

TEST(CidrTableTest, CidrTableManualExample) {
  auto table =
      MustCompile(testing::ReadTextFile(testing::SourcePath("testdata/corpus/tables/access.cidr")));
  ASSERT_TRUE(table);
  EXPECT_TRUE(table->IsCidr());
  EXPECT_TRUE(table->IsPattern());
  Expect(*table, {
                     {"192.168.1.1", "OK"},
                     {"192.168.1.2", "REJECT"},
                     {"192.168.255.255", "REJECT"},
                     {"192.169.0.1", ""},
                     {"::ffff:192.168.1.1", "OK"},
                     {"::ffff:192.168.7.7", "REJECT"},
                     {"2001:db8::1", "OK"},
                     {"2001:DB8::0:1", "OK"},
                     {"2001:db8:1::1", "REJECT"},
                     {"2001:db9::1", ""},
                     {"not-an-address", ""},
                     {"[192.168.1.1]", ""},
                     {"", ""},
                 });
}

TEST(CidrTableTest, SeedMynetworksFile) {
  auto table = MustCompile(
      testing::ReadTextFile(testing::SourcePath("testdata/corpus/tables/mynetworks.cidr")));
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"127.0.0.1", "loopback"},
                     {"::1", "loopback"},
                     {"::ffff:127.0.0.1", "loopback"},
                     {"192.168.23.56", "internal mail servers"},
                     {"192.168.24.1", ""},
                     {"203.0.113.5", ""},
                 });
}

TEST(CidrTableTest, NegationIfEndifAndFamilies) {
  auto table = MustCompile(
      "!10.0.0.0/8         outside-ten\n"
      "if 10.1.0.0/16\n"
      "if !10.1.2.0/24\n"
      "10.1.0.0/16         ten-one-not-two\n"
      "endif\n"
      "10.1.2.3            host-in-two\n"
      "endif\n"
      "[2001:db8::]/32     v6\n"
      "[::ffff:10.9.0.0]/112 mapped-net\n");
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"192.0.2.1", "outside-ten"},
                     // A negated IPv4 entry never matches IPv6 (cidr_match.c checks the family).
                     {"2001:db8::5", "v6"},
                     {"10.1.9.9", "ten-one-not-two"},
                     {"10.1.2.3", "host-in-two"},
                     {"10.1.2.4", ""},
                     {"10.9.1.1", "mapped-net"},
                     {"::ffff:10.9.1.1", "mapped-net"},
                     {"10.2.0.1", ""},
                 });
}

TEST(CidrTableTest, ErrorsUsePostfixWordingWithFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"192.168.0.0/16 OK\n10.0.0.0/33 REJECT\n", "t:2: bad net/mask pattern: \"10.0.0.0/33\""},
      {"10.1.2.3/8 OK\n",
       "t:1: non-null host address bits in \"10.1.2.3/8\", perhaps you should use \"10.0.0.0/8\" "
       "instead"},
      {"mail.example.com OK\n", "t:1: bad address pattern: \"mail.example.com\""},
      {"10.0.0.0/8\n", "t:1: no lookup result after \"10.0.0.0/8\""},
      {"! OK\n", "t:1: no address pattern"},
      {"if 10.0.0.0/8\n10.1.0.0/16 x\n", "t:1: unterminated if (no matching endif)"},
      {"endif\n", "t:1: endif without matching if"},
      {"if\nendif\n", "t:1: no address pattern"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::vector<std::string> warnings;
    auto table = CidrTable::Compile("cidr:t", "t", c.text, warnings);
    ASSERT_FALSE(table);
    EXPECT_EQ(table.error().code(), ErrorCode::kInvalid);
    EXPECT_EQ(table.error().message(), c.message);
  }
}

}  // namespace
}  // namespace moat::core
