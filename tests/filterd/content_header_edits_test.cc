// content_header_edits_test.cc - the reference header editor.
#include "filterd/content_header_edits.h"

#include <gtest/gtest.h>

namespace moat::filterd {
namespace {

HeaderEdit Edit(HeaderEdit::Kind kind, std::string name, std::string value = "",
                std::string authserv_id = "") {
  HeaderEdit e;
  e.kind = kind;
  e.name = std::move(name);
  e.value = std::move(value);
  e.authserv_id = std::move(authserv_id);
  return e;
}

TEST(HeaderEditsTest, RemovePrefixPrependAppend) {
  std::string message =
      "X-Spam-Flag: YES\r\nFrom: a@example.org\r\nx-spam-status: Yes,\r\n tests=[X]\r\n"
      "Subject: hi\r\n\r\nX-Spam-Flag: in the body stays\r\n";
  std::vector<HeaderEdit> edits = {
      Edit(HeaderEdit::Kind::kRemoveAll, "X-Spam-*"),
      Edit(HeaderEdit::Kind::kPrepend, "X-Virus-Scanned", "Moat"),
      Edit(HeaderEdit::Kind::kPrepend, "X-Spam-Flag", "NO"),
      Edit(HeaderEdit::Kind::kAppend, "X-Last", "1"),
  };
  EXPECT_EQ(ApplyHeaderEdits(message, edits),
            "X-Virus-Scanned: Moat\r\nX-Spam-Flag: NO\r\nFrom: a@example.org\r\nSubject: hi\r\n"
            "X-Last: 1\r\n\r\nX-Spam-Flag: in the body stays\r\n");
}

TEST(HeaderEditsTest, RemovesOnlyOurAuthenticationResults) {
  std::string message =
      "Authentication-Results: mx.moat.test; dkim=pass\r\n"
      "Authentication-Results: other.example; dkim=fail\r\n"
      "Authentication-Results: MX.MOAT.TEST (forged); spf=pass\r\n"
      "From: a@example.org\r\n\r\nbody\r\n";
  std::vector<HeaderEdit> edits = {
      Edit(HeaderEdit::Kind::kRemoveAll, "Authentication-Results", "", "mx.moat.test")};
  EXPECT_EQ(ApplyHeaderEdits(message, edits),
            "Authentication-Results: other.example; dkim=fail\r\nFrom: a@example.org\r\n\r\n"
            "body\r\n");
}

TEST(HeaderEditsTest, KeepsBareLfMessagesBareLfAndFoldsLongValues) {
  std::string message = "From: a@example.org\nSubject: x\n\nbody\n";
  std::string value;
  for (int i = 0; i < 30; ++i) value += "WORD" + std::to_string(i) + " ";
  value.pop_back();
  std::string out =
      ApplyHeaderEdits(message, std::vector<HeaderEdit>{Edit(HeaderEdit::Kind::kPrepend,
                                                             "X-Spam-Status", value)});
  EXPECT_EQ(out.find('\r'), std::string::npos);
  size_t body = out.find("\n\n");
  ASSERT_NE(body, std::string::npos);
  size_t start = 0;
  while (start < body) {
    size_t nl = out.find('\n', start);
    EXPECT_LE(nl - start, 78u) << out;
    start = nl + 1;
  }
  EXPECT_TRUE(out.starts_with("X-Spam-Status: WORD0 WORD1"));
  EXPECT_NE(out.find("\n\tWORD"), std::string::npos);
}

TEST(HeaderEditsTest, MessageWithoutBody) {
  EXPECT_EQ(ApplyHeaderEdits("Subject: x", std::vector<HeaderEdit>{Edit(
                                               HeaderEdit::Kind::kPrepend, "X-A", "1")}),
            "X-A: 1\r\nSubject: x\r\n");
}

}  // namespace
}  // namespace moat::filterd
