// message_file_test.cc - the gzip file format: round trip, what real gzip makes of it, and every
// kind of damage detected.
#include "quarantine/message_file.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/quarantine/quarantine_test_util.h"
#include "tests/support/test_support.h"

namespace moat::quarantine {
namespace {

QuarantineEntry SampleEntry(std::string_view message) {
  QuarantineEntry entry;
  entry.time = FromUnixMicros(1'795'233'277'123'456);
  entry.id = NewQuarantineId(entry.time);
  entry.size = message.size();
  entry.metadata = test::SampleMetadata(ContentClass::kVirus);
  entry.metadata.reason = "Eicar-Signature in part 1/2";
  entry.metadata.subject =
      "Gr\xC3\xBC\xC3\x9F"
      "e \xE2\x82\xAC";  // non-ASCII
  entry.metadata.score.reset();
  return entry;
}

std::string RandomBytes(size_t n) {
  std::mt19937 random(42);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

TEST(MessageFileTest, RoundTripsMessageAndMetadata) {
  for (const std::string& message :
       {test::SampleMessage(1), std::string(), RandomBytes(300'000), std::string(2'000'000, 'a')}) {
    QuarantineEntry entry = SampleEntry(message);
    auto file = EncodeMessageFile(entry, message, 6);
    ASSERT_TRUE(file) << file.error().ToString();
    auto decoded = DecodeMessageFile(*file, 16u << 20);
    ASSERT_TRUE(decoded) << decoded.error().ToString();
    EXPECT_EQ(decoded->message, message);
    const QuarantineEntry& back = decoded->entry;
    EXPECT_EQ(back.id, entry.id);
    EXPECT_EQ(back.time, entry.time);
    EXPECT_EQ(back.size, message.size());
    EXPECT_EQ(back.metadata.content_class, ContentClass::kVirus);
    EXPECT_EQ(back.metadata.subject, entry.metadata.subject);
    EXPECT_EQ(back.metadata.reason, entry.metadata.reason);
    EXPECT_EQ(back.metadata.trace_json, entry.metadata.trace_json);
    EXPECT_EQ(back.metadata.recipients, entry.metadata.recipients);
    EXPECT_EQ(back.metadata.envelope_sender, entry.metadata.envelope_sender);
    EXPECT_EQ(back.metadata.client_address, entry.metadata.client_address);
    EXPECT_EQ(back.metadata.policy_bank, entry.metadata.policy_bank);
    EXPECT_FALSE(back.metadata.score);
  }
}

TEST(MessageFileTest, HeaderCommentIsPureAsciiJson) {
  std::string message = test::SampleMessage(2);
  auto file = EncodeMessageFile(SampleEntry(message), message, 6);
  ASSERT_TRUE(file);
  ASSERT_EQ(static_cast<unsigned char>((*file)[3]), 0x1a);  // FNAME | FCOMMENT | FHCRC
  size_t name_end = file->find('\0', 10);
  ASSERT_NE(name_end, std::string::npos);
  size_t comment_end = file->find('\0', name_end + 1);
  std::string comment = file->substr(name_end + 1, comment_end - name_end - 1);
  EXPECT_EQ(comment.front(), '{');
  EXPECT_NE(comment.find("\"format\":1"), std::string::npos);
  EXPECT_NE(comment.find("\\u20ac"), std::string::npos);  // the euro sign, escaped
  for (char c : comment) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
}

// Real gzip (not zlib through us) must give back the exact message: operators use zcat.
TEST(MessageFileTest, GzipToolReadsTheOriginalMessage) {
  if (!testing::HaveTool("gzip")) GTEST_SKIP() << "gzip not installed";
  testing::TempDir dir;
  std::string message = test::SampleMessage(3) + RandomBytes(5000);
  auto file = EncodeMessageFile(SampleEntry(message), message, 9);
  ASSERT_TRUE(file);
  std::string path = dir.WriteFile("m.eml.gz", *file);
  auto test = testing::RunCommand({"gzip", "-t", path});
  EXPECT_EQ(test.exit_code, 0) << test.err;
  auto out = testing::RunCommand({"gzip", "-dc", path});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, message);
}

TEST(MessageFileTest, DetectsEveryKindOfDamage) {
  std::string message = test::SampleMessage(4) + std::string(10000, 'z');
  auto encoded = EncodeMessageFile(SampleEntry(message), message, 6);
  ASSERT_TRUE(encoded);
  const std::string& good = *encoded;
  size_t header_end = good.find('\0', good.find('\0', 10) + 1) + 3;  // after comment NUL + CRC16

  struct Case {
    std::string name;
    std::string bytes;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", ""});
  cases.push_back({"not gzip", "From: x\r\n\r\nhello\r\n" + std::string(40, ' ')});
  cases.push_back({"truncated in the data", good.substr(0, good.size() / 2)});
  cases.push_back({"truncated trailer", good.substr(0, good.size() - 3)});
  cases.push_back({"trailing garbage", good + "garbage"});
  cases.push_back({"second member", good + good});
  std::string flipped_data = good;
  flipped_data[header_end + (good.size() - header_end) / 2] ^= 0x55;
  cases.push_back({"flipped data byte", flipped_data});
  std::string flipped_crc = good;
  flipped_crc[good.size() - 6] ^= 0x01;
  cases.push_back({"flipped CRC32", flipped_crc});
  std::string flipped_comment = good;
  flipped_comment[good.find("\"reason\"") + 2] ^= 0x01;
  cases.push_back({"flipped metadata byte", flipped_comment});
  for (const Case& c : cases) {
    auto decoded = DecodeMessageFile(c.bytes, 16u << 20);
    ASSERT_FALSE(decoded) << c.name;
    EXPECT_EQ(decoded.error().code(), core::ErrorCode::kCorrupt) << c.name;
  }
  auto bounded = DecodeMessageFile(good, 100);
  ASSERT_FALSE(bounded);
  EXPECT_EQ(bounded.error().code(), core::ErrorCode::kCorrupt);
  EXPECT_NE(bounded.error().message().find("larger than"), std::string::npos);
}

TEST(MessageFileTest, PlainGzipWithoutMetadataIsNotOurs) {
  if (!testing::HaveTool("gzip")) GTEST_SKIP() << "gzip not installed";
  testing::CommandOptions options;
  options.stdin_data = test::SampleMessage(5);
  auto zipped = testing::RunCommand({"gzip", "-c"}, options);
  ASSERT_EQ(zipped.exit_code, 0);
  auto decoded = DecodeMessageFile(zipped.out, 1u << 20);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code(), core::ErrorCode::kCorrupt);
  EXPECT_NE(decoded.error().message().find("no metadata"), std::string::npos)
      << decoded.error().message();
}

TEST(MessageFileTest, PathsSpreadOverHashedDirectories) {
  std::string id = "20261121-080757.123456-9f3ac2e17b4d";
  EXPECT_EQ(MessageFileRelativePath(id), "messages/d/4/" + id + ".eml.gz");
  EXPECT_EQ(MessageDirectoryRelativePath(id), "messages/d/4");
}

}  // namespace
}  // namespace moat::quarantine
