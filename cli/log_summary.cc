// log_summary.cc - counting and the report (what is counted: log_summary.h).
#include "cli/log_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace moat::cli {
namespace {

constexpr std::size_t kMaxReasonLength = 100;

bool Before(const LogTime& a, const LogTime& b) {
  return std::tie(a.year, a.month, a.day, a.hour, a.minute, a.second) <
         std::tie(b.year, b.month, b.day, b.hour, b.minute, b.second);
}

std::string TimeText(const LogTime& t) {
  if (t.year == 0) {
    return fmt::format("{:02}-{:02} {:02}:{:02}:{:02}", t.month, t.day, t.hour, t.minute, t.second);
  }
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month, t.day, t.hour,
                     t.minute, t.second);
}

std::string DayText(const LogTime& t) {
  return t.year == 0 ? fmt::format("{:02}-{:02}", t.month, t.day)
                     : fmt::format("{:04}-{:02}-{:02}", t.year, t.month, t.day);
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string AddressText(const std::string& address) { return address.empty() ? "<>" : address; }

std::string DomainOf(const std::string& address) {
  if (address.empty()) return "<>";
  size_t at = address.rfind('@');
  return at == std::string::npos ? Lower(address) : Lower(address.substr(at + 1));
}

std::string Shorten(std::string_view text) {
  if (text.size() <= kMaxReasonLength) return std::string(text);
  return std::string(text.substr(0, kMaxReasonLength - 3)) + "...";
}

// The filter's mail_id in a reply "... id=MAIL_ID ..." (moat-filterd's LMTP reply), or empty.
std::string MailIdInReply(std::string_view reply) {
  size_t at = reply.find(" id=");
  if (at == std::string_view::npos) return "";
  std::string_view id = reply.substr(at + 4);
  size_t end = 0;
  while (end < id.size() && std::isalnum(static_cast<unsigned char>(id[end]))) ++end;
  return std::string(id.substr(0, end));
}

template <typename... Args>
void Append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

using Counts = std::map<std::string, std::size_t>;

// Entries by count (largest first, then by name), at most `top` of them.
std::vector<std::pair<std::string, std::size_t>> Top(const Counts& counts, std::size_t top) {
  std::vector<std::pair<std::string, std::size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (sorted.size() > top) sorted.resize(top);
  return sorted;
}

void Heading(std::string& out, std::string_view title) {
  fmt::format_to(std::back_inserter(out), "\n{}\n{}\n", title, std::string(title.size(), '-'));
}

void CountList(std::string& out, std::string_view title, const Counts& counts, std::size_t top) {
  Heading(out, counts.size() > top ? fmt::format("{} (top {} of {})", title, top, counts.size())
                                   : std::string(title));
  if (counts.empty()) {
    out += "  none\n";
    return;
  }
  for (const auto& [name, count] : Top(counts, top)) {
    fmt::format_to(std::back_inserter(out), "{:>8}  {}\n", count, name);
  }
}

// "reason -> count" grouped under a key (a relay domain, an SMTP command).
using GroupedCounts = std::map<std::string, Counts>;

void GroupedList(std::string& out, std::string_view title, const GroupedCounts& groups,
                 std::size_t top) {
  Heading(out, title);
  if (groups.empty()) {
    out += "  none\n";
    return;
  }
  for (const auto& [group, reasons] : groups) {
    std::size_t total = 0;
    for (const auto& [reason, count] : reasons) total += count;
    fmt::format_to(std::back_inserter(out), "  {} (total: {})\n", group, total);
    for (const auto& [reason, count] : Top(reasons, top)) {
      fmt::format_to(std::back_inserter(out), "{:>8}  {}\n", count, reason);
    }
  }
}

struct HourRow {
  std::size_t received = 0, delivered = 0, deferred = 0, bounced = 0, rejected = 0;
};

struct DomainRow {
  std::size_t sent = 0, deferred = 0, bounced = 0;
};

}  // namespace

struct LogSummary::Resolved {
  std::set<std::string> reinjected;           // queue IDs that are the filter's reinjected copies
  std::set<std::string> filter_hops;          // queue IDs handed to the content filter
  std::map<std::string, std::string> origin;  // reinjected copy -> message it came from

