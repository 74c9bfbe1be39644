// web_metrics.h - the daemons' own numbers for the review's dashboard: moat-filterd's and
// moat-mta's /metrics endpoints (metrics_listen), fetched when the dashboard is asked for and
// summarized into small JSON objects the page shows as they are.
//
//   DaemonMetrics(kind, url)   kind "filterd" or "mta"; url "http://host:port/metrics".
//     url empty   -> {"error": "not configured: ..."} naming the parameter and the option
//     unreachable -> {"url", "error": "unreachable: ..."}
//     not the text format -> {"url", "error": "..."}
//     otherwise   -> {"url", ...} with the fields of SummarizeFilterdMetrics /
//                    SummarizeMtaMetrics
//   SummarizeFilterdMetrics(samples): messages_total, bytes_total, messages {VERDICT: n}
//     (all banks), banks {bank: n}, actions {action: n}, quarantined, reinjections,
//     reinjection_failures {kind: n}, overload_refusals {reason: n}, sessions_open,
//     clamav {signatures, version, age_seconds}, rule_engine_seconds,
//     stages {stage: {count, mean_ms}}
//   SummarizeMtaMetrics(samples): connections, accepted, accepted_bytes, rejects {stage: n},
//     queues {queue: n}, deliveries {transport: {status: n}}, deferrals {class: n},
//     delivery_delay {count, mean_seconds}
// The metric names are the daemons' (filterd/filterd_metrics.h, mta/mta_metrics.h).
//
// A fetch waits at most 2 s to connect and 3 s per read and takes at most 16 MiB; the text is
// read with core::ParseMetricsText. Thread-safe (no shared state).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/metrics_text.h"

namespace moat::cli {

// GET `url` (http only); the body of a 200 text/plain reply.
core::Result<std::string> FetchMetricsText(const std::string& url);

nlohmann::json SummarizeFilterdMetrics(const std::vector<core::MetricSample>& samples);
nlohmann::json SummarizeMtaMetrics(const std::vector<core::MetricSample>& samples);
nlohmann::json DaemonMetrics(std::string_view kind, const std::string& url);

// "http://127.0.0.1:9024/metrics" for a metrics_listen value ("" for "").
std::string MetricsUrlFor(std::string_view metrics_listen);

}  // namespace moat::cli
