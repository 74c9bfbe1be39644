// postmap_compat_test.cc - the same table files and keys through Moat and through Postfix's own
// `postmap -q`: every answer must agree. Postfix (and postfix-pcre) is a test peer listed in
// cmake/debian-deps.sh; the comparison runs postmap with a private empty config directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "core/lookup_table.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

constexpr const char* kPostmap = "/usr/sbin/postmap";

// Postfix re-reads a file whose mtime is within the last second ("let the file cool down",
// 300 ms at a time); files written by the test are dated back so postmap answers at once.
std::string Cooled(const std::string& path) {
  std::filesystem::last_write_time(
      path, std::filesystem::file_time_type::clock::now() - std::chrono::seconds(10));
  return path;
}

struct PostmapResult {
  std::map<std::string, std::string> answers;
  std::string err;
  int exit_code = -1;
};

// postmap -q - TYPE:FILE reads keys on stdin and prints "key<TAB>value" for each one found.
PostmapResult RunPostmap(const testing::TempDir& dir, const std::string& spec,
                         const std::vector<std::string>& keys) {
  std::string input;
  for (const auto& k : keys) input += k + "\n";
  testing::CommandOptions options;
  options.stdin_data = input;
  auto result = testing::RunCommand({kPostmap, "-c", dir.path(), "-q", "-", spec}, options);
  PostmapResult out;
  out.err = result.err;
  out.exit_code = result.exit_code;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.answers[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return out;
}

std::map<std::string, std::string> PostmapAnswers(const testing::TempDir& dir,
                                                  const std::string& spec,
                                                  const std::vector<std::string>& keys) {
  PostmapResult result = RunPostmap(dir, spec, keys);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err.find("fatal"), std::string::npos) << result.err;
  return result.answers;
}

struct CompatCase {
  const char* name;
  const char* type;
  const char* text;  // nullptr: `file` names a corpus fixture instead
  const char* file;
  std::vector<std::string> keys;
};

class PostmapCompatTest : public ::testing::TestWithParam<CompatCase> {};

TEST_P(PostmapCompatTest, SameAnswersAsPostmap) {
  const CompatCase& c = GetParam();
  if (!testing::HaveTool(kPostmap)) GTEST_SKIP() << "postmap (Debian package postfix) is missing";
  testing::TempDir dir;
  Cooled(dir.WriteFile("main.cf", ""));
  std::string path = c.text != nullptr
                         ? Cooled(dir.WriteFile("table", c.text))
                         : testing::SourcePath(std::string("testdata/corpus/tables/") + c.file);
  std::string spec = std::string(c.type) + ":" + path;
  PostmapResult postmap = RunPostmap(dir, spec, c.keys);
  if (postmap.err.find("unsupported dictionary type") != std::string::npos) {
    GTEST_SKIP() << "postmap lacks the " << c.type << " map type (Debian package postfix-" << c.type
                 << ")";
  }
  ASSERT_EQ(postmap.exit_code, 0) << postmap.err;
  ASSERT_EQ(postmap.err.find("fatal"), std::string::npos) << postmap.err;
  const auto& expected = postmap.answers;

  auto table = OpenTable(spec);
  ASSERT_TRUE(table) << table.error().message();
  size_t found = 0;
  for (const std::string& key : c.keys) {
    SCOPED_TRACE(key);
    auto ours = (*table)->Lookup(key);
    ASSERT_TRUE(ours) << ours.error().message();
    auto theirs = expected.find(key);
    if (theirs == expected.end()) {
      EXPECT_FALSE(ours->has_value()) << "Moat found \"" << **ours << "\", postmap found nothing";
    } else {
      ++found;
      ASSERT_TRUE(ours->has_value()) << "postmap found \"" << theirs->second << "\"";
      EXPECT_EQ(**ours, theirs->second);
    }
  }
  EXPECT_GT(found, 0u) << "the case should have some hits";
}

