// log_summary_test.cc - `moat log summary` on real log lines of the daemons
// (testdata/corpus/logs, written by ./run and moat-mta), and the line parser on each log format
// (the daemons' stderr, syslog, rsyslog ISO, journalctl -o cat).
#include "cli/log_summary.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/log_parser.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

using moat::testing::ReadTextFile;
using moat::testing::SourcePath;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> Fixture(const std::string& name) {
  return Lines(ReadTextFile(SourcePath("testdata/corpus/logs/" + name)));
}

LogSummary Summarise(const std::vector<std::vector<std::string>>& files) {
  LogSummary summary;
  for (const auto& file : files) {
    for (const std::string& line : file) summary.AddLine(line);
  }
  return summary;
}

TEST(LogParserTest, ReadsEveryLineFormatTheDaemonsEndUpIn) {
  const std::string message =
      "1NG399TXBWEDZEC: to=<someone@down.example.net>, relay=none, delay=0.01, "
      "delays=0/0/0.01/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:1: "
      "Connection refused)";
  struct Case {
    std::string line;
    bool has_time;
    int hour;
  };
  for (const Case& c : std::vector<Case>{
           {"2026-11-21T14:05:46.979 moat-mta[4615]: info: " + message, true, 14},
           {"Nov  1 09:05:46 mx moat-mta[4615]: " + message, true, 9},
           {"2026-11-21T23:05:46.979123+01:00 mx moat-mta[4615]: " + message, true, 23},
           {"2026-11-21T14:05:46+0000 mx postfix/moat-mta[4615]: " + message, true, 14},
           {message, false, 0},
       }) {
    ParsedLine parsed = ParseLogLine(c.line);
    const auto* d = std::get_if<MtaDelivery>(&parsed.event);
    ASSERT_NE(d, nullptr) << c.line;
    EXPECT_EQ(d->queue_id, "1NG399TXBWEDZEC");
    EXPECT_EQ(d->recipient, "someone@down.example.net");
    EXPECT_EQ(d->relay, "none");
    EXPECT_EQ(d->dsn, "4.4.1");
    EXPECT_EQ(d->status, "deferred");
    EXPECT_EQ(d->reply, "connect to 127.0.0.1[127.0.0.1]:1: Connection refused");
    EXPECT_EQ(parsed.time.has_value(), c.has_time) << c.line;
    if (parsed.time) {
      EXPECT_EQ(parsed.time->hour, c.hour) << c.line;
    }
  }
}

TEST(LogParserTest, ReadsTheFilterSummaryLine) {
  ParsedLine parsed = ParseLogLine(
      "2026-11-21T14:05:46.086 moat-filterd[4581]: info: SAMyKDS1V6jX Blocked BANNED "
      "(2/setup.zip/setup.exe setup.exe: block ext=exe (conf/banned_rules:27) {x}) "
      "{DiscardedInbound,Quarantined}, inbound [127.0.0.1]:58474 [192.0.2.7] <a@example.org> -> "
      "<b@example.test>,<c@example.test>, Queue-ID: 1NG399T1HY0DZE8, Message-ID: <m@vm>, "
      "mail_id: SAMyKDS1V6jX, Hits: -, size: 1080, queued_as: 1AAAAAAAAAAAAAA,1BBBBBBBBBBBBBB, "
      "quarantine: 20261121-140546.072339-655671bd4460, dkim_signed: d=a s=b, dkim_signed: d=a "
      "s=c, 26 ms");
  const auto* f = std::get_if<FilterSummary>(&parsed.event);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->mail_id, "SAMyKDS1V6jX");
  EXPECT_EQ(f->verb, "Blocked");
  EXPECT_EQ(f->content_class, "BANNED");
  EXPECT_EQ(f->tag, "DiscardedInbound,Quarantined");
  EXPECT_EQ(f->bank, "inbound");
  EXPECT_EQ(f->sender, "a@example.org");
  EXPECT_EQ(f->recipients, (std::vector<std::string>{"b@example.test", "c@example.test"}));
  EXPECT_EQ(f->upstream_queue_id, "1NG399T1HY0DZE8");
  EXPECT_EQ(f->queued_as, (std::vector<std::string>{"1AAAAAAAAAAAAAA", "1BBBBBBBBBBBBBB"}));
  EXPECT_EQ(f->quarantine_id, "20261121-140546.072339-655671bd4460");
  EXPECT_EQ(f->dkim_signatures, 2);
  EXPECT_EQ(f->size, 1080);

  ParsedLine deferred = ParseLogLine(
      "7gk2 Deferred (forward_to 127.0.0.1:10025: connection refused) CLEAN {TempFailedInbound}, "
      "inbound [127.0.0.1]:1 <> -> <b@example.test>, mail_id: 7gk2, Hits: -, size: 10, 3 ms");
  const auto* d = std::get_if<FilterSummary>(&deferred.event);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->verb, "Deferred");
  EXPECT_EQ(d->content_class, "CLEAN");
  EXPECT_EQ(d->sender, "");
}

TEST(LogParserTest, ReadsRejectsAndIgnoresWhatIsNoEvent) {
  ParsedLine reject = ParseLogLine(
      "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <nobody@example.test>: Recipient "
      "address rejected: User unknown in relay recipient table; from=<someone@example.org> "
      "to=<nobody@example.test> proto=ESMTP helo=<vm>");
  const auto* r = std::get_if<MtaReject>(&reject.event);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->command, "RCPT");
  EXPECT_EQ(r->client, "unknown[127.0.0.1]");
  EXPECT_EQ(r->reason,
            "550 5.1.1 Recipient address rejected: User unknown in relay recipient table");
  EXPECT_EQ(r->sender, "someone@example.org");
  EXPECT_EQ(r->recipient, "nobody@example.test");

  for (const char* line : {
           "",
           "moat-mta: connect from unknown[127.0.0.1]",
           "warning: moat-mta: x: y",
           "2026-11-21T14:05:46.979 moat-mta[4615]: info: stopped",
           "2026-11-21T14:05:46.979 moat-mta[4615]: info: 1NG399TXBWEDZEC: removed",
           "NOQUEUE: reject:",
           "1NG399TXBWEDZEC: to=<x",
           "x Passed {, mail_id: ",
       }) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(ParseLogLine(line).event)) << line;
  }
}

