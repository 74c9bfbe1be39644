// table_garbage_test.cc - mangled table files and specs: every parser answers with a table or a
// one-line "file:line: ..." error, never a crash, a hang or a multi-line message. Deterministic
// (fixed seeds), so a failure reproduces; run under ASan/UBSan in build-asan.
#include <gtest/gtest.h>

#include <random>

#include "core/cidr_table.h"
#include "core/hash_table.h"
#include "core/ip_network.h"
#include "core/lookup_table.h"
#include "core/network_list.h"
#include "core/regexp_table.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

// Characters that matter to the parsers, plus some that should not.
constexpr char kInterestingChars[] = "/!\\$(){}[]|%:#., \t\n\r@=+-*?^0123456789abcIFif\x00\xff";
constexpr std::string_view kInteresting(kInterestingChars, sizeof kInterestingChars - 1);

std::string Mangle(std::string text, std::mt19937& random) {
  std::uniform_int_distribution<int> edits(1, 8);
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_int_distribution<size_t> pick(0, kInteresting.size() - 1);
  const int n = edits(random);
  for (int i = 0; i < n; ++i) {
    size_t at = text.empty() ? 0 : std::uniform_int_distribution<size_t>(0, text.size())(random);
    char c = kInteresting[pick(random)];
    switch (kind(random)) {
      case 0:
        text.insert(at, 1, c);
        break;
      case 1:
        if (at < text.size()) text[at] = c;
        break;
      case 2:
        if (at < text.size()) text.erase(at, 1);
        break;
      default: {
        size_t length = std::uniform_int_distribution<size_t>(0, 20)(random);
        text.insert(at, text.substr(at, length));  // duplicate a run
      }
    }
  }
  return text;
}

void ExpectOneLineError(const Error& error) {
  EXPECT_EQ(error.message().find('\n'), std::string::npos) << error.message();
  EXPECT_FALSE(error.message().empty());
}

TEST(TableGarbageTest, MangledFilesNeverCrash) {
  const std::string corpus = testing::SourcePath("testdata/corpus/tables/");
  const std::string pcre = testing::ReadTextFile(corpus + "virtual.pcre");
  const std::string regexp = testing::ReadTextFile(corpus + "access.regexp");
  const std::string cidr = testing::ReadTextFile(corpus + "access.cidr") +
                           testing::ReadTextFile(corpus + "mynetworks.cidr") +
                           "if 10.0.0.0/8\n!10.1.0.0/16 x\nendif\n";
  const std::string hash = testing::ReadTextFile(corpus + "transport");
  std::mt19937 random(20240601);
  int errors = 0, tables = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> warnings;
    std::string text;
    switch (round % 4) {
      case 0: {
        text = Mangle(pcre, random);
        auto t = RegexpTable::Compile("pcre:t", RegexpDialect::kPcre, "t", text, warnings);
        if (t) {
          ++tables;
          for (const char* key : {"first.last@nabsd.cs.nctu.edu.tw", "noddy@my.domain", "", "$1"}) {
            auto r = (*t)->Lookup(key);
            if (!r) ExpectOneLineError(r.error());
          }
        } else {
          ++errors;
          ExpectOneLineError(t.error());
          EXPECT_EQ(t.error().message().rfind("t:", 0), 0u) << t.error().message();
        }
        break;
      }
      case 1: {
        text = Mangle(regexp, random);
        auto t = RegexpTable::Compile("regexp:t", RegexpDialect::kPosix, "t", text, warnings);
        if (t) {
          ++tables;
          auto r = (*t)->Lookup("list-outgoing@example.com");
          if (!r) ExpectOneLineError(r.error());
        } else {
          ++errors;
          ExpectOneLineError(t.error());
          EXPECT_EQ(t.error().message().rfind("t:", 0), 0u) << t.error().message();
        }
        break;
      }
      case 2: {
        text = Mangle(cidr, random);
        auto t = CidrTable::Compile("cidr:t", "t", text, warnings);
        if (t) {
          ++tables;
          for (const char* key : {"192.168.1.1", "2001:db8::1", "10.1.2.3", "::ffff:10.0.0.1"}) {
            ASSERT_TRUE((*t)->Lookup(key));
          }
        } else {
          ++errors;
          ExpectOneLineError(t.error());
          EXPECT_EQ(t.error().message().rfind("t:", 0), 0u) << t.error().message();
        }
        break;
      }
      default: {
        text = Mangle(hash, random);
        auto t = HashTable::Compile("texthash:t", "t", text, warnings);
        if (t) {
          ++tables;
          ASSERT_TRUE((*t)->Lookup("example.com"));
        } else {
          ++errors;
          ExpectOneLineError(t.error());
          EXPECT_EQ(t.error().message().rfind("t:", 0), 0u) << t.error().message();
        }
      }
    }
  }
  // Both outcomes must occur, or the mangling is not exercising the parsers.
  EXPECT_GT(errors, 100);
  EXPECT_GT(tables, 100);
}

TEST(TableGarbageTest, MangledSpecsAndListsNeverCrash) {
  const std::vector<std::string> seeds = {
      "inline:{ a=b, { c = d e }, f=g }",
      "static:{ text with spaces }",
      "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 !192.168.1.1 192.168.0.0/16",
      "hash:/nonexistent, inline:{ x=y } static:z",
      "[2001:db8::/32] 10.0.0.0/8, !inline:{ 10.0.0.1=x }",
  };
  std::mt19937 random(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text = Mangle(seeds[round % seeds.size()], random);
    auto table = OpenTable(text);
    if (!table) ExpectOneLineError(table.error());
    auto list = TableList::Open(text);
    if (!list) ExpectOneLineError(list.error());
    auto networks = NetworkList::Parse(text);
    if (!networks) {
      ExpectOneLineError(networks.error());
    } else {
      ASSERT_TRUE(networks->Contains("192.168.1.1"));
    }
    auto network = IpNetwork::Parse(text);
    if (!network) ExpectOneLineError(network.error());
  }
}

}  // namespace
}  // namespace moat::core
