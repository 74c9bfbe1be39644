// map_query_test.cc - `build/bin/moat map query` as an administrator runs it, side by side with
// Postfix's `postmap -q` on the same files: same output, same exit status; bad tables give a
// one-line file:line message and exit 2.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_support.h"

namespace moat {
namespace {

const std::string kCorpus = testing::SourcePath("testdata/corpus/tables");

class MapQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moat_ = testing::BinaryPath("moat");
    auto help = testing::RunCommand({moat_, "map", "query", "--help"});
    ASSERT_EQ(help.exit_code, 0) << help.out << help.err;
    ASSERT_NE(help.out.find("postmap -q"), std::string::npos) << help.out;
  }

  testing::CommandResult Moat(std::vector<std::string> args) {
    std::vector<std::string> argv = {moat_, "-c", kCorpus};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv);
  }

  std::string moat_;
};

TEST_F(MapQueryTest, SameAnswersAsPostmapForTheSeedTables) {
  if (!testing::HaveTool("/usr/sbin/postmap")) GTEST_SKIP() << "postmap (postfix) is missing";
  testing::TempDir postfix_config;
  std::string main_cf = postfix_config.WriteFile("main.cf", "");
  // Postfix waits for files modified within the last second to "cool down".
  std::filesystem::last_write_time(
      main_cf, std::filesystem::file_time_type::clock::now() - std::chrono::seconds(10));
  struct Case {
    const char* table;
    const char* key;
  };
  const Case cases[] = {
      {"texthash:transport", "example.com"},
      {"texthash:transport", "kdent@ora.com"},
      {"texthash:transport", "KDENT@ORA.COM"},
      {"texthash:transport", ".example.com"},
      {"texthash:transport", "mail.example.com"},
      {"pcre:virtual.pcre", "first.last@nabsd.cs.nctu.edu.tw"},
      {"pcre:virtual.pcre", "noddy@my.domain"},
      {"pcre:virtual.pcre", "nobody@example.com"},
      {"regexp:access.regexp", "list-outgoing@example.com"},
      {"cidr:mynetworks.cidr", "192.168.23.56"},
      {"cidr:mynetworks.cidr", "::1"},
      {"cidr:mynetworks.cidr", "203.0.113.9"},
      {"cidr:access.cidr", "2001:db8::1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.table) + " " + c.key);
    std::string table = c.table;
    std::string absolute =
        table.substr(0, table.find(':') + 1) + kCorpus + "/" + table.substr(table.find(':') + 1);
    auto postmap = testing::RunCommand(
        {"/usr/sbin/postmap", "-c", postfix_config.path(), "-q", c.key, absolute});
    auto moat = Moat({"map", "query", c.table, c.key});
    EXPECT_EQ(moat.exit_code, postmap.exit_code) << moat.err << postmap.err;
    EXPECT_EQ(moat.out, postmap.out);
    EXPECT_EQ(moat.err, "");
  }
}

TEST_F(MapQueryTest, AddressSearchOnTheSeedTransportTable) {
  auto address = Moat({"map", "query", "--address", "--style", "transport", "--delimiter", "+",
                       "texthash:transport", "kdent+news@ora.com", "tim@ora.com",
                       "joe@mail.example.com", "joe@example.com"});
  EXPECT_EQ(address.exit_code, 0) << address.err;
  EXPECT_EQ(address.out,
            "kdent+news@ora.com -> error:no mail accepted for kdent (key \"kdent@ora.com\" in "
            "texthash:transport, extension \"+news\")\n"
            "tim@ora.com -> smtp:[10.0.0.5] (key \"ora.com\" in texthash:transport)\n"
            "joe@mail.example.com -> smtp:bar.example:2025 (key \".example.com\" in "
            "texthash:transport)\n"
            "joe@example.com -> smtp:[192.168.23.56]:20025 (key \"example.com\" in "
            "texthash:transport)\n");
  auto missing = Moat({"map", "query", "--address", "--style", "transport", "texthash:transport",
                       "joe@example.org"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out,
            "joe@example.org: not found (tried joe@example.org, example.org, .org, *)\n");
}

TEST_F(MapQueryTest, BadInputIsOneLineWithFileAndLine) {
  struct Case {
    const char* table;
    std::string err;
  };
  const std::string bad = kCorpus + "/bad";
  const Case cases[] = {
      {"pcre:bad/invalid-regex.pcre",
       bad + "/invalid-regex.pcre:3: invalid regular expression at offset 8: missing closing "
             "parenthesis\n"},
      {"pcre:bad/unterminated-if.pcre",
       bad + "/unterminated-if.pcre:2: unterminated if (no matching endif)\n"},
      {"cidr:bad/bad-cidr.cidr", bad + "/bad-cidr.cidr:2: bad net/mask pattern: \"10.0.0.0/33\"\n"},
      {"texthash:bad/no-value.texthash",
       bad + "/no-value.texthash:2: expected format: key whitespace value, found only the key "
             "\"lonelykey\"\n"},
      {"hash:no-such-table", kCorpus + "/no-such-table: cannot open table: No such file or "
                                       "directory\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.table);
    auto run = Moat({"map", "query", c.table, "key"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, c.err);
  }
}

}  // namespace
}  // namespace moat
