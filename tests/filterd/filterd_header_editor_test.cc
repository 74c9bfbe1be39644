// filterd_header_editor_test.cc - header edits change nothing but the fields they name.
#include "filterd/header_editor.h"

#include <gtest/gtest.h>

namespace moat::filterd {
namespace {

using Kind = HeaderEdit::Kind;

const std::string kMessage =
    "Received: from a by b; Sat, 21 Nov 2026 08:00:00 +0000\r\n"
    "X-Spam-Flag: YES\r\n"
    "Subject: hello\r\n"
    "X-Spam-Status: Yes, score=99\r\n"
    " tests=PLANTED\r\n"
    "From: a@example.com\r\n"
    "\r\n"
    "X-Spam-Flag: body line, not a header\r\n"
    ".dot\r\n";

TEST(HeaderEditorTest, NoEditsIsIdentity) {
  EXPECT_EQ(ApplyHeaderEdits(kMessage, {}), kMessage);
}

TEST(HeaderEditorTest, PrependKeepsOrderAndTheRestByteForByte) {
  std::vector<HeaderEdit> edits = {{Kind::kPrepend, "Received", "from x by y", {}},
                                   {Kind::kPrepend, "X-Virus-Scanned", "Moat", {}}};
  EXPECT_EQ(ApplyHeaderEdits(kMessage, edits),
            "Received: from x by y\r\nX-Virus-Scanned: Moat\r\n" + kMessage);
}

TEST(HeaderEditorTest, AppendGoesAboveTheBlankLine) {
  std::vector<HeaderEdit> edits = {{Kind::kAppend, "X-A", "1", {}}};
  std::vector<HeaderEdit> second = {{Kind::kAppend, "X-B", "2", {}}};
  std::string out = ApplyHeaderEdits(kMessage, edits, second);
  std::size_t blank = kMessage.find("\r\n\r\n") + 2;
  EXPECT_EQ(out, kMessage.substr(0, blank) + "X-A: 1\r\nX-B: 2\r\n" + kMessage.substr(blank));
}

TEST(HeaderEditorTest, RemoveAllTakesContinuationsAndOnlyHeaderFields) {
  std::vector<HeaderEdit> edits = {{Kind::kRemoveAll, "x-spam-*", "", {}},
                                   {Kind::kPrepend, "X-Spam-Flag", "NO", {}}};
  std::string out = ApplyHeaderEdits(kMessage, edits);
  EXPECT_EQ(out,
            "X-Spam-Flag: NO\r\n"
            "Received: from a by b; Sat, 21 Nov 2026 08:00:00 +0000\r\n"
            "Subject: hello\r\n"
            "From: a@example.com\r\n"
            "\r\n"
            "X-Spam-Flag: body line, not a header\r\n"
            ".dot\r\n");
}

TEST(HeaderEditorTest, RemoveExactNameIsCaseInsensitiveAndNotAPrefix) {
  std::vector<HeaderEdit> edits = {{Kind::kRemoveAll, "SUBJECT", "", {}},
                                   {Kind::kRemoveAll, "X-Spam", "", {}}};
  std::string out = ApplyHeaderEdits(kMessage, edits);
  EXPECT_EQ(out.find("Subject:"), std::string::npos);
  EXPECT_NE(out.find("X-Spam-Flag: YES"), std::string::npos);
}

TEST(HeaderEditorTest, LfMessagesGetLfFields) {
  std::string message = "From: a@b\nSubject: x\n\nbody\n";
  std::vector<HeaderEdit> edits = {{Kind::kPrepend, "X-P", "1", {}}, {Kind::kAppend, "X-A", "2", {}}};
  EXPECT_EQ(ApplyHeaderEdits(message, edits), "X-P: 1\nFrom: a@b\nSubject: x\nX-A: 2\n\nbody\n");
}

TEST(HeaderEditorTest, MessageWithoutBlankLineOrFinalNewline) {
  std::vector<HeaderEdit> edits = {{Kind::kAppend, "X-A", "2", {}}};
  EXPECT_EQ(ApplyHeaderEdits("Subject: x", edits), "Subject: x\r\nX-A: 2\r\n");
  EXPECT_EQ(ApplyHeaderEdits("", edits), "X-A: 2\r\n");
  EXPECT_EQ(ApplyHeaderEdits("\r\nbody only\r\n", edits), "X-A: 2\r\n\r\nbody only\r\n");
}

TEST(HeaderEditorTest, LongValuesFoldAtWhitespaceAndUnfoldExactly) {
  std::string value;
  for (int i = 0; i < 40; ++i) value += "word" + std::to_string(i) + " ";
  value += "end";
  std::string field = FormatHeaderField("X-Long", value);
  std::size_t start = 0;
  while (true) {
    std::size_t end = field.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << field;
    if (end + 2 == field.size()) break;
    EXPECT_EQ(field[end + 2], ' ');  // continuation starts with the space it broke before
    start = end + 2;
  }
  std::string unfolded = field;
  for (std::size_t p; (p = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(p, 2);
  EXPECT_EQ(unfolded, "X-Long: " + value + "\r\n");
}

TEST(HeaderEditorTest, AWordLongerThanALineStaysWhole) {
  std::string word(200, 'x');
  EXPECT_EQ(FormatHeaderField("X-W", word), "X-W: " + word + "\r\n");
}

TEST(HeaderEditorTest, NoInjectionThroughNamesOrValues) {
  using namespace std::string_literals;
  std::vector<HeaderEdit> edits = {{Kind::kPrepend, "X-Evil", "a\r\nBcc: victim@example.com\0x"s, {}},
                                   {Kind::kPrepend, "Bad Name", "v", {}},
                                   {Kind::kPrepend, "Bad:Name", "v", {}},
                                   {Kind::kPrepend, "", "v", {}}};
  std::string out = ApplyHeaderEdits("From: a@b\r\n\r\nx\r\n", edits);
  EXPECT_EQ(out, "X-Evil: a  Bcc: victim@example.com x\r\nFrom: a@b\r\n\r\nx\r\n");
  EXPECT_FALSE(IsValidFieldName("Bad Name"));
  EXPECT_TRUE(IsValidFieldName("X-Virus-Scanned"));
}

TEST(HeaderEditorTest, BinaryGarbageSurvivesUnchanged) {
  std::string garbage;
  for (int i = 0; i < 5000; ++i) garbage.push_back(static_cast<char>((i * 131) % 256));
  std::vector<HeaderEdit> edits = {{Kind::kPrepend, "X-P", "1", {}}, {Kind::kRemoveAll, "X-Q", "", {}}};
  std::string out = ApplyHeaderEdits(garbage, edits);
  EXPECT_EQ(out, "X-P: 1\n" + garbage);  // its first line ends in a bare LF
}

}  // namespace
}  // namespace moat::filterd
