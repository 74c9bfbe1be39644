// Tests for scanners/decomposer: the content tree of real messages and archives made by the
// real tools (zip, 7z, tar, gcab, bsdtar, xz, zstd ...), encryption, damage and limits.
#include "scanners/decomposer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using moat::testing::TempDir;
using testing::Attachment;
using testing::ClamExe;
using testing::Eicar;
using testing::MessageWith;
using testing::ReadBinaryFile;
using testing::RunTool;
using testing::WriteBinaryFile;

ContentTree Decompose(const std::string& raw, const DecodeLimits& limits = {}) {
  auto decomposer = Decomposer::Create(limits);
  EXPECT_TRUE(decomposer.has_value());
  auto tree = decomposer->Decompose(raw);
  EXPECT_TRUE(tree.has_value());
  return tree ? std::move(*tree) : ContentTree{};
}

const ContentNode* NodeAt(const ContentTree& tree, const std::string& path) {
  for (const ContentNode& node : tree.nodes) {
    if (node.path == path) return &node;
  }
  return nullptr;
}

std::string Dump(const ContentTree& tree) {
  std::string out;
  for (const ContentNode& n : tree.nodes) {
    out += fmt::format("  [{}] name={} declared={} detected={} short={} size={} enc={} trunc={}\n",
                       n.path, n.name, n.declared_type, n.detected_type, n.short_type, n.size,
                       n.encrypted, n.truncated);
  }
  for (const Anomaly& a : tree.anomalies) {
    out += fmt::format("  anomaly {} [{}] {}\n", AnomalyKindName(a.kind), a.path, a.detail);
  }
  for (const LimitEvent& e : tree.limit_events) {
    out += fmt::format("  limit {} [{}] {}\n", LimitKindName(e.limit), e.path, e.detail);
  }
  return out;
}

bool HasLimit(const ContentTree& tree, LimitKind kind) {
  return std::any_of(tree.limit_events.begin(), tree.limit_events.end(),
                     [&](const LimitEvent& e) { return e.limit == kind; });
}

bool HasAnomaly(const ContentTree& tree, AnomalyKind kind) {
  return std::any_of(tree.anomalies.begin(), tree.anomalies.end(),
                     [&](const Anomaly& a) { return a.kind == kind; });
}

// A scratch directory holding eicar.com and clam.exe, where archives are built with real tools.
class Workspace {
 public:
  Workspace() {
    WriteBinaryFile(dir_.Path("eicar.com"), Eicar());
    WriteBinaryFile(dir_.Path("clam.exe"), ClamExe());
    WriteBinaryFile(dir_.Path("clean.txt"), "This is a clean text attachment.\n");
  }
  std::string Path(const std::string& name) const { return dir_.Path(name); }
  void Put(const std::string& name, std::string_view bytes) const {
    WriteBinaryFile(dir_.Path(name), bytes);
  }
  void Shell(const std::string& script) const { RunTool({"/bin/sh", "-ec", script}, dir_.path()); }
  std::string Read(const std::string& name) const { return ReadBinaryFile(dir_.Path(name)); }

 private:
  TempDir dir_;
};

