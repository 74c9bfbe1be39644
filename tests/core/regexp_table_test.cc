// regexp_table_test.cc - pcre: and regexp: tables: flags, $n, negation, if/endif, errors.
#include "core/regexp_table.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

struct KeyCase {
  const char* key;
  const char* expected;  // "" = not found
};

std::shared_ptr<const RegexpTable> MustCompile(RegexpDialect dialect, std::string_view text,
                                               std::vector<std::string>* warnings = nullptr) {
  std::vector<std::string> local;
  auto table = RegexpTable::Compile("t", dialect, "t", text, warnings ? *warnings : local);
  EXPECT_TRUE(table) << table.error().message();
  return table ? *table : nullptr;
}

void Expect(const RegexpTable& table, std::initializer_list<KeyCase> cases) {
  for (const KeyCase& c : cases) {
    SCOPED_TRACE(c.key);
    auto result = table.Lookup(c.key);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->value_or(""), c.expected);
  }
}

TEST(PcreTableTest, SeedVirtualTable) {
  auto text = testing::ReadTextFile(testing::SourcePath("testdata/corpus/tables/virtual.pcre"));
  auto table = MustCompile(RegexpDialect::kPcre, text);
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"first.last@nabsd.cs.nctu.edu.tw", "first@nabsd.cs.nctu.edu.tw"},
                     {"First.Last@NABSD.cs.nctu.edu.tw", "First@nabsd.cs.nctu.edu.tw"},
                     {"nodot@nabsd.cs.nctu.edu.tw", ""},
                     {"list-outgoing@example.com", "550 Use list@example.com instead"},
                     {"owner-list-outgoing@example.com", ""},
                     {"friend@example.org", "550 Stick this in your pipe friend@example.org"},
                     {"friend@my.domain", ""},
                     {"noddy@my.domain",
                      "550 This user is a funny one. You really don't want to send mail to them "
                      "as it only makes their life miserable."},
                 });
  EXPECT_TRUE(table->IsPattern());
}

TEST(PcreTableTest, FlagsToggleThePostfixDefaults) {
  auto table = MustCompile(RegexpDialect::kPcre,
                           "/^caseless$/ default-i\n"
                           "/^Exact$/i toggled-i\n"
                           "/^a.b$/ default-s\n"
                           "/^c.d$/s toggled-s\n"
                           "/^line$/m multiline\n"
                           "/^ e x t $/x extended\n"
                           "/<(.+)>/U ungreedy:$1\n"
                           "/anch/A anchored\n"
                           "/end$/E end-only\n");
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"CASELESS", "default-i"},
                     {"Exact", "toggled-i"},
                     {"exact", ""},
                     {"a\nb", "default-s"},
                     {"c\nd", ""},
                     {"first\nline\nlast", "multiline"},
                     {"ext", "extended"},
                     {"<a><b>", "ungreedy:a"},
                     {"anchor", "anchored"},
                     {"xanchor", ""},
                     {"the end", "end-only"},
                     {"the end\n", ""},
                 });
}

TEST(PcreTableTest, SubstitutionForms) {
  auto table = MustCompile(RegexpDialect::kPcre,
                           "/^(a)(b)?(c)$/ [$1][$2][${3}][$(1)]$$1\n"
                           "/^(x)(y)(z)(w)(v)(u)(t)(s)(r)(q)$/ ${10}$1\n"
                           "/^lit$/ cost $$5\n");
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"abc", "[a][b][c][a]$1"},
                     {"ac", "[a][][c][a]$1"},
                     {"xyzwvutsrq", "qx"},
                     {"lit", "cost $5"},
                 });
}

TEST(PcreTableTest, NegationAndNestedIf) {
  auto table = MustCompile(RegexpDialect::kPcre,
                           "if /@example\\.com$/\n"
                           "if !/^admin/\n"
                           "/^(.*)@/ user:$1\n"
                           "endif\n"
                           "/^admin/ admin\n"
                           "endif\n"
                           "!/@/ bare\n"
                           "! ! /^double/ double-negation\n"
                           "IF /^x/\n"
                           "ENDIF\n");
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"joe@example.com", "user:joe"},
                     {"admin@example.com", "admin"},
                     {"joe@example.org", ""},
                     {"nobody", "bare"},
                     {"double@x", "double-negation"},
                 });
}

TEST(PcreTableTest, AnyDelimiter) {
  auto table = MustCompile(RegexpDialect::kPcre,
                           "|^a/b$| slash-inside\n"
                           "%^c\\%d$% escaped-delimiter\n"
                           "/^e\\/f$/ escaped-slash\n");
  ASSERT_TRUE(table);
  Expect(*table, {{"a/b", "slash-inside"}, {"c%d", "escaped-delimiter"}, {"e/f", "escaped-slash"}});
}

TEST(PcreTableTest, WarningsForWhatPostfixAccepts) {
  std::vector<std::string> warnings;
  auto table = MustCompile(RegexpDialect::kPcre,
                           "/^empty$/\n"
                           "/^x$/X obsolete\n"
                           "if /a/ extra\n"
                           "endif junk\n",
                           &warnings);
  ASSERT_TRUE(table);
  Expect(*table, {{"empty", ""}, {"x", "obsolete"}});
  auto empty = table->Lookup("empty");
  ASSERT_TRUE(empty && empty->has_value());  // found, with an empty result
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0], "t:1: no result after the pattern: using an empty string");
  EXPECT_EQ(warnings[1], "t:2: ignoring obsolete regular expression option \"X\"");
}

