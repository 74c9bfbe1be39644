// smtp_line_reader_test.cc - bounded line splitting over the fixed receive buffer.
#include "core/smtp_line_reader.h"

#include <gtest/gtest.h>

#include <cstring>

namespace moat::core {
namespace {

// Feeds `input` in pieces of `chunk` bytes and collects what the reader reports.
std::vector<std::string> Split(std::string_view input, std::size_t chunk, std::size_t limit,
                               std::size_t capacity = 4096) {
  SmtpInputBuffer buffer(capacity);
  SmtpLineReader reader(limit);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    SmtpLineReader::Result result = reader.Next(buffer);
    if (result.status == SmtpLineReader::Status::kLine) {
      out.emplace_back(result.line);
      continue;
    }
    if (result.status == SmtpLineReader::Status::kTooLong) {
      out.emplace_back("<TOO LONG>");
      continue;
    }
    if (pos == input.size()) break;
    std::span<char> space = buffer.PrepareRead();
    EXPECT_FALSE(space.empty());
    std::size_t n = std::min({chunk, space.size(), input.size() - pos});
    std::memcpy(space.data(), input.data() + pos, n);
    buffer.CommitRead(n);
    pos += n;
    EXPECT_LE(buffer.size(), buffer.capacity());
  }
  return out;
}

TEST(SmtpLineReaderTest, SplitsCrlfAndBareLfLinesWhateverTheReadSizes) {
  using namespace std::string_literals;
  const std::string input = "EHLO a\r\nMAIL FROM:<x>\nRCPT TO:<y>\r\n\r\nNO\0OP\r\nDATA"s;
  const std::vector<std::string> expected = {"EHLO a", "MAIL FROM:<x>", "RCPT TO:<y>", "",
                                             std::string("NO\0OP", 5)};
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 4096u}) {
    EXPECT_EQ(Split(input, chunk, 100), expected) << "chunk " << chunk;
  }
}

TEST(SmtpLineReaderTest, OnlyTheFinalCrBeforeLfIsRemoved) {
  EXPECT_EQ(Split("a\r\r\nb\rc\n", 5, 100), (std::vector<std::string>{"a\r", "b\rc"}));
}

TEST(SmtpLineReaderTest, LimitCountsTheLineWithItsCrlf) {
  std::string ok(8, 'x');
  EXPECT_EQ(Split(ok + "\r\n", 3, 10), (std::vector<std::string>{ok}));
  EXPECT_EQ(Split(ok + "x\r\n", 3, 10), (std::vector<std::string>{"<TOO LONG>"}));
}

TEST(SmtpLineReaderTest, OverLongLineIsReportedOnceAndTheNextLineSurvives) {
  for (std::size_t chunk : {1u, 100u, 4096u}) {
    std::string input = std::string(5000, 'A') + "\r\nNOOP\r\n";
    EXPECT_EQ(Split(input, chunk, 1000, 2048), (std::vector<std::string>{"<TOO LONG>", "NOOP"}))
        << "chunk " << chunk;
  }
}

TEST(SmtpLineReaderTest, AMegabyteLineNeverGrowsTheBuffer) {
  SmtpInputBuffer buffer(4096);
  SmtpLineReader reader(1000);
  std::string chunk(1000, 'Z');
  for (int i = 0; i < 1100; ++i) {  // 1.1 MB without a line end
    EXPECT_EQ(reader.Next(buffer).status, SmtpLineReader::Status::kNeedMore);
    std::span<char> space = buffer.PrepareRead();
    ASSERT_GE(space.size(), chunk.size());
    std::memcpy(space.data(), chunk.data(), chunk.size());
    buffer.CommitRead(chunk.size());
    EXPECT_LE(buffer.size(), 4096u);
  }
  EXPECT_EQ(reader.Next(buffer).status, SmtpLineReader::Status::kNeedMore);
  EXPECT_TRUE(reader.discarding());
  std::string end = "\r\nQUIT\r\n";
  std::span<char> space = buffer.PrepareRead();
  std::memcpy(space.data(), end.data(), end.size());
  buffer.CommitRead(end.size());
  EXPECT_EQ(reader.Next(buffer).status, SmtpLineReader::Status::kTooLong);
  auto quit = reader.Next(buffer);
  ASSERT_EQ(quit.status, SmtpLineReader::Status::kLine);
  EXPECT_EQ(quit.line, "QUIT");
}

TEST(SmtpInputBufferTest, CompactsToKeepReadsLarge) {
  SmtpInputBuffer buffer(100);
  std::span<char> space = buffer.PrepareRead();
  ASSERT_EQ(space.size(), 100u);
  std::memset(space.data(), 'x', 100);
  buffer.CommitRead(100);
  buffer.Consume(90);
  space = buffer.PrepareRead();
  EXPECT_EQ(space.size(), 90u);
  EXPECT_EQ(buffer.pending(), std::string(10, 'x'));
  buffer.Clear();
  EXPECT_TRUE(buffer.empty());
}

}  // namespace
}  // namespace moat::core
