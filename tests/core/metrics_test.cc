// metrics_test.cc - the registry, the exposition text (checked with Debian's Prometheus client
// parser too), the sample reader and the /metrics HTTP endpoint.
#include "core/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics_http_server.h"
#include "core/metrics_text.h"
#include "tests/support/test_support.h"

namespace moat::core {
namespace {

using moat::testing::kSystemPython;
using moat::testing::RunCommand;
using moat::testing::TempDir;
using moat::testing::WithTimeout;

TEST(MetricsRegistryTest, RendersCountersGaugesAndHistogramsExactly) {
  MetricsRegistry registry;
  Counter& messages = registry.AddCounter("moat_test_messages_total", "Messages seen.");
  CounterFamily& by_verdict = registry.AddCounterFamily(
      "moat_test_verdicts_total", "Messages by verdict and bank.", {"bank", "verdict"});
  Gauge& open = registry.AddGauge("moat_test_sessions", "Sessions open.");
  Histogram& latency =
      registry.AddHistogram("moat_test_seconds", "Latency.", std::vector<double>{0.1, 1});
  messages.Increment(3);
  by_verdict.WithLabels({"inbound", "CLEAN"}).Increment();
  by_verdict.WithLabels({"inbound", "SPAM"}).Increment(2);
  by_verdict.WithLabels({"inbound", "CLEAN"}).Increment();
  open.Set(4);
  open.Add(-1);
  latency.Observe(0.05);
  latency.Observe(0.1);  // on a bound: counted in that bucket (le is "less or equal")
  latency.Observe(0.5);
  latency.Observe(7);
  EXPECT_EQ(registry.Render(),
            "# HELP moat_test_messages_total Messages seen.\n"
            "# TYPE moat_test_messages_total counter\n"
            "moat_test_messages_total 3\n"
            "# HELP moat_test_verdicts_total Messages by verdict and bank.\n"
            "# TYPE moat_test_verdicts_total counter\n"
            "moat_test_verdicts_total{bank=\"inbound\",verdict=\"CLEAN\"} 2\n"
            "moat_test_verdicts_total{bank=\"inbound\",verdict=\"SPAM\"} 2\n"
            "# HELP moat_test_sessions Sessions open.\n"
            "# TYPE moat_test_sessions gauge\n"
            "moat_test_sessions 3\n"
            "# HELP moat_test_seconds Latency.\n"
            "# TYPE moat_test_seconds histogram\n"
            "moat_test_seconds_bucket{le=\"0.1\"} 2\n"
            "moat_test_seconds_bucket{le=\"1\"} 3\n"
            "moat_test_seconds_bucket{le=\"+Inf\"} 4\n"
            "moat_test_seconds_sum 7.65\n"
            "moat_test_seconds_count 4\n");
}

TEST(MetricsRegistryTest, LabelledHistogramPutsLeLast) {
  MetricsRegistry registry;
  HistogramFamily& stages = registry.AddHistogramFamily("moat_test_stage_seconds", "Per stage.",
                                                        {"stage"}, std::vector<double>{1});
  stages.WithLabels({"clamav"}).Observe(2);
  std::string text = registry.Render();
  EXPECT_NE(text.find("moat_test_stage_seconds_bucket{stage=\"clamav\",le=\"1\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("moat_test_stage_seconds_bucket{stage=\"clamav\",le=\"+Inf\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("moat_test_stage_seconds_sum{stage=\"clamav\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("moat_test_stage_seconds_count{stage=\"clamav\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelpAsTheFormatSays) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("one\\two\nthree \"quoted\""), "one\\\\two\\nthree \"quoted\"");
  MetricsRegistry registry;
  registry.AddCounterFamily("moat_test_total", "Help with \\ and\nnewline.", {"reason"})
      .WithLabels({"quote \" backslash \\ newline \n end"})
      .Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP moat_test_total Help with \\\\ and\\nnewline.\n"
            "# TYPE moat_test_total counter\n"
            "moat_test_total{reason=\"quote \\\" backslash \\\\ newline \\n end\"} 1\n");
}

TEST(MetricsRegistryTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(12345678), "12345678");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(HUGE_VAL), "+Inf");
  EXPECT_EQ(FormatMetricValue(-HUGE_VAL), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsRegistryTest, RefusesBadNamesDuplicatesAndBuckets) {
  MetricsRegistry registry;
  EXPECT_THROW(registry.AddCounter("1starts_with_digit", ""), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("has-dash", ""), std::invalid_argument);
  EXPECT_THROW(registry.AddCounterFamily("moat_ok_total", "", {"__reserved"}),
               std::invalid_argument);
  EXPECT_THROW(registry.AddCounterFamily("moat_ok2_total", "", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogramFamily("moat_h", "", {"le"}, std::vector<double>{1}),
               std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("moat_h2", "", std::vector<double>{2, 1}),
               std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("moat_h3", "", std::vector<double>{1, HUGE_VAL}),
               std::invalid_argument);
  registry.AddCounter("moat_once_total", "");
  EXPECT_THROW(registry.AddCounter("moat_once_total", ""), std::invalid_argument);
  CounterFamily& family = registry.AddCounterFamily("moat_two_total", "", {"a", "b"});
  EXPECT_THROW(family.WithLabels({"only one"}), std::invalid_argument);
  EXPECT_TRUE(ValidMetricName("moat:rule_seconds_total"));
  EXPECT_FALSE(ValidLabelName("moat:x"));
}

TEST(MetricsRegistryTest, CountersNeverGoDown) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("moat_test_total", "");
  counter.Add(1.5);
  counter.Add(-1);
  counter.Add(std::nan(""));
  EXPECT_EQ(counter.value(), 1.5);
}

TEST(MetricsRegistryTest, SeriesBeyondTheBoundShareOneOverflowSeries) {
  MetricsRegistry registry;
  CounterFamily& family =
      registry.AddCounterFamily("moat_test_total", "", {"client"}, FamilyOptions{3});
  for (int i = 0; i < 100; ++i) family.WithLabels({fmt::format("192.0.2.{}", i)}).Increment();
  auto samples = ParseMetricsText(registry.Render());
  ASSERT_TRUE(samples) << samples.error().ToString();
  EXPECT_EQ(samples->size(), 4u);  // three real series and the overflow
  EXPECT_EQ(SumSamples(*samples, "moat_test_total", {{"client", "_overflow_"}}), 97);
  EXPECT_EQ(SumSamples(*samples, "moat_test_total"), 100);
}

TEST(MetricsRegistryTest, ConcurrentUpdatesLoseNothing) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounterFamily("moat_test_total", "", {"verdict"});
  Histogram& histogram = registry.AddHistogram("moat_test_seconds", "", kLatencyBuckets);
  Gauge& gauge = registry.AddGauge("moat_test_open", "");
  constexpr int kThreads = 8, kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        family.WithLabels({i % 2 ? "CLEAN" : "SPAM"}).Increment();
        histogram.Observe(0.001 * (t + 1));
        gauge.Add(1);
        gauge.Add(-1);
        if (i % 1000 == 0) (void)registry.Render();  // scrapes while others update
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  auto samples = ParseMetricsText(registry.Render());
  ASSERT_TRUE(samples);
  EXPECT_EQ(SumSamples(*samples, "moat_test_total"), kThreads * kPerThread);
  EXPECT_EQ(SumSamples(*samples, "moat_test_seconds_count"), kThreads * kPerThread);
  EXPECT_EQ(SumSamples(*samples, "moat_test_seconds_bucket", {{"le", "+Inf"}}),
            kThreads * kPerThread);
  EXPECT_EQ(gauge.value(), 0);
}

TEST(MetricsRegistryTest, CollectHooksRunBeforeEveryRender) {
  MetricsRegistry registry;
  Gauge& files = registry.AddGauge("moat_test_files", "");
  int calls = 0;
  registry.AddCollectHook([&] { files.Set(++calls * 10); });
  EXPECT_NE(registry.Render().find("moat_test_files 10\n"), std::string::npos);
  EXPECT_NE(registry.Render().find("moat_test_files 20\n"), std::string::npos);
}

// The exposition as Prometheus' own Python client parses it (python3-prometheus-client).
TEST(MetricsRegistryTest, DebiansPrometheusParserReadsTheExposition) {
  MetricsRegistry registry;
  registry.AddCounterFamily("moat_test_messages_total", "Messages\nby \\ verdict.", {"verdict"})
      .WithLabels({"BAD\"HEADER\\\n"})
      .Increment(5);
  registry.AddGauge("moat_test_age_seconds", "Age.").Set(12.5);
  HistogramFamily& h = registry.AddHistogramFamily("moat_test_stage_seconds", "Per stage.",
                                                   {"stage"}, kLatencyBuckets);
  h.WithLabels({"spam"}).Observe(0.003);
  h.WithLabels({"spam"}).Observe(100);
  TempDir dir;
  std::string file = dir.WriteFile("metrics.txt", registry.Render());
  const char* script = R"PY(
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        out.append({"family": family.name, "type": family.type, "doc": family.documentation,
                    "name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
)PY";
  auto result =
      RunCommand({kSystemPython, "-c", script, file}, WithTimeout(std::chrono::seconds(30)));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto parsed = nlohmann::json::parse(result.out);
  std::map<std::string, nlohmann::json> by_key;
  for (const auto& s : parsed) {
    std::string key = s["name"].get<std::string>();
    if (s["labels"].contains("le")) key += "/" + s["labels"]["le"].get<std::string>();
    by_key[key] = s;
  }
  // prometheus_client drops the _total suffix from the family name of a counter.
  const auto& counter = by_key.at("moat_test_messages_total");
  EXPECT_EQ(counter["family"], "moat_test_messages");
  EXPECT_EQ(counter["type"], "counter");
  EXPECT_EQ(counter["doc"], "Messages\nby \\ verdict.");
  EXPECT_EQ(counter["labels"]["verdict"], "BAD\"HEADER\\\n");
  EXPECT_EQ(counter["value"], 5);
  EXPECT_EQ(by_key.at("moat_test_age_seconds")["value"], 12.5);
  EXPECT_EQ(by_key.at("moat_test_stage_seconds_bucket/0.005")["value"], 1);
  EXPECT_EQ(by_key.at("moat_test_stage_seconds_bucket/60")["value"], 1);
  EXPECT_EQ(by_key.at("moat_test_stage_seconds_bucket/+Inf")["value"], 2);
  EXPECT_EQ(by_key.at("moat_test_stage_seconds_count")["value"], 2);
  EXPECT_EQ(by_key.at("moat_test_stage_seconds_count")["type"], "histogram");
}

TEST(MetricsTextTest, ReadsSamplesAndRefusesGarbage) {
  auto samples = ParseMetricsText(
      "# HELP x help\n# TYPE x counter\nx 1\n\ny{a=\"q\\\"\\\\\\n\",b=\"\"} -2.5e3 1700000000\n"
      "z_bucket{le=\"+Inf\"} +Inf\nw NaN\r\n");
  ASSERT_TRUE(samples) << samples.error().ToString();
  ASSERT_EQ(samples->size(), 4u);
  EXPECT_EQ((*samples)[1].labels.at("a"), "q\"\\\n");
  EXPECT_EQ((*samples)[1].value, -2500);
  EXPECT_TRUE(std::isinf((*samples)[2].value));
  EXPECT_TRUE(std::isnan((*samples)[3].value));
  for (const char* bad : {"x", "x{a=\"1\" 1", "x{a=1} 1", "x 0x10", "x inf", "-x 1", "x{a=\"1\"}1",
                          "x{a=\"unclosed} 1"}) {
    EXPECT_FALSE(ParseMetricsText(bad)) << bad;
  }
  EXPECT_FALSE(ParseMetricsText("x 1\nx 2\n", MetricsTextLimits{100, 1}));
  EXPECT_FALSE(ParseMetricsText(std::string(200, '#'), MetricsTextLimits{100, 10}));
}

TEST(MetricsHttpReplyTest, AnswersOnlyGetAndHeadOfMetrics) {
  MetricsRegistry registry;
  registry.AddCounter("moat_test_total", "T.").Increment();
  std::string ok = MetricsHttpReply("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", registry);
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_TRUE(ok.ends_with("\r\n\r\n" + registry.Render()));
  std::string head = MetricsHttpReply("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", registry);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_TRUE(MetricsHttpReply("GET / HTTP/1.1\r\n\r\n", registry).starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(
      MetricsHttpReply("GET /metrics/x HTTP/1.1\r\n\r\n", registry).starts_with("HTTP/1.1 404"));
  std::string post = MetricsHttpReply("POST /metrics HTTP/1.1\r\n\r\n", registry);
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405")) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  for (const char* bad : {"GET\r\n\r\n", "GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n",
                          "GET /metrics SMTP/1.0\r\n", "GET /metrics HTTP/1.1 extra\r\n", ""}) {
    EXPECT_TRUE(MetricsHttpReply(bad, registry).starts_with("HTTP/1.1 400")) << bad;
  }
}

// A real server on loopback, asked by Python's urllib and by raw sockets.
class MetricsHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("moat_test_total", "T.").Increment(42);
    MetricsHttpOptions options;
    options.max_request_bytes = 1024;
    options.timeout = std::chrono::milliseconds(300);
    options.max_connections = 4;
    server_ = std::make_unique<MetricsHttpServer>(io_.get_executor(), registry_, options);
    auto endpoint = ParseSmtpEndpoint("127.0.0.1:0");
    ASSERT_TRUE(endpoint);
    ASSERT_TRUE(server_->Listen(*endpoint));
    port_ = server_->local_addresses().at(0).port;
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->Stop();
    io_.stop();
    thread_.join();
    server_.reset();
  }

