// quarantine_entry_test.cc - IDs, content classes, UTF-8 repair, metadata checks, header reading.
#include "quarantine/quarantine_entry.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "quarantine/message_headers.h"

namespace moat::quarantine {
namespace {

TEST(QuarantineIdTest, HasTheDocumentedShapeAndCarriesItsTime) {
  TimePoint time = FromUnixMicros(1'795'233'277'123'456);  // 2026-11-21T03:54:37.123456Z
  std::string id = NewQuarantineId(time);
  ASSERT_EQ(id.size(), 35u) << id;
  EXPECT_EQ(id.substr(0, 23), "20261121-035437.123456-");
  EXPECT_TRUE(IsValidQuarantineId(id)) << id;
  auto back = QuarantineIdTime(id);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, time);
  EXPECT_NE(NewQuarantineId(time), id);  // random part differs
}

TEST(QuarantineIdTest, SortsAsTimesDo) {
  std::vector<std::string> ids;
  std::vector<int64_t> micros = {1,
                                 999'999,
                                 1'000'000,
                                 59'999'999,
                                 86'400'000'000,
                                 1'795'233'277'123'456,
                                 4'102'444'800'000'000};
  for (int64_t m : micros) ids.push_back(NewQuarantineId(FromUnixMicros(m)));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  for (size_t i = 0; i < micros.size(); ++i) {
    std::string bound = QuarantineIdLowerBound(FromUnixMicros(micros[i]));
    EXPECT_LE(bound, ids[i]);
    if (i > 0) {
      EXPECT_GT(bound, ids[i - 1]);
    }
  }
}

TEST(QuarantineIdTest, RejectsAnythingElse) {
  for (std::string_view bad :
       {"", "../../etc/passwd", "20261121-080757.123456-9F3AC2E17B4D",
        "20261121-080757.123456-9f3ac2e17b4", "20261121-080757.123456-9f3ac2e17b4dd",
        "20261321-080757.123456-9f3ac2e17b4d", "20261121-250757.123456-9f3ac2e17b4d",
        "20261121_080757.123456-9f3ac2e17b4d", "20261121-080757.123456-9f3ac2e1/b4d",
        "20261121-080757.123456-9f3ac2e17b4\n"}) {
    EXPECT_FALSE(IsValidQuarantineId(bad)) << bad;
    EXPECT_FALSE(QuarantineIdTime(bad));
  }
}

TEST(ContentClassTest, NamesRoundTrip) {
  for (ContentClass c : kAllContentClasses) {
    EXPECT_EQ(ParseContentClass(ContentClassName(c)), c);
  }
  EXPECT_EQ(ParseContentClass("bad-header"), ContentClass::kBadHeader);
  EXPECT_EQ(ParseContentClass("BAD_HEADER"), ContentClass::kBadHeader);
  EXPECT_EQ(ParseContentClass("virus"), ContentClass::kVirus);
  EXPECT_FALSE(ParseContentClass("SPAMMIER"));
  EXPECT_EQ(ParseEntryState("Released"), EntryState::kReleased);
  EXPECT_FALSE(ParseEntryState("gone"));
}

TEST(Utf8Test, KeepsValidTextAndReplacesInvalidSequences) {
  struct Case {
    std::string in, out;
  };
  const std::string r = "\xEF\xBF\xBD";
  for (const Case& c : std::vector<Case>{
           {"plain ascii", "plain ascii"},
           {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
           {"latin1 caf\xE9!", "latin1 caf" + r + "!"},
           {"overlong \xC0\xAF", "overlong " + r + r},
           {"surrogate \xED\xA0\x80", "surrogate " + r + r + r},
           {"truncated \xE2\x82", "truncated " + r + r},
           {"too big \xF5\x80\x80\x80", "too big " + r + r + r + r},
           {std::string("nul\0ok", 6), std::string("nul\0ok", 6)},
       }) {
    EXPECT_EQ(ToValidUtf8(c.in), c.out) << c.in;
  }
}

TEST(MetadataTest, RequiresRecipientsAndSingleLineAddresses) {
  EntryMetadata m;
  EXPECT_FALSE(ValidateMetadata(m));
  m.recipients = {"a@example.com"};
  EXPECT_TRUE(ValidateMetadata(m));
  m.envelope_sender = "x@example.com\r\nRCPT TO:<evil@example.org>";
  auto bad = ValidateMetadata(m);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), core::ErrorCode::kInvalid);
  m.envelope_sender = "";
  m.recipients.push_back("b@example.com\n");
  EXPECT_FALSE(ValidateMetadata(m));
}

TEST(MessageHeadersTest, ReadsUnfoldedValuesCaseInsensitively) {
  std::string message =
      "Received: x\r\nSUBJECT: Hello\r\n  world\r\n\tagain\r\nFrom: a@example.net\r\n"
      "\r\nSubject: not a header\r\n";
  EXPECT_EQ(FirstHeaderValue(message, "Subject"), "Hello world again");
  EXPECT_EQ(FirstHeaderValue(message, "from"), "a@example.net");
  EXPECT_FALSE(FirstHeaderValue(message, "Message-ID"));
  EXPECT_EQ(HeaderSection(message),
            "Received: x\r\nSUBJECT: Hello\r\n  world\r\n\tagain\r\nFrom: a@example.net\r\n\r\n");
  EXPECT_EQ(LineEnding(message), "\r\n");
  EXPECT_EQ(LineEnding("From: x\nTo: y\n\nbody\n"), "\n");
  EXPECT_EQ(LineEnding("no line end at all"), "\r\n");
  EXPECT_EQ(HeaderSection("Only: headers\n"), "Only: headers\n");
  std::string long_subject = "Subject: " + std::string(5000, 'x') + "\n\n";
  EXPECT_EQ(FirstHeaderValue(long_subject, "Subject")->size(), kMaxHeaderValue);
}

}  // namespace
}  // namespace moat::quarantine
