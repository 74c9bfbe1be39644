// release_message.cc - the X-Quarantine-Released header and the bytes a release sends.
#include "quarantine/release_message.h"

#include <ctime>

#include "quarantine/message_headers.h"

namespace moat::quarantine {
namespace {

// RFC 5322 date-time in UTC: "Sat, 21 Nov 2026 08:05:00 +0000". Written by hand because strftime's
// %a/%b follow the locale.
std::string Rfc5322Date(TimePoint time) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = Clock::to_time_t(std::chrono::floor<std::chrono::seconds>(time));
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

}  // namespace

std::string SanitizeActor(std::string_view actor) {
  std::string out;
  for (char c : actor.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '+' || c == ':' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty()) out = "unknown";
  return out;
}

std::string ReleasedHeader(std::string_view id, std::string_view actor, TimePoint time,
                           std::string_view line_ending) {
  // Folded so every line stays within RFC 5322's 78 characters: the ID on the first, the actor
  // and date on the next, or on two more when the actor is long.
  std::string by = SanitizeActor(actor);
  std::string date = Rfc5322Date(time);
  std::string_view between = 4 + by.size() + 2 + date.size() <= 78 ? " " : "";
  return fmt::format("X-Quarantine-Released: id {}{}\tby {};{}{}{}{}", id, line_ending, by, between,
                     between.empty() ? fmt::format("{}\t", line_ending) : "", date, line_ending);
}

std::string BuildReleasedMessage(std::string_view message, std::string_view id,
                                 std::string_view actor, TimePoint time) {
  std::string header = ReleasedHeader(id, actor, time, LineEnding(message));
  std::string out;
  out.reserve(header.size() + message.size());
  out.append(header);
  out.append(message);
  return out;
}

}  // namespace moat::quarantine
