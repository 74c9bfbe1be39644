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


// The fields every report needs; the rest keep their defaults.
BounceOptions MakeOptions(std::string myhostname, std::string queue_id, std::string bounce_id,
                          std::chrono::system_clock::time_point now, std::size_t size_limit) {
  BounceOptions options;
  options.myhostname = std::move(myhostname);
  options.queue_id = std::move(queue_id);
  options.bounce_id = std::move(bounce_id);
  options.now = now;
  options.bounce_size_limit = size_limit;
  return options;
}

TEST(BounceMessageTest, PythonReadsAWellFormedReport) {
  std::vector<RecipientLogEntry> failed = {
      {0, 300, "bob@example.net", "5.1.1", "failed",
       "host mx.example.net[192.0.2.1] said: 550 5.1.1 <bob@example.net>: no such user (in "
       "reply to RCPT TO command)"},
      {0, 340, "carol@example.net", "4.4.1", "failed",
       "delivery expired: connect to mx[192.0.2.2]:25: Connection refused"}};
  BounceOptions options = MakeOptions("mx.example.test", "1NG31SAJ5DJ62B8", "1NG31SAJ5DJ62B9",
                        std::chrono::system_clock::now(), 50000);
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
  BounceOptions options =
      MakeOptions("mx.example.test", "A", "B", std::chrono::system_clock::now(), 50000);
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

TEST(BounceMessageTest, DelayWarningIsAnRfc3464DelayedReportWithHeadersOnly) {
  std::vector<RecipientLogEntry> delayed = {
      {1'700'000'600, 300, "bob@example.net", "4.4.1", "delayed",
       "connect to mx.example.net[192.0.2.1]:25: Connection refused"}};
  BounceOptions options = MakeOptions("mx.example.test", "1NG31SAJ5DJ62B8", "1NG31SAJ5DJ62B9",
                        std::chrono::system_clock::time_point(std::chrono::seconds(1'700'014'400)),
                        50000);
  options.kind = ReportKind::kDelay;
  options.headers_only = true;
  options.delayed_for = std::chrono::hours(4);
  options.lifetime = std::chrono::hours(5 * 24);
  options.retry_until =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000 + 5 * 86400));
  std::string report = ComposeBounce(Original(), delayed, options);
  EXPECT_NE(report.find("Subject: Delayed Mail (still being retried)\r\n"), std::string::npos);
  EXPECT_NE(report.find("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #"),
            std::string::npos);
  EXPECT_NE(report.find("could not be delivered for 4.0 hour(s).\r\nIt will be retried until it "
                        "is 5.0 day(s) old."),
            std::string::npos)
      << report;
  EXPECT_EQ(report.find("Body\r\n"), std::string::npos);  // headers only
  std::string seen = Inspect(report);
  EXPECT_NE(seen.find("parts text/plain message/delivery-status text/rfc822-headers"),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("field Action delayed"), std::string::npos) << seen;
  EXPECT_NE(seen.find("field Status 4.4.1"), std::string::npos);
  EXPECT_NE(seen.find("field Will-Retry-Until Sun, 19 Nov 2023 22:13:20 +0000"),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("field Last-Attempt-Date Tue, 14 Nov 2023 22:23:20 +0000"),
            std::string::npos)
      << seen;
  EXPECT_NE(seen.find("field Diagnostic-Code X-Postfix; connect to mx.example.net"),
            std::string::npos);
}

TEST(BounceMessageTest, PostmasterCopiesAndProblemNotices) {
  std::vector<RecipientLogEntry> failed = {{0, 300, "bob@example.net", "5.1.1", "failed", "x"}};
  BounceOptions options =
      MakeOptions("mx.example.test", "A", "B", std::chrono::system_clock::now(), 50000);
  options.postmaster_copy = true;
  options.to = "postmaster@example.test";
  options.headers_only = true;
  std::string copy = ComposeBounce(Original(), failed, options);
  EXPECT_NE(copy.find("Subject: Postmaster Copy: Undelivered Mail\r\n"), std::string::npos);
  EXPECT_NE(copy.find("To: postmaster@example.test\r\n"), std::string::npos);
  EXPECT_EQ(copy.find("I'm sorry"), std::string::npos);  // no apology to the postmaster
  EXPECT_NE(Inspect(copy).find("to postmaster@example.test"), std::string::npos);

  options.kind = ReportKind::kProblem;
  options.problem = "software";
  std::vector<RecipientLogEntry> stuck = {
      {0, 300, "bob@example.net", "4.3.0", "delayed", "transport_maps lookup failure"}};
  std::string notice = ComposeBounce(Original(), stuck, options);
  EXPECT_NE(notice.find("Subject: Postmaster Warning: Delivery Problem (software)\r\n"),
            std::string::npos);
  std::string seen = Inspect(notice);
  EXPECT_NE(seen.find("field Action delayed"), std::string::npos) << seen;
  EXPECT_NE(seen.find("field Status 4.3.0"), std::string::npos);
  EXPECT_EQ(seen.find("Will-Retry-Until"), std::string::npos);
}

TEST(BounceMessageTest, DescribeDuration) {
  EXPECT_EQ(DescribeDuration(std::chrono::seconds(1)), "1 second(s)");
  EXPECT_EQ(DescribeDuration(std::chrono::minutes(30)), "30 minute(s)");
  EXPECT_EQ(DescribeDuration(std::chrono::hours(4)), "4.0 hour(s)");
  EXPECT_EQ(DescribeDuration(std::chrono::hours(24 * 5)), "5.0 day(s)");
}

}  // namespace
}  // namespace moat::mta