TEST(DecomposerTest, MessageWithZipAttachment) {
  Workspace ws;
  ws.Shell("zip -q -X eicar.zip eicar.com clean.txt");
  ContentTree tree =
      Decompose(MessageWith({{"eicar.zip", ws.Read("eicar.zip"), "application/zip"}}));
  ASSERT_EQ(tree.nodes.size(), 5u) << Dump(tree);
  EXPECT_EQ(tree.nodes[0].path, "");
  EXPECT_EQ(tree.nodes[0].kind, ContentNodeKind::kMessage);
  const ContentNode* zip = NodeAt(tree, "2");
  ASSERT_NE(zip, nullptr) << Dump(tree);
  EXPECT_EQ(zip->name, "eicar.zip");
  EXPECT_EQ(zip->declared_type, "application/zip");
  EXPECT_EQ(zip->detected_type, "application/zip");
  EXPECT_EQ(zip->short_type, "zip");
  EXPECT_TRUE(zip->container);
  EXPECT_TRUE(zip->container_complete);
  EXPECT_FALSE(tree.IsScanLeaf(*zip));
  const ContentNode* eicar = NodeAt(tree, "2/eicar.zip/eicar.com");
  ASSERT_NE(eicar, nullptr) << Dump(tree);
  EXPECT_EQ(eicar->kind, ContentNodeKind::kMember);
  EXPECT_EQ(eicar->name, "eicar.com");
  EXPECT_EQ(eicar->size, 68u);
  EXPECT_EQ(eicar->depth, 2);
  EXPECT_EQ(eicar->container_depth, 1);
  EXPECT_EQ(eicar->container_chain, std::vector<std::string>{"eicar.zip"});
  EXPECT_EQ(tree.bytes(*eicar), Eicar());
  EXPECT_TRUE(tree.IsScanLeaf(*eicar));
  EXPECT_FALSE(tree.incomplete()) << Dump(tree);
  // The text part keeps its MIME data for the text checks.
  const ContentNode* text = NodeAt(tree, "1");
  ASSERT_NE(text, nullptr);
  ASSERT_NE(tree.mime_part(*text), nullptr);
  EXPECT_EQ(tree.mime_part(*text)->utf8_text(), "See attachment.");
}

TEST(DecomposerTest, DetectedTypeIgnoresTheDeclaredName) {
  ContentTree tree = Decompose(MessageWith({{"invoice.pdf", ClamExe(), "application/pdf"}}));
  const ContentNode* part = NodeAt(tree, "2");
  ASSERT_NE(part, nullptr);
  EXPECT_EQ(part->name, "invoice.pdf");
  EXPECT_EQ(part->declared_type, "application/pdf");
  EXPECT_EQ(part->detected_type, "application/vnd.microsoft.portable-executable");
  EXPECT_EQ(part->short_type, "exe");
}

// The message text (inline text/plain without a name) that is plainly text is reported as text
// without libmagic; anything else about it still goes to libmagic: binary bytes in the body, a
// named or attached text/plain part, a script in an attachment.
TEST(DecomposerTest, InlineTextBodiesSkipLibmagicOnlyWhenPlainlyText) {
  std::string raw =
      "From: a@example.test\r\nTo: b@example.test\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\n#!/bin/sh\r\necho caf\xc3\xa9\r\n"
      "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      testing::Base64Encode(ClamExe()) +
      "\r\n--b\r\nContent-Type: text/plain; name=run.txt\r\n\r\n#!/bin/sh\r\necho hi\r\n"
      "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\n"
      "#!/bin/sh\r\necho hi\r\n--b--\r\n";
  ContentTree tree = Decompose(raw);
  const ContentNode* text = NodeAt(tree, "1");
  const ContentNode* exe_in_body = NodeAt(tree, "2");
  const ContentNode* named = NodeAt(tree, "3");
  const ContentNode* attached = NodeAt(tree, "4");
  ASSERT_TRUE(text && exe_in_body && named && attached) << Dump(tree);
  EXPECT_EQ(text->detected_type, "text/plain") << Dump(tree);
  EXPECT_EQ(text->short_type, "txt");
  EXPECT_EQ(exe_in_body->short_type, "exe") << Dump(tree);
  EXPECT_EQ(named->short_type, "script") << Dump(tree);
  EXPECT_EQ(attached->short_type, "script") << Dump(tree);
}

TEST(FileTypeTest, PlainTextIsPrintableBytesAndLineBreaks) {
  EXPECT_TRUE(IsPlainText("Hello,\r\n\tworld\f\n"));
  EXPECT_TRUE(IsPlainText("caf\xc3\xa9 \xe9t\xe9"));  // UTF-8 and Latin-1 both count
  EXPECT_FALSE(IsPlainText(""));
  EXPECT_FALSE(IsPlainText(std::string_view("a\0b", 3)));
  EXPECT_FALSE(IsPlainText("PK\x03\x04"));
  EXPECT_FALSE(IsPlainText("a\x7f"));
  EXPECT_FALSE(IsPlainText("\x1b[31m"));
}

