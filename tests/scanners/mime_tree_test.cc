// Tests for scanners/mime_tree: structure, paths, names, decoding, anomalies and bounds.
#include "scanners/mime_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "scanners/mime_lint.h"

namespace moat::scanners {
namespace {

MimeTree Parse(const std::string& raw, const DecodeLimits& limits = {}) {
  auto tree = ParseMime(raw, limits);
  EXPECT_TRUE(tree.has_value());
  return tree ? std::move(*tree) : MimeTree{};
}

const MimePart* PartAt(const MimeTree& tree, const std::string& path) {
  for (const MimePart& part : tree.parts) {
    if (part.path == path) return &part;
  }
  return nullptr;
}

bool HasAnomaly(const MimeTree& tree, AnomalyKind kind, const std::string& path) {
  return std::any_of(tree.anomalies.begin(), tree.anomalies.end(),
                     [&](const Anomaly& a) { return a.kind == kind && a.path == path; });
}

bool HasAnomalyKind(const MimeTree& tree, AnomalyKind kind) {
  return std::any_of(tree.anomalies.begin(), tree.anomalies.end(),
                     [&](const Anomaly& a) { return a.kind == kind; });
}

std::string Paths(const MimeTree& tree) {
  std::string out;
  for (const MimePart& part : tree.parts) out += "[" + part.path + "]";
  return out;
}

const char kMixed[] =
    "From: a@example.org\r\n"
    "To: b@example.net\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=E9 au lait=\r\n"
    " soft break\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"ignored.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "SGVsbG8sIHdvcmxkIQ==\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

TEST(MimeTreeTest, MultipartPathsNamesAndDecodedBodies) {
  MimeTree tree = Parse(kMixed);
  ASSERT_EQ(tree.parts.size(), 3u) << Paths(tree);
  const MimePart& root = tree.parts[0];
  EXPECT_EQ(root.kind, MimePartKind::kMessage);
  EXPECT_EQ(root.path, "");
  EXPECT_EQ(root.content_type, "multipart/mixed");
  const MimeHeader* subject = FindHeader(root.headers, "subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->value, "Grüße");
  EXPECT_EQ(subject->raw_value.find("=?UTF-8?Q?"), 1u);
  // The message header block keeps document order, Content-Type included.
  ASSERT_EQ(root.headers.size(), 5u);
  EXPECT_EQ(root.headers[4].name, "Content-Type");

  const MimePart* text = PartAt(tree, "1");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->kind, MimePartKind::kLeaf);
  EXPECT_EQ(text->depth, 1);
  EXPECT_EQ(text->transfer_encoding, "quoted-printable");
  EXPECT_EQ(text->charset, "iso-8859-1");
  EXPECT_EQ(text->body, "caf\xE9 au lait soft break");
  EXPECT_TRUE(text->is_text);
  EXPECT_EQ(text->utf8_text(), "café au lait soft break");

  const MimePart* attachment = PartAt(tree, "2");
  ASSERT_NE(attachment, nullptr);
  EXPECT_EQ(attachment->filename, "report.pdf");
  EXPECT_EQ(attachment->name_param, "ignored.bin");
  EXPECT_EQ(attachment->name(), "report.pdf");
  EXPECT_EQ(attachment->disposition, "attachment");
  EXPECT_EQ(attachment->content_type, "application/octet-stream");
  EXPECT_EQ(attachment->body, "Hello, world!");
  EXPECT_FALSE(attachment->is_text);
  EXPECT_TRUE(tree.anomalies.empty()) << AnomalyKindName(tree.anomalies[0].kind);
}

TEST(MimeTreeTest, SinglePartMessageHasItsBodyAtOne) {
  MimeTree tree = Parse("Subject: hi\n\nbody text\n");
  ASSERT_EQ(tree.parts.size(), 2u);
  EXPECT_EQ(tree.parts[0].kind, MimePartKind::kMessage);
  EXPECT_EQ(tree.parts[1].path, "1");
  EXPECT_EQ(tree.parts[1].content_type, "text/plain");
  EXPECT_EQ(tree.parts[1].body, "body text\n");
  EXPECT_EQ(tree.parts[0].children, std::vector<int>{1});
}

TEST(MimeTreeTest, Rfc2231ContinuationsAndCharsetsAndRfc2047Names) {
  std::string raw =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\n"
      "Content-Type: application/pdf\n"
      "Content-Disposition: attachment;\n"
      " filename*0*=UTF-8''%E2%82%AC%20;\n"
      " filename*1=\"rate\";\n"
      " filename*2=\".pdf\"\n\n"
      "x\n"
      "--b\n"
      "Content-Type: text/plain; name=\"=?UTF-8?B?w6TDtsO8LnR4dA==?=\"\n\n"
      "y\n"
      "--b\n"
      "Content-Type: application/octet-stream;\n"
      " name*=iso-8859-1'de'%E4rger.exe\n\n"
      "z\n"
      "--b--\n";
  MimeTree tree = Parse(raw);
  ASSERT_EQ(tree.parts.size(), 4u) << Paths(tree);
  EXPECT_EQ(PartAt(tree, "1")->name(), "€ rate.pdf");
  EXPECT_EQ(PartAt(tree, "2")->name(), "äöü.txt");
  EXPECT_EQ(PartAt(tree, "3")->name(), "ärger.exe");
}

TEST(MimeTreeTest, AttachedMessageIsAMessageNodeWithNumberedChildren) {
  std::string raw =
      "Subject: outer\n"
      "Content-Type: multipart/mixed; boundary=o\n\n"
      "--o\n"
      "Content-Type: text/plain\n\n"
      "see attached\n"
      "--o\n"
      "Content-Type: message/rfc822\n"
      "Content-Disposition: attachment; filename=fwd.eml\n\n"
      "Subject: inner\n"
      "Content-Type: multipart/mixed; boundary=i\n\n"
      "--i\n"
      "Content-Type: text/plain\n\n"
      "inner text\n"
      "--i\n"
      "Content-Type: application/zip; name=a.zip\n"
      "Content-Transfer-Encoding: base64\n\n"
      "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\n"
      "--i--\n"
      "--o--\n";
  MimeTree tree = Parse(raw);
  EXPECT_EQ(Paths(tree), "[][1][2][2/1][2/2]");
  const MimePart* attached = PartAt(tree, "2");
  ASSERT_NE(attached, nullptr);
  EXPECT_EQ(attached->kind, MimePartKind::kMessage);
  EXPECT_EQ(attached->content_type, "message/rfc822");
  EXPECT_EQ(attached->name(), "fwd.eml");
  const MimeHeader* inner_subject = FindHeader(attached->message_headers, "Subject");
  ASSERT_NE(inner_subject, nullptr);
  EXPECT_EQ(inner_subject->value, "inner");
  EXPECT_EQ(PartAt(tree, "2/1")->body, "inner text");
  EXPECT_EQ(PartAt(tree, "2/2")->depth, 2);
  EXPECT_EQ(PartAt(tree, "2/2")->body.size(), 22u);
  EXPECT_TRUE(tree.anomalies.empty());
}

TEST(MimeTreeTest, UuencodedPartAndUuencodedBlockInsideText) {
  std::string raw =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\n"
      "Content-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: x-uuencode\n\n"
      "begin 644 hello.txt\n"
      ".2&5L;&\\L('=O<FQD(0H`\n"
      "`\n"
      "end\n"
      "--b\n"
      "Content-Type: text/plain\n\n"
      "Here is the file:\n"
      "begin 755 run.exe\n"
      ".2&5L;&\\L('=O<FQD(0H`\n"
      "`\n"
      "end\n"
      "bye\n"
      "--b--\n";
  MimeTree tree = Parse(raw);
  EXPECT_EQ(Paths(tree), "[][1][2][2/run.exe]");
  EXPECT_EQ(PartAt(tree, "1")->body, "Hello, world!\n");
  EXPECT_EQ(PartAt(tree, "1")->name(), "hello.txt");
  const MimePart* embedded = PartAt(tree, "2/run.exe");
  ASSERT_NE(embedded, nullptr);
  EXPECT_EQ(embedded->kind, MimePartKind::kEmbedded);
  EXPECT_EQ(embedded->body, "Hello, world!\n");
  EXPECT_EQ(embedded->name(), "run.exe");
  EXPECT_EQ(embedded->parent, 2);
}

TEST(MimeTreeTest, MissingClosingBoundaryIsAnAnomaly) {
  MimeTree tree =
      Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kMissingBoundary, "")) << Paths(tree);
  EXPECT_EQ(PartAt(tree, "1")->body, "x\n");
}