  // The message a queue ID belongs to, following reinjections back (bounded: logs can lie).
  std::string Root(const std::string& id) const {
    std::string at = id;
    for (int i = 0; i < 8; ++i) {
      auto it = origin.find(at);
      if (it == origin.end()) break;
      at = it->second;
    }
    return at;
  }
};

void LogSummary::Note(const std::optional<LogTime>& time) {
  if (!time) return;
  if (!first_ || Before(*time, *first_)) first_ = time;
  if (!last_ || Before(*last_, *time)) last_ = time;
}

void LogSummary::AddLine(std::string_view line) {
  ++lines_;
  ParsedLine parsed = ParseLogLine(line);
  if (std::holds_alternative<std::monostate>(parsed.event)) return;
  ++events_;
  Note(parsed.time);
  if (auto* received = std::get_if<MtaReceived>(&parsed.event)) {
    queued_[received->queue_id] = Message{received->sender, received->size, parsed.time};
  } else if (auto* delivery = std::get_if<MtaDelivery>(&parsed.event)) {
    Delivery d{std::move(*delivery), "", "", false, parsed.time};
    if (d.event.status == "sent") {
      d.reply_queued_as = QueuedAsInReply(d.event.reply);
      d.reply_mail_id = MailIdInReply(d.event.reply);
      d.reply_quarantined = d.event.reply.find(", quarantined as ") != std::string::npos;
      d.event.reply.clear();
      d.event.reply.shrink_to_fit();
    } else {
      d.event.reply = Shorten(d.event.reply);
    }
    deliveries_.push_back(std::move(d));
  } else if (auto* reject = std::get_if<MtaReject>(&parsed.event)) {
    if (reject->queue_id != "NOQUEUE" && !rejected_queue_ids_.insert(reject->queue_id).second) {
      return;  // header_checks and cleanup both log the same refusal
    }
    rejects_.push_back({std::move(*reject), parsed.time});
  } else if (std::holds_alternative<MtaExpired>(parsed.event)) {
    expired_.push_back(parsed.time);
  } else if (auto* bounce = std::get_if<MtaBounceCreated>(&parsed.event)) {
    bounce_queue_ids_.insert(bounce->bounce_queue_id);
  } else if (auto* filtered = std::get_if<FilterSummary>(&parsed.event)) {
    filtered_.push_back({std::move(*filtered), parsed.time});
  }
}

LogSummary::Resolved LogSummary::Resolve() const {
  Resolved r;
  std::set<std::string> mail_ids;
  for (const Filtered& f : filtered_) {
    mail_ids.insert(f.event.mail_id);
    if (!f.event.upstream_queue_id.empty()) r.filter_hops.insert(f.event.upstream_queue_id);
    for (const std::string& copy : f.event.queued_as) {
      r.reinjected.insert(copy);
      if (!f.event.upstream_queue_id.empty()) r.origin[copy] = f.event.upstream_queue_id;
    }
  }
  // moat-mta's side: the filter's reply names its mail_id and the reinjected copy.
  for (const Delivery& d : deliveries_) {
    if (d.event.status != "sent") continue;
    const std::string& copy = d.reply_queued_as;
    bool reinjected_here = !copy.empty() && queued_.contains(copy);
    bool filter_reply = d.reply_quarantined || mail_ids.contains(d.reply_mail_id);
    if (reinjected_here) {
      r.reinjected.insert(copy);
      r.origin.emplace(copy, d.event.queue_id);
    }
    if (reinjected_here || filter_reply) r.filter_hops.insert(d.event.queue_id);
  }
  return r;
}