// Every read format and compression filter, each holding eicar.com, made by the real tools.
struct FormatCase {
  const char* file;
  const char* script;
  const char* member_path;  // relative to "2/<file>"
};

class FormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatTest, MemberIsFoundWithItsBytes) {
  Workspace ws;
  const FormatCase& c = GetParam();
  ws.Shell(c.script);
  ContentTree tree = Decompose(MessageWith({{c.file, ws.Read(c.file)}}));
  std::string path = std::string("2/") + c.file + "/" + c.member_path;
  const ContentNode* member = NodeAt(tree, path);
  ASSERT_NE(member, nullptr) << path << "\n" << Dump(tree);
  EXPECT_EQ(tree.bytes(*member), Eicar()) << Dump(tree);
  EXPECT_TRUE(NodeAt(tree, "2")->container_complete) << Dump(tree);
  EXPECT_FALSE(tree.incomplete()) << Dump(tree);
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, FormatTest,
    ::testing::Values(
        FormatCase{"a.zip", "zip -q -X a.zip eicar.com", "eicar.com"},
        FormatCase{"a.7z", "7z a -bd -bso0 a.7z eicar.com", "eicar.com"},
        FormatCase{"a.tar", "tar -cf a.tar eicar.com", "eicar.com"},
        FormatCase{"a.tar.gz", "tar -czf a.tar.gz eicar.com", "eicar.com"},
        FormatCase{"a.tar.bz2", "tar -cjf a.tar.bz2 eicar.com", "eicar.com"},
        FormatCase{"a.tar.xz", "tar -cJf a.tar.xz eicar.com", "eicar.com"},
        FormatCase{"a.tar.zst", "tar -cf - eicar.com | zstd -q -c > a.tar.zst", "eicar.com"},
        FormatCase{"a.tar.lz4", "tar -cf - eicar.com | lz4 -q -c > a.tar.lz4", "eicar.com"},
        FormatCase{"a.tar.lzma", "tar -cf - eicar.com | lzma -c > a.tar.lzma", "eicar.com"},
        FormatCase{"a.cpio", "echo eicar.com | bsdtar -cf a.cpio --format newc -T -", "eicar.com"},
        FormatCase{"a.iso", "bsdtar -cf a.iso --format iso9660 eicar.com", "eicar.com"},
        FormatCase{"a.xar", "bsdtar -cf a.xar --format xar eicar.com", "eicar.com"},
        FormatCase{"a.ar", "bsdtar -cf a.ar --format ar eicar.com", "eicar.com"},
        FormatCase{"a.cab", "gcab -c a.cab eicar.com", "eicar.com"},
        FormatCase{"a.mszip.cab", "gcab -c -z a.mszip.cab eicar.com", "eicar.com"},
        FormatCase{"eicar.com.gz", "gzip -9nc eicar.com > eicar.com.gz", "eicar.com"},
        FormatCase{"eicar.com.bz2", "bzip2 -c eicar.com > eicar.com.bz2", "eicar.com"},
        FormatCase{"eicar.com.xz", "xz -c eicar.com > eicar.com.xz", "eicar.com"},
        FormatCase{"eicar.com.lzma", "lzma -c eicar.com > eicar.com.lzma", "eicar.com"},
        FormatCase{"eicar.com.zst", "zstd -q -c eicar.com > eicar.com.zst", "eicar.com"},
        FormatCase{"eicar.com.lz4", "lz4 -q -c eicar.com > eicar.com.lz4", "eicar.com"}),
    [](const ::testing::TestParamInfo<FormatCase>& info) {
      std::string name = info.param.file;
      std::replace_if(
          name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      return name;
    });

TEST(DecomposerTest, NestedArchivesGiveFullPathsAndChains) {
  Workspace ws;
  ws.Shell(
      "cp eicar.com lvl0.com && zip -q -X n1.zip lvl0.com && 7z a -bd -bso0 n2.7z n1.zip && "
      "tar -czf n3.tar.gz n2.7z && zip -q -X nested.zip n3.tar.gz");
  ContentTree tree = Decompose(MessageWith({{"nested.zip", ws.Read("nested.zip")}}));
  const ContentNode* leaf = NodeAt(tree, "2/nested.zip/n3.tar.gz/n2.7z/n1.zip/lvl0.com");
  ASSERT_NE(leaf, nullptr) << Dump(tree);
  EXPECT_EQ(leaf->container_chain,
            (std::vector<std::string>{"nested.zip", "n3.tar.gz", "n2.7z", "n1.zip"}));
  EXPECT_EQ(leaf->container_depth, 4);
  EXPECT_EQ(leaf->depth, 5);
  EXPECT_EQ(tree.bytes(*leaf), Eicar());
  // Complete containers below the MIME part hand their content to their members.
  EXPECT_TRUE(tree.bytes(*NodeAt(tree, "2/nested.zip/n3.tar.gz")).empty());
}

TEST(DecomposerTest, EicarInZipInZipInAttachedMessage) {
  Workspace ws;
  ws.Shell("zip -q -X inner.zip eicar.com && zip -q -X outer.zip inner.zip");
  std::string inner =
      MessageWith({{"outer.zip", ws.Read("outer.zip"), "application/zip"}}, "forwarded");
  std::string raw =
      "From: a@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
      "--xx\r\nContent-Type: text/plain\r\n\r\nforwarding\r\n"
      "--xx\r\nContent-Type: message/rfc822\r\n\r\n" +
      inner + "\r\n--xx--\r\n";
  ContentTree tree = Decompose(raw);
  const ContentNode* eicar = NodeAt(tree, "2/2/outer.zip/inner.zip/eicar.com");
  ASSERT_NE(eicar, nullptr) << Dump(tree);
  EXPECT_EQ(NodeAt(tree, "2")->kind, ContentNodeKind::kMessage);
  EXPECT_EQ(eicar->container_chain, (std::vector<std::string>{"outer.zip", "inner.zip"}));
}

TEST(DecomposerTest, Base64EncodedAttachedMessageIsOpened) {
  std::string inner = MessageWith({{"clam.exe", ClamExe()}}, "inner");
  std::string raw =
      "Subject: fwd\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
      "--xx\r\nContent-Type: message/rfc822; name=\"fwd.eml\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      testing::Base64Encode(inner) + "--xx--\r\n";
  ContentTree tree = Decompose(raw);
  const ContentNode* exe = NodeAt(tree, "1/fwd.eml/2");
  ASSERT_NE(exe, nullptr) << Dump(tree);
  EXPECT_EQ(exe->short_type, "exe");
  EXPECT_EQ(exe->name, "clam.exe");
  const ContentNode* holder = NodeAt(tree, "1");
  EXPECT_TRUE(holder->container);
  EXPECT_EQ(holder->container_format, "MIME");
  ASSERT_GE(holder->nested_mime_tree, 0);
  EXPECT_NE(FindHeader(tree.mime_trees[holder->nested_mime_tree].parts[0].headers, "Subject"),
            nullptr);
}

TEST(DecomposerTest, EmailFileInsideAZipIsOpened) {
  Workspace ws;
  ws.Put("mail.eml", MessageWith({{"eicar.com", Eicar()}}, "inside"));
  ws.Shell("zip -q -X mails.zip mail.eml");
  ContentTree tree = Decompose(MessageWith({{"mails.zip", ws.Read("mails.zip")}}));
  const ContentNode* eicar = NodeAt(tree, "2/mails.zip/mail.eml/2");
  ASSERT_NE(eicar, nullptr) << Dump(tree);
  EXPECT_EQ(tree.bytes(*eicar), Eicar());
}

TEST(DecomposerTest, UuencodedFileInATextPart) {
  Workspace ws;
  ws.Shell(
      "uuencode eicar.com eicar.com > eicar.uu 2>/dev/null || "
      "python3 -c \"import binascii,sys; d=open('eicar.com','rb').read(); "
      "sys.stdout.write('begin 644 eicar.com\\n'+''.join(binascii.b2a_uu(d[i:i+45]).decode() "
      "for i in range(0,len(d),45))+'\\`\\nend\\n')\" > eicar.uu");
  std::string raw =
      "Subject: uu\r\nContent-Type: text/plain\r\n\r\nHere:\r\n" + ws.Read("eicar.uu");
  ContentTree tree = Decompose(raw);
  const ContentNode* file = NodeAt(tree, "1/eicar.com");
  ASSERT_NE(file, nullptr) << Dump(tree);
  EXPECT_EQ(file->kind, ContentNodeKind::kEmbedded);
  EXPECT_EQ(tree.bytes(*file), Eicar());
}

// RAR5 and LHA have no writer in Debian: libarchive's own samples, uuencoded in a text part.
TEST(DecomposerTest, Rar5AndLhaSamplesInsideUuencodedText) {
  std::string rar5 =
      ReadBinaryFile(moat::testing::SourcePath("testdata/corpus/scanners/rar5_zip_in_rar.rar.uu"));
  std::string lha = ReadBinaryFile(
      moat::testing::SourcePath("testdata/corpus/scanners/lha_filename_utf16.lzh.uu"));
  ASSERT_FALSE(rar5.empty());
  ASSERT_FALSE(lha.empty());
  ContentTree tree = Decompose("Subject: samples\r\nContent-Type: text/plain\r\n\r\n" + rar5 +
                               "\r\nand\r\n" + lha);
  const ContentNode* rar = NodeAt(tree, "1/test_read_format_rar5_zip_in_rar.rar");
  ASSERT_NE(rar, nullptr) << Dump(tree);
  EXPECT_EQ(rar->short_type, "rar");
  EXPECT_EQ(rar->container_format.substr(0, 4), "RAR5") << Dump(tree);
  // Read as the RAR it is: both members, the zip opened in turn.
  const std::string base = "1/test_read_format_rar5_zip_in_rar.rar/payload/";
  EXPECT_NE(NodeAt(tree, base + "real_after.txt"), nullptr) << Dump(tree);
  EXPECT_NE(NodeAt(tree, base + "inner.zip/THIS_IS_INSIDE_THE_ZIP.txt"), nullptr) << Dump(tree);

  const ContentNode* lzh = NodeAt(tree, "1/test_read_format_lha_filename_utf16.lzh");
  ASSERT_NE(lzh, nullptr) << Dump(tree);
  EXPECT_EQ(lzh->short_type, "lha");
  EXPECT_TRUE(lzh->container_complete) << Dump(tree);
  ASSERT_FALSE(lzh->children.empty()) << Dump(tree);
  EXPECT_EQ(tree.nodes[lzh->children[0]].size, 12u);
}

TEST(DecomposerTest, MacroEnabledOfficeDocumentsAreNamedSo) {
  Workspace ws;
  ws.Shell(
      "mkdir -p doc/word && printf 'ole' > doc/word/vbaProject.bin && "
      "printf '<x/>' > 'doc/[Content_Types].xml' && (cd doc && zip -q -X -r ../m.docx .)");
  ContentTree tree = Decompose(MessageWith({{"m.docx", ws.Read("m.docx")}}));
  EXPECT_EQ(NodeAt(tree, "2")->short_type, "docm") << Dump(tree);
}

// ---- encryption ---------------------------------------------------------------------------

TEST(DecomposerTest, EncryptedMembersAndHeadersAreFlagged) {
  Workspace ws;
  ws.Shell(
      "zip -q -X -P infected zipcrypto.zip eicar.com && "
      "7z a -bd -bso0 -tzip -pinfected -mem=AES256 aes.zip eicar.com && "
      "7z a -bd -bso0 -pinfected data.7z eicar.com && "
      "7z a -bd -bso0 -pinfected -mhe=on headers.7z eicar.com");
  for (const char* file : {"zipcrypto.zip", "aes.zip", "data.7z"}) {
    ContentTree tree = Decompose(MessageWith({{file, ws.Read(file)}}));
    const ContentNode* member = NodeAt(tree, std::string("2/") + file + "/eicar.com");
    ASSERT_NE(member, nullptr) << file << "\n" << Dump(tree);
    EXPECT_TRUE(member->encrypted) << file << "\n" << Dump(tree);
    EXPECT_TRUE(tree.bytes(*member).empty());
    EXPECT_TRUE(tree.incomplete());
  }
  ContentTree tree = Decompose(MessageWith({{"headers.7z", ws.Read("headers.7z")}}));
  const ContentNode* archive = NodeAt(tree, "2");
  ASSERT_NE(archive, nullptr);
  EXPECT_TRUE(archive->encrypted) << Dump(tree);
  EXPECT_TRUE(tree.incomplete());
  EXPECT_TRUE(tree.IsScanLeaf(*archive));  // unread: ClamAV still gets the bytes
}

// ---- damage -------------------------------------------------------------------------------

TEST(DecomposerTest, TruncatedArchivesAreAnomaliesNotCrashes) {
  Workspace ws;
  ws.Shell(
      "head -c 200000 /dev/urandom > noise.bin && "
      "zip -q -X t.zip eicar.com noise.bin clam.exe && 7z a -bd -bso0 t.7z noise.bin clam.exe && "
      "tar -czf t.tar.gz noise.bin clam.exe && tar -cJf t.tar.xz noise.bin clam.exe && "
      "gcab -c -z t.cab noise.bin clam.exe");
  for (const char* file : {"t.zip", "t.7z", "t.tar.gz", "t.tar.xz", "t.cab"}) {
    std::string full = ws.Read(file);
    // Cut inside the data: what was read is kept, the damage is recorded.
    ContentTree tree = Decompose(MessageWith({{file, full.substr(0, full.size() / 2)}}));
    EXPECT_TRUE(tree.incomplete()) << file << "\n" << Dump(tree);
    EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kArchiveCorrupt)) << file << "\n" << Dump(tree);
    EXPECT_TRUE(tree.IsScanLeaf(*NodeAt(tree, "2"))) << file;  // ClamAV gets the remains
    // Other cuts (tiny, or just the trailer missing) must simply not crash; whatever is left
    // is scanned somewhere.
    for (size_t cut = 1; cut < full.size(); cut = cut * 3 + 7) {
      tree = Decompose(MessageWith({{file, full.substr(0, cut)}}));
      ASSERT_FALSE(tree.nodes.empty());
      bool scanned = std::any_of(tree.nodes.begin(), tree.nodes.end(),
                                 [&](const ContentNode& n) { return tree.IsScanLeaf(n); });
      EXPECT_TRUE(scanned) << file << " cut at " << cut;
    }
  }
}

