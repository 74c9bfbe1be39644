// web_dashboard.h - the numbers an operator looks at first, for the review's dashboard page
// (GET /api/dashboard).
//
// BuildDashboard() answers JSON:
//   now            ISO time of the answer
//   classes        ["VIRUS", "BANNED", ...] the series names, in a fixed order
//   day, week      {start (ISO), start_us, bucket_seconds: 3600, buckets: 24 | 168,
//                   series: {CLASS: [count per hour]}, totals: {CLASS: n}}
//                  held messages per content class and hour, from the quarantine index
//                  (QuarantineIndex::CountByClass), hours aligned to the clock; the last bucket
//                  is the current, unfinished hour
//   queues         {directory, counts: {incoming, active, deferred, hold}} - files under each of
//                  main.cf's queue_directory's queues (a missing queue counts 0), or
//                  {directory, error} when the directory is not there / not configured
//   clamav         {directory, newest_file, updated (ISO), age_seconds} - the newest signature
//                  database file (*.cvd, *.cld, *.cud, *.?db, *.ign*, ...) by mtime, or
//                  {directory, error}
//
//   daemons        {filterd: {...}, mta: {...}} - the daemons' own counters, read from their
//                  /metrics endpoints at each call (web_metrics.h: DaemonMetrics), so mail that
//                  passed is counted too; {error} when an endpoint is not configured or does not
//                  answer
//
// Thread safety: reentrant; directory walks are bounded (kMaxQueueFiles files per queue), and
// so are the metrics fetches (a few seconds each, web_metrics.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "quarantine/quarantine_index.h"

namespace moat::cli {

inline constexpr size_t kMaxQueueFiles = 1'000'000;

struct DashboardSources {
  std::string queue_directory;            // main.cf's; "" when unknown
  std::string clamav_database_directory;  // filterd.cf's
  std::string filterd_metrics_url = {};   // "http://host:port/metrics"; "" when not configured
  std::string mta_metrics_url = {};
};

core::Result<nlohmann::json> BuildDashboard(quarantine::QuarantineIndex& index,
                                            const DashboardSources& sources,
                                            quarantine::TimePoint now);

}  // namespace moat::cli