TEST(PcreTableTest, ErrorsAreOneLineWithFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"/ok/ 1\n/(unclosed/ x\n",
       "t:2: invalid regular expression at offset 9: missing closing parenthesis"},
      {"/abc x\n", "t:1: no closing regular expression delimiter \"/\""},
      {"/abc/q x\n", "t:1: unknown regular expression option \"q\""},
      {"/(a)/ $2\n",
       "t:1: out of range replacement index \"2\": the pattern has 1 capture group(s)"},
      {"/(a)/ $0\n", "t:1: bad result: out of range replacement index \"0\""},
      {"/a/ cost $ 5\n", "t:1: bad result: empty $ reference in \"cost $ 5\""},
      {"/a/ ${1\n", "t:1: bad result: missing '}' in \"${1\""},
      {"/(a)/ $x\n", "t:1: bad result: non-numeric replacement index \"x\""},
      {"!/(a)/ $1\n",
       "t:1: $number in the result of a negated pattern (!/.../): nothing is captured"},
      {"if /a/\n/b/ c\n", "t:1: unterminated if (no matching endif)"},
      {"if /a/\nif /b/\nendif\n", "t:1: unterminated if (no matching endif)"},
      {"/a/ b\nendif\n", "t:2: endif without matching if"},
      {"hello world\n",
       "t:1: unrecognized line \"hello world\": expected /pattern/ result, if "
       "/pattern/ or endif"},
      {"if\n", "t:1: no regular expression"},
      {"/a/ b\n  /c/ d\n/e/ f\n", nullptr},  // continuation: "/a/ b  /c/ d" is one rule, fine
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::vector<std::string> warnings;
    auto table = RegexpTable::Compile("t", RegexpDialect::kPcre, "t", c.text, warnings);
    if (c.message == nullptr) {
      EXPECT_TRUE(table);
      continue;
    }
    ASSERT_FALSE(table);
    EXPECT_EQ(table.error().code(), ErrorCode::kInvalid);
    EXPECT_EQ(table.error().message(), c.message);
  }
}

TEST(PcreTableTest, MatchLimitIsATemporaryErrorNotAMiss) {
  auto table = MustCompile(RegexpDialect::kPcre, "/^(a+)+$/ never\n/./ fallback\n");
  ASSERT_TRUE(table);
  std::string hostile(40, 'a');
  hostile += 'b';
  auto result = table->Lookup(hostile);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kTempFail);
  EXPECT_EQ(result.error().message().rfind("t:1: match limit exceeded", 0), 0u)
      << result.error().message();
}

TEST(RegexpTableTest, RegexpTableExamples) {
  auto text = testing::ReadTextFile(testing::SourcePath("testdata/corpus/tables/access.regexp"));
  auto table = MustCompile(RegexpDialect::kPosix, text);
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"user%other@example.com", "550 Sender-specified routing rejected"},
                     {"postmaster@example.com", "OK"},
                     {"POSTMASTER@example.com", "OK"},
                     {"list-outgoing@example.com", "550 Use list@example.com instead"},
                     {"owner-list-outgoing@example.com", ""},
                     {"joe@example.com", ""},
                 });
}

TEST(RegexpTableTest, PosixSyntaxAndFlags) {
  auto table = MustCompile(RegexpDialect::kPosix,
                           "/^[[:digit:]]+$/ digits\n"
                           "/^a[\\.]b$/ backslash-or-dot\n"
                           "/\\<word\\>/ word\n"
                           "/^Case$/i case-sensitive\n"
                           "/^ab/!/c$/ ab-not-c\n"
                           "/^x.y$/ dot-newline\n"
                           "/^line$/m multiline\n"
                           "/^(re)(st)$/ ${2}${1}\n");
  ASSERT_TRUE(table);
  Expect(*table, {
                     {"12345", "digits"},
                     {"a.b", "backslash-or-dot"},
                     {"a\\b", "backslash-or-dot"},
                     {"axb", ""},
                     {"a word here", "word"},
                     {"swordfish", ""},
                     {"Case", "case-sensitive"},
                     {"case", ""},
                     {"abd", "ab-not-c"},
                     {"abc", ""},
                     {"x\ny", "dot-newline"},
                     {"one\nline", "multiline"},
                     {"rest", "stre"},
                 });
}

TEST(RegexpTableTest, BasicSyntaxIsRefusedClearly) {
  std::vector<std::string> warnings;
  auto table = RegexpTable::Compile("t", RegexpDialect::kPosix, "t", "/a\\(b\\)/x r\n", warnings);
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().message(),
            "t:1: basic POSIX regular expressions (option \"x\") are not supported; write the "
            "pattern in extended syntax");
}

TEST(RegexpTableTest, TranslatesPosixToPcre) {
  EXPECT_EQ(TranslatePosixRegex("^a[\\.]b$"), "^a[\\\\.]b$");
  EXPECT_EQ(TranslatePosixRegex("[]x]"), "[\\]x]");
  EXPECT_EQ(TranslatePosixRegex("[^]x]"), "[^\\]x]");
  EXPECT_EQ(TranslatePosixRegex("[[:alpha:]_]"), "[[:alpha:]_]");
  EXPECT_EQ(TranslatePosixRegex("\\<w\\>"), "\\b(?=\\w)w\\b(?<=\\w)");
  EXPECT_EQ(TranslatePosixRegex("\\`a\\'"), "\\Aa\\z");
  EXPECT_EQ(TranslatePosixRegex("a\\.b"), "a\\.b");
}

}  // namespace
}  // namespace moat::core