TEST(DecomposerTest, ArchivesThatLieAboutSizes) {
  Workspace ws;
  ws.Shell(
      "head -c 5000 /dev/zero > zeros.bin && zip -q -X -0 stored.zip zeros.bin && "
      "tar -cf t.tar zeros.bin");
  // zip: claim 50 bytes in the central directory and local header (uncompressed size fields).
  std::string zip = ws.Read("stored.zip");
  auto patch32 = [](std::string& s, size_t offset, uint32_t value) {
    for (int i = 0; i < 4; ++i) s[offset + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  };
  std::string lying = zip;
  patch32(lying, 22, 50);  // local header: uncompressed size
  size_t central = lying.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  patch32(lying, central + 24, 50);  // central directory: uncompressed size
  ContentTree tree = Decompose(MessageWith({{"stored.zip", lying}}));
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kArchiveSizeMismatch) ||
              HasAnomaly(tree, AnomalyKind::kArchiveCorrupt))
      << Dump(tree);

  // tar: a header claiming 1 GB for a 5000-byte member (checksum fixed up so it parses).
  std::string tar = ws.Read("t.tar");
  std::string size_field = fmt::format("{:011o}", 1'000'000'000);
  tar.replace(124, 11, size_field);
  tar.replace(148, 8, "        ");
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[i]);
  tar.replace(148, 8, fmt::format("{:06o}", sum) + std::string("\0 ", 2));
  tree = Decompose(MessageWith({{"t.tar", tar}}));
  EXPECT_TRUE(tree.incomplete()) << Dump(tree);
}

