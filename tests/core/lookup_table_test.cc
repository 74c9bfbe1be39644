// lookup_table_test.cc - OpenTable() for every type, table lists, the seed-document fixtures,
// bad input as one-line file:line errors, and reloading when a file changes.
#include "core/lookup_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/reloading_table.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

std::string Corpus(const std::string& name) {
  return testing::SourcePath("testdata/corpus/tables/" + name);
}

// "value", "" for not found, "error: message" for an error: one string to compare per key.
std::string Query(const LookupTable& table, std::string_view key) {
  auto result = table.Lookup(key);
  if (!result) return "error: " + result.error().message();
  return result->value_or("");
}

std::string Query(const TableList& list, std::string_view key) {
  auto result = list.Lookup(key);
  if (!result) return "error: " + result.error().message();
  return result->value_or("");
}

struct KeyCase {
  const char* key;
  const char* expected;  // "" = not found
};

void ExpectLookups(const LookupTable& table, std::initializer_list<KeyCase> cases) {
  std::string buffer;
  for (const KeyCase& c : cases) {
    SCOPED_TRACE(std::string(table.spec()) + " key=" + c.key);
    EXPECT_EQ(Query(table, c.key), c.expected);
    // LookupInto must agree with Lookup.
    auto found = table.LookupInto(c.key, buffer);
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, *c.expected != '\0');
    if (*found) {
      EXPECT_EQ(buffer, c.expected);
    }
  }
}

TEST(LookupTableTest, TexthashReadsTheSourceFormat) {
  testing::TempDir dir;
  dir.WriteFile("t",
                "# comment\n"
                "Example.COM   smtp:[192.168.23.56]:20025\n"
                "key value with  spaces # and a hash\n"
                "cont first\n"
                "  second\n"
                "# between\n"
                "\tthird\n"
                "dup 1\n"
                "DUP 2\n");
  std::vector<std::string> warnings;
  TableOpenOptions options;
  options.base_directory = dir.path();
  options.warnings = &warnings;
  for (const char* type : {"texthash", "hash", "btree", "lmdb", "proxy:hash"}) {
    auto table = OpenTable(std::string(type) + ":t", options);
    ASSERT_TRUE(table) << table.error().message();
    EXPECT_EQ((*table)->spec(), std::string(type) + ":t");
    EXPECT_FALSE((*table)->IsPattern());
    ExpectLookups(**table, {
                               {"example.com", "smtp:[192.168.23.56]:20025"},
                               {"EXAMPLE.com", "smtp:[192.168.23.56]:20025"},
                               {"key", "value with  spaces # and a hash"},
                               {"cont", "first  second\tthird"},
                               {"dup", "1"},
                               {"Dup", "1"},
                               {"missing", ""},
                               {"", ""},
                               {"example.co", ""},
                           });
  }
  ASSERT_FALSE(warnings.empty());
  EXPECT_EQ(warnings[0], dir.Path("t") + ":9: duplicate entry: \"dup\" (the first one is used)");
}

TEST(LookupTableTest, LongKeysAreFoldedToo) {
  testing::TempDir dir;
  std::string long_key(1000, 'K');
  dir.WriteFile("t", long_key + " long\n");
  TableOpenOptions options;
  options.base_directory = dir.path();
  auto table = OpenTable("texthash:t", options);
  ASSERT_TRUE(table);
  EXPECT_EQ(Query(**table, std::string(1000, 'k')), "long");
  EXPECT_EQ(Query(**table, std::string(999, 'k')), "");
}

TEST(LookupTableTest, StaticAndInline) {
  auto s = OpenTable("static:smtp:[relay.example]:587");
  ASSERT_TRUE(s);
  ExpectLookups(**s, {{"anything", "smtp:[relay.example]:587"}, {"", "smtp:[relay.example]:587"}});
  auto braced = OpenTable("static:{ text with spaces }");
  ASSERT_TRUE(braced);
  ExpectLookups(**braced, {{"x", "text with spaces"}});

  auto t =
      OpenTable("inline:{ Example.com=smtp:[a]:25, { b = c }, { long = value, with comma }, e=}");
  ASSERT_TRUE(t) << t.error().message();
  ExpectLookups(
      **t, {{"example.com", "smtp:[a]:25"}, {"B", "c"}, {"long", "value, with comma"}, {"c", ""}});
  auto empty_value = (*t)->Lookup("e");
  ASSERT_TRUE(empty_value && empty_value->has_value());
  EXPECT_EQ(**empty_value, "");
  EXPECT_FALSE((*t)->IsPattern());
}

