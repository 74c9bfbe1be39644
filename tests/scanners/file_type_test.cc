// Tests for scanners/file_type: libmagic detection from bytes and the short-type vocabulary.
#include "scanners/file_type.h"

#include <gtest/gtest.h>
#include <magic.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using testing::ClamExe;
using testing::kClamTestFiles;
using testing::ReadBinaryFile;

FileType Detect(std::string_view bytes) {
  auto detector = FileTypeDetector::Create();
  EXPECT_TRUE(detector.has_value());
  auto type = detector->Detect(bytes);
  EXPECT_TRUE(type.has_value());
  return type ? *type : FileType{};
}

TEST(ShortTypeTest, Table) {
  struct Case {
    const char* mime;
    const char* description;
    const char* short_type;
  };
  const Case cases[] = {
      {"application/vnd.microsoft.portable-executable", "PE32 executable (GUI) Intel 80386", "exe"},
      {"application/vnd.microsoft.portable-executable", "PE32 executable (DLL) (GUI) Intel", "dll"},
      {"application/x-dosexec", "MS-DOS executable", "exe"},
      {"application/x-executable", "", "elf"},
      {"application/x-pie-executable", "", "elf"},
      {"application/x-sharedlib", "", "elf"},
      {"application/pdf", "", "pdf"},
      {"application/msword", "", "doc"},
      {"application/vnd.ms-excel", "", "xls"},
      {"application/vnd.ms-word.document.macroEnabled.12", "", "docm"},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "", "docx"},
      {"application/CDFV2", "Composite Document File V2 Document, Microsoft Excel", "xls"},
      {"application/x-ole-storage", "Composite Document File V2 Document, MSI Installer", "msi"},
      {"application/x-ole-storage", "Composite Document File V2 Document", "ole"},
      {"application/zip", "", "zip"},
      {"application/x-7z-compressed", "", "7z"},
      {"application/x-rar", "", "rar"},
      {"application/vnd.rar", "", "rar"},
      {"application/x-iso9660-image", "", "iso"},
      {"application/vnd.ms-cab-compressed", "", "cab"},
      {"application/gzip", "", "gz"},
      {"application/x-xz", "", "xz"},
      {"application/zstd", "", "zst"},
      {"text/x-shellscript", "", "script"},
      {"text/x-script.python", "", "script"},
      {"text/x-msdos-batch", "", "script"},
      {"application/javascript", "", "script"},
      {"text/html", "", "html"},
      {"text/plain", "", "txt"},
      {"text/x-c", "", "txt"},
      {"message/rfc822", "", "eml"},
      {"image/png", "", "png"},
      {"image/webp", "", "image"},
      {"application/octet-stream", "", "data"},
      {"application/x-foo-bar", "", "foo-bar"},
      {"", "", "data"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ShortTypeFor(c.mime, c.description), c.short_type)
        << c.mime << " / " << c.description;
  }
}

TEST(FileTypeTest, DetectsFromBytesNotNames) {
  FileType exe = Detect(ClamExe());
  EXPECT_EQ(exe.mime_type, "application/vnd.microsoft.portable-executable");
  EXPECT_EQ(exe.short_type, "exe");
  EXPECT_NE(exe.description.find("PE32"), std::string::npos);

  EXPECT_EQ(Detect("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n").short_type, "pdf");
  EXPECT_EQ(Detect("#!/bin/sh\necho hello\n").short_type, "script");
  EXPECT_EQ(Detect("just words\n").short_type, "txt");
  EXPECT_EQ(Detect("").short_type, "empty");
  EXPECT_EQ(Detect(ReadBinaryFile("/bin/true")).short_type, "elf");
}

// Long text goes to libmagic as its first kTextInspectBytes only; what it is must still show.
TEST(FileTypeTest, LongTextKeepsItsKind) {
  std::string filler;
  while (filler.size() < 100 * 1024) filler += "a line of ordinary words in a long file\n";
  EXPECT_EQ(Detect("#!/bin/sh\n" + filler).short_type, "script");
  std::string html = "<!DOCTYPE html>\n<html><body><p>\n" + filler + "</p></body></html>\n";
  EXPECT_EQ(Detect(html).short_type, "html");
  EXPECT_EQ(Detect("<?xml version=\"1.0\"?>\n<note>\n" + filler + "</note>\n").short_type, "xml");
  EXPECT_EQ(Detect(filler).short_type, "txt");
  // Not text (a NUL in it): the whole 64 KiB window, so a PDF header anywhere early counts.
  EXPECT_EQ(Detect(std::string("%PDF-1.4\n\0", 10) + filler).short_type, "pdf");
}

