// quarantine_entry.h - what the quarantine knows about one held message, and its ID.
//
// moat-filterd hands a message it holds (a destiny of VIRUS, BANNED, UNCHECKED, SPAM, SPAMMY,
// BAD-HEADER, or CLEAN kept on purpose) to QuarantineStore::Store() with an EntryMetadata; the
// store gives it an ID and a time, and keeps a QuarantineEntry in the index (quarantine_index.h)
// beside the compressed message (message_file.h). The admin command and the web review read entries
// back.
//
// Quarantine ID ("20261121-080117.123456-9f3ac2e17b4d"):
//   YYYYMMDD-HHMMSS.ffffff   the UTC time of quarantining, to the microsecond
//   -rrrrrrrrrrrr            48 random bits, 12 lowercase hex digits
// IDs sort as their times do (the index relies on it: time ranges are ID ranges), are unique across
// processes and gateway nodes without coordination, and use only [0-9a-f.-] so they are safe in
// file names, URLs and shell commands. IsValidQuarantineId() is the one gate every ID from outside
// (command line, URL, file name) must pass before it names a file.
//
// All types are plain values: copyable, no shared state, safe to pass between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::quarantine {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// amavis content classes, as DESIGN.md names them.
enum class ContentClass { kVirus, kBanned, kUnchecked, kSpam, kSpammy, kBadHeader, kClean };

// "VIRUS", "BANNED", "UNCHECKED", "SPAM", "SPAMMY", "BAD-HEADER", "CLEAN".
std::string_view ContentClassName(ContentClass content_class);
// Case-insensitive; accepts "BAD-HEADER", "BAD_HEADER" and "BADH"; nullopt for anything else.
std::optional<ContentClass> ParseContentClass(std::string_view name);
inline constexpr ContentClass kAllContentClasses[] = {
    ContentClass::kVirus,  ContentClass::kBanned,    ContentClass::kUnchecked, ContentClass::kSpam,
    ContentClass::kSpammy, ContentClass::kBadHeader, ContentClass::kClean};

// Where an entry stands. kHeld: never released. kReleased: released at least once, the copy is
// still kept (releasing again needs force). kDeleted: an operator deleted it; the file is gone, the
// row and its history stay until expiry.
enum class EntryState { kHeld, kReleased, kDeleted };
std::string_view EntryStateName(EntryState state);  // "held", "released", "deleted"
std::optional<EntryState> ParseEntryState(std::string_view name);

// One operator action in an entry's history.
struct EntryEvent {
  enum class Kind { kRelease, kDelete };
  Kind kind = Kind::kRelease;
  TimePoint time;
  std::string actor;                    // who: "cli:root", "web:alice", "filterd:expiry"
  std::vector<std::string> recipients;  // release: to whom it was sent; empty for a deletion
  std::string detail;                   // free text: "forced", "rejected: <b@x> 550 ..."
};
std::string_view EventKindName(EntryEvent::Kind kind);  // "release", "delete"
std::optional<EntryEvent::Kind> ParseEventKind(std::string_view name);

// What the filter knows about a message when it holds it. Text is UTF-8 (Store() replaces invalid
// sequences with U+FFFD so every consumer, JSON included, can print it).
struct EntryMetadata {
  ContentClass content_class = ContentClass::kClean;
  std::string subclass;    // e.g. UNCHECKED's "encrypted" or "limit", SPAM's "kill"; may be empty
  std::string reason;      // one line for people: virus names, "banned part 1/2 'a.exe' rule
                           // exe-ms", "score 12.3 hits: BAYES_99,...", "limit max_depth 10"
  std::string trace_json;  // the decision trace as `moat scan --json` prints it; opaque here
  std::string envelope_sender;          // MAIL FROM without brackets; "" for the null sender <>
  std::vector<std::string> recipients;  // RCPT TO of the recipients this copy was held for
  std::string header_from;  // From: as the filter decoded it; Store() fills the raw header if empty
  std::string subject;      // Subject: likewise
  std::string message_id;   // Message-ID: likewise
  std::string client_address;   // SMTP client IP as XFORWARD told the filter; may be empty
  std::string policy_bank;      // "inbound", "originating", ...
  std::optional<double> score;  // spam score, when the rules ran
};

struct QuarantineEntry {
  std::string id;
  TimePoint time;     // when it was quarantined (the time in the ID, microsecond precision)
  uint64_t size = 0;  // bytes of the original message
  EntryMetadata metadata;
  EntryState state = EntryState::kHeld;
  std::string damage;               // empty, or why the stored copy is unusable ("file missing")
  std::vector<EntryEvent> history;  // oldest first; QuarantineIndex::Query leaves it empty
};

// A new ID for a message quarantined at `time` (random part from a per-thread generator).
std::string NewQuarantineId(TimePoint time);
// True when `id` has exactly the form above (and so is safe as a file name).
bool IsValidQuarantineId(std::string_view id);
// The time encoded in a valid ID.
core::Result<TimePoint> QuarantineIdTime(std::string_view id);
// The smallest ID string of any message quarantined at or after `time`; IDs compare like times.
std::string QuarantineIdLowerBound(TimePoint time);

// `time` truncated to the microsecond, which is what IDs and the index keep.
TimePoint TruncateToMicroseconds(TimePoint time);
int64_t ToUnixMicros(TimePoint time);
TimePoint FromUnixMicros(int64_t micros);
// "2026-11-21T08:01:17Z" (UTC, seconds); used by the command line and the JSON views.
std::string FormatUtc(TimePoint time);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

// Checks what Store() requires of metadata: at least one recipient, no CR, LF or NUL in the
// addresses or the policy bank. kInvalid says which field is wrong. The trace stays opaque.
core::Status ValidateMetadata(const EntryMetadata& metadata);

}  // namespace moat::quarantine