TEST(LookupTableTest, SpecErrorsAreOneLineAndNameTheSpec) {
  struct Case {
    const char* spec;
    ErrorCode code;
    const char* message;
  };
  const Case cases[] = {
      {"transport", ErrorCode::kInvalid,
       "\"transport\": a table is written type:name, for example hash:/etc/moat/transport"},
      {"foo:/x", ErrorCode::kInvalid, "\"foo:/x\": unknown table type \"foo\" (supported: "},
      {"mysql:/etc/moat/mysql.cf", ErrorCode::kInvalid,
       "\"mysql:/etc/moat/mysql.cf\": table type \"mysql\" is not supported by Moat"},
      {"hash:", ErrorCode::kInvalid, "\"hash:\": the table has no name"},
      {"inline:{a}", ErrorCode::kInvalid,
       "inline:{a}: missing '=' after attribute name \"a\"; need \"inline:{name=value...}\""},
      // As in Postfix, blanks separate entries outside { }: "b = c" is three entries.
      {"inline:{ b = c }", ErrorCode::kInvalid,
       "inline:{ b = c }: missing '=' after attribute name \"b\"; need \"inline:{name=value...}\""},
      {"inline:{}", ErrorCode::kInvalid, "inline:{}: empty table; need \"inline:{name=value...}\""},
      {"inline:{a=b", ErrorCode::kInvalid, "inline:{a=b: bad syntax; need"},
      {"inline:a=b", ErrorCode::kInvalid, "inline:a=b: bad syntax; need"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    auto table = OpenTable(c.spec);
    ASSERT_FALSE(table);
    EXPECT_EQ(table.error().code(), c.code);
    EXPECT_EQ(table.error().message().rfind(c.message, 0), 0u) << table.error().message();
    EXPECT_EQ(table.error().message().find('\n'), std::string::npos);
  }
}

TEST(LookupTableTest, MessagesQuotingInputStayOnOneLine) {
  auto table = OpenTable("inline:{ a\nb\x01 }");
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().message(),
            "inline:{ a\\nb\\x01 }: missing '=' after attribute name \"a\"; need "
            "\"inline:{name=value...}\"");
  auto file = OpenTable("hash:/no\nwhere");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message(), "/no\\nwhere: cannot open table: No such file or directory");
}

// The "Must show" bad input: each a one-line file:line message (or file: for unreadable files).
TEST(LookupTableTest, BadTableFilesGiveOneLineFileLineErrors) {
  struct Case {
    const char* spec;
    ErrorCode code;
    std::string message;
  };
  const std::string bad = Corpus("bad");
  const Case cases[] = {
      {"pcre:invalid-regex.pcre", ErrorCode::kInvalid,
       bad + "/invalid-regex.pcre:3: invalid regular expression at offset 8: missing closing "
             "parenthesis"},
      {"pcre:unterminated-if.pcre", ErrorCode::kInvalid,
       bad + "/unterminated-if.pcre:2: unterminated if (no matching endif)"},
      {"regexp:endif-without-if.regexp", ErrorCode::kInvalid,
       bad + "/endif-without-if.regexp:2: endif without matching if"},
      {"cidr:bad-cidr.cidr", ErrorCode::kInvalid,
       bad + "/bad-cidr.cidr:2: bad net/mask pattern: \"10.0.0.0/33\""},
      {"cidr:host-bits.cidr", ErrorCode::kInvalid,
       bad + "/host-bits.cidr:1: non-null host address bits in \"10.1.2.3/8\", perhaps you "
             "should use \"10.0.0.0/8\" instead"},
      {"texthash:no-value.texthash", ErrorCode::kInvalid,
       bad + "/no-value.texthash:2: expected format: key whitespace value, found only the key "
             "\"lonelykey\""},
      {"hash:does-not-exist", ErrorCode::kNotFound,
       bad + "/does-not-exist: cannot open table: No such file or directory"},
      {"pcre:.", ErrorCode::kIo, bad + "/.: cannot open table: Is a directory"},
  };
  TableOpenOptions options;
  options.base_directory = bad;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    auto table = OpenTable(c.spec, options);
    ASSERT_FALSE(table);
    EXPECT_EQ(table.error().code(), c.code);
    EXPECT_EQ(table.error().message(), c.message);
  }
}