LogTotals LogSummary::totals() const {
  Resolved r = Resolve();
  LogTotals t;
  t.lines = lines_;
  t.events = events_;
  for (const auto& [id, message] : queued_) {
    if (r.reinjected.contains(id) || bounce_queue_ids_.contains(id)) continue;
    ++t.received;
    t.bytes_received += message.size;
  }
  std::set<std::string> deferred_messages;
  for (const Delivery& d : deliveries_) {
    const std::string& status = d.event.status;
    if (status == "sent") {
      if (r.filter_hops.contains(d.event.queue_id)) continue;
      ++t.delivered;
      auto message = queued_.find(d.event.queue_id);
      if (message != queued_.end()) t.bytes_delivered += message->second.size;
    } else if (status == "deferred") {
      ++t.deferrals;
      deferred_messages.insert(r.Root(d.event.queue_id));
    } else if (status == "bounced" || status == "expired") {
      ++t.bounced;
    }
  }
  t.deferred = deferred_messages.size();
  t.bounced += expired_.size();
  t.rejected = rejects_.size();
  for (const Reject& reject : rejects_) {
    ++t.rejected_by_reason[Shorten(reject.event.reason)];
  }
  t.filtered = filtered_.size();
  for (const Filtered& f : filtered_) {
    ++t.filtered_by_class[f.event.content_class];
    if (f.event.dkim_signatures > 0) ++t.dkim_signed;
    if (!f.event.quarantine_id.empty()) {
      ++t.quarantined;
      ++t.quarantined_by_class[f.event.content_class];
    }
  }
  return t;
}