TEST(DecomposerTest, CorruptDataInsideAnArchive) {
  Workspace ws;
  ws.Shell("head -c 100000 /dev/urandom | base64 > text.txt && zip -q -X -9 c.zip text.txt");
  std::string zip = ws.Read("c.zip");
  for (size_t i = 2000; i < 2100; ++i) zip[i] = static_cast<char>(zip[i] ^ 0x5a);
  ContentTree tree = Decompose(MessageWith({{"c.zip", zip}}));
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kArchiveCorrupt)) << Dump(tree);
  EXPECT_TRUE(tree.IsScanLeaf(*NodeAt(tree, "2")));

  std::string fake_gz = std::string("\x1f\x8b\x08\x00", 4) + std::string(100, 'A');
  tree = Decompose(MessageWith({{"x.gz", fake_gz}}));
  EXPECT_EQ(NodeAt(tree, "2")->short_type, "gz") << Dump(tree);
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kArchiveCorrupt)) << Dump(tree);
  EXPECT_TRUE(tree.IsScanLeaf(*NodeAt(tree, "2")));
}

TEST(DecomposerTest, ZerosBeforeDataDoNotReadAsAnEmptyTar) {
  Workspace ws;
  ws.Shell(
      "(head -c 4096 /dev/zero; cat eicar.com) | gzip -c > hidden.gz && "
      "/usr/bin/python3 -c \"import zipfile; zipfile.ZipFile('empty.zip', 'w').close()\"");
  ContentTree tree = Decompose(MessageWith({{"hidden.gz", ws.Read("hidden.gz")}}));
  const ContentNode* inner = NodeAt(tree, "2/hidden.gz/hidden");
  ASSERT_NE(inner, nullptr) << Dump(tree);
  EXPECT_EQ(tree.bytes(*inner).substr(4096), Eicar());
  // An archive without members is no proof of anything: its bytes stay a scan leaf.
  tree = Decompose(MessageWith({{"empty.zip", ws.Read("empty.zip")}}));
  EXPECT_TRUE(tree.IsScanLeaf(*NodeAt(tree, "2"))) << Dump(tree);
}