TEST(MimeTreeTest, BoundaryFollowedByTextIsAmbiguous) {
  // RFC 2046 readers split at "--b junk"; gmime does not. Either way the message is flagged.
  MimeTree tree = Parse(
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nx\n"
      "--b trailing junk\nContent-Type: application/octet-stream\n\nhidden\n"
      "--b--\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kAmbiguousBoundary, "1")) << Paths(tree);
  MimeTree prologue_only = Parse(
      "Content-Type: multipart/mixed; boundary=b\n\n--b junk\nContent-Type: text/plain\n\nx\n");
  EXPECT_TRUE(HasAnomaly(prologue_only, AnomalyKind::kAmbiguousBoundary, ""));
  EXPECT_TRUE(HasAnomaly(prologue_only, AnomalyKind::kEmptyMultipart, ""));
}

TEST(MimeTreeTest, BadBase64IsAnAnomalyAndStillDecodes) {
  MimeTree tree = Parse(
      "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
      "SGVsbG8*sIHdvcmxkIQ==\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kBadBase64, "1"));
  EXPECT_EQ(PartAt(tree, "1")->body, "Hello, world!");
}

TEST(MimeTreeTest, BadQuotedPrintableIsAnAnomaly) {
  MimeTree tree = Parse(
      "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
      "a=ZZb\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kBadQuotedPrintable, "1"));
}

TEST(MimeTreeTest, DuplicateTransferEncodingIsAConflict) {
  MimeTree tree = Parse(
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\n"
      "Content-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: base64\n"
      "Content-Transfer-Encoding: quoted-printable\n\n"
      "QUJD\n"
      "--b--\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kConflictingHeader, "1")) << Paths(tree);
}

TEST(MimeTreeTest, HeaderGarbageEightBitAndNulAreAnomalies) {
  std::string raw = "Subject: ok\n";
  raw += "Bad Header Name: x\n";
  raw += "X-Eight: caf\xE9\n";
  raw += std::string("X-Nul: a\0b\n", 11);
  raw += "\nbody\n";
  MimeTree tree = Parse(raw);
  EXPECT_TRUE(HasAnomalyKind(tree, AnomalyKind::kInvalidHeaderName));
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kEightBitHeader, ""));
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kNulInHeader, ""));
}

