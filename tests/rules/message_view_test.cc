// message_view_test.cc - headers, body paragraphs, rawbody chunks and decoding.
#include "rules/message_view.h"

#include <gtest/gtest.h>

#include "rules/charset.h"
#include "rules/header_decoder.h"
#include "tests/rules/mime_splitter.h"

namespace moat::rules {
namespace {

MessageView View(const std::string& raw) {
  return BuildMessageView(testing::SplitMessage(raw), {});
}

TEST(MessageViewTest, HeadersKeepRawAndDecodedValues) {
  MessageView v = View(
      "From mbox-line Thu Jan  1 00:00:00 2026\n"
      "Subject: =?utf-8?B?SGVsbG8g?=\n =?utf-8?B?V29ybGQ=?= and =?iso-8859-1?q?caf=E9?=\n"
      "Received: from x =?utf-8?B?bm90?= decoded\n"
      "X-Raw8bit: Grüße\n"
      "Key With Space : value\n"
      "\n"
      "body\n");
  ASSERT_EQ(v.headers.size(), 4u);
  EXPECT_EQ(v.headers[0].name, "Subject");
  EXPECT_EQ(v.headers[0].raw,
            " =?utf-8?B?SGVsbG8g?=\n =?utf-8?B?V29ybGQ=?= and =?iso-8859-1?q?caf=E9?=\n");
  EXPECT_EQ(v.headers[0].decoded, "Hello World and café");
  EXPECT_EQ(v.headers[1].decoded, "from x =?utf-8?B?bm90?= decoded");  // Received is never decoded
  EXPECT_EQ(v.headers[2].decoded, "Grüße");
  EXPECT_EQ(v.headers[3].name, "Key With Space");
  EXPECT_EQ(v.body.front(), "Hello World and café\n");
  EXPECT_EQ(v.body_size, 5u);
}

TEST(MessageViewTest, EncodedWordsSplitInsideACharacterAreJoined) {
  // "é" (C3 A9) split across two encoded words of the same charset.
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=", "Subject"), "café");
  EXPECT_EQ(DecodeHeaderValue("=?ISO-8859-1*fr?Q?d=E9j=E0_vu?=", "Subject"), "déjà vu");
  EXPECT_EQ(DecodeHeaderValue("plain =?bogus-charset?Q?x?= text", "Subject"), "plain x text");
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?B?broken", "Subject"), "=?utf-8?B?broken");
}

TEST(MessageViewTest, BodyIsSubjectThenParagraphs) {
  MessageView v = View(
      "Subject: Hi\n\n"
      "line one\nline   two\n\n\n  \n  second\tparagraph\n");
  ASSERT_EQ(v.body.size(), 3u);
  EXPECT_EQ(v.body[0], "Hi\n");
  EXPECT_EQ(v.body[1], "line one line two\n");
  EXPECT_EQ(v.body[2], " second paragraph ");
}

TEST(MessageViewTest, LongParagraphsSplitAtSpaces) {
  std::string words;
  for (int i = 0; i < 1000; ++i) words += "word ";
  MessageView v = View("Subject: s\n\n" + words);
  ASSERT_GE(v.body.size(), 3u);
  for (const std::string& line : v.body) EXPECT_LE(line.size(), 2048u);
  EXPECT_EQ(v.body[1].back(), ' ');
}

TEST(MessageViewTest, MultipartHtmlAndCharsets) {
  MessageView v = View(
      "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"XX\"\n\n"
      "preamble\n--XX\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: "
      "quoted-printable\n\n"
      "Gr=FC=DFe aus K=F6ln\n--XX\nContent-Type: text/html; "
      "charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "PGh0bWw+PGJvZHk+PHA+SGVsbG8gPGEgaHJlZj0iaHR0cDovL2V4YW1wbGUuY29tLyI+bGluazwvYT48L3A+"
      "PC9ib2R5PjwvaHRtbD4=\n"
      "--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: "
      "base64\n\nAAEC\n--XX--\nepilogue\n");
  std::string all;
  for (const auto& l : v.body) all += l;
  EXPECT_NE(all.find("Grüße aus Köln"), std::string::npos) << all;  // converted to UTF-8
  EXPECT_NE(all.find("Hello link"), std::string::npos) << all;
  EXPECT_EQ(all.find("<a"), std::string::npos);
  EXPECT_EQ(all.find("preamble"), std::string::npos);
  // rawbody: transfer-decoded text parts in their own charset, HTML kept.
  ASSERT_EQ(v.rawbody.size(), 2u);
  EXPECT_EQ(v.rawbody[0],
            "Gr\xfc\xdf"
            "e aus K\xf6ln");
  EXPECT_NE(v.rawbody[1].find("<a href=\"http://example.com/\">"), std::string::npos);
  ASSERT_FALSE(v.uris.empty());
  EXPECT_EQ(v.uris.front(), "http://example.com/");
  EXPECT_EQ(v.html_parts.size(), 1u);
  EXPECT_EQ(v.text_html_parts, 1u);
  EXPECT_EQ(v.text_other_parts, 1u);
}

TEST(MessageViewTest, AdapterTextTakesPrecedenceAndNonTextIsSkipped) {
  ParsedMessage m;
  std::string raw = "Subject: s\n\nignored\n";
  m.raw = raw;
  m.parts.push_back({"text/plain", "x-unknown", "", "raw bytes", std::string("adapter text")});
  m.parts.push_back({"image/png", "", "p.png", "\x89PNG", std::nullopt});
  m.parts.push_back(
      {"application/octet-stream", "", "page.html", "<p>named html</p>", std::nullopt});
  MessageView v = BuildMessageView(m, {});
  std::string all;
  for (const auto& l : v.body) all += l;
  EXPECT_NE(all.find("adapter text"), std::string::npos);
  EXPECT_NE(all.find("named html"), std::string::npos);  // a .html file name makes it HTML
  EXPECT_EQ(all.find("PNG"), std::string::npos);
  ASSERT_EQ(v.rawbody.size(), 2u);  // text/* by effective type, so the .html part too
  EXPECT_EQ(v.rawbody[0], "raw bytes");
  EXPECT_EQ(v.rawbody[1], "<p>named html</p>");
}

TEST(MessageViewTest, CharsetConversion) {
  EXPECT_EQ(ToUtf8("caf\xe9", "iso-8859-1"), "café");
  EXPECT_EQ(ToUtf8("\x93quoted\x94", "iso-8859-1"), "\u201cquoted\u201d");  // read as Windows-1252
  EXPECT_EQ(ToUtf8("\xe4\xc1", "koi8-r"), "Да");
  EXPECT_EQ(ToUtf8("café", "iso-8859-1"), "café");  // valid UTF-8 wins unless insisted
  EXPECT_EQ(ToUtf8("\xff\xfe", "no-such-charset"), "ÿþ");
  EXPECT_TRUE(IsValidUtf8(ToUtf8(std::string("\xed\xa0\x80", 3), "utf-8")));
}

TEST(MessageViewTest, TransferDecoders) {
  EXPECT_EQ(DecodeBase64("SGVs\nbG8=\n"), "Hello");
  EXPECT_EQ(DecodeBase64("SG!!Vs bG8"), "Hello");
  EXPECT_EQ(DecodeQuotedPrintable("a=3Db   \nsoft=\nbreak =XY"), "a=b\nsoftbreak =XY");
}

}  // namespace
}  // namespace moat::rules