TEST(LookupTableTest, RelativePathsResolveAgainstTheConfigDirectory) {
  testing::TempDir dir;
  dir.WriteFile("sub/t", "a 1\n");
  TableOpenOptions options;
  options.base_directory = dir.Path("sub");
  auto relative = OpenTable("hash:t", options);
  ASSERT_TRUE(relative) << relative.error().message();
  EXPECT_EQ(Query(**relative, "a"), "1");
  auto absolute = OpenTable("hash:" + dir.Path("sub/t"), TableOpenOptions{});
  ASSERT_TRUE(absolute);
  EXPECT_EQ(Query(**absolute, "a"), "1");
}

TEST(TableListTest, SearchesInOrderAndKeepsBracedSpecsWhole) {
  auto split = SplitTableList("hash:/a, pcre:/b inline:{ a=b, c=d },static:x");
  ASSERT_TRUE(split);
  EXPECT_EQ(*split,
            (std::vector<std::string>{"hash:/a", "pcre:/b", "inline:{ a=b, c=d }", "static:x"}));
  EXPECT_FALSE(SplitTableList("inline:{ a=b"));

  auto list = TableList::Open("inline:{ a=first }, inline:{ a=second, b=second }, static:last");
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_EQ(list->tables().size(), 3u);
  EXPECT_EQ(Query(*list, "a"), "first");
  EXPECT_EQ(Query(*list, "b"), "second");
  EXPECT_EQ(Query(*list, "c"), "last");

  auto empty = TableList::Open("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(Query(*empty, "a"), "");

  auto bad = TableList::Open("inline:{ a=b }, hash:/nonexistent/moat/table");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "/nonexistent/moat/table: cannot open table: No such file or directory");
}

// A table whose lookups fail: an error must stop the list search, never read as "not found".
class FailingTable : public LookupTable {
 public:
  Result<std::optional<std::string>> Lookup(std::string_view) const override {
    return Fail(ErrorCode::kTempFail, "backend down");
  }
  const std::string& spec() const override { return spec_; }

 private:
  std::string spec_ = "failing:x";
};

TEST(TableListTest, AnErrorStopsTheSearch) {
  auto later = OpenTable("static:found-later");
  ASSERT_TRUE(later);
  TableList list({std::make_shared<FailingTable>(), *later});
  auto result = list.Lookup("key");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kTempFail);
  std::string value;
  auto into = list.LookupInto("key", value);
  ASSERT_FALSE(into);
  EXPECT_EQ(into.error().code(), ErrorCode::kTempFail);
}

TEST(LookupTableTest, SeedTransportTable) {
  TableOpenOptions options;
  options.base_directory = Corpus("");
  auto table = OpenTable("texthash:transport", options);
  ASSERT_TRUE(table) << table.error().message();
  ExpectLookups(**table, {{"example.com", "smtp:[192.168.23.56]:20025"},
                          {".example.com", "smtp:bar.example:2025"},
                          {"kdent@ora.com", "error:no mail accepted for kdent"},
                          {"KDent@ORA.com", "error:no mail accepted for kdent"},
                          {"ora.com", "smtp:[10.0.0.5]"},
                          {"mail.example.com", ""}});
}

// Rewrites `path` by rename, so a reader never sees half a file.
void ReplaceFile(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  dir.WriteFile(name + ".new", text);
  std::filesystem::rename(dir.Path(name + ".new"), dir.Path(name));
}