TEST(MimeTreeTest, UnknownCharsetFallsBackAndIsRecorded) {
  MimeTree tree = Parse("Content-Type: text/plain; charset=x-no-such-charset\n\ncaf\xE9\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kUnknownCharset, "1"));
  EXPECT_EQ(PartAt(tree, "1")->utf8_text(), "café\n");
}

TEST(MimeTreeTest, UnknownTransferEncodingIsRecorded) {
  MimeTree tree = Parse("Content-Type: text/plain\nContent-Transfer-Encoding: x-rot13\n\nabc\n");
  EXPECT_TRUE(HasAnomaly(tree, AnomalyKind::kUnknownTransferEncoding, "1"));
  EXPECT_EQ(PartAt(tree, "1")->body, "abc\n");
}

TEST(MimeTreeTest, NoHeaderAtAllStillYieldsTheBytes) {
  std::string raw = "\x01\x02 not a message at all";
  MimeTree tree = Parse(raw);
  ASSERT_GE(tree.parts.size(), 2u);
  bool found = std::any_of(tree.parts.begin(), tree.parts.end(), [&](const MimePart& p) {
    return p.body.find("not a message") != std::string::npos;
  });
  EXPECT_TRUE(found);
}

// ---- bounds -------------------------------------------------------------------------------

TEST(MimeTreeTest, TenThousandPartsStopAtTheLimit) {
  std::string raw = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 10'000; ++i) raw += "--b\nContent-Type: text/plain\n\nx\n";
  raw += "--b--\n";
  DecodeLimits limits;
  MimeTree tree = Parse(raw, limits);
  EXPECT_EQ(tree.parts.size(), limits.max_mime_parts);
  ASSERT_FALSE(tree.limit_events.empty());
  EXPECT_EQ(tree.limit_events[0].limit, LimitKind::kMimeParts);
}

std::string DeepMultipart(int depth) {
  std::string raw;
  for (int i = 0; i < depth; ++i) {
    raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
           std::to_string(i) + "\n";
  }
  raw += "Content-Type: text/plain\n\ndeep\n";
  for (int i = depth - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\n";
  return raw;
}

TEST(MimeTreeTest, ThousandDeepMultipartsEndWithALimitEvent) {
  DecodeLimits limits;
  MimeTree tree = Parse(DeepMultipart(1000), limits);
  ASSERT_FALSE(tree.limit_events.empty());
  EXPECT_EQ(tree.limit_events[0].limit, LimitKind::kMimeDepth);
  int max_depth = 0;
  for (const MimePart& part : tree.parts) max_depth = std::max(max_depth, part.depth);
  EXPECT_EQ(max_depth, limits.max_mime_depth);
}

TEST(MimeTreeTest, FiveThousandDeepMultipartsAreCutByGmimeAndUs) {
  MimeTree tree = Parse(DeepMultipart(5000));
  EXPECT_FALSE(tree.limit_events.empty());
}

TEST(MimeTreeTest, DeepAttachedMessages) {
  std::string raw;
  for (int i = 0; i < 3000; ++i) raw += "Content-Type: message/rfc822\n\n";
  raw += "Subject: bottom\n\nbottom\n";
  MimeTree tree = Parse(raw);
  EXPECT_FALSE(tree.limit_events.empty());
}

TEST(MimeTreeTest, FiftyMegabyteSingleLine) {
  std::string raw = "Subject: long\nContent-Type: text/plain\n\n";
  raw.append(50u << 20, 'a');
  MimeTree tree = Parse(raw);
  ASSERT_EQ(tree.parts.size(), 2u);
  EXPECT_EQ(tree.parts[1].body.size(), 50u << 20);
}

TEST(MimeTreeTest, ManyBoundaryLinesAreCutBeforeGmime) {
  // 200,000 boundary-like lines in 1 MB: gmime never sees more than the budget.
  std::string raw = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 200'000; ++i) raw += "--b\n\n";
  MimeTree tree = Parse(raw);
  ASSERT_FALSE(tree.limit_events.empty());
  EXPECT_EQ(tree.limit_events[0].limit, LimitKind::kMimeParts);
  EXPECT_LE(tree.parts.size(), DecodeLimits{}.max_mime_parts);
}

}  // namespace
}  // namespace moat::scanners