// ---- limits -------------------------------------------------------------------------------

TEST(DecomposerTest, DepthLimit) {
  Workspace ws;
  ws.Shell("f=eicar.com; for i in $(seq 1 12); do zip -q -X d$i.zip $f; f=d$i.zip; done");
  DecodeLimits limits;
  limits.max_depth = 4;
  ContentTree tree = Decompose(MessageWith({{"d12.zip", ws.Read("d12.zip")}}), limits);
  ASSERT_TRUE(HasLimit(tree, LimitKind::kDepth)) << Dump(tree);
  int deepest = 0;
  for (const ContentNode& n : tree.nodes) deepest = std::max(deepest, n.container_depth);
  EXPECT_EQ(deepest, 4);
  EXPECT_EQ(tree.limit_events[0].path, "2/d12.zip/d11.zip/d10.zip/d9.zip/d8.zip");
}

TEST(DecomposerTest, MemberCountLimit) {
  Workspace ws;
  ws.Shell(
      "mkdir many && for i in $(seq 1 50); do echo $i > many/f$i.txt; done && "
      "zip -q -X -r many.zip many");
  DecodeLimits limits;
  limits.max_members = 10;
  ContentTree tree = Decompose(MessageWith({{"many.zip", ws.Read("many.zip")}}), limits);
  EXPECT_TRUE(HasLimit(tree, LimitKind::kMemberCount)) << Dump(tree);
  EXPECT_LE(tree.nodes.size(), 4u + 10u);
}