const CompatCase kCases[] = {
    {"texthash_format",
     "texthash",
     "# comment\n"
     "Example.COM   smtp:[192.168.23.56]:20025\n"
     "key value with  spaces # and a hash\n"
     "cont first\n"
     "  second\n"
     "# between\n"
     "\tthird\n"
     "dup 1\n"
     "DUP 2\n"
     "alias: value\n"
     "trailing value   \t\n"
     "crlf value\r\n",
     nullptr,
     {"example.com", "EXAMPLE.COM", "key", "cont", "dup", "DUP", "alias:", "trailing", "crlf",
      "missing", "first"}},
    {"seed_transport",
     "texthash",
     nullptr,
     "transport",
     {"example.com", ".example.com", "kdent@ora.com", "KDENT@ora.com", "ora.com",
      "mail.example.com", "nobody@ora.com"}},
    {"seed_virtual_pcre",
     "pcre",
     nullptr,
     "virtual.pcre",
     {"first.last@nabsd.cs.nctu.edu.tw", "First.Last@NABSD.CS.NCTU.EDU.TW",
      "a.b.c@nabsd.cs.nctu.edu.tw", "nodot@nabsd.cs.nctu.edu.tw", "list-outgoing@example.com",
      "owner-list-outgoing@example.com", "friend@example.org", "friend@my.domain",
      "noddy@my.domain", "NODDY@MY.DOMAIN"}},
    {"pcre_flags_and_substitution",
     "pcre",
     "/^caseless$/ default-i\n"
     "/^Exact$/i toggled-i\n"
     "/^a.b$/ default-s\n"
     "/^ e x t $/x extended\n"
     "/<(.+)>/U ungreedy:$1\n"
     "/anch/A anchored\n"
     "/^(a)(b)?(c)$/ [$1][$2][${3}][$(1)]$$1\n"
     "/^(x)(y)(z)(w)(v)(u)(t)(s)(r)(q)$/ ${10}$1\n"
     "|^p/q$| pipe-delimited\n"
     "%^c\\%d$% escaped-delimiter\n"
     "if /@example\\.com$/\n"
     "if !/^admin/\n"
     "/^(.*)@/ user:$1\n"
     "endif\n"
     "/^admin/ admin\n"
     "endif\n"
     "!/@/ bare\n",
     nullptr,
     {"CASELESS", "Exact", "exact", "ext", "<a><b>", "anchor", "xanchor", "abc", "ac", "xyzwvutsrq",
      "p/q", "c%d", "joe@example.com", "admin@example.com", "joe@example.org", "nobody"}},
    {"regexp_manual",
     "regexp",
     nullptr,
     "access.regexp",
     {"user%other@example.com", "a!b!c", "postmaster@example.com", "POSTMASTER@EXAMPLE.COM",
      "list-outgoing@example.com", "owner-list-outgoing@example.com", "joe@example.com"}},
    {"regexp_posix_syntax",
     "regexp",
     "/^[[:digit:]]+$/ digits\n"
     "/^a[\\.]b$/ backslash-or-dot\n"
     "/\\<word\\>/ word\n"
     "/^Case$/i case-sensitive\n"
     "/^ab/!/c$/ ab-not-c\n"
     "/^(re)(st)$/ ${2}${1}\n"
     "/^(one|two)+three$/ repeat:$1\n",
     nullptr,
     {"12345", "12a45", "a.b", "a\\b", "axb", "a word here", "swordfish", "Case", "case", "abd",
      "abc", "rest", "onetwothree", "twothree"}},
    {"cidr_manual",
     "cidr",
     nullptr,
     "access.cidr",
     {"192.168.1.1", "192.168.1.2", "192.169.0.1", "2001:db8::1", "2001:db8:1::1", "2001:db9::1",
      "not-an-address"}},
    {"cidr_mynetworks",
     "cidr",
     nullptr,
     "mynetworks.cidr",
     {"127.0.0.1", "::1", "192.168.23.56", "192.168.24.1", "203.0.113.5"}},
    {"cidr_if_negation",
     "cidr",
     "!10.0.0.0/8         outside-ten\n"
     "if 10.1.0.0/16\n"
     "if !10.1.2.0/24\n"
     "10.1.0.0/16         ten-one-not-two\n"
     "endif\n"
     "10.1.2.3            host-in-two\n"
     "endif\n"
     "[2001:db8::]/32     v6\n",
     nullptr,
     {"192.0.2.1", "2001:db8::5", "10.1.9.9", "10.1.2.3", "10.1.2.4", "10.2.0.1"}},
};

INSTANTIATE_TEST_SUITE_P(Tables, PostmapCompatTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// inline: and static: live in main.cf; postmap -q takes them as the table argument.
TEST(PostmapCompatInlineTest, InlineAndStatic) {
  if (!testing::HaveTool(kPostmap)) GTEST_SKIP() << "postmap (Debian package postfix) is missing";
  testing::TempDir dir;
  Cooled(dir.WriteFile("main.cf", ""));
  const std::vector<std::string> keys = {"example.com", "B", "long", "c", "anything"};
  for (std::string spec :
       {"inline:{ Example.com=smtp:[a]:25, { b = c }, { long = value, with comma } }",
        "static:{ text with spaces }", "static:smtp:[relay.example]:587"}) {
    SCOPED_TRACE(spec);
    auto expected = PostmapAnswers(dir, spec, keys);
    auto table = OpenTable(spec);
    ASSERT_TRUE(table) << table.error().message();
    for (const auto& key : keys) {
      auto ours = (*table)->Lookup(key);
      ASSERT_TRUE(ours);
      auto theirs = expected.find(key);
      if (theirs == expected.end()) {
        EXPECT_FALSE(ours->has_value()) << key;
      } else {
        ASSERT_TRUE(ours->has_value()) << key;
        EXPECT_EQ(**ours, theirs->second) << key;
      }
    }
  }
}

}  // namespace
}  // namespace moat::core