TEST(FileTypeTest, PlainProseIsTextWithNothingLibmagicLooksFor) {
  EXPECT_TRUE(IsPlainProse("Dear team,\nthe figures are attached (see page 2).\nRegards\n"));
  EXPECT_TRUE(IsPlainProse("name,amount,date\nalpha,10,2026-11-21\nbeta,12,2026-11-22\n"));
  EXPECT_FALSE(IsPlainProse("<p>hello</p>\n"));
  EXPECT_FALSE(IsPlainProse("#!/bin/sh\necho hi\n"));
  EXPECT_FALSE(IsPlainProse("x = 1\n"));
  EXPECT_FALSE(IsPlainProse("from os import system\nsystem('ls')\n"));
  EXPECT_FALSE(IsPlainProse("Subject: hello\n\nbody\n"));
  EXPECT_FALSE(IsPlainProse("From alice Sat Nov 21 10:00:00 2026\nhello\n"));
  EXPECT_FALSE(IsPlainProse("{\\rtf1 hello}"));
  EXPECT_FALSE(IsPlainProse("%!PS-Adobe-3.0\n"));
  std::string csv;
  while (csv.size() < 40 * 1024) csv += "alpha,beta,gamma,delta,10,20,30\n";
  EXPECT_EQ(Detect(csv).short_type, "txt");
  EXPECT_EQ(Detect(csv).mime_type, "text/plain");
}

// The claim behind IsPlainProse, checked against libmagic itself on the text files at hand (the
// project's corpus, Debian's licence texts and package documentation, up to 4,000 files): what it
// lets through, libmagic calls text/plain.
TEST(FileTypeTest, LibmagicAgreesWithEveryPlainProseVerdict) {
  magic_t magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON);
  ASSERT_NE(magic, nullptr);
  ASSERT_EQ(magic_load(magic, nullptr), 0);
  int checked = 0;
  int files = 0;
  for (const char* root :
       {MOAT_SOURCE_DIR "/testdata/corpus", "/usr/share/common-licenses", "/usr/share/doc"}) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && files < 4000;
         it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->file_size(ec) == 0) continue;
      ++files;
      std::ifstream in(it->path(), std::ios::binary);
      std::string head(FileTypeDetector::kTextInspectBytes, '\0');
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<size_t>(in.gcount()));
      if (!IsPlainText(head) || !IsPlainProse(head)) continue;
      ++checked;
      std::string verdict = magic_buffer(magic, head.data(), head.size()) ?: "(error)";
      // libmagic's one misfire on prose: two capitals at the start ("PAM for Debian") taken
      // for an HP-GL plotter command. text/plain is the better answer there.
      if (verdict == "application/vnd.hp-HPGL") continue;
      EXPECT_EQ(verdict, "text/plain") << it->path();
    }
  }
  magic_close(magic);
  EXPECT_GE(checked, 5) << "too few plain prose files to say anything";
  std::cout << checked << " plain prose files, libmagic agreed on all\n";
}

// Binary content goes to a libmagic handle without the text-encoding pass (and to the full one
// only when that finds nothing); the types must be libmagic's own.
TEST(FileTypeTest, LibmagicAgreesOnBinaryFiles) {
  magic_t magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON);
  ASSERT_NE(magic, nullptr);
  ASSERT_EQ(magic_load(magic, nullptr), 0);
  auto detector = FileTypeDetector::Create();
  ASSERT_TRUE(detector);
  int checked = 0;
  for (const char* root : {kClamTestFiles, "/usr/bin", "/usr/share/doc"}) {
    int files = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && files < 400;
         it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->file_size(ec) == 0) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::string head(FileTypeDetector::kDefaultInspectBytes, '\0');
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<size_t>(in.gcount()));
      if (head.empty() || IsPlainText(head)) continue;
      ++files;
      ++checked;
      std::string expected = magic_buffer(magic, head.data(), head.size()) ?: "(error)";
      for (char& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto type = detector->Detect(head);
      ASSERT_TRUE(type) << it->path();
      EXPECT_EQ(type->mime_type, expected) << it->path();
    }
  }
  magic_close(magic);
  EXPECT_GE(checked, 100);
}

TEST(FileTypeTest, ClamavTestFilesByTheirBytes) {
  const std::pair<const char*, const char*> expected[] = {
      {"clam.exe", "exe"},     {"clam-upx.exe", "exe"},    {"clam.zip", "zip"},
      {"clam.7z", "7z"},       {"clam.cab", "cab"},        {"clam.tar.gz", "gz"},
      {"clam.exe.bz2", "bz2"}, {"clam.pdf", "pdf"},        {"clam.ole.doc", "doc"},
      {"clam.ppt", "ppt"},     {"clam.newc.cpio", "cpio"}, {"clam.arj", "arj"},
      {"clam.chm", "chm"},     {"clam.mail", "eml"},       {"clam.exe.html", "html"},
      {"clam.exe.rtf", "rtf"}, {"clam.tnef", "tnef"},      {"clam.exe.szdd", "szdd"},
  };
  auto detector = FileTypeDetector::Create();
  ASSERT_TRUE(detector.has_value());
  for (const auto& [file, short_type] : expected) {
    auto type = detector->Detect(ReadBinaryFile(std::string(kClamTestFiles) + "/" + file));
    ASSERT_TRUE(type.has_value()) << file;
    EXPECT_EQ(type->short_type, short_type) << file << " is " << type->mime_type;
  }
}

TEST(FileTypeTest, OneDetectorPerThread) {
  std::string exe = ClamExe();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto detector = FileTypeDetector::Create();
      for (int i = 0; i < 200; ++i) {
        auto type = detector->Detect(i % 2 == 0 ? std::string_view(exe) : "plain text\n");
        if (!type || type->short_type != (i % 2 == 0 ? "exe" : "txt")) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace moat::scanners
