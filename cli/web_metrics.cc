// web_metrics.cc - fetching (cpp-httplib's client) and summarizing the daemons' metrics.
#include "cli/web_metrics.h"

#include <httplib.h>

#include <map>

namespace moat::cli {
namespace {

constexpr std::size_t kMaxBody = 16u << 20;

using Samples = std::vector<core::MetricSample>;

double Total(const Samples& samples, std::string_view name) {
  return core::SumSamples(samples, name).value_or(0);
}

// {label value: sum} of the samples named `name`.
nlohmann::json By(const Samples& samples, std::string_view name, const std::string& label) {
  std::map<std::string, double> sums;
  for (const core::MetricSample& s : samples) {
    if (s.name != name) continue;
    auto it = s.labels.find(label);
    sums[it == s.labels.end() ? std::string() : it->second] += s.value;
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : sums) out[key] = value;
  return out;
}

// {outer: {inner: sum}}.
nlohmann::json By2(const Samples& samples, std::string_view name, const std::string& outer,
                   const std::string& inner) {
  nlohmann::json out = nlohmann::json::object();
  for (const core::MetricSample& s : samples) {
    if (s.name != name) continue;
    auto a = s.labels.find(outer);
    auto b = s.labels.find(inner);
    if (a == s.labels.end() || b == s.labels.end()) continue;
    nlohmann::json& row = out[a->second];
    double previous = row.is_object() ? row.value(b->second, 0.0) : 0.0;
    row[b->second] = previous + s.value;
  }
  return out;
}

}  // namespace

std::string MetricsUrlFor(std::string_view metrics_listen) {
  if (metrics_listen.empty()) return "";
  return fmt::format("http://{}/metrics", metrics_listen);
}

core::Result<std::string> FetchMetricsText(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return core::Fail(core::ErrorCode::kInvalid, "{}: only http:// URLs", url);
  }
  std::size_t path_start = url.find('/', kScheme.size());
  std::string base = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/metrics" : url.substr(path_start);
  httplib::Client client(base);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(3, 0);
  client.set_write_timeout(3, 0);
  std::string body;
  bool too_big = false;
  auto response = client.Get(path.c_str(), [&](const char* data, std::size_t length) {
    if (body.size() + length > kMaxBody) {
      too_big = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (too_big) return core::Fail(core::ErrorCode::kInvalid, "{}: more than 16 MiB", url);
  if (!response) {
    return core::Fail(core::ErrorCode::kTempFail, "unreachable: {}",
                      httplib::to_string(response.error()));
  }
  if (response->status != 200) {
    return core::Fail(core::ErrorCode::kTempFail, "HTTP status {}", response->status);
  }
  if (!response->get_header_value("Content-Type").starts_with("text/plain")) {
    return core::Fail(core::ErrorCode::kInvalid, "not Prometheus text (Content-Type {})",
                      response->get_header_value("Content-Type"));
  }
  return body;
}

nlohmann::json SummarizeFilterdMetrics(const Samples& s) {
  nlohmann::json stages = nlohmann::json::object();
  nlohmann::json counts = By(s, "moat_filterd_stage_duration_seconds_count", "stage");
  nlohmann::json sums = By(s, "moat_filterd_stage_duration_seconds_sum", "stage");
  for (const auto& [stage, count] : counts.items()) {
    double n = count.get<double>();
    double sum = sums.value(stage, 0.0);
    stages[stage] = {{"count", n}, {"mean_ms", n > 0 ? 1000 * sum / n : 0.0}};
  }
  return {
      {"messages_total", Total(s, "moat_filterd_messages_total")},
      {"bytes_total", Total(s, "moat_filterd_bytes_total")},
      {"messages", By(s, "moat_filterd_messages_total", "verdict")},
      {"banks", By(s, "moat_filterd_messages_total", "bank")},
      {"actions", By(s, "moat_filterd_actions_total", "action")},
      {"quarantined", Total(s, "moat_filterd_quarantined_total")},
      {"reinjections", Total(s, "moat_filterd_reinjections_total")},
      {"reinjection_failures", By(s, "moat_filterd_reinjection_failures_total", "kind")},
      {"overload_refusals", By(s, "moat_filterd_overload_refusals_total", "reason")},
      {"sessions_open", Total(s, "moat_filterd_sessions_open")},
      {"clamav",
       {{"signatures", Total(s, "moat_filterd_clamav_signatures")},
        {"version", Total(s, "moat_filterd_clamav_database_version")},
        {"age_seconds", Total(s, "moat_filterd_clamav_database_age_seconds")}}},
      {"rule_engine_seconds", Total(s, "moat_filterd_rule_engine_seconds_total")},
      {"stages", std::move(stages)},
  };
}

nlohmann::json SummarizeMtaMetrics(const Samples& s) {
  double delay_count = Total(s, "moat_mta_delivery_delay_seconds_count");
  double delay_sum = Total(s, "moat_mta_delivery_delay_seconds_sum");
  return {
      {"connections", Total(s, "moat_mta_connections_total")},
      {"accepted", Total(s, "moat_mta_messages_accepted_total")},
      {"accepted_bytes", Total(s, "moat_mta_bytes_accepted_total")},
      {"rejects", By(s, "moat_mta_rejects_total", "stage")},
      {"queues", By(s, "moat_mta_queue_messages", "queue")},
      {"deliveries", By2(s, "moat_mta_deliveries_total", "transport", "status")},
      {"deferrals", By(s, "moat_mta_deferrals_total", "dsn_class")},
      {"delivery_delay",
       {{"count", delay_count}, {"mean_seconds", delay_count > 0 ? delay_sum / delay_count : 0.0}}},
  };
}

nlohmann::json DaemonMetrics(std::string_view kind, const std::string& url) {
  const bool filterd = kind == "filterd";
  if (url.empty()) {
    return {{"error", filterd ? "not configured: set metrics_listen in filterd.cf (or moat web "
                                "--filterd-metrics URL)"
                              : "not configured: set metrics_listen in main.cf (or moat web "
                                "--mta-metrics URL)"}};
  }
  auto text = FetchMetricsText(url);
  if (!text) return {{"url", url}, {"error", text.error().message()}};
  auto samples = core::ParseMetricsText(*text);
  if (!samples) return {{"url", url}, {"error", samples.error().message()}};
  nlohmann::json out = filterd ? SummarizeFilterdMetrics(*samples) : SummarizeMtaMetrics(*samples);
  out["url"] = url;
  return out;
}

}  // namespace moat::cli