std::string LogSummary::Report() const {
  Resolved r = Resolve();
  LogTotals t = totals();
  std::string out;

  Append(out, "Moat log summary: {} lines, {} understood", t.lines, t.events);
  if (first_ && last_) Append(out, ", {} to {}", TimeText(*first_), TimeText(*last_));
  Append(out, "\n");

  Heading(out, "Grand totals");
  std::size_t offered = t.received + t.rejected;
  Append(out, "messages\n");
  Append(out, "{:>8}  received\n", t.received);
  Append(out, "{:>8}  delivered (recipients)\n", t.delivered);
  Append(out, "{:>8}  deferred ({} deferrals)\n", t.deferred, t.deferrals);
  Append(out, "{:>8}  bounced (recipients)\n", t.bounced);
  Append(out, "{:>8}  rejected ({}%)\n", t.rejected, offered == 0 ? 0 : t.rejected * 100 / offered);
  Append(out, "{:>8}  quarantined\n\n", t.quarantined);
  Append(out, "{:>8}  bytes received\n", t.bytes_received);
  Append(out, "{:>8}  bytes delivered\n", t.bytes_delivered);

  // Senders and recipients of the messages received, each message counted once.
  Counts senders, sender_domains, recipients, recipient_domains;
  for (const auto& [id, message] : queued_) {
    if (r.reinjected.contains(id) || bounce_queue_ids_.contains(id)) continue;
    ++senders[AddressText(message.sender)];
    ++sender_domains[DomainOf(message.sender)];
  }
  std::set<std::pair<std::string, std::string>> seen_recipients;
  std::map<std::string, DomainRow> by_domain;
  GroupedCounts deferral_reasons, bounce_reasons, reject_reasons;
  std::map<int, HourRow> hours;
  std::map<std::string, HourRow> days;
  auto count_time = [&](const std::optional<LogTime>& time, std::size_t HourRow::*field) {
    if (!time) return;
    ++(hours[time->hour].*field);
    ++(days[DayText(*time)].*field);
  };
  for (const auto& [id, message] : queued_) {
    if (r.reinjected.contains(id) || bounce_queue_ids_.contains(id)) continue;
    count_time(message.time, &HourRow::received);
  }
  for (const Delivery& d : deliveries_) {
    const MtaDelivery& e = d.event;
    std::string domain = DomainOf(e.recipient);
    if (seen_recipients.insert({r.Root(e.queue_id), Lower(e.recipient)}).second) {
      ++recipients[Lower(e.recipient)];
      ++recipient_domains[domain];
    }
    if (e.status == "sent") {
      if (r.filter_hops.contains(e.queue_id)) continue;
      ++by_domain[domain].sent;
      count_time(d.time, &HourRow::delivered);
    } else if (e.status == "deferred") {
      ++by_domain[domain].deferred;
      ++deferral_reasons[domain][Shorten(e.reply)];
      count_time(d.time, &HourRow::deferred);
    } else if (e.status == "bounced" || e.status == "expired") {
      ++by_domain[domain].bounced;
      ++bounce_reasons[domain][Shorten(e.reply)];
      count_time(d.time, &HourRow::bounced);
    }
  }
  for (const auto& time : expired_) count_time(time, &HourRow::bounced);
  for (const Reject& reject : rejects_) {
    ++reject_reasons[reject.event.command][Shorten(reject.event.reason)];
    count_time(reject.time, &HourRow::rejected);
  }
  Append(out, "{:>8}  senders\n", senders.size());
  Append(out, "{:>8}  sending domains\n", sender_domains.size());
  Append(out, "{:>8}  recipients\n", recipients.size());
  Append(out, "{:>8}  recipient domains\n", recipient_domains.size());

  Heading(out, "Content filter (moat-filterd)");
  std::map<std::string, std::size_t> verbs, banks;
  for (const Filtered& f : filtered_) {
    ++verbs[f.event.verb];
    ++banks[f.event.bank];
  }
  Append(out, "{:>8}  messages scanned\n", t.filtered);
  for (const char* verb : {"Passed", "Blocked", "Refused", "Deferred"}) {
    auto it = verbs.find(verb);
    Append(out, "{:>8}  {}\n", it == verbs.end() ? 0 : it->second, Lower(verb));
  }
  Append(out, "{:>8}  DKIM-signed\n", t.dkim_signed);
  if (!t.filtered_by_class.empty()) {
    Append(out, "  by class:");
    for (const auto& [name, count] : t.filtered_by_class) Append(out, " {} {}", name, count);
    Append(out, "\n  by policy bank:");
    for (const auto& [name, count] : banks) Append(out, " {} {}", name, count);
    Append(out, "\n");
  }
  CountList(out, "Quarantined by class", t.quarantined_by_class, options_.top);

  Heading(out, "Per-hour traffic");
  Append(out, "    {:<13}{:>10}{:>11}{:>10}{:>9}{:>10}\n", "time", "received", "delivered",
         "deferred", "bounced", "rejected");
  for (int hour = 0; hour < 24; ++hour) {
    HourRow row;
    if (auto it = hours.find(hour); it != hours.end()) row = it->second;
    Append(out, "    {:02}00-{:02}00    {:>10}{:>11}{:>10}{:>9}{:>10}\n", hour, (hour + 1) % 24,
           row.received, row.delivered, row.deferred, row.bounced, row.rejected);
  }
  if (days.size() > 1) {
    Heading(out, "Per-day traffic");
    Append(out, "    {:<13}{:>10}{:>11}{:>10}{:>9}{:>10}\n", "date", "received", "delivered",
           "deferred", "bounced", "rejected");
    for (const auto& [day, row] : days) {
      Append(out, "    {:<13}{:>10}{:>11}{:>10}{:>9}{:>10}\n", day, row.received, row.delivered,
             row.deferred, row.bounced, row.rejected);
    }
  }

  Heading(out, "Deliveries by recipient domain");
  if (by_domain.empty()) {
    out += "  none\n";
  } else {
    Append(out, "{:>8}{:>8}{:>8}  {}\n", "sent", "defers", "bounced", "domain");
    std::vector<std::pair<std::string, DomainRow>> rows(by_domain.begin(), by_domain.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.second.sent + a.second.deferred + a.second.bounced >
             b.second.sent + b.second.deferred + b.second.bounced;
    });
    if (rows.size() > options_.top) rows.resize(options_.top);
    for (const auto& [domain, row] : rows) {
      Append(out, "{:>8}{:>8}{:>8}  {}\n", row.sent, row.deferred, row.bounced, domain);
    }
  }
  CountList(out, "Senders by message count", senders, options_.top);
  CountList(out, "Sending domains by message count", sender_domains, options_.top);
  CountList(out, "Recipients by message count", recipients, options_.top);
  CountList(out, "Recipient domains by message count", recipient_domains, options_.top);
  GroupedList(out, "Deferrals by recipient domain and reason", deferral_reasons, options_.top);
  GroupedList(out, "Bounces by recipient domain and reason", bounce_reasons, options_.top);
  GroupedList(out, "Rejects by command and reason", reject_reasons, options_.top);
  return out;
}

}  // namespace moat::cli
