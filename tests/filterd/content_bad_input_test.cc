// content_bad_input_test.cc - hostile input through the whole pipeline: always a verdict.
//
// Truncated archives, archives that lie about sizes, 10,000 MIME parts, multiparts nested 1,000
// deep, a 50 MB line, decompression bombs (a 42.zip-style recursive zip and a single-entry
// high-ratio member): each ends with a content class (UNCHECKED naming the limit where one
// tripped), never a crash or a stage error. The peak memory of the bombs is measured on the
// real `moat scan` binary in tests/integration/scan_command_test.cc; these tests also run
// under ASan/UBSan.
#include <gtest/gtest.h>

#include "filterd/content_artefacts.h"
#include "tests/filterd/content_test_util.h"

namespace moat::filterd {
namespace {

using moat::testing::TempDir;
using scanners::testing::Eicar;
using scanners::testing::MessageWith;
using scanners::testing::ReadBinaryFile;
using scanners::testing::RunTool;
using scanners::testing::WriteBinaryFile;
using testing::ContentEnv;
using testing::Describe;
using testing::HasClass;

// A verdict and no stage error.
void ExpectVerdict(const ScanResult& r) {
  EXPECT_FALSE(r.tempfail.has_value()) << Describe(r);
  EXPECT_FALSE(r.decision.recipients.empty());
}

std::string Header(const std::string& content_type) {
  return "From: a@example.org\r\nTo: b@example.net\r\nSubject: bad input\r\nMIME-Version: "
         "1.0\r\nContent-Type: " +
         content_type + "\r\n\r\n";
}

TEST(ContentBadInputTest, TruncatedArchive) {
  TempDir work;
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + " of a document\n";
  WriteBinaryFile(work.Path("doc.txt"), text);
  WriteBinaryFile(work.Path("eicar.com"), Eicar());
  RunTool({"/bin/sh", "-ec", "zip -q -X -0 a.zip doc.txt eicar.com"}, work.path());
  std::string zip = ReadBinaryFile(work.Path("a.zip"));
  // Cut inside the first member: the damage is on record (UNCHECKED, corrupt content).
  ScanResult half = ContentEnv::Get().Scan(
      MessageWith({{"a.zip", zip.substr(0, zip.size() / 2), "application/zip"}}));
  ExpectVerdict(half);
  EXPECT_TRUE(HasClass(half, ContentClass::kUnchecked, "corrupt-content")) << Describe(half);
  // Cut in the central directory: the members still stream out, and EICAR is found.
  ScanResult tail = ContentEnv::Get().Scan(
      MessageWith({{"a.zip", zip.substr(0, zip.size() - 30), "application/zip"}}));
  ExpectVerdict(tail);
  EXPECT_EQ(tail.decision.content_class, ContentClass::kVirus) << Describe(tail);
  // 40 bytes are no zip to libmagic: a leaf ClamAV scans, with a verdict like any other.
  ExpectVerdict(ContentEnv::Get().Scan(MessageWith({{"a.zip", zip.substr(0, 40), "application/zip"}})));
}

TEST(ContentBadInputTest, ArchiveThatLiesAboutSizes) {
  TempDir work;
  WriteBinaryFile(work.Path("eicar.com"), Eicar());
  RunTool({"/bin/sh", "-ec", "zip -q -X -0 a.zip eicar.com"}, work.path());
  std::string zip = ReadBinaryFile(work.Path("a.zip"));
  // Local header: uncompressed size at offset 22, compressed at 18 - claim 4 GB and 1 byte.
  std::string huge = zip;
  huge[22] = huge[23] = huge[24] = huge[25] = '\xFF';
  std::string tiny = zip;
  tiny[18] = 1, tiny[19] = tiny[20] = tiny[21] = 0;
  for (const std::string& bad : {huge, tiny}) {
    ScanResult r =
        ContentEnv::Get().Scan(MessageWith({{"a.zip", bad, "application/zip"}}));
    ExpectVerdict(r);
    // The bytes reach ClamAV one way or the other: EICAR is found, or the damage is on record.
    EXPECT_TRUE(r.decision.content_class == ContentClass::kVirus ||
                HasClass(r, ContentClass::kUnchecked))
        << Describe(r);
  }
}

TEST(ContentBadInputTest, TenThousandParts) {
  std::string raw = Header("multipart/mixed; boundary=\"b\"");
  for (int i = 0; i < 10'000; ++i) {
    raw += "--b\r\nContent-Type: text/plain\r\n\r\npart " + std::to_string(i) + "\r\n";
  }
  raw += "--b--\r\n";
  ScanResult r = ContentEnv::Get().Scan(raw);
  ExpectVerdict(r);
  EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked) << Describe(r);
  EXPECT_TRUE(HasClass(r, ContentClass::kUnchecked, "limit:mime-parts")) << Describe(r);

}

TEST(ContentBadInputTest, MultipartsNestedAThousandDeep) {
  std::string raw = Header("multipart/mixed; boundary=\"b0\"");
  for (int i = 1; i <= 1000; ++i) {
    raw += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=\"b" +
           std::to_string(i) + "\"\r\n\r\n";
  }
  raw += "--b1000\r\nContent-Type: text/plain\r\n\r\ndeep\r\n";
  for (int i = 1000; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\r\n";
  ScanResult r = ContentEnv::Get().Scan(raw);
  ExpectVerdict(r);
  EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked) << Describe(r);
  EXPECT_TRUE(HasClass(r, ContentClass::kUnchecked, "limit:mime-depth")) << Describe(r);
}

TEST(ContentBadInputTest, FiftyMegabyteLine) {
  std::string raw = Header("text/plain") + std::string(50u << 20, 'A') + "\r\n";
  ScanResult r = ContentEnv::Get().Scan(raw);
  ExpectVerdict(r);
  // Too large for the rules (spam_scan_size_limit): they are skipped, with a note.
  EXPECT_EQ(r.context.Artefact<SpamArtefact>(kSpamArtefact), nullptr);
  EXPECT_EQ(r.decision.content_class, ContentClass::kClean) << Describe(r);
}

TEST(ContentBadInputTest, NestedZipBomb) {
  TempDir work;
  // 42.zip-style: 16 MiB of zeros, 16 copies per level, 4 levels (1 TiB when fully unpacked).
  RunTool({"/bin/sh", "-ec",
           "head -c 16M /dev/zero > 0.bin && zip -q -X -9 L0.zip 0.bin && rm 0.bin && prev=L0.zip "
           "&& for L in 1 2 3 4; do mkdir d$L; for c in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do cp "
           "$prev d$L/$c-$prev; done; (cd d$L && zip -q -X -9 ../L$L.zip *); rm -r d$L; "
           "prev=L$L.zip; done"},
          work.path());
  ScanResult r = ContentEnv::Get().Scan(
      MessageWith({{"42.zip", ReadBinaryFile(work.Path("L4.zip")), "application/zip"}}));
  ExpectVerdict(r);
  EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked) << Describe(r);
  EXPECT_TRUE(HasClass(r, ContentClass::kUnchecked, "limit:")) << Describe(r);
  const auto* content = r.context.Artefact<ContentArtefact>(kContentArtefact);
  ASSERT_NE(content, nullptr);
  EXPECT_LE(content->tree.unpacked_bytes, 100ull << 20);  // max_unpacked_bytes of conf/
}

