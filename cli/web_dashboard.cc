// web_dashboard.cc - per-hour counts, queue sizes and ClamAV database age.
#include "cli/web_dashboard.h"

#include "cli/web_metrics.h"

#include <filesystem>
#include <set>

namespace moat::cli {
namespace {

namespace q = moat::quarantine;
namespace fs = std::filesystem;

nlohmann::json Series(q::QuarantineIndex& index, q::TimePoint end, int hours,
                      core::Status& status) {
  q::TimePoint start = end - std::chrono::hours(hours);
  nlohmann::json series = nlohmann::json::object();
  nlohmann::json totals = nlohmann::json::object();
  for (q::ContentClass c : q::kAllContentClasses) {
    std::string name(q::ContentClassName(c));
    series[name] = std::vector<uint64_t>(static_cast<size_t>(hours), 0);
    totals[name] = 0;
  }
  auto counts = index.CountByClass(start, end, std::chrono::hours(1));
  if (!counts) {
    status = core::Fail(counts.error());
    return {};
  }
  for (const q::ClassCount& cell : *counts) {
    auto hour = std::chrono::duration_cast<std::chrono::hours>(cell.bucket - start).count();
    if (hour < 0 || hour >= hours) continue;
    std::string name(q::ContentClassName(cell.content_class));
    series[name][static_cast<size_t>(hour)] = cell.count;
    totals[name] = totals[name].get<uint64_t>() + cell.count;
  }
  return {{"start", q::FormatUtc(start)}, {"start_us", q::ToUnixMicros(start)},
          {"bucket_seconds", 3600},       {"buckets", hours},
          {"series", std::move(series)},  {"totals", std::move(totals)}};
}

uint64_t CountFiles(const fs::path& directory) {
  uint64_t files = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 4) it.disable_recursion_pending();
    if (it->is_regular_file(ec)) ++files;
    if (files >= kMaxQueueFiles) break;
  }
  return files;
}

nlohmann::json Queues(const std::string& directory) {
  nlohmann::json out = {{"directory", directory}};
  std::error_code ec;
  if (directory.empty()) {
    out["error"] = "no main.cf queue_directory";
    return out;
  }
  if (!fs::is_directory(directory, ec)) {
    out["error"] = "not a directory";
    return out;
  }
  nlohmann::json counts = nlohmann::json::object();
  for (const char* queue : {"incoming", "active", "deferred", "hold"}) {
    counts[queue] = CountFiles(fs::path(directory) / queue);
  }
  out["counts"] = std::move(counts);
  return out;
}

bool IsSignatureDatabase(const fs::path& path) {
  static const std::set<std::string, std::less<>> kExtensions = {
      ".cvd",  ".cld", ".cud", ".hdb", ".hsb", ".hdu", ".hsu",  ".mdb", ".msb", ".mdu",
      ".msu",  ".ndb", ".ndu", ".ldb", ".ldu", ".cdb", ".idb",  ".fp",  ".sfp", ".ign",
      ".ign2", ".ftm", ".pdb", ".gdb", ".wdb", ".yar", ".yara", ".cbc", ".crb", ".info"};
  return kExtensions.contains(path.extension().string());
}

nlohmann::json Clamav(const std::string& directory, q::TimePoint now) {
  nlohmann::json out = {{"directory", directory}};
  std::error_code ec;
  fs::directory_iterator it(directory, ec);
  if (ec) {
    out["error"] = ec.message();
    return out;
  }
  std::optional<fs::file_time_type> newest;
  std::string newest_name;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || !IsSignatureDatabase(it->path())) continue;
    fs::file_time_type mtime = it->last_write_time(ec);
    if (ec) continue;
    if (!newest || mtime > *newest) {
      newest = mtime;
      newest_name = it->path().filename().string();
    }
  }
  if (!newest) {
    out["error"] = "no signature database files";
    return out;
  }
  auto updated = std::chrono::file_clock::to_sys(*newest);
  out["newest_file"] = q::ToValidUtf8(newest_name);
  out["updated"] = q::FormatUtc(std::chrono::time_point_cast<q::Clock::duration>(updated));
  out["age_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(now - updated).count();
  return out;
}

}  // namespace

core::Result<nlohmann::json> BuildDashboard(q::QuarantineIndex& index,
                                            const DashboardSources& sources, q::TimePoint now) {
  // Buckets end at the start of the next hour, so the last one is the current hour.
  auto hour = std::chrono::floor<std::chrono::hours>(now) + std::chrono::hours(1);
  q::TimePoint end = std::chrono::time_point_cast<q::Clock::duration>(hour);
  core::Status status;
  nlohmann::json day = Series(index, end, 24, status);
  if (!status) return core::Fail(status.error());
  nlohmann::json week = Series(index, end, 24 * 7, status);
  if (!status) return core::Fail(status.error());
  nlohmann::json classes = nlohmann::json::array();
  for (q::ContentClass c : q::kAllContentClasses) classes.push_back(q::ContentClassName(c));
  return nlohmann::json{{"now", q::FormatUtc(now)},
                        {"classes", std::move(classes)},
                        {"day", std::move(day)},
                        {"week", std::move(week)},
                        {"queues", Queues(sources.queue_directory)},
                        {"clamav", Clamav(sources.clamav_database_directory, now)},
                        {"daemons",
                         {{"filterd", DaemonMetrics("filterd", sources.filterd_metrics_url)},
                          {"mta", DaemonMetrics("mta", sources.mta_metrics_url)}}}};
}

}  // namespace moat::cli
