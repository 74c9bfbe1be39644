// sqlite_index.cc - QuarantineIndex on SQLite: statements, list queries, history.
#include "quarantine/sqlite_index.h"

#include <algorithm>

namespace moat::quarantine {
namespace {

using core::ErrorCode;

// Column order shared by the list query and Get(); ParseEntryRow() reads it.
constexpr const char* kEntryColumns =
    "id, time_us, class, subclass, reason, sender, recipients, header_from, subject, message_id, "
    "size, client_address, policy_bank, score, state, damage";

std::string JoinLines(const std::vector<std::string>& items) {
  std::string joined;
  for (const std::string& item : items) {
    if (!joined.empty()) joined.push_back('\n');
    joined.append(item);
  }
  return joined;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    size_t end = text.find('\n');
    items.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return items;
}

core::Result<QuarantineEntry> ParseEntryRow(const core::SqliteStatement& row) {
  QuarantineEntry entry;
  entry.id = row.Text(0);
  entry.time = FromUnixMicros(row.Int(1));
  std::string class_name = row.Text(2);
  auto content_class = ParseContentClass(class_name);
  if (!content_class) {
    return core::Fail(ErrorCode::kCorrupt, "entry {}: unknown content class '{}'", entry.id,
                      class_name);
  }
  EntryMetadata& m = entry.metadata;
  m.content_class = *content_class;
  m.subclass = row.Text(3);
  m.reason = row.Text(4);
  m.envelope_sender = row.Text(5);
  m.recipients = SplitLines(row.Text(6));
  m.header_from = row.Text(7);
  m.subject = row.Text(8);
  m.message_id = row.Text(9);
  entry.size = static_cast<uint64_t>(row.Int(10));
  m.client_address = row.Text(11);
  m.policy_bank = row.Text(12);
  if (!row.IsNull(13)) m.score = row.Double(13);
  std::string state = row.Text(14);
  auto parsed_state = ParseEntryState(state);
  if (!parsed_state) {
    return core::Fail(ErrorCode::kCorrupt, "entry {}: unknown state '{}'", entry.id, state);
  }
  entry.state = *parsed_state;
  entry.damage = row.Text(15);
  return entry;
}

// '%text%' for LIKE ... ESCAPE '\', with the caller's %, _ and \ taken literally.
std::string ContainsPattern(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  return pattern;
}

core::Result<WhereClause> BuildWhere(const QuarantineQuery& query) {
  WhereClause where;
  std::vector<std::string> conditions;
  // IN lists are padded to a fixed width by repeating the first value, so each combination of
  // filters has one SQL text and one cached statement.
  if (!query.classes.empty()) {
    constexpr size_t kWidth = std::size(kAllContentClasses);
    conditions.push_back("class IN (?, ?, ?, ?, ?, ?, ?)");
    static_assert(kWidth == 7);
    for (size_t i = 0; i < kWidth; ++i) {
      ContentClass c = i < query.classes.size() ? query.classes[i] : query.classes[0];
      where.texts.emplace_back(ContentClassName(c));
    }
  }
  if (!query.states.empty()) {
    conditions.push_back("state IN (?, ?, ?)");
    for (size_t i = 0; i < 3; ++i) {
      EntryState s = i < query.states.size() ? query.states[i] : query.states[0];
      where.texts.emplace_back(EntryStateName(s));
    }
  }
  if (query.since) {
    conditions.push_back("id >= ?");
    where.texts.push_back(QuarantineIdLowerBound(*query.since));
  }
  if (query.until) {
    conditions.push_back("id < ?");
    where.texts.push_back(QuarantineIdLowerBound(*query.until));
  }
  struct TextFilter {
    const std::string& value;
    const char* column;
    const char* label;
  };
  for (const TextFilter& filter : {TextFilter{query.sender, "sender", "sender"},
                                   TextFilter{query.recipient, "recipients", "recipient"},
                                   TextFilter{query.subject, "subject", "subject"},
                                   TextFilter{query.from, "header_from", "from"}}) {
    if (filter.value.empty()) continue;
    if (filter.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return core::Fail(ErrorCode::kInvalid, "{} filter holds a line break or NUL", filter.label);
    }
    conditions.push_back(fmt::format("{} LIKE ? ESCAPE '\\'", filter.column));
    where.texts.push_back(ContainsPattern(filter.value));
    where.scans_table = true;
  }
  if (query.min_score) {
    conditions.push_back("score >= ?");
    where.scores.push_back(*query.min_score);
  }
  if (query.max_score) {
    conditions.push_back("score <= ?");
    where.scores.push_back(*query.max_score);
  }
  for (const std::string& condition : conditions) {
    where.sql += where.sql.empty() ? " WHERE " : " AND ";
    where.sql += condition;
  }
  return where;
}

core::Status BindWhere(core::SqliteStatement& statement, const WhereClause& where, int* next) {
  for (const std::string& text : where.texts) {
    if (auto s = statement.BindText((*next)++, text); !s) return s;
  }
  for (double score : where.scores) {
    if (auto s = statement.BindDouble((*next)++, score); !s) return s;
  }
  return {};
}

core::Status BindEntry(core::SqliteStatement& s, const QuarantineEntry& entry) {
  const EntryMetadata& m = entry.metadata;
  core::Status status;
  auto text = [&](int i, std::string_view v) {
    if (status) status = s.BindText(i, v);
  };
  text(1, entry.id);
  if (status) status = s.BindInt(2, ToUnixMicros(entry.time));
  text(3, ContentClassName(m.content_class));
  text(4, m.subclass);
  text(5, m.reason);
  text(6, m.envelope_sender);
  text(7, JoinLines(m.recipients));
  text(8, m.header_from);
  text(9, m.subject);
  text(10, m.message_id);
  if (status) status = s.BindInt(11, static_cast<int64_t>(entry.size));
  text(12, m.client_address);
  text(13, m.policy_bank);
  if (status) status = m.score ? s.BindDouble(14, *m.score) : s.BindNull(14);
  text(15, EntryStateName(entry.state));
  text(16, entry.damage);
  return status;
}

}  // namespace

core::Result<std::unique_ptr<SqliteIndex>> SqliteIndex::Open(const std::string& path,
                                                             SqliteIndexOptions options) {
  auto connection = core::SqliteConnection::Open(path, options.busy_timeout);
  if (!connection) return core::Fail(connection.error());
  if (auto migrated = ApplyMigrations(**connection, options.migrations); !migrated) {
    return core::Fail(migrated.error().WithContext(path));
  }
  return std::unique_ptr<SqliteIndex>(new SqliteIndex(std::move(*connection)));
}

core::Result<int> SqliteIndex::schema_version() {
  std::lock_guard lock(mutex_);
  return SchemaVersion(*connection_);
}

core::Status SqliteIndex::InsertLocked(const QuarantineEntry& entry) {
  if (!IsValidQuarantineId(entry.id)) {
    return core::Fail(ErrorCode::kInvalid, "not a quarantine ID: '{}'", entry.id);
  }
  auto statement = connection_->Prepare(fmt::format(
      "INSERT INTO entries ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      kEntryColumns));
  if (!statement) return core::Fail(statement.error());
  if (auto bound = BindEntry(**statement, entry); !bound) return bound;
  if (auto ran = (*statement)->Run(); !ran) {
    if (ran.error().code() == ErrorCode::kInvalid) {
      return core::Fail(ErrorCode::kInvalid, "quarantine ID {} exists already", entry.id);
    }
    return ran;
  }
  if (!entry.metadata.trace_json.empty()) {
    auto trace = connection_->Prepare("INSERT INTO traces (entry_id, json) VALUES (?, ?)");
    if (!trace) return core::Fail(trace.error());
    if (auto s = (*trace)->BindText(1, entry.id); !s) return s;
    if (auto s = (*trace)->BindText(2, entry.metadata.trace_json); !s) return s;
    if (auto s = (*trace)->Run(); !s) return s;
  }
  return {};
}

core::Status SqliteIndex::Insert(const QuarantineEntry& entry) {
  return InsertMany(std::span<const QuarantineEntry>(&entry, 1));
}

core::Status SqliteIndex::InsertMany(std::span<const QuarantineEntry> entries) {
  std::lock_guard lock(mutex_);
  auto transaction = core::SqliteTransaction::Begin(*connection_);
  if (!transaction) return core::Fail(transaction.error());
  for (const QuarantineEntry& entry : entries) {
    if (auto inserted = InsertLocked(entry); !inserted) return inserted;
  }
  return transaction->Commit();
}

core::Result<QuarantineEntry> SqliteIndex::Get(std::string_view id) {
  std::lock_guard lock(mutex_);
  // One read transaction: the row, its trace and its history from the same snapshot.
  if (auto begun = connection_->Execute("BEGIN"); !begun) return core::Fail(begun.error());
  struct EndRead {
    core::SqliteConnection& c;
    ~EndRead() { (void)c.Execute("COMMIT"); }
  } end_read{*connection_};

  auto statement =
      connection_->Prepare(fmt::format("SELECT {} FROM entries WHERE id = ?", kEntryColumns));
  if (!statement) return core::Fail(statement.error());
  if (auto s = (*statement)->BindText(1, id); !s) return core::Fail(s.error());
  auto row = (*statement)->Step();
  if (!row) return core::Fail(row.error());
  if (!*row) return core::Fail(ErrorCode::kNotFound, "no quarantine entry {}", ToValidUtf8(id));
  auto entry = ParseEntryRow(**statement);
  (*statement)->Reset();
  if (!entry) return entry;

  auto trace = connection_->Prepare("SELECT json FROM traces WHERE entry_id = ?");
  if (!trace) return core::Fail(trace.error());
  if (auto s = (*trace)->BindText(1, id); !s) return core::Fail(s.error());
  auto trace_row = (*trace)->Step();
  if (!trace_row) return core::Fail(trace_row.error());
  if (*trace_row) entry->metadata.trace_json = (*trace)->Text(0);
  (*trace)->Reset();

  auto events = connection_->Prepare(
      "SELECT time_us, kind, actor, recipients, detail FROM events WHERE entry_id = ? "
      "ORDER BY event_id");
  if (!events) return core::Fail(events.error());
  if (auto s = (*events)->BindText(1, id); !s) return core::Fail(s.error());
  for (;;) {
    auto event_row = (*events)->Step();
    if (!event_row) return core::Fail(event_row.error());
    if (!*event_row) break;
    EntryEvent event;
    event.time = FromUnixMicros((*events)->Int(0));
    auto kind = ParseEventKind((*events)->Text(1));
    if (!kind) {
      (*events)->Reset();
      return core::Fail(ErrorCode::kCorrupt, "entry {}: unknown event kind", entry->id);
    }
    event.kind = *kind;
    event.actor = (*events)->Text(2);
    event.recipients = SplitLines((*events)->Text(3));
    event.detail = (*events)->Text(4);
    entry->history.push_back(std::move(event));
  }
  (*events)->Reset();
  return entry;
}

core::Result<QueryPage> SqliteIndex::Query(const QuarantineQuery& query) {
  if (query.limit > kMaxQueryLimit) {
    return core::Fail(ErrorCode::kInvalid, "list limit {} is over the maximum of {}", query.limit,
                      kMaxQueryLimit);
  }
  auto where = BuildWhere(query);
  if (!where) return core::Fail(where.error());
  const char* direction = query.descending ? "DESC" : "ASC";
  std::string order = query.sort == SortField::kScore ? fmt::format("score {0}, id {0}", direction)
                                                      : fmt::format("id {}", direction);

  std::lock_guard lock(mutex_);
  // The page and the total from one snapshot, so they agree while the filter inserts.
  if (auto begun = connection_->Execute("BEGIN"); !begun) return core::Fail(begun.error());
  struct EndRead {
    core::SqliteConnection& c;
    ~EndRead() { (void)c.Execute("COMMIT"); }
  } end_read{*connection_};
  return where->scans_table ? QueryInOneScan(query, *where, order)
                            : QueryPageThenCount(query, *where, order);
}

// Filters an index can answer: the page walks the primary key (or the score index), the count
// reads a covering index.
core::Result<QueryPage> SqliteIndex::QueryPageThenCount(const QuarantineQuery& query,
                                                        const WhereClause& where,
                                                        const std::string& order) {
  QueryPage page;
  auto rows = connection_->Prepare(fmt::format(
      "SELECT {} FROM entries{} ORDER BY {} LIMIT ? OFFSET ?", kEntryColumns, where.sql, order));
  if (!rows) return core::Fail(rows.error());
  int next = 1;
  core::Status bound = BindWhere(**rows, where, &next);
  if (bound) bound = (*rows)->BindInt(next++, static_cast<int64_t>(query.limit));
  if (bound) bound = (*rows)->BindInt(next++, static_cast<int64_t>(query.offset));
  if (!bound) return core::Fail(bound.error());
  for (;;) {
    auto row = (*rows)->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    auto entry = ParseEntryRow(**rows);
    if (!entry) {
      (*rows)->Reset();
      return core::Fail(entry.error());
    }
    page.entries.push_back(std::move(*entry));
  }
  (*rows)->Reset();

  auto counter = connection_->Prepare(fmt::format("SELECT count(*) FROM entries{}", where.sql));
  if (!counter) return core::Fail(counter.error());
  next = 1;
  if (auto s = BindWhere(**counter, where, &next); !s) return core::Fail(s.error());
  auto counted = (*counter)->Step();
  if (!counted) return core::Fail(counted.error());
  page.total = *counted ? static_cast<uint64_t>((*counter)->Int(0)) : 0;
  (*counter)->Reset();
  return page;
}

// Substring filters must read every row; doing it once (IDs of all matches, in order, counted as
// they come) instead of once for the page and again for the count halves the time. The page's
// rows are then fetched by ID.
core::Result<QueryPage> SqliteIndex::QueryInOneScan(const QuarantineQuery& query,
                                                    const WhereClause& where,
                                                    const std::string& order) {
  QueryPage page;
  std::vector<std::string> ids;
  auto scan =
      connection_->Prepare(fmt::format("SELECT id FROM entries{} ORDER BY {}", where.sql, order));
  if (!scan) return core::Fail(scan.error());
  int next = 1;
  if (auto s = BindWhere(**scan, where, &next); !s) return core::Fail(s.error());
  for (;;) {
    auto row = (*scan)->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    if (page.total >= query.offset && ids.size() < query.limit) ids.push_back((*scan)->Text(0));
    ++page.total;
  }
  (*scan)->Reset();

  auto fetch =
      connection_->Prepare(fmt::format("SELECT {} FROM entries WHERE id = ?", kEntryColumns));
  if (!fetch) return core::Fail(fetch.error());
  for (const std::string& id : ids) {
    (*fetch)->Reset();
    if (auto s = (*fetch)->BindText(1, id); !s) return core::Fail(s.error());
    auto row = (*fetch)->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) continue;  // cannot happen inside the read transaction
    auto entry = ParseEntryRow(**fetch);
    if (!entry) {
      (*fetch)->Reset();
      return core::Fail(entry.error());
    }
    page.entries.push_back(std::move(*entry));
  }
  (*fetch)->Reset();
  return page;
}

core::Result<std::vector<ClassCount>> SqliteIndex::CountByClass(TimePoint since, TimePoint until,
                                                                Clock::duration bucket) {
  int64_t bucket_us = std::chrono::duration_cast<std::chrono::microseconds>(bucket).count();
  if (bucket_us <= 0 || since >= until) {
    return core::Fail(ErrorCode::kInvalid, "count by class: empty interval or bucket");
  }
  std::lock_guard lock(mutex_);
  // The ID range walks the primary key: a day or a week is a slice of the table, not all of it.
  auto statement = connection_->Prepare(
      "SELECT (time_us - ?1) / ?2 AS bucket, class, count(*) FROM entries "
      "WHERE id >= ?3 AND id < ?4 GROUP BY bucket, class ORDER BY bucket, class");
  if (!statement) return core::Fail(statement.error());
  core::SqliteStatement& s = **statement;
  core::Status bound = s.BindInt(1, ToUnixMicros(since));
  if (bound) bound = s.BindInt(2, bucket_us);
  if (bound) bound = s.BindText(3, QuarantineIdLowerBound(since));
  if (bound) bound = s.BindText(4, QuarantineIdLowerBound(until));
  if (!bound) return core::Fail(bound.error());
  std::vector<ClassCount> counts;
  for (;;) {
    auto row = s.Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    auto content_class = ParseContentClass(s.Text(1));
    if (!content_class) continue;  // a class from a newer Moat: not this chart's business
    counts.push_back({since + std::chrono::microseconds(s.Int(0) * bucket_us), *content_class,
                      static_cast<uint64_t>(s.Int(2))});
  }
  s.Reset();
  return counts;
}

core::Status SqliteIndex::RecordEvent(std::string_view id, const EntryEvent& event) {
  std::lock_guard lock(mutex_);
  auto transaction = core::SqliteTransaction::Begin(*connection_);
  if (!transaction) return core::Fail(transaction.error());
  auto update = connection_->Prepare(
      event.kind == EntryEvent::Kind::kDelete
          ? "UPDATE entries SET state = 'deleted' WHERE id = ?"
          : "UPDATE entries SET state = CASE state WHEN 'held' THEN 'released' ELSE state END "
            "WHERE id = ?");
  if (!update) return core::Fail(update.error());
  if (auto s = (*update)->BindText(1, id); !s) return s;
  if (auto s = (*update)->Run(); !s) return s;
  if (connection_->Changes() == 0) {
    return core::Fail(ErrorCode::kNotFound, "no quarantine entry {}", ToValidUtf8(id));
  }
  auto insert = connection_->Prepare(
      "INSERT INTO events (entry_id, time_us, kind, actor, recipients, detail) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!insert) return core::Fail(insert.error());
  core::SqliteStatement& s = **insert;
  core::Status bound = s.BindText(1, id);
  if (bound) bound = s.BindInt(2, ToUnixMicros(event.time));
  if (bound) bound = s.BindText(3, EventKindName(event.kind));
  if (bound) bound = s.BindText(4, event.actor);
  if (bound) bound = s.BindText(5, JoinLines(event.recipients));
  if (bound) bound = s.BindText(6, event.detail);
  if (!bound) return bound;
  if (auto ran = s.Run(); !ran) return ran;
  return transaction->Commit();
}

core::Status SqliteIndex::SetDamage(std::string_view id, std::string_view damage) {
  std::lock_guard lock(mutex_);
  auto update = connection_->Prepare("UPDATE entries SET damage = ? WHERE id = ?");
  if (!update) return core::Fail(update.error());
  if (auto s = (*update)->BindText(1, damage); !s) return s;
  if (auto s = (*update)->BindText(2, id); !s) return s;
  if (auto s = (*update)->Run(); !s) return s;
  if (connection_->Changes() == 0) {
    return core::Fail(ErrorCode::kNotFound, "no quarantine entry {}", ToValidUtf8(id));
  }
  return {};
}

core::Result<std::vector<std::string>> SqliteIndex::ExpiryCandidates(TimePoint cutoff, size_t limit,
                                                                     std::string_view after_id) {
  std::lock_guard lock(mutex_);
  auto statement =
      connection_->Prepare("SELECT id FROM entries WHERE id < ? AND id > ? ORDER BY id LIMIT ?");
  if (!statement) return core::Fail(statement.error());
  if (auto s = (*statement)->BindText(1, QuarantineIdLowerBound(cutoff)); !s) {
    return core::Fail(s.error());
  }
  if (auto s = (*statement)->BindText(2, after_id); !s) return core::Fail(s.error());
  if (auto s = (*statement)->BindInt(3, static_cast<int64_t>(limit)); !s) {
    return core::Fail(s.error());
  }
  std::vector<std::string> ids;
  for (;;) {
    auto row = (*statement)->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    ids.push_back((*statement)->Text(0));
  }
  (*statement)->Reset();
  return ids;
}

core::Status SqliteIndex::Erase(std::span<const std::string> ids) {
  std::lock_guard lock(mutex_);
  auto transaction = core::SqliteTransaction::Begin(*connection_);
  if (!transaction) return core::Fail(transaction.error());
  // Traces and events go with their entry (ON DELETE CASCADE).
  auto erase = connection_->Prepare("DELETE FROM entries WHERE id = ?");
  if (!erase) return core::Fail(erase.error());
  for (const std::string& id : ids) {
    (*erase)->Reset();
    if (auto s = (*erase)->BindText(1, id); !s) return s;
    if (auto s = (*erase)->Run(); !s) return s;
  }
  (*erase)->Reset();
  return transaction->Commit();
}

core::Result<std::vector<IndexedId>> SqliteIndex::AllIds() {
  std::lock_guard lock(mutex_);
  auto statement = connection_->Prepare("SELECT id, state, damage != '' FROM entries ORDER BY id");
  if (!statement) return core::Fail(statement.error());
  std::vector<IndexedId> ids;
  for (;;) {
    auto row = (*statement)->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    IndexedId item;
    item.id = (*statement)->Text(0);
    item.state = ParseEntryState((*statement)->Text(1)).value_or(EntryState::kHeld);
    item.damaged = (*statement)->Int(2) != 0;
    ids.push_back(std::move(item));
  }
  (*statement)->Reset();
  return ids;
}

}  // namespace moat::quarantine