  // Sends `request` on a fresh connection and reads until the server closes it (`eof`) or 10 s
  // pass without a byte (plain sockets: a receive timeout, so a server that never closes fails
  // the test instead of hanging it).
  std::string Exchange(const std::string& request, bool* eof = nullptr) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string reply;
    bool closed = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      while (true) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
          closed = n == 0 || errno == ECONNRESET;
          break;
        }
        reply.append(buffer, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    if (eof) *eof = closed;
    return reply;
  }

  MetricsRegistry registry_;
  asio::io_context io_;
  std::unique_ptr<MetricsHttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(MetricsHttpServerTest, PythonUrllibScrapesAndGets404Elsewhere) {
  const char* script = R"PY(
import sys, urllib.request, urllib.error
base = "http://127.0.0.1:%s" % sys.argv[1]
with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
    print(r.status, r.headers["Content-Type"])
    print(r.read().decode(), end="")
try:
    urllib.request.urlopen(base + "/", timeout=10)
except urllib.error.HTTPError as e:
    print("root", e.code)
)PY";
  auto result = RunCommand({kSystemPython, "-c", script, std::to_string(port_)},
                           WithTimeout(std::chrono::seconds(30)));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "200 text/plain; version=0.0.4; charset=utf-8\n"
            "# HELP moat_test_total T.\n# TYPE moat_test_total counter\nmoat_test_total 42\n"
            "root 404\n");
}

