// quarantine_index.h - the searchable index of held messages, as a small backend interface.
//
// The index holds one row per QuarantineEntry (quarantine_entry.h) and its release/delete history;
// the messages themselves live in files (message_file.h) and QuarantineStore keeps the two in step.
// SqliteIndex (sqlite_index.h) is the default backend; a shared PostgreSQL backend for several
// gateway nodes implements the same interface. Backends must give:
//
//   - durability: a call that returned success survives a crash of the process and of the machine;
//   - many processes at once: moat-filterd inserting, `moat quarantine` and `moat web` reading and
//     recording events, each with its own QuarantineIndex object on the same data;
//   - thread safety: every method may be called from several threads on one object.
//
// Errors: kNotFound for an ID that has no row; kInvalid for a duplicate ID or a bad query;
// kTempFail when the database stayed busy (locked by another writer) past the busy timeout; kIo
// when the operating system refused (disk full, permission); kCorrupt when the database fails its
// own checks. Every failure leaves the index as it was before the call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "quarantine/quarantine_entry.h"

namespace moat::quarantine {

enum class SortField { kTime, kScore };

// A list request, shaped by `moat quarantine list` and the web review (issue 10). Filters combine
// with AND; an empty/unset filter matches everything. Text filters are case-insensitive substring
// matches (ASCII case folding), with no wildcard characters of their own.
struct QuarantineQuery {
  std::vector<ContentClass> classes;  // any of these
  std::optional<TimePoint> since;     // quarantined at or after
  std::optional<TimePoint> until;     // quarantined strictly before
  std::string sender;                 // envelope sender contains
  std::string recipient;              // some envelope recipient contains
  std::string subject;                // Subject contains
  std::string from;                   // From: header contains
  std::optional<double> min_score;    // score >= (entries without a score never match)
  std::optional<double> max_score;    // score <= (entries without a score never match)
  std::vector<EntryState> states = {EntryState::kHeld, EntryState::kReleased};  // empty = all
  SortField sort = SortField::kTime;
  bool descending = true;  // newest (highest) first; ties broken by ID
  size_t offset = 0;
  size_t limit = 50;  // at most kMaxQueryLimit
};
inline constexpr size_t kMaxQueryLimit = 1000;

struct QueryPage {
  std::vector<QuarantineEntry> entries;  // without trace_json and history (Get() has them)
  uint64_t total = 0;                    // rows matching the filters, ignoring offset and limit
};

// One cell of the dashboard's "held mail by class per hour" chart.
struct ClassCount {
  TimePoint bucket;  // start of the interval
  ContentClass content_class = ContentClass::kClean;
  uint64_t count = 0;
};

// One row as recovery (QuarantineStore) sees it.
struct IndexedId {
  std::string id;
  EntryState state = EntryState::kHeld;
  bool damaged = false;
};

class QuarantineIndex {
 public:
  virtual ~QuarantineIndex() = default;

  // Adds one entry with an empty history. kInvalid when the ID exists already.
  virtual core::Status Insert(const QuarantineEntry& entry) = 0;
  // Adds several in one transaction: all or none (recovery re-indexing, imports, benchmarks).
  virtual core::Status InsertMany(std::span<const QuarantineEntry> entries) = 0;

  // The whole entry, trace and history included. kNotFound when there is no such row.
  virtual core::Result<QuarantineEntry> Get(std::string_view id) = 0;

  // One page of matching entries in the requested order, with the total count. kInvalid when the
  // limit is over kMaxQueryLimit or a text filter holds CR/LF/NUL.
  virtual core::Result<QueryPage> Query(const QuarantineQuery& query) = 0;

  // Entries quarantined in [since, until) counted per class and per `bucket`-long interval from
  // `since` (deleted ones too: they were held). Only non-zero cells, ordered by bucket then class.
  // kInvalid when bucket is not positive or since is not before until.
  virtual core::Result<std::vector<ClassCount>> CountByClass(TimePoint since, TimePoint until,
                                                             Clock::duration bucket) = 0;

  // Appends a release or delete event and moves the state (release: held -> released; delete: any
  // -> deleted). kNotFound when there is no such row.
  virtual core::Status RecordEvent(std::string_view id, const EntryEvent& event) = 0;

  // Notes that the stored copy is unusable ("file missing", "corrupt: ..."); empty clears it.
  virtual core::Status SetDamage(std::string_view id, std::string_view damage) = 0;

  // Up to `limit` IDs of entries quarantined before `cutoff`, oldest first, starting after
  // `after_id` (keyset paging; "" starts at the beginning).
  virtual core::Result<std::vector<std::string>> ExpiryCandidates(TimePoint cutoff, size_t limit,
                                                                  std::string_view after_id) = 0;
  // Removes the rows and their history; IDs without a row are ignored. One transaction.
  virtual core::Status Erase(std::span<const std::string> ids) = 0;

  // Every ID with its state, for the consistency check at open. Memory grows with the index
  // (about 60 bytes an entry).
  virtual core::Result<std::vector<IndexedId>> AllIds() = 0;
};

}  // namespace moat::quarantine
