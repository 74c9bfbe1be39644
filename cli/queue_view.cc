// queue_view.cc - the mailq and postcat views of the queue (see queue_view.h).
#include "cli/queue_view.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>

#include <fmt/format.h>

namespace moat::cli {
namespace {

using core::ErrorCode;
using mta::QueueName;

// How often a message that moves while it is read is looked for again.
constexpr int kReadAttempts = 3;

std::string LocalTime(int64_t seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(seconds);
  struct tm tm {};
  ::localtime_r(&t, &tm);
  char buffer[64];
  size_t n = std::strftime(buffer, sizeof buffer, format, &tm);
  return std::string(buffer, n);
}

// Reads `id` where it is, following it when the queue manager moves it meanwhile.
template <typename ReadFn>
auto ReadFollowing(const mta::QueueStore& store, std::string_view id, QueueName queue,
                   ReadFn read) -> decltype(read(queue)) {
  auto result = read(queue);
  for (int attempt = 1; attempt < kReadAttempts; ++attempt) {
    if (result || result.error().code() != ErrorCode::kNotFound) return result;
    auto where = store.Locate(id);
    if (!where) return std::unexpected(where.error());
    if (!*where) return result;
    result = read(**where);
  }
  return result;
}

std::vector<PendingRecipient> PendingWithReasons(
    const mta::QueuedMessage& message, const std::vector<mta::RecipientLogEntry>& log) {
  std::map<uint64_t, const mta::RecipientLogEntry*> latest;  // by recipient offset
  for (const mta::RecipientLogEntry& entry : log) latest[entry.offset] = &entry;
  std::vector<PendingRecipient> recipients;
  for (const mta::QueueRecipient& r : message.envelope.recipients) {
    if (r.status != mta::RecipientStatus::kPending) continue;
    PendingRecipient pending{r.address, std::nullopt};
    if (auto it = latest.find(r.offset); it != latest.end()) pending.reason = it->second->reason;
    recipients.push_back(std::move(pending));
  }
  return recipients;
}

std::string RecordName(char type) {
  switch (type) {
    case mta::record::kSize:
      return "message_size";
    case mta::record::kSchedule:
      return "delivery_schedule";
    case mta::record::kTime:
      return "message_arrival_time";
    case mta::record::kAttribute:
      return "named_attribute";
    case mta::record::kSender:
      return "sender";
    case mta::record::kRecipientAttribute:
      return "recipient_attribute";
    case mta::record::kOriginal:
      return "original_recipient";
    case static_cast<char>(mta::RecipientStatus::kPending):
      return "recipient";
    case static_cast<char>(mta::RecipientStatus::kDelivered):
      return "done_recipient";
    case static_cast<char>(mta::RecipientStatus::kFailed):
      return "failed_recipient";
    default:
      return fmt::format("record_type_{}", TerminalText(std::string_view(&type, 1)));
  }
}

std::vector<int64_t> Numbers(std::string_view data) {
  std::vector<int64_t> numbers;
  size_t pos = 0;
  while (pos < data.size()) {
    while (pos < data.size() && data[pos] == ' ') ++pos;
    size_t start = pos;
    while (pos < data.size() && data[pos] != ' ') ++pos;
    if (pos > start) {
      try {
        numbers.push_back(std::stoll(std::string(data.substr(start, pos - start))));
      } catch (const std::exception&) {
        numbers.push_back(-1);
      }
    }
  }
  return numbers;
}

std::string TimeValue(int64_t seconds) {
  if (seconds == 0) return "0";
  return fmt::format("{} ({})", seconds, LocalTime(seconds, "%a %b %e %H:%M:%S %Y"));
}

std::string RecordValue(char type, std::string_view data) {
  if (type == mta::record::kSize) {
    std::vector<int64_t> n = Numbers(data);
    if (n.size() == 4) {
      return fmt::format("{} bytes (format {}, content at {}, {} recipients)", n[2], n[0], n[1],
                         n[3]);
    }
  } else if (type == mta::record::kSchedule) {
    std::vector<int64_t> n = Numbers(data);
    if (n.size() == 4) {
      return fmt::format("next_attempt={} attempts={} last_attempt={} warn_time={}",
                         TimeValue(n[0]), n[1], TimeValue(n[2]), TimeValue(n[3]));
    }
  } else if (type == mta::record::kTime) {
    std::vector<int64_t> n = Numbers(std::string(data.substr(0, data.find('.'))));
    if (n.size() == 1) return TimeValue(n[0]);
  } else if (type == mta::record::kSender && data.empty()) {
    return "<>";
  }
  return std::string(data);
}

// The envelope records of a queue file, from its first `limit` bytes (up to the content).
core::Result<std::vector<std::pair<std::string, std::string>>> EnvelopeRecords(
    std::string_view bytes) {
  std::vector<std::pair<std::string, std::string>> records;
  size_t pos = 0;
  while (pos < bytes.size()) {
    char type = bytes[pos++];
    uint64_t length = 0;
    bool complete = false;
    for (int i = 0, shift = 0; i < 5 && pos < bytes.size(); ++i, shift += 7) {
      auto byte = static_cast<unsigned char>(bytes[pos++]);
      length |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete) return core::Fail(ErrorCode::kCorrupt, "bad record length at {}", pos);
    if (type == mta::record::kContent) return records;
    if (length > bytes.size() - pos) {
      return core::Fail(ErrorCode::kCorrupt, "record at {} runs past the envelope", pos);
    }
    std::string_view data = bytes.substr(pos, static_cast<size_t>(length));
    pos += static_cast<size_t>(length);
    records.emplace_back(RecordName(type), RecordValue(type, data));
  }
  return core::Fail(ErrorCode::kCorrupt, "no content record");
}

core::Result<std::string> ReadPrefix(const std::string& path, uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Fail(ErrorCode::kNotFound, "{}: cannot open", path);
  std::string bytes(static_cast<size_t>(length), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  if (static_cast<uint64_t>(in.gcount()) != length) {
    return core::Fail(ErrorCode::kCorrupt, "{}: shorter than its envelope", path);
  }
  return bytes;
}

std::string_view StatusName(mta::RecipientStatus status) {
  switch (status) {
    case mta::RecipientStatus::kPending:
      return "pending";
    case mta::RecipientStatus::kDelivered:
      return "delivered";
    case mta::RecipientStatus::kFailed:
      return "failed";
  }
  return "pending";
}

}  // namespace

std::string TerminalText(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

core::Result<QueueScan> ScanQueue(const mta::QueueStore& store) {
  QueueScan scan;
  for (QueueName queue : kListedQueues) {
    auto listed = store.List(queue);
    if (!listed) return std::unexpected(listed.error());
    for (const mta::QueueEntry& item : *listed) {
      QueueName where = queue;
      auto message = ReadFollowing(store, item.id, queue, [&](QueueName q) {
        where = q;
        return store.Read(q, item.id);
      });
      if (!message) {
        // Gone meanwhile (delivered, deleted): no longer in the queue, nothing to show.
        if (message.error().code() == ErrorCode::kNotFound) continue;
        scan.problems.push_back(fmt::format("{}/{}: {}", mta::QueueNameText(where), item.id,
                                            message.error().message()));
        continue;
      }
      if (where == QueueName::kCorrupt) continue;
      auto log = store.ReadLog(mta::RecipientLogKind::kDefer, item.id);
      if (!log) {
        scan.problems.push_back(fmt::format("defer/{}: {}", item.id, log.error().message()));
      }
      QueueListEntry entry;
      entry.id = item.id;
      entry.queue = where;
      entry.size = message->content_length;
      entry.arrival_us = message->envelope.arrival_us;
      entry.sender = message->envelope.sender;
      entry.recipients =
          PendingWithReasons(*message, log ? *log : std::vector<mta::RecipientLogEntry>());
      scan.entries.push_back(std::move(entry));
    }
  }
  return scan;
}

std::string FormatMailq(const QueueScan& scan) {
  if (scan.entries.empty()) return "Mail queue is empty\n";
  constexpr size_t kIdWidth = mta::kQueueIdLength;
  // Recipients line up under the sender: ID + flag, size, arrival time.
  const std::string indent(kIdWidth + 1 + 1 + 8 + 1 + 19 + 2, ' ');
  std::string out = fmt::format("{:<{}} {:>8} {:<19}  {}\n", "-Queue ID-", kIdWidth + 1,
                                "--Size--", "---Arrival Time----", "-Sender/Recipient-------");
  uint64_t total = 0;
  for (const QueueListEntry& e : scan.entries) {
    char flag = e.queue == QueueName::kActive ? '*' : e.queue == QueueName::kHold ? '!' : ' ';
    out += fmt::format("{:<{}}{} {:>8} {:<19}  {}\n", e.id, kIdWidth, flag, e.size,
                       LocalTime(e.arrival_us / 1'000'000, "%a %b %e %H:%M:%S"),
                       e.sender.empty() ? "MAILER-DAEMON" : TerminalText(e.sender));
    // Recipients not tried yet first, then each reason followed by its recipients.
    std::vector<std::pair<std::optional<std::string>, std::vector<std::string>>> groups;
    for (const PendingRecipient& r : e.recipients) {
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& g) { return g.first == r.reason; });
      if (it == groups.end()) {
        groups.emplace_back(r.reason, std::vector<std::string>());
        it = std::prev(groups.end());
      }
      it->second.push_back(r.address);
    }
    std::stable_sort(groups.begin(), groups.end(),
                     [](const auto& a, const auto& b) { return !a.first && b.first; });
    for (const auto& [reason, addresses] : groups) {
      if (reason) out += fmt::format("({})\n", TerminalText(*reason));
      for (const std::string& address : addresses) {
        out += indent + TerminalText(address) + "\n";
      }
    }
    out += "\n";
    total += e.size;
  }
  size_t n = scan.entries.size();
  out += fmt::format("-- {} Kbytes in {} Request{}.\n", (total + 1023) / 1024, n,
                     n == 1 ? "" : "s");
  return out;
}

nlohmann::json ListEntryJson(const QueueListEntry& entry) {
  nlohmann::json recipients = nlohmann::json::array();
  for (const PendingRecipient& r : entry.recipients) {
    recipients.push_back({{"address", r.address},
                          {"reason", r.reason ? nlohmann::json(*r.reason) : nlohmann::json()}});
  }
  return {{"id", entry.id},
          {"queue", mta::QueueNameText(entry.queue)},
          {"size", entry.size},
          {"arrival_time", entry.arrival_us / 1'000'000},
          {"sender", entry.sender},
          {"recipients", std::move(recipients)}};
}

core::Result<ShownMessage> ReadShownMessage(const mta::QueueStore& store, std::string_view id) {
  // Locate() looks in one queue after another, so a message moving meanwhile can slip past it.
  auto where = store.Locate(id);
  for (int attempt = 1; attempt < kReadAttempts && where && !*where; ++attempt) {
    where = store.Locate(id);
  }
  if (!where) return std::unexpected(where.error());
  if (!*where) return core::Fail(ErrorCode::kNotFound, "{}: not in the queue", id);
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    QueueName queue = **where;
    auto message = store.Read(queue, id, /*with_content=*/true);
    core::Result<std::string> envelope = message ? ReadPrefix(store.FilePath(queue, id),
                                                              message->content_offset)
                                                 : core::Result<std::string>(
                                                       std::unexpected(message.error()));
    if (message && envelope) {
      auto records = EnvelopeRecords(*envelope);
      if (!records) {
        return std::unexpected(
            records.error().WithContext(store.FilePath(queue, id)));
      }
      auto log = store.ReadLog(mta::RecipientLogKind::kDefer, id);
      ShownMessage shown{std::move(*message), std::move(*records), {}};
      if (log) shown.defer_log = std::move(*log);
      return shown;
    }
    const core::Error& error = message ? envelope.error() : message.error();
    if (error.code() != ErrorCode::kNotFound) return std::unexpected(error);
    where = store.Locate(id);  // moved by the queue manager meanwhile
    if (!where) return std::unexpected(where.error());
    if (!*where) return core::Fail(ErrorCode::kNotFound, "{}: not in the queue", id);
  }
  return core::Fail(ErrorCode::kTempFail, "{}: keeps moving between queues; try again", id);
}

