// Tests for scanners/archive_reader: the libarchive wrapper on its own.
#include "scanners/archive_reader.h"

#include <gtest/gtest.h>

#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using moat::testing::TempDir;
using testing::Eicar;
using testing::ReadBinaryFile;
using testing::RunTool;
using testing::WriteBinaryFile;

class ArchiveReaderTest : public ::testing::Test {
 protected:
  ArchiveReaderTest() {
    WriteBinaryFile(dir_.Path("eicar.com"), Eicar());
    WriteBinaryFile(dir_.Path("big.txt"), std::string(100'000, 'a'));
  }
  std::string Make(const std::string& script, const std::string& file) {
    RunTool({"/bin/sh", "-ec", script}, dir_.path());
    return ReadBinaryFile(dir_.Path(file));
  }
  TempDir dir_;
};

auto Always() {
  return [] { return true; };
}

TEST_F(ArchiveReaderTest, ListsAndReadsMembers) {
  std::string zip = Make("zip -q -X a.zip eicar.com big.txt", "a.zip");
  auto reader = ArchiveReader::Open(zip);
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  auto first = (*reader)->Next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ((*first)->pathname, "eicar.com");
  EXPECT_EQ((*first)->declared_size, 68);
  EXPECT_TRUE((*first)->regular_file);
  EXPECT_FALSE((*first)->encrypted);
  std::string data;
  auto read = (*reader)->ReadData(data, 1000, Always());
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->complete);
  EXPECT_EQ(data, Eicar());
  EXPECT_EQ((*reader)->format_name().substr(0, 3), "ZIP");
  EXPECT_TRUE((*reader)->filter_name().empty());
  EXPECT_TRUE((*reader)->cheap_skip());
  auto second = (*reader)->Next();
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_EQ((*second)->pathname, "big.txt");
  auto end = (*reader)->Next();  // big.txt skipped unread
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->has_value());
}

TEST_F(ArchiveReaderTest, ReadDataNeverExceedsTheAllowance) {
  std::string tgz = Make("tar -czf a.tgz big.txt", "a.tgz");
  for (uint64_t allowance : {uint64_t{0}, uint64_t{1}, uint64_t{65'535}, uint64_t{65'536},
                             uint64_t{99'999}, uint64_t{100'000}, uint64_t{1'000'000}}) {
    auto reader = ArchiveReader::Open(tgz);
    ASSERT_TRUE(reader.has_value());
    ASSERT_TRUE((*reader)->Next().has_value());
    std::string data;
    auto read = (*reader)->ReadData(data, allowance, Always());
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(data.size(), std::min<uint64_t>(allowance, 100'000)) << allowance;
    EXPECT_EQ(read->bytes, data.size());
    EXPECT_EQ(read->complete, allowance >= 100'000) << allowance;
    EXPECT_LE(data.capacity(), std::max<uint64_t>(allowance + 1, 16) + 65'536) << allowance;
  }
  EXPECT_EQ(ArchiveReader::Open(tgz).value()->filter_name(), "gzip");
}

TEST_F(ArchiveReaderTest, KeepGoingStopsReading) {
  std::string tgz = Make("tar -czf a.tgz big.txt", "a.tgz");
  auto reader = ArchiveReader::Open(tgz);
  ASSERT_TRUE((*reader)->Next().has_value());
  std::string data;
  int calls = 0;
  auto read = (*reader)->ReadData(data, 1'000'000, [&] { return ++calls <= 1; });
  ASSERT_TRUE(read.has_value());
  EXPECT_FALSE(read->complete);
  EXPECT_LE(data.size(), 65'537u);
}

TEST_F(ArchiveReaderTest, SingleCompressedStreamIsOneRawMember) {
  std::string xz = Make("xz -c eicar.com > eicar.com.xz", "eicar.com.xz");
  auto reader = ArchiveReader::Open(xz);
  ASSERT_TRUE(reader.has_value());
  EXPECT_TRUE((*reader)->raw_stream());
  EXPECT_EQ((*reader)->filter_name(), "xz");
  auto member = (*reader)->Next();
  ASSERT_TRUE(member.has_value() && member->has_value());
  std::string data;
  ASSERT_TRUE((*reader)->ReadData(data, 1000, Always()).has_value());
  EXPECT_EQ(data, Eicar());
}

TEST_F(ArchiveReaderTest, NotAnArchive) {
  auto text = ArchiveReader::Open("hello, this is plain text and no archive\n");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().code(), core::ErrorCode::kInvalid);
  EXPECT_FALSE(ArchiveReader::Open("").has_value());
  // An uncompressed block of zeros is an empty tar to libarchive: no archive for us.
  EXPECT_FALSE(ArchiveReader::Open(std::string(10'240, '\0')).has_value());
}

TEST_F(ArchiveReaderTest, EncryptedMembersAndHeaders) {
  std::string zip = Make("zip -q -X -P secret e.zip eicar.com", "e.zip");
  auto reader = ArchiveReader::Open(zip);
  ASSERT_TRUE(reader.has_value());
  auto member = (*reader)->Next();
  ASSERT_TRUE(member.has_value() && member->has_value());
  EXPECT_TRUE((*member)->encrypted);
  std::string data;
  auto read = (*reader)->ReadData(data, 1000, Always());
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code(), core::ErrorCode::kPermFail);

  std::string he = Make("7z a -bd -bso0 -psecret -mhe=on he.7z eicar.com", "he.7z");
  auto headers = ArchiveReader::Open(he);
  ASSERT_TRUE(headers.has_value());
  auto first = (*headers)->Next();
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code(), core::ErrorCode::kPermFail) << first.error().ToString();
  EXPECT_TRUE((*headers)->encrypted_headers());
}

TEST_F(ArchiveReaderTest, TruncatedDataIsCorrupt) {
  std::string tgz = Make("head -c 300000 /dev/urandom > r.bin && tar -czf r.tgz r.bin", "r.tgz");
  std::string half = tgz.substr(0, tgz.size() / 2);  // the reader borrows it: keep it alive
  auto reader = ArchiveReader::Open(half);
  ASSERT_TRUE(reader.has_value());
  ASSERT_TRUE((*reader)->Next().has_value());
  std::string data;
  auto read = (*reader)->ReadData(data, 10'000'000, Always());
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code(), core::ErrorCode::kCorrupt);
  EXPECT_GT(data.size(), 0u);  // what came before the damage is kept
}

}  // namespace
}  // namespace moat::scanners