TEST(DecomposerTest, MemberSizeLimitKeepsThePrefixAndGoesOn) {
  Workspace ws;
  ws.Shell("head -c 3000000 /dev/urandom > big.bin && zip -q -X -0 two.zip big.bin eicar.com");
  DecodeLimits limits;
  limits.max_member_bytes = 1'000'000;
  ContentTree tree = Decompose(MessageWith({{"two.zip", ws.Read("two.zip")}}), limits);
  EXPECT_TRUE(HasLimit(tree, LimitKind::kMemberBytes)) << Dump(tree);
  const ContentNode* big = NodeAt(tree, "2/two.zip/big.bin");
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(big->truncated);
  EXPECT_EQ(big->size, 1'000'000u);
  // zip skips cheaply, so the member after the big one is still read.
  const ContentNode* eicar = NodeAt(tree, "2/two.zip/eicar.com");
  ASSERT_NE(eicar, nullptr) << Dump(tree);
  EXPECT_EQ(tree.bytes(*eicar), Eicar());
}

TEST(DecomposerTest, TotalBytesLimit) {
  Workspace ws;
  ws.Shell(
      "for i in 1 2 3 4; do head -c 400000 /dev/urandom > r$i.bin; done && "
      "zip -q -X -0 r.zip r1.bin r2.bin r3.bin r4.bin");
  DecodeLimits limits;
  limits.max_total_bytes = 1'000'000;
  ContentTree tree = Decompose(MessageWith({{"r.zip", ws.Read("r.zip")}}), limits);
  EXPECT_TRUE(HasLimit(tree, LimitKind::kTotalBytes)) << Dump(tree);
  EXPECT_LE(tree.unpacked_bytes, 1'000'000u);
}

