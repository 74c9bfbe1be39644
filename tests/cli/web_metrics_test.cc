// web_metrics_test.cc - the dashboard's view of the daemons' metrics: the real FilterdMetrics and
// MtaMetrics registered in registries served by the real /metrics endpoint on loopback, fetched
// with DaemonMetrics() as the dashboard does; and what it says when an endpoint is missing.
#include "cli/web_metrics.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <thread>

#include "cli/web_dashboard.h"
#include "core/metrics.h"
#include "core/metrics_http_server.h"
#include "filterd/filterd_metrics.h"
#include "filterd/message_finisher.h"
#include "mta/mta_metrics.h"
#include "quarantine/quarantine_store.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

using namespace std::chrono_literals;

// One registry served on a free loopback port for the life of the object.
class ServedRegistry {
 public:
  ServedRegistry() : server_(io_.get_executor(), registry_) {
    auto endpoint = core::ParseSmtpEndpoint("127.0.0.1:0");
    EXPECT_TRUE(endpoint && server_.Listen(*endpoint));
    server_.Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServedRegistry() {
    server_.Stop();
    io_.stop();
    thread_.join();
  }
  core::MetricsRegistry& registry() { return registry_; }
  std::string url(const std::string& path = "/metrics") const {
    return fmt::format("http://127.0.0.1:{}{}", server_.local_addresses().at(0).port, path);
  }

 private:
  core::MetricsRegistry registry_;
  asio::io_context io_;
  core::MetricsHttpServer server_;
  std::thread thread_;
};

TEST(WebMetricsTest, SummarizesMoatFilterdsEndpoint) {
  ServedRegistry served;
  filterd::FilterdMetrics metrics(served.registry());
  filterd::MessageContext context;
  context.policy_bank = "inbound";
  context.message = std::string(1000, 'x');
  context.timings = {{"clamav", 4ms}, {"spam", 2ms}};
  filterd::Decision decision;
  decision.content_class = filterd::ContentClass::kSpam;
  filterd::FinishResult finish;
  finish.recipients.push_back({filterd::RecipientOutcome::Kind::kDiscarded, {}, ""});
  finish.quarantine_id = "q1";
  metrics.RecordMessage(context, &decision, finish, 10ms, 1ms);
  decision.content_class = filterd::ContentClass::kClean;
  finish.recipients[0].kind = filterd::RecipientOutcome::Kind::kDelivered;
  finish.quarantine_id.clear();
  metrics.RecordMessage(context, &decision, finish, 10ms, 1ms);
  metrics.RecordOverload();
  core::SmtpDeliveryResult lost;
  lost.connection_failed = true;
  metrics.RecordReinjection(lost);
  scanners::ClamavDatabaseInfo info;
  info.signature_count = 1234;
  info.version = 27000;
  info.built = std::time(nullptr) - 3600;
  metrics.SetClamav(info, std::chrono::system_clock::now());

  nlohmann::json m = DaemonMetrics("filterd", served.url());
  ASSERT_FALSE(m.contains("error")) << m.dump();
  EXPECT_EQ(m["url"], served.url());
  EXPECT_EQ(m["messages_total"], 2);
  EXPECT_EQ(m["bytes_total"], 2000);
  EXPECT_EQ(m["messages"]["SPAM"], 1);
  EXPECT_EQ(m["messages"]["CLEAN"], 1);
  EXPECT_EQ(m["banks"]["inbound"], 2);
  EXPECT_EQ(m["actions"]["discarded"], 1);
  EXPECT_EQ(m["actions"]["relayed"], 1);
  EXPECT_EQ(m["quarantined"], 1);
  EXPECT_EQ(m["reinjections"], 1);
  EXPECT_EQ(m["reinjection_failures"]["connect"], 1);
  EXPECT_EQ(m["reinjection_failures"]["5xx"], 0);
  EXPECT_EQ(m["overload_refusals"]["worker_pool"], 1);
  EXPECT_EQ(m["clamav"]["signatures"], 1234);
  EXPECT_EQ(m["clamav"]["version"], 27000);
  EXPECT_NEAR(m["clamav"]["age_seconds"].get<double>(), 3600, 60);
  EXPECT_NEAR(m["rule_engine_seconds"].get<double>(), 0.004, 1e-9);
  EXPECT_EQ(m["stages"]["clamav"]["count"], 2);
  EXPECT_NEAR(m["stages"]["clamav"]["mean_ms"].get<double>(), 4, 1e-9);
  EXPECT_EQ(m["stages"]["finish"]["count"], 2);
}

TEST(WebMetricsTest, SummarizesMoatMtasEndpoint) {
  ServedRegistry served;
  moat::testing::TempDir queue;
  std::filesystem::create_directories(queue.Path("deferred"));
  queue.WriteFile("deferred/4AbCdE", "x");
  queue.WriteFile("deferred/.tmp.4XyZ", "x");  // not committed: not counted
  mta::MtaMetrics metrics(served.registry(), queue.path());
  metrics.RecordConnection("$smtp_listen");
  metrics.RecordAccepted("$smtp_listen", 500);
  metrics.RecordReject(mta::RestrictionStage::kRecipient);
  mta::QueuedMessage message;
  message.envelope.arrival_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                    (std::chrono::system_clock::now() - 2s).time_since_epoch())
                                    .count();
  mta::DeliveryResult result;
  for (const auto& [status, dsn] : std::vector<std::pair<mta::DeliveryStatus, std::string>>{
           {mta::DeliveryStatus::kDelivered, "2.0.0"},
           {mta::DeliveryStatus::kDeferred, "4.4.1"},
           {mta::DeliveryStatus::kDeferred, "4.7.1"},
           {mta::DeliveryStatus::kDeferred, "garbage"}}) {
    mta::RecipientResult r;
    r.status = status;
    r.dsn = dsn;
    result.recipients.push_back(r);
  }
  metrics.RecordDelivery("smtp", result, message);

