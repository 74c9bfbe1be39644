// table_file_test.cc - logical lines as Postfix's readlline(3) reads them; file errors.
#include "core/table_file.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

std::vector<std::pair<int, std::string>> Lines(std::string_view text) {
  std::vector<std::pair<int, std::string>> out;
  Status status = ForEachLogicalLine(text, "t", [&](std::string_view line, int number) -> Status {
    out.emplace_back(number, std::string(line));
    return {};
  });
  EXPECT_TRUE(status) << status.error().message();
  return out;
}

using Lines_t = std::vector<std::pair<int, std::string>>;

TEST(TableFileTest, LogicalLines) {
  struct Case {
    const char* name;
    const char* text;
    Lines_t expected;
  };
  const Case cases[] = {
      {"plain", "a 1\nb 2\n", {{1, "a 1"}, {2, "b 2"}}},
      {"no final newline", "a 1", {{1, "a 1"}}},
      {"comments and blanks",
       "# c\n\n   \na 1\n  # indented comment\nb 2\n",
       {{4, "a 1"}, {6, "b 2"}}},
      {"hash inside text is text",
       "key value # not a comment\n",
       {{1, "key value # not a comment"}}},
      {"continuation keeps leading blanks",
       "cont first\n  second\n\tthird\n",
       {{1, "cont first  second\tthird"}}},
      {"comment between continuations",
       "a first\n# c\n  second\nb 2\n",
       {{1, "a first  second"}, {4, "b 2"}}},
      {"blank line between continuations", "a first\n\n second\n", {{1, "a first second"}}},
      {"trailing blanks trimmed", "a 1   \t\n", {{1, "a 1"}}},
      {"crlf", "a 1\r\nb 2\r\n", {{1, "a 1"}, {2, "b 2"}}},
      {"empty", "", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Lines(c.text), c.expected);
  }
}

TEST(TableFileTest, TextThatContinuesNothingIsAnError) {
  Status status = ForEachLogicalLine("# header\n  indented 1\nb 2\n", "/etc/moat/t",
                                     [](std::string_view, int) -> Status { return {}; });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "/etc/moat/t:2: logical line must not start with whitespace");
}

TEST(TableFileTest, CallbackErrorStopsTheWalk) {
  int calls = 0;
  Status status = ForEachLogicalLine("a\nb\nc\n", "t", [&](std::string_view, int n) -> Status {
    ++calls;
    if (n == 2) return Fail(TableSyntaxError("t", n, "boom"));
    return {};
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "t:2: boom");
  EXPECT_EQ(calls, 2);
}

TEST(TableFileTest, ReadErrorsNameTheFile) {
  testing::TempDir dir;
  auto missing = ReadTableFile(dir.Path("nope"), 1024);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(),
            dir.Path("nope") + ": cannot open table: No such file or directory");

  auto directory = ReadTableFile(dir.path(), 1024);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code(), ErrorCode::kIo);
  EXPECT_EQ(directory.error().message(), dir.path() + ": cannot open table: Is a directory");

  std::string big = dir.WriteFile("big", std::string(2000, 'x'));
  auto too_big = ReadTableFile(big, 1000);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code(), ErrorCode::kInvalid);
  EXPECT_NE(too_big.error().message().find(big + ": table file is 2000 bytes"), std::string::npos);
}

TEST(TableFileTest, StampChangesWhenTheFileIsReplacedOrRewritten) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("t", "a 1\n");
  auto first = ReadTableFile(path, 1024);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->text, "a 1\n");
  auto same = StatTableFile(path);
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, first->stamp);
  dir.WriteFile("t", "a 12\n");
  auto changed = StatTableFile(path);
  ASSERT_TRUE(changed);
  EXPECT_NE(*changed, first->stamp);
}

}  // namespace
}  // namespace moat::core
