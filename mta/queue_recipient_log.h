// queue_recipient_log.h - per-recipient delivery logs of a queued message (Postfix's defer/,
// bounce/ and trace/ logfiles): why a recipient was deferred, why it bounced, that it was
// delivered. The queue manager appends; `moat queue list` shows the latest deferral reason of
// each recipient (as mailq does); the bounce generator builds DSNs from them.
//
// A log is a text file, one entry per line, fields separated by a TAB:
//
//   time     Unix seconds of the event
//   offset   the recipient's record offset in the queue file (QueueRecipient::offset)
//   address  the recipient address (for people reading the file)
//   status   the enhanced status code: 4.4.1, 5.1.1, 2.0.0
//   action   delayed, failed, delivered, relayed, expanded (RFC 3464 Action)
//   reason   the diagnostic text (the next hop's reply, or what went wrong)
//
// Inside a field, backslash, TAB, CR and LF are written as \\, \t, \r and \n. A line is appended
// with one write(2) and then fdatasynced; a last line without its newline (a crash during an
// append) is ignored when reading, so a torn entry never reads as a half entry.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::mta {

enum class RecipientLogKind { kDefer, kBounce, kTrace };
std::string_view RecipientLogDirectory(RecipientLogKind kind);  // "defer", "bounce", "trace"

struct RecipientLogEntry {
  int64_t time = 0;
  uint64_t offset = 0;
  std::string address;
  std::string status;
  std::string action;
  std::string reason;

  friend bool operator==(const RecipientLogEntry&, const RecipientLogEntry&) = default;
};

std::string EncodeRecipientLogEntry(const RecipientLogEntry& entry);  // one line, with '\n'
// Decodes every complete line; a malformed line is kCorrupt (with its line number).
core::Result<std::vector<RecipientLogEntry>> DecodeRecipientLog(std::string_view text);

}  // namespace moat::mta