TEST(DecomposerTest, CompressionRatioLimit) {
  Workspace ws;
  ws.Shell("head -c 20000000 /dev/zero | gzip -9 > z.gz");
  DecodeLimits limits;
  limits.max_compression_ratio = 100;
  limits.ratio_floor_bytes = 1'000'000;
  ContentTree tree = Decompose(MessageWith({{"z.gz", ws.Read("z.gz")}}), limits);
  EXPECT_TRUE(HasLimit(tree, LimitKind::kCompressionRatio)) << Dump(tree);
  EXPECT_LE(tree.unpacked_bytes, std::max<uint64_t>(1'000'000, 100 * ws.Read("z.gz").size()));
}

TEST(DecomposerTest, TimeLimit) {
  Workspace ws;
  ws.Shell("zip -q -X a.zip eicar.com");
  DecodeLimits limits;
  limits.max_time = std::chrono::milliseconds(0);
  ContentTree tree = Decompose(MessageWith({{"a.zip", ws.Read("a.zip")}}), limits);
  EXPECT_TRUE(HasLimit(tree, LimitKind::kTime)) << Dump(tree);
  EXPECT_TRUE(tree.incomplete());
}

// ---- JSON ----------------------------------------------------------------------------------

TEST(DecomposerTest, PartsJsonCarriesTheInterfaceFields) {
  Workspace ws;
  ws.Shell("zip -q -X -P pw enc.zip eicar.com");
  ContentTree tree = Decompose(MessageWith({{"enc.zip", ws.Read("enc.zip")}}));
  nlohmann::json parts = nlohmann::json::parse(ContentPartsJson(tree));
  ASSERT_EQ(parts.size(), tree.nodes.size());
  const nlohmann::json& member = parts.back();
  EXPECT_EQ(member["path"], "2/enc.zip/eicar.com");
  EXPECT_EQ(member["name"], "eicar.com");
  EXPECT_EQ(member["declared_type"], "");
  EXPECT_EQ(member["encrypted"], true);
  EXPECT_EQ(member["container_chain"], nlohmann::json::array({"enc.zip"}));
  for (const char* field :
       {"path", "name", "declared_type", "detected_type", "size", "encrypted"}) {
    EXPECT_TRUE(parts[0].contains(field)) << field;
  }
  EXPECT_EQ(parts[2]["container_format"].get<std::string>().substr(0, 4), "ZIP ");
  EXPECT_TRUE(nlohmann::json::parse(ContentAnomaliesJson(tree)).is_array());
  EXPECT_TRUE(nlohmann::json::parse(ContentLimitEventsJson(tree)).is_array());
}

}  // namespace
}  // namespace moat::scanners
