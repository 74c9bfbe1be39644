// filterd_content_test.cc - the real moat-filterd binary with its real content pipeline
// (DaemonContent: MIME and archive decomposition, ClamAV with a small signature database built by
// ClamAV's own sigtool, the shipped rules), driven over LMTP by Python's smtplib.LMTP.
//
// What a mail administrator expects of the daemon as a whole: a virus inside a zip is held in the
// quarantine and never reinjected, the client still gets its 250 (the message is durable in the
// quarantine), and `moat quarantine list` shows it; clean mail is reinjected with the scan
// headers added.
#include <gtest/gtest.h>

#include <string>

#include "tests/filterd/filterd_test_helpers.h"
#include "tests/integration/filterd_process.h"
#include "tests/scanners/fixtures.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

using moat::testing::CommandOptions;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using testing::FakeRelay;
using testing::FilterdProcess;

// Sends `message` from a@example.com to `recipient` with smtplib.LMTP; prints the reply of the
// recipient ("250 ..." or the error code and text).
std::string SendWithSmtplib(int port, const std::string& recipient, const std::string& message) {
  CommandOptions options;
  options.stdin_data = message;
  auto result = RunCommand(
      {moat::testing::kSystemPython, "-c",
       "import smtplib, sys\n"
       "msg = sys.stdin.buffer.read()\n"
       "c = smtplib.LMTP('127.0.0.1', int(sys.argv[1]))\n"
       "try:\n"
       "    c.sendmail('a@example.com', [sys.argv[2]], msg)\n"
       "    print('250', c.noop()[0])\n"
       "except smtplib.SMTPRecipientsRefused as e:\n"
       "    code, text = e.recipients[sys.argv[2]]\n"
       "    print(code, text.decode())\n"
       "c.quit()\n",
       std::to_string(port), recipient},
      options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out;
}

class FilterdContentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!moat::testing::HaveTool("sigtool")) GTEST_SKIP() << "sigtool (package clamav) missing";
    database_ = scanners::testing::BuildTestDatabase(dir_);
    filterd_ = std::make_unique<FilterdProcess>(
        dir_, relay_.port(),
        "clamav_database_directory = " + database_ + "\nclamav_temp_directory =\n");
    ASSERT_TRUE(filterd_->Start()) << filterd_->Log();
  }

  TempDir dir_;
  FakeRelay relay_;
  std::string database_;
  std::unique_ptr<FilterdProcess> filterd_;
};

TEST_F(FilterdContentTest, VirusInAZipIsQuarantinedNotReinjectedAndListed) {
  namespace st = scanners::testing;
  st::WriteBinaryFile(dir_.Path("zip/invoice.txt"), st::Eicar());
  st::RunTool({"zip", "-q", "-j", dir_.Path("invoice.zip"), dir_.Path("zip/invoice.txt")});
  std::string message = st::MessageWith(
      {{"invoice.zip", st::ReadBinaryFile(dir_.Path("invoice.zip")), "application/zip"}},
      "Your invoice");
  std::string reply = SendWithSmtplib(filterd_->inbound_port(), "r@example.org", message);
  EXPECT_EQ(reply.substr(0, 3), "250") << reply << filterd_->Log();
  EXPECT_TRUE(filterd_->WaitForLog("Blocked VIRUS (Eicar-Test-Signature")) << filterd_->Log();
  EXPECT_TRUE(relay_.Messages().empty());

  auto list = RunCommand({moat::testing::BinaryPath("moat"), "-c", dir_.path(), "quarantine",
                          "list", "--class", "VIRUS"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("VIRUS"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("Your invoice"), std::string::npos) << list.out;
}

TEST_F(FilterdContentTest, CleanMailIsReinjectedWithTheScanHeaders) {
  std::string message =
      "From: a@example.com\r\nTo: r@example.org\r\nSubject: lunch\r\n"
      "Message-ID: <content-clean@example.com>\r\n\r\nSee you at noon.\r\n";
  std::string reply = SendWithSmtplib(filterd_->inbound_port(), "r@example.org", message);
  EXPECT_EQ(reply.substr(0, 3), "250") << reply << filterd_->Log();
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return relay_.Messages().size() == 1; }));
  const std::string data = relay_.Messages()[0].message;
  EXPECT_NE(data.find("X-Virus-Scanned: "), std::string::npos) << data;
  EXPECT_NE(data.find("See you at noon."), std::string::npos) << data;
  EXPECT_TRUE(filterd_->WaitForLog("Passed CLEAN")) << filterd_->Log();
}

}  // namespace
}  // namespace moat::filterd
