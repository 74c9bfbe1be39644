// basic_stages.cc - Received and X-Virus-Scanned.
#include "filterd/basic_stages.h"

#include <fmt/format.h>

#include <ctime>

namespace moat::filterd {
namespace {

// Day and month names by hand: strftime's %a/%b follow LC_TIME, RFC 5322 wants English.
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A header comment may not hold parentheses or backslashes unescaped; the values come from the
// peer (LHLO), so keep them plain.
std::string CommentSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '(' || c == ')' || c == '\\' || byte < 0x20 || byte == 0x7f || c == ';') continue;
    out.push_back(c);
  }
  return out.size() > 255 ? out.substr(0, 255) : out;
}

}  // namespace

std::string Rfc5322Date(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  localtime_r(&t, &tm);
  long offset = tm.tm_gmtoff / 60;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} {}{:02}{:02}", kDays[tm.tm_wday % 7],
                     tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, sign, offset / 60, offset % 60);
}

core::Status ReceivedHeaderStage::Run(MessageContext& context, WorkerResources&) const {
  const ReceptionInfo& r = context.reception;
  std::string helo = CommentSafe(r.peer_helo.empty() ? "unknown" : r.peer_helo);
  for (char& c : helo) {
    if (c == ' ' || c == '\t') c = '_';
  }
  std::string value = fmt::format("from {} ([{}]) by {} (moat-filterd, port {}) with {} id {}",
                                  helo, CommentSafe(r.peer_address), hostname_, r.local_port,
                                  r.protocol.empty() ? "LMTP" : r.protocol, context.id);
  if (context.envelope.recipients.size() == 1) {
    value += fmt::format(" for <{}>", CommentSafe(context.envelope.recipients[0].recipient));
  }
  auto time = r.time.time_since_epoch().count() == 0 ? std::chrono::system_clock::now() : r.time;
  value += "; " + Rfc5322Date(time);
  context.header_edits.push_back({HeaderEdit::Kind::kPrepend, "Received", std::move(value), {}});
  return {};
}

core::Status VirusScannedHeaderStage::Run(MessageContext& context, WorkerResources&) const {
  if (!value_.empty()) {
    context.header_edits.push_back({HeaderEdit::Kind::kPrepend, "X-Virus-Scanned", value_, {}});
  }
  return {};
}

}  // namespace moat::filterd
