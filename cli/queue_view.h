// queue_view.h - what `moat queue list` and `moat queue show` print: the queue as mailq shows it
// (postqueue -p / -j) and one message as postcat shows it, read through mta::QueueStore.
//
//   ScanQueue()         every message in incoming/, active/, deferred/ and hold/ with its
//                       recipients not yet done and each one's latest deferral reason (defer/
//                       log). A message the queue manager moves while the scan runs is looked
//                       for once more where it went; a file that cannot be read is reported in
//                       `problems` and the scan goes on.
//   FormatMailq()       the mailq text: ID with '*' (active) or '!' (hold), size, arrival time,
//                       sender, then each reason in parentheses followed by its recipients;
//                       "-- N Kbytes in M Requests." or "Mail queue is empty".
//   ListEntryJson()     one message as a JSON object: id, queue, size, arrival_time (Unix
//                       seconds), sender ("" for <>), recipients [{address, reason (null when
//                       none)}].
//   ReadShownMessage()  one message, its envelope records as they are in the file and its
//                       content; FormatPostcat() / ShownMessageJson() print it.
//
// Text for a terminal has control characters replaced ('?'): a hostile address or reply cannot
// move the cursor; JSON carries the values as they are (invalid UTF-8 replaced).
//
// Errors: ScanQueue() fails only when a queue directory cannot be listed (kIo);
// ReadShownMessage() returns kNotFound (not in any queue), kCorrupt, kIo. Thread safety: none
// needed (plain functions of their arguments).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "mta/queue_store.h"

namespace moat::cli {

// The queues `moat queue list` shows, in its order (mailq's).
inline constexpr mta::QueueName kListedQueues[] = {mta::QueueName::kIncoming,
                                                   mta::QueueName::kActive,
                                                   mta::QueueName::kDeferred,
                                                   mta::QueueName::kHold};

struct PendingRecipient {
  std::string address;
  std::optional<std::string> reason;  // the latest deferral reason; nullopt: not tried yet
};

struct QueueListEntry {
  std::string id;
  mta::QueueName queue = mta::QueueName::kIncoming;
  uint64_t size = 0;        // content bytes (as mailq shows)
  int64_t arrival_us = 0;   // Unix microseconds
  std::string sender;       // "" for <>
  std::vector<PendingRecipient> recipients;
};

struct QueueScan {
  std::vector<QueueListEntry> entries;
  std::vector<std::string> problems;  // "deferred/ID: why", one per unreadable file
};

core::Result<QueueScan> ScanQueue(const mta::QueueStore& store);

std::string FormatMailq(const QueueScan& scan);
nlohmann::json ListEntryJson(const QueueListEntry& entry);

struct ShownMessage {
  mta::QueuedMessage message;  // with content
  // The envelope records in file order, as (postcat name, value): "sender", "recipient",
  // "done_recipient", "named_attribute", ...
  std::vector<std::pair<std::string, std::string>> records;
  std::vector<mta::RecipientLogEntry> defer_log;
};

core::Result<ShownMessage> ReadShownMessage(const mta::QueueStore& store, std::string_view id);
// postcat: "*** ENVELOPE RECORDS queue/ID ***", the records, "*** MESSAGE CONTENTS ... ***",
// the content (CRLF as LF), "*** MESSAGE FILE END ... ***". `envelope_only`: no content.
std::string FormatPostcat(const ShownMessage& shown, bool envelope_only);
nlohmann::json ShownMessageJson(const ShownMessage& shown, bool envelope_only);

// Control characters as '?', for a terminal.
std::string TerminalText(std::string_view text);

}  // namespace moat::cli
