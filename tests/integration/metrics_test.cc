// metrics_test.cc - the daemons' /metrics endpoints agree with what really happened: Postfix's
// smtp-source sends N messages to moat-mta, which passes them through moat-filterd (LMTP) and
// its return listener to Postfix's smtp-sink; one more message is refused by a sender
// restriction (Python's smtplib). Both endpoints are then scraped with Python's urllib and parsed
// with Prometheus' own Python parser (tests/integration/metrics_scrape.py), and the counts must
// equal N and the sink's count.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/filterd_process.h"
#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using namespace std::chrono_literals;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WaitUntil;
using moat::testing::WithTimeout;
using testing::MtaProcess;
using testing::SinkProcess;

constexpr int kMessages = 12;

// The samples of one scrape, keyed `name{k=v,...}` (labels sorted, as the parser gives them).
using Samples = std::map<std::string, double>;

std::map<std::string, Samples> Scrape(const std::vector<std::string>& urls, std::string* error) {
  std::vector<std::string> argv = {
      moat::testing::kSystemPython,
      moat::testing::SourcePath("tests/integration/metrics_scrape.py")};
  argv.insert(argv.end(), urls.begin(), urls.end());
  auto result = RunCommand(argv, WithTimeout(30s));
  std::map<std::string, Samples> out;
  if (result.exit_code != 0) {
    *error = result.err;
    return out;
  }
  const nlohmann::json parsed = nlohmann::json::parse(result.out);  // outlives the loop
  for (const auto& [url, samples] : parsed.items()) {
    for (const auto& sample : samples) {
      std::string key = sample["name"].get<std::string>();
      std::string labels;
      for (const auto& [name, value] : sample["labels"].items()) {
        labels += fmt::format("{}{}={}", labels.empty() ? "" : ",", name, value.get<std::string>());
      }
      if (!labels.empty()) key += "{" + labels + "}";
      out[url][key] = sample["value"].get<double>();
    }
  }
  return out;
}

double Sum(const Samples& samples, const std::string& name) {
  double sum = 0;
  for (const auto& [key, value] : samples) {
    if (key == name || key.starts_with(name + "{")) sum += value;
  }
  return sum;
}

