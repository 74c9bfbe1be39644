// bounce_message_test.cc - the RFC 3464 report, read back by Python's email package (a parser
// no one here wrote): multipart/report with the three parts, per-recipient fields, RET=HDRS.
#include "mta/bounce_message.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

// Prints what Python's email parser sees, one fact a line.
constexpr const char* kInspect = R"(
import email, sys
from email import policy
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.compat32)
print('type', m.get_content_type(), m.get_param('report-type'))
print('to', m['To'])
print('parts', ' '.join(p.get_content_type() for p in m.get_payload()))
status = m.get_payload()[1]
for block in status.get_payload():
    for k, v in block.items():
        print('field', k, v)
third = m.get_payload()[2]
if third.get_content_type() == 'message/rfc822':
    print('original-subject', third.get_payload()[0]['Subject'])
else:
    print('headers', third.get_payload().splitlines()[0])
)";

QueuedMessage Original() {
  QueuedMessage m;
  m.id = "1NG31SAJ5DJ62B8";
  m.envelope.sender = "alice@example.org";
  m.envelope.arrival_us = 1'700'000'000'000'000;
  QueueRecipient r1;
  r1.address = "bob@example.net";
  r1.original = "Bob@Example.net";
  r1.offset = 300;
  QueueRecipient r2;
  r2.address = "carol@example.net";
  r2.offset = 340;
  r2.orcpt_type = "rfc822";
  r2.orcpt = "carol@old.example";
  m.envelope.recipients = {r1, r2};
  m.content = "From: alice@example.org\r\nSubject: hello there\r\n\r\nBody\r\n";
  return m;
}

std::string Inspect(const std::string& report) {
  moat::testing::TempDir dir;
  std::string path = dir.WriteFile("bounce.eml", report);
  std::string script = dir.WriteFile("inspect.py", kInspect);
  auto result = moat::testing::RunCommand({moat::testing::kSystemPython, script, path});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out;
}

TEST(BounceMessageTest, PythonReadsAWellFormedReport) {
  std::vector<RecipientLogEntry> failed = {
      {0, 300, "bob@example.net", "5.1.1", "failed",
       "host mx.example.net[192.0.2.1] said: 550 5.1.1 <bob@example.net>: no such user (in "
       "reply to RCPT TO command)"},
      {0, 340, "carol@example.net", "4.4.1", "failed",
       "delivery expired: connect to mx[192.0.2.2]:25: Connection refused"}};
  BounceOptions options{"mx.example.test", "1NG31SAJ5DJ62B8", "1NG31SAJ5DJ62B9",
                        std::chrono::system_clock::now(), 50000};
  std::string report = ComposeBounce(Original(), failed, options);
  EXPECT_EQ(report.find("\n"), report.find("\r\n") + 1);  // CRLF line ends
  std::string seen = Inspect(report);
  EXPECT_NE(seen.find("type multipart/report delivery-status"), std::string::npos) << seen;
  EXPECT_NE(seen.find("to alice@example.org"), std::string::npos);
  EXPECT_NE(seen.find("parts text/plain message/delivery-status message/rfc822"),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("field Reporting-MTA dns; mx.example.test"), std::string::npos) << seen;
  EXPECT_NE(seen.find("field Final-Recipient rfc822; bob@example.net"), std::string::npos);
  EXPECT_NE(seen.find("field Original-Recipient rfc822; Bob@Example.net"), std::string::npos);
  EXPECT_NE(seen.find("field Original-Recipient rfc822; carol@old.example"), std::string::npos);
  EXPECT_NE(seen.find("field Remote-MTA dns; mx.example.net"), std::string::npos);
  EXPECT_NE(seen.find("field Diagnostic-Code smtp; 550 5.1.1 <bob@example.net>: no such user"),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("field Status 4.4.1"), std::string::npos);
  EXPECT_NE(seen.find("original-subject hello there"), std::string::npos) << seen;
}

TEST(BounceMessageTest, HeadersOnlyWhenAskedOrTooLarge) {
  std::vector<RecipientLogEntry> failed = {{0, 300, "bob@example.net", "5.1.1", "failed", "x"}};
  BounceOptions options{"mx.example.test", "A", "B", std::chrono::system_clock::now(), 50000};
  QueuedMessage hdrs = Original();
  hdrs.envelope.attributes.ret = core::DsnRet::kHeaders;
  std::string seen = Inspect(ComposeBounce(hdrs, failed, options));
  EXPECT_NE(seen.find("text/rfc822-headers"), std::string::npos) << seen;
  EXPECT_EQ(ComposeBounce(hdrs, failed, options).find("Body\r\n"), std::string::npos);

  options.bounce_size_limit = 10;
  std::string big = ComposeBounce(Original(), failed, options);
  EXPECT_NE(big.find("text/rfc822-headers"), std::string::npos);
  EXPECT_NE(big.find("Subject: hello there"), std::string::npos);
}

}  // namespace
}  // namespace moat::mta