TEST_F(MetricsHttpServerTest, OversizedRequestHeadGets431) {
  std::string request = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(4000, 'a') + "\r\n\r\n";
  EXPECT_TRUE(Exchange(request).starts_with("HTTP/1.1 431")) << Exchange(request);
}

TEST_F(MetricsHttpServerTest, SilentClientIsClosedAfterTheTimeout) {
  // An unfinished request head: the server closes the connection after its 300 ms, unanswered.
  bool eof = false;
  EXPECT_EQ(Exchange("GET /metrics HTTP/1.1\r\n", &eof), "");
  EXPECT_TRUE(eof);
}

TEST_F(MetricsHttpServerTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  // Four unfinished requests hold every slot until the 300 ms timeout; a fifth meanwhile is
  // closed without a reply.
  std::vector<std::thread> slow;
  for (int i = 0; i < 4; ++i) slow.emplace_back([this] { Exchange("G"); });
  ASSERT_TRUE(moat::testing::WaitUntil([this] { return server_->active_connections() == 4; },
                                       std::chrono::seconds(5)));
  bool eof = false;
  EXPECT_EQ(Exchange("GET /metrics HTTP/1.1\r\n\r\n", &eof), "");
  EXPECT_TRUE(eof);
  EXPECT_EQ(server_->refused(), 1u);
  for (std::thread& t : slow) t.join();
  EXPECT_TRUE(Exchange("GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
}

}  // namespace
}  // namespace moat::core