TEST(LogSummaryTest, WalkthroughCountsWhatTheReadmeDid) {
  auto mta = Fixture("walkthrough-moat-mta.log");
  auto filterd = Fixture("walkthrough-moat-filterd.log");
  LogTotals t = Summarise({mta, filterd}).totals();
  EXPECT_EQ(t.lines, mta.size() + filterd.size());
  // clean, GTUBE, EICAR, banned, DKIM, down.example.net; the refused recipient never queued.
  EXPECT_EQ(t.received, 6u);
  // clean to the sink, DKIM to the sink; the hand-overs to moat-filterd are not deliveries.
  EXPECT_EQ(t.delivered, 2u);
  EXPECT_EQ(t.deferred, 1u);
  EXPECT_EQ(t.deferrals, 1u);
  EXPECT_EQ(t.bounced, 0u);
  EXPECT_EQ(t.rejected, 1u);
  EXPECT_EQ(
      t.rejected_by_reason,
      (std::map<std::string, std::size_t>{
          {"550 5.1.1 Recipient address rejected: User unknown in relay recipient table", 1}}));
  EXPECT_EQ(t.filtered, 6u);
  EXPECT_EQ(t.dkim_signed, 2u);
  EXPECT_EQ(t.quarantined, 3u);
  EXPECT_EQ(t.quarantined_by_class,
            (std::map<std::string, std::size_t>{{"BANNED", 1}, {"SPAM", 1}, {"VIRUS", 1}}));
  EXPECT_EQ(t.filtered_by_class, (std::map<std::string, std::size_t>{
                                     {"BANNED", 1}, {"CLEAN", 3}, {"SPAM", 1}, {"VIRUS", 1}}));

  // Order does not matter, and moat-mta's log alone tells reinjected copies from new mail.
  LogTotals reversed = Summarise({filterd, mta}).totals();
  EXPECT_EQ(reversed.received, 6u);
  EXPECT_EQ(reversed.delivered, 2u);
  LogTotals mta_only = Summarise({mta}).totals();
  EXPECT_EQ(mta_only.received, 6u);
  EXPECT_EQ(mta_only.delivered, 2u);
  EXPECT_EQ(mta_only.deferred, 1u);
  EXPECT_EQ(mta_only.filtered, 0u);
}

TEST(LogSummaryTest, WalkthroughReportMatchesGolden) {
  std::string report =
      Summarise({Fixture("walkthrough-moat-mta.log"), Fixture("walkthrough-moat-filterd.log")})
          .Report();
  const std::string golden = SourcePath("testdata/corpus/logs/walkthrough.summary");
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden, std::ios::binary) << report;
  }
  std::string expected = ReadTextFile(golden);
  if (report != expected) {
    std::ofstream(std::string(MOAT_BINARY_DIR) + "/walkthrough.summary.actual", std::ios::binary)
        << report;
  }
  EXPECT_EQ(report, expected) << "actual report in " << MOAT_BINARY_DIR
                              << "/walkthrough.summary.actual";
  // What an administrator reads first.
  EXPECT_NE(report.find("       6  received\n"), std::string::npos) << report;
  EXPECT_NE(report.find("    1400-1500             6          2         1        0         1\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("  down.example.net (total: 1)\n       1  connect to "
                        "127.0.0.1[127.0.0.1]:1: Connection refused\n"),
            std::string::npos)
      << report;
}

TEST(LogSummaryTest, BouncesDeferralsAndCleanupRejects) {
  LogTotals t = Summarise({Fixture("bounces-moat-mta.log")}).totals();
  // x@bounce, alice, alice from <>, x@elsewhere; "reject me" never reached the queue and the
  // non-delivery notification is moat-mta's own.
  EXPECT_EQ(t.received, 4u);
  EXPECT_EQ(t.delivered, 0u);
  EXPECT_EQ(t.bounced, 1u);
  EXPECT_EQ(t.deferred, 4u);  // three messages and the notification to someone@example.org
  EXPECT_EQ(t.deferrals, 4u);
  // header_checks and cleanup both log the refusal: one rejected message.
  EXPECT_EQ(t.rejected, 1u);
  EXPECT_EQ(t.rejected_by_reason,
            (std::map<std::string, std::size_t>{{"5.7.1 subject not welcome (header)", 1}}));
  std::string report = Summarise({Fixture("bounces-moat-mta.log")}).Report();
  EXPECT_NE(report.find("  bounce.example.net (total: 1)\n       1  no such domain\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("       1  <>\n"), std::string::npos) << report;
}

TEST(LogSummaryTest, TruncatedAndMangledLinesNeverCrash) {
  LogSummary summary;
  std::size_t fed = 0;
  for (const char* name :
       {"walkthrough-moat-mta.log", "walkthrough-moat-filterd.log", "bounces-moat-mta.log"}) {
    for (const std::string& line : Fixture(name)) {
      for (std::size_t cut = 0; cut <= line.size(); cut += 7) {
        summary.AddLine(line.substr(0, cut));
        summary.AddLine(line.substr(cut));
        fed += 2;
      }
    }
  }
  EXPECT_EQ(summary.totals().lines, fed);
  EXPECT_FALSE(summary.Report().empty());
}

}  // namespace
}  // namespace moat::cli