TEST(ContentBadInputTest, SingleEntryHighRatioBomb) {
  TempDir work;
  RunTool({"/bin/sh", "-ec", "head -c 256M /dev/zero > zeros.bin && zip -q -X -9 z.zip zeros.bin"},
          work.path());
  ScanResult r = ContentEnv::Get().Scan(
      MessageWith({{"z.zip", ReadBinaryFile(work.Path("z.zip")), "application/zip"}}));
  ExpectVerdict(r);
  EXPECT_EQ(r.decision.content_class, ContentClass::kUnchecked) << Describe(r);
  EXPECT_TRUE(HasClass(r, ContentClass::kUnchecked, "limit:")) << Describe(r);
  EXPECT_EQ(r.decision.recipients[0].destiny, Destiny::kPass);  // UNCHECKED passes, tagged
}

TEST(ContentBadInputTest, GarbageIsStillAMessage) {
  for (std::string raw : {std::string(), std::string("\r\n\r\n"), std::string(1000, '\0'),
                          std::string("Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n"),
                          std::string("From: \xFF\xFE\r\nSubject: =?utf-8?B?////?=\r\n\r\nx")}) {
    ScanResult r = ContentEnv::Get().Scan(raw);
    ExpectVerdict(r);
  }
}

}  // namespace
}  // namespace moat::filterd