TEST(ReloadingTableTest, ReloadsWhenTheFileChanges) {
  for (const char* type : {"texthash", "hash", "pcre", "regexp", "cidr"}) {
    SCOPED_TRACE(type);
    testing::TempDir dir;
    const bool regex = std::string(type) == "pcre" || std::string(type) == "regexp";
    const bool cidr = std::string(type) == "cidr";
    auto contents = [&](const std::string& value) {
      if (regex) return "/^key$/ " + value + "\n";
      if (cidr) return "192.0.2.0/24 " + value + "\n";
      return "key " + value + "\n";
    };
    const std::string key = cidr ? "192.0.2.7" : "key";
    dir.WriteFile("t", contents("old"));
    TableOpenOptions options;
    options.base_directory = dir.path();
    options.reload_check_interval = std::chrono::milliseconds(0);
    auto table = OpenTable(std::string(type) + ":t", options);
    ASSERT_TRUE(table) << table.error().message();
    EXPECT_EQ(Query(**table, key), "old");

    ReplaceFile(dir, "t", contents("new"));
    EXPECT_TRUE(testing::WaitUntil([&] { return Query(**table, key) == "new"; }));

    // Rewritten in place (same inode), with a different size.
    dir.WriteFile("t", contents("newer-in-place"));
    EXPECT_TRUE(testing::WaitUntil([&] { return Query(**table, key) == "newer-in-place"; }));
  }
}

TEST(ReloadingTableTest, ABrokenNewVersionKeepsTheOldContents) {
  testing::TempDir dir;
  dir.WriteFile("t.pcre", "/^a$/ old\n");
  TableOpenOptions options;
  options.base_directory = dir.path();
  options.reload_check_interval = std::chrono::milliseconds(0);
  auto opened = OpenTable("pcre:t.pcre", options);
  ASSERT_TRUE(opened);
  const auto& table = dynamic_cast<const ReloadingTable&>(**opened);
  EXPECT_EQ(table.generation(), 1u);

  ReplaceFile(dir, "t.pcre", "/^a$/ new\n/(broken/ x\n");
  Status reload = table.ReloadIfChanged();
  ASSERT_FALSE(reload);
  EXPECT_EQ(reload.error().message(), dir.Path("t.pcre") +
                                          ":2: invalid regular expression at offset 7: missing "
                                          "closing parenthesis");
  EXPECT_EQ(Query(table, "a"), "old");
  EXPECT_EQ(table.generation(), 1u);

  std::filesystem::remove(dir.Path("t.pcre"));
  EXPECT_FALSE(table.ReloadIfChanged());
  EXPECT_EQ(Query(table, "a"), "old");

  ReplaceFile(dir, "t.pcre", "/^a$/ fixed\n");
  EXPECT_TRUE(testing::WaitUntil([&] { return Query(table, "a") == "fixed"; }));
  EXPECT_EQ(table.generation(), 2u);
}

TEST(ReloadingTableTest, ChecksTheFileAtMostOncePerInterval) {
  testing::TempDir dir;
  dir.WriteFile("t", "key old\n");
  TableOpenOptions options;
  options.base_directory = dir.path();
  options.reload_check_interval = std::chrono::hours(1);
  auto table = OpenTable("texthash:t", options);
  ASSERT_TRUE(table);
  ReplaceFile(dir, "t", "key new\n");
  // Within the interval lookups do not even stat the file...
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Query(**table, "key"), "old");
  // ...but an explicit check does.
  ASSERT_TRUE((*table)->ReloadIfChanged());
  EXPECT_EQ(Query(**table, "key"), "new");
}

TEST(ReloadingTableTest, ConcurrentLookupsDuringReloadsSeeOldOrNewNeverGarbage) {
  testing::TempDir dir;
  auto text = [](int version) {
    std::string t;
    for (int i = 0; i < 2000; ++i) t += fmt::format("key{} v{}\n", i, version);
    return t;
  };
  dir.WriteFile("t", text(0));
  TableOpenOptions options;
  options.base_directory = dir.path();
  options.reload_check_interval = std::chrono::milliseconds(0);
  auto table = OpenTable("texthash:t", options);
  ASSERT_TRUE(table);

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> highest{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::string value;
      for (int i = 0; !stop.load(); ++i) {
        auto found = (*table)->LookupInto(fmt::format("key{}", (i * 7 + r) % 2000), value);
        if (!found || !*found || value.size() < 2 || value[0] != 'v') {
          ++bad;
          continue;
        }
        highest = std::max(highest.load(), std::stoi(value.substr(1)));
      }
    });
  }
  for (int version = 1; version <= 5; ++version) {
    ReplaceFile(dir, "t", text(version));
    ASSERT_TRUE(testing::WaitUntil([&] { return highest.load() >= version; }));
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace moat::core
