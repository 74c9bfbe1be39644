// queue_file_format_test.cc - the queue file layout: round trips, record lengths, and every way a
// file can be cut short or damaged.
#include "mta/queue_file_format.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/mta/queue_test_util.h"

namespace moat::mta {
namespace {

using testing::SampleContent;
using testing::SampleEnvelope;

std::string WholeFile(const QueueEnvelope& envelope, std::string_view content) {
  std::string file = EncodeQueueEnvelope(envelope, content.size());
  file.append(content);
  file.append(kEndRecord);
  return file;
}

// Decodes a whole file the way the store does.
core::Result<QueueEnvelope> DecodeWhole(std::string_view file, bool* incomplete = nullptr) {
  auto head = DecodeQueueFileHead(file.substr(0, kQueueFileHeadSize), incomplete);
  if (!head) return std::unexpected(head.error());
  if (auto s = CheckQueueFileEnd(*head, file.size(), file.substr(file.size() - std::min<size_t>(
                                                                                   2, file.size())),
                                 incomplete);
      !s) {
    return std::unexpected(s.error());
  }
  return DecodeQueueEnvelope(file.substr(0, head->content_offset), *head);
}

TEST(QueueFileFormat, RoundTripKeepsEveryField) {
  QueueEnvelope envelope = SampleEnvelope(3);
  envelope.schedule = {1700000300, 2, 1700000100, 1700003600};
  envelope.attributes.hold_reason = "header_checks HOLD";
  envelope.attributes.redirect = "abuse@example.com";
  std::string content = SampleContent();
  std::string file = WholeFile(envelope, content);

  auto head = DecodeQueueFileHead(file.substr(0, kQueueFileHeadSize));
  ASSERT_TRUE(head) << head.error().ToString();
  EXPECT_EQ(head->version, 1);
  EXPECT_EQ(head->content_length, content.size());
  EXPECT_EQ(head->recipient_count, 3u);
  EXPECT_EQ(head->schedule, envelope.schedule);
  EXPECT_EQ(file.substr(head->content_offset, head->content_length), content);
  EXPECT_EQ(head->committed_size(), file.size());

  auto decoded = DecodeWhole(file);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(decoded->arrival_us, envelope.arrival_us);
  EXPECT_EQ(decoded->sender, envelope.sender);
  EXPECT_EQ(decoded->attributes, envelope.attributes);
  ASSERT_EQ(decoded->recipients.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    QueueRecipient expected = envelope.recipients[i];
    const QueueRecipient& got = decoded->recipients[i];
    EXPECT_EQ(got.status, RecipientStatus::kPending);
    EXPECT_EQ(file[got.offset], 'R') << "offset points at the recipient record's type byte";
    expected.offset = got.offset;
    EXPECT_EQ(got, expected);
  }
}

TEST(QueueFileFormat, NullSenderEmptyOriginalAndBinaryContent) {
  QueueEnvelope envelope;
  envelope.arrival_us = 5;
  QueueRecipient r;
  r.address = "postmaster@example.com";
  envelope.recipients.push_back(r);
  std::string content("\0\x01\xff binary\r\n.\r\n", 15);
  auto decoded = DecodeWhole(WholeFile(envelope, content));
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(decoded->sender, "");
  EXPECT_EQ(decoded->recipients[0].original, "");
  EXPECT_EQ(decoded->arrival_us, 5);
}

TEST(QueueFileFormat, RecordLengthsUsePostfixBase128) {
  struct Case {
    uint64_t length;
    std::string encoded;
  };
  const Case cases[] = {
      {0, std::string(1, '\0')},
      {127, "\x7f"},
      {128, "\x80\x01"},
      {300, "\xac\x02"},
      {16384, std::string("\x80\x80\x01", 3)},
  };
  for (const Case& c : cases) {
    std::string out;
    AppendRecordLength(out, c.length);
    EXPECT_EQ(out, c.encoded) << c.length;
  }
  // Large records decode: a 1 MB message and a 200-byte recipient.
  QueueEnvelope envelope = SampleEnvelope(1);
  envelope.recipients[0].address = std::string(200, 'a') + "@example.com";
  std::string content(1 << 20, 'x');
  auto decoded = DecodeWhole(WholeFile(envelope, content));
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(decoded->recipients[0].address, envelope.recipients[0].address);
}

TEST(QueueFileFormat, EveryTruncationIsIncompleteNeverAccepted) {
  std::string file = WholeFile(SampleEnvelope(2), SampleContent(600));
  for (size_t cut = 0; cut < file.size(); ++cut) {
    std::string_view prefix(file.data(), cut);
    bool incomplete = false;
    auto decoded = DecodeWhole(prefix, &incomplete);
    ASSERT_FALSE(decoded) << "a file cut at " << cut << " bytes was accepted";
    EXPECT_EQ(decoded.error().code(), core::ErrorCode::kCorrupt);
    EXPECT_TRUE(incomplete) << "cut at " << cut << ": " << decoded.error().message();
  }
}

TEST(QueueFileFormat, DamageIsReportedNotIncomplete) {
  std::string file = WholeFile(SampleEnvelope(2), SampleContent(600));
  struct Case {
    const char* name;
    std::string data;
  };
  std::string trailing = file + "x";
  std::string bad_type = file;
  auto head = DecodeQueueFileHead(file.substr(0, kQueueFileHeadSize));
  ASSERT_TRUE(head);
  bad_type[kQueueFileHeadSize] = '?';  // the TIME record's type
  std::string bad_version = file;
  bad_version[14] = '7';  // the version field of SIZE ends at byte 2 + 14
  std::string bad_count = file;
  bad_count[2 + 16 * 3 + 14] = '9';  // recipient count
  const Case cases[] = {
      {"trailing data", trailing},
      {"unknown record type", bad_type},
      {"bad version", bad_version},
      {"recipient count", bad_count},
      {"not a queue file", "From: someone\r\n\r\nhello\r\n"},
  };
  for (const Case& c : cases) {
    bool incomplete = false;
    auto decoded = DecodeWhole(c.data, &incomplete);
    ASSERT_FALSE(decoded) << c.name;
    EXPECT_EQ(decoded.error().code(), core::ErrorCode::kCorrupt) << c.name;
    EXPECT_FALSE(incomplete) << c.name << ": " << decoded.error().message();
  }
}

TEST(QueueFileFormat, RandomDamageNeverCrashes) {
  std::string file = WholeFile(SampleEnvelope(3), SampleContent(400));
  std::mt19937 random(42);
  for (int round = 0; round < 5000; ++round) {
    std::string damaged = file;
    int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) {
      damaged[random() % damaged.size()] = static_cast<char>(random());
    }
    auto decoded = DecodeWhole(damaged);
    if (!decoded) {
      EXPECT_EQ(decoded.error().code(), core::ErrorCode::kCorrupt);
    }
  }
}

TEST(QueueFileFormat, ScheduleIsFixedWidthAtAKnownOffset) {
  QueueEnvelope envelope = SampleEnvelope(1);
  std::string file = WholeFile(envelope, "x");
  QueueSchedule later{1800000000, 7, 1799999000, 0};
  std::string encoded = EncodeSchedule(later);
  ASSERT_EQ(encoded.size(), kFixedRecordDataSize);
  file.replace(kScheduleDataOffset, encoded.size(), encoded);
  auto head = DecodeQueueFileHead(file.substr(0, kQueueFileHeadSize));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->schedule, later);
  EXPECT_TRUE(DecodeWhole(file));
}

}  // namespace
}  // namespace moat::mta