  nlohmann::json m = DaemonMetrics("mta", served.url());
  ASSERT_FALSE(m.contains("error")) << m.dump();
  EXPECT_EQ(m["connections"], 1);
  EXPECT_EQ(m["accepted"], 1);
  EXPECT_EQ(m["accepted_bytes"], 500);
  EXPECT_EQ(m["rejects"]["recipient"], 1);
  EXPECT_EQ(m["rejects"]["client"], 0);
  EXPECT_EQ(m["queues"]["deferred"], 1);
  EXPECT_EQ(m["queues"]["incoming"], 0);
  EXPECT_EQ(m["deliveries"]["smtp"]["sent"], 1);
  EXPECT_EQ(m["deliveries"]["smtp"]["deferred"], 3);
  EXPECT_EQ(m["deferrals"]["4.4"], 1);
  EXPECT_EQ(m["deferrals"]["4.7"], 1);
  EXPECT_EQ(m["deferrals"]["other"], 1);
  EXPECT_EQ(m["delivery_delay"]["count"], 1);
  EXPECT_NEAR(m["delivery_delay"]["mean_seconds"].get<double>(), 2, 1);
}

TEST(WebMetricsTest, SaysWhyThereAreNoNumbers) {
  EXPECT_NE(DaemonMetrics("filterd", "")["error"].get<std::string>().find(
                "not configured: set metrics_listen in filterd.cf"),
            std::string::npos);
  EXPECT_NE(DaemonMetrics("mta", "")["error"].get<std::string>().find("main.cf"),
            std::string::npos);
  std::string nobody = fmt::format("http://127.0.0.1:{}/metrics", moat::testing::FreeTcpPort());
  nlohmann::json refused = DaemonMetrics("mta", nobody);
  EXPECT_EQ(refused["url"], nobody);
  EXPECT_TRUE(refused["error"].get<std::string>().starts_with("unreachable")) << refused.dump();
  ServedRegistry served;
  EXPECT_EQ(DaemonMetrics("mta", served.url("/other"))["error"], "HTTP status 404");
  EXPECT_TRUE(DaemonMetrics("mta", "https://127.0.0.1:1/metrics").contains("error"));
  EXPECT_EQ(MetricsUrlFor("127.0.0.1:9024"), "http://127.0.0.1:9024/metrics");
  EXPECT_EQ(MetricsUrlFor(""), "");
}

}  // namespace
}  // namespace moat::cli