std::string FormatPostcat(const ShownMessage& shown, bool envelope_only) {
  const mta::QueuedMessage& m = shown.message;
  std::string where = fmt::format("{}/{}", mta::QueueNameText(m.queue), m.id);
  std::string out = fmt::format("*** ENVELOPE RECORDS {} ***\n", where);
  for (const auto& [name, value] : shown.records) {
    out += fmt::format("{}: {}\n", name, TerminalText(value));
  }
  if (envelope_only) return out;
  out += fmt::format("*** MESSAGE CONTENTS {} ***\n", where);
  std::string_view content = m.content;
  while (!content.empty()) {
    size_t end = content.find('\n');
    std::string_view line = content.substr(0, end);
    if (line.ends_with('\r')) line.remove_suffix(1);
    out.append(line);
    out.push_back('\n');
    if (end == std::string_view::npos) break;
    content.remove_prefix(end + 1);
  }
  out += fmt::format("*** MESSAGE FILE END {} ***\n", where);
  return out;
}

nlohmann::json ShownMessageJson(const ShownMessage& shown, bool envelope_only) {
  const mta::QueuedMessage& m = shown.message;
  std::map<uint64_t, const mta::RecipientLogEntry*> latest;
  for (const mta::RecipientLogEntry& entry : shown.defer_log) latest[entry.offset] = &entry;
  nlohmann::json attributes = nlohmann::json::object();
  for (const auto& [name, value] : shown.records) {
    if (name != "named_attribute") continue;
    size_t eq = value.find('=');
    attributes[value.substr(0, eq)] = eq == std::string::npos ? "" : value.substr(eq + 1);
  }
  nlohmann::json recipients = nlohmann::json::array();
  for (const mta::QueueRecipient& r : m.envelope.recipients) {
    auto it = latest.find(r.offset);
    nlohmann::json item = {
        {"address", r.address},
        {"original", r.original},
        {"status", StatusName(r.status)},
        {"reason", it != latest.end() ? nlohmann::json(it->second->reason) : nlohmann::json()}};
    if (r.notify != 0) item["notify"] = r.notify;
    if (!r.orcpt.empty()) item["orcpt"] = r.orcpt_type + ";" + r.orcpt;
    recipients.push_back(std::move(item));
  }
  const mta::QueueSchedule& s = m.envelope.schedule;
  nlohmann::json out = {{"id", m.id},
                        {"queue", mta::QueueNameText(m.queue)},
                        {"size", m.content_length},
                        {"file_size", m.file_size},
                        {"arrival_time", m.envelope.arrival_us / 1'000'000},
                        {"sender", m.envelope.sender},
                        {"attributes", std::move(attributes)},
                        {"schedule",
                         {{"next_attempt", s.next_attempt},
                          {"attempts", s.attempts},
                          {"last_attempt", s.last_attempt},
                          {"warn_time", s.warn_time}}},
                        {"recipients", std::move(recipients)}};
  if (!envelope_only) out["content"] = m.content;
  return out;
}

}  // namespace moat::cli