double Get(const Samples& samples, const std::string& key) {
  auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

TEST(MetricsTest, ScrapedCountsAgreeWithTheSink) {
  TempDir dir;
  TempDir filter_dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  const int return_port = moat::testing::FreeTcpPort();
  const int filterd_metrics = moat::testing::FreeTcpPort();
  const int mta_metrics = moat::testing::FreeTcpPort();
  moat::filterd::testing::FilterdProcess filterd(
      filter_dir, return_port,
      moat::filterd::testing::TestClamavConf(filter_dir) +
          fmt::format("metrics_listen = 127.0.0.1:{}\n", filterd_metrics));
  ASSERT_TRUE(filterd.Start()) << filterd.Log();
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  MtaProcess mta(dir,
                 fmt::format("transport_maps = hash:$config_directory/transport\n"
                             "content_filter = moatfilter:[127.0.0.1]:{}\n"
                             "smtpd_sender_restrictions = check_sender_access "
                             "inline:{{blocked@example.org=REJECT}}\n"
                             "metrics_listen = 127.0.0.1:{}\n",
                             filterd.inbound_port(), mta_metrics),
                 fmt::format("127.0.0.1:{} inet n - n - - smtpd\n"
                             "  -o content_filter=\n"
                             "  -o smtpd_sender_restrictions=\n"
                             "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
                             "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8\n"
                             "  -o receive_override_options=no_unknown_recipient_checks,"
                             "no_header_body_checks\n"
                             "moatfilter unix - - n - 2 lmtp\n"
                             "  -o lmtp_send_xforward_command=yes\n",
                             return_port));
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(moat::testing::WaitForTcpPort(return_port)) << mta.Log();
  ASSERT_TRUE(moat::testing::WaitForTcpPort(mta_metrics)) << mta.Log();

  auto source = RunCommand({"smtp-source", "-c", "-s", "2", "-m", std::to_string(kMessages), "-l",
                            "800", "-f", "source@example.org", "-t", "user@example.test", "-M",
                            "client.example.org", fmt::format("127.0.0.1:{}", mta.smtp_port())});
  ASSERT_EQ(source.exit_code, 0) << source.out << source.err;
  const char* refused = R"PY(
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
try:
    c.sendmail("blocked@example.org", ["user@example.test"], "Subject: no\r\n\r\nno\r\n")
    print("accepted")
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
c.quit()
)PY";
  auto rejected =
      RunCommand({moat::testing::kSystemPython, "-c", refused, std::to_string(mta.smtp_port())},
                 WithTimeout(30s));
  ASSERT_EQ(rejected.out, "554\n") << rejected.err << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() >= kMessages; }, 60s))
      << mta.Log() << "\n---\n"
      << filterd.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; })) << mta.Log();
  const double delivered = static_cast<double>(sink.Messages().size());
  ASSERT_EQ(delivered, kMessages);

  const std::string filterd_url = fmt::format("http://127.0.0.1:{}/metrics", filterd_metrics);
  const std::string mta_url = fmt::format("http://127.0.0.1:{}/metrics", mta_metrics);
  std::string error;
  auto scraped = Scrape({filterd_url, mta_url}, &error);
  ASSERT_TRUE(error.empty()) << error;
  const Samples& f = scraped[filterd_url];
  const Samples& m = scraped[mta_url];

  // moat-filterd: every message once, clean, relayed, reinjected without failure. The bank is
  // originating: XFORWARD ADDR is 127.0.0.1, in filterd's mynetworks.
  EXPECT_EQ(Sum(f, "moat_filterd_messages_total"), delivered);
  EXPECT_EQ(Get(f, "moat_filterd_messages_total{bank=originating,verdict=CLEAN}"), delivered)
      << filterd.Log();
  EXPECT_EQ(Get(f, "moat_filterd_actions_total{action=relayed}"), delivered);
  EXPECT_EQ(Get(f, "moat_filterd_reinjections_total"), delivered);
  EXPECT_EQ(Sum(f, "moat_filterd_reinjection_failures_total"), 0);
  EXPECT_EQ(Get(f, "moat_filterd_reinjection_failures_total{kind=connect}"), 0);
  EXPECT_GT(Get(f, "moat_filterd_bytes_total{bank=originating,verdict=CLEAN}"), 800 * delivered);
  EXPECT_EQ(Get(f, "moat_filterd_message_duration_seconds_count"), delivered);
  EXPECT_EQ(Get(f, "moat_filterd_stage_duration_seconds_count{stage=clamav}"), delivered);
  EXPECT_EQ(Get(f, "moat_filterd_stage_duration_seconds_count{stage=spam}"), delivered);
  EXPECT_EQ(Get(f, "moat_filterd_stage_duration_seconds_count{stage=finish}"), delivered);
  EXPECT_GT(Get(f, "moat_filterd_rule_engine_seconds_total"), 0);
  EXPECT_EQ(Get(f, "moat_filterd_overload_refusals_total{reason=worker_pool}"), 0);
  EXPECT_GE(Get(f, "moat_filterd_sessions_open"), 0);
  EXPECT_GE(Get(f, "moat_filterd_clamav_signatures"), 2);  // EICAR and ClamAV's test file
  EXPECT_GE(Get(f, "moat_filterd_clamav_database_age_seconds"), 0);
  EXPECT_LT(Get(f, "moat_filterd_clamav_database_age_seconds"), 3600);

  // moat-mta: N from smtp-source and N back from the filter; delivered once to each hop.
  const std::string smtp = fmt::format("127.0.0.1:{}", mta.smtp_port());
  const std::string back = fmt::format("127.0.0.1:{}", return_port);
  EXPECT_EQ(Get(m, "moat_mta_messages_accepted_total{service=" + smtp + "}"), delivered);
  EXPECT_EQ(Get(m, "moat_mta_messages_accepted_total{service=" + back + "}"), delivered);
  EXPECT_GT(Get(m, "moat_mta_bytes_accepted_total{service=" + smtp + "}"), 800 * delivered);
  EXPECT_EQ(Get(m, "moat_mta_deliveries_total{status=sent,transport=moatfilter}"), delivered);
  EXPECT_EQ(Get(m, "moat_mta_deliveries_total{status=sent,transport=smtp}"), delivered);
  EXPECT_EQ(Get(m, "moat_mta_delivery_delay_seconds_count{transport=smtp}"), delivered);
  EXPECT_EQ(Sum(m, "moat_mta_deferrals_total"), 0);
  EXPECT_EQ(Get(m, "moat_mta_rejects_total{stage=sender}"), 1);
  EXPECT_EQ(Get(m, "moat_mta_rejects_total{stage=recipient}"), 0);
  EXPECT_GE(Get(m, "moat_mta_connections_total{service=" + smtp + "}"), 3);  // 2 + smtplib
  for (const char* queue : {"incoming", "active", "deferred", "hold", "corrupt"}) {
    EXPECT_EQ(Get(m, fmt::format("moat_mta_queue_messages{{queue={}}}", queue)), 0) << queue;
  }
  EXPECT_EQ(mta.Stop(), 0);
}

// A held message shows in the hold queue's gauge, counted at scrape time.
TEST(MetricsTest, QueueGaugesCountTheFilesAtScrapeTime) {
  TempDir dir;
  const int mta_metrics = moat::testing::FreeTcpPort();
  MtaProcess mta(dir, fmt::format("smtpd_sender_restrictions = check_sender_access "
                                  "inline:{{held@example.org=HOLD}}\n"
                                  "metrics_listen = 127.0.0.1:{}\n",
                                  mta_metrics));
  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(moat::testing::WaitForTcpPort(mta_metrics)) << mta.Log();
  const char* send = R"PY(
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
for i in range(3):
    c.sendmail("held@example.org", ["user@example.test"], "Subject: %d\r\n\r\nheld\r\n" % i)
c.quit()
)PY";
  auto sent =
      RunCommand({moat::testing::kSystemPython, "-c", send, std::to_string(mta.smtp_port())},
                 WithTimeout(30s));
  ASSERT_EQ(sent.exit_code, 0) << sent.err << mta.Log();
  const std::string url = fmt::format("http://127.0.0.1:{}/metrics", mta_metrics);
  std::string error;
  auto scraped = Scrape({url}, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(Get(scraped[url], "moat_mta_queue_messages{queue=hold}"), 3);
  EXPECT_EQ(Get(scraped[url], "moat_mta_messages_accepted_total{service=127.0.0.1:" +
                                  std::to_string(mta.smtp_port()) + "}"),
            3);
  EXPECT_EQ(mta.Stop(), 0);
}

}  // namespace
}  // namespace moat::mta
