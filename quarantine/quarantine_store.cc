// quarantine_store.cc - opening the quarantine, storing, reading, listing, deleting, expiring.
// Release is in store_release.cc, recovery in store_recovery.cc.
#include "quarantine/quarantine_store.h"

#include <spdlog/spdlog.h>

#include <set>

#include "core/durable_file.h"
#include "quarantine/message_file.h"
#include "quarantine/message_headers.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

constexpr mode_t kDirectoryMode = 0750;
constexpr mode_t kFileMode = 0640;
constexpr std::string_view kHexDigits = "0123456789abcdef";

// Every failure to hold a message must make the filter answer 4xx, so Store() reports only
// temporary codes, whatever the cause.
core::Error AsTemporary(core::Error error) {
  if (error.temporary()) return error;
  return core::Error(ErrorCode::kTempFail, error.message());
}

void SanitizeText(EntryMetadata& m) {
  for (std::string* text :
       {&m.subclass, &m.reason, &m.trace_json, &m.envelope_sender, &m.header_from, &m.subject,
        &m.message_id, &m.client_address, &m.policy_bank}) {
    *text = ToValidUtf8(*text);
  }
  for (std::string& rcpt : m.recipients) rcpt = ToValidUtf8(rcpt);
}

}  // namespace

QuarantineStore::QuarantineStore(StoreOptions options, std::unique_ptr<QuarantineIndex> index,
                                 std::optional<StoreLock> writer_lock)
    : options_(std::move(options)),
      index_(std::move(index)),
      writer_lock_(std::move(writer_lock)) {}

QuarantineStore::~QuarantineStore() = default;

std::string QuarantineStore::MessagePath(std::string_view id) const {
  return options_.directory + "/" + MessageFileRelativePath(id);
}

std::string QuarantineStore::LockPath() const { return options_.directory + "/lock"; }

core::Result<std::unique_ptr<QuarantineStore>> QuarantineStore::Open(
    StoreOptions options, std::unique_ptr<QuarantineIndex> index) {
  if (options.directory.empty()) {
    return core::Fail(ErrorCode::kInvalid, "no quarantine directory configured");
  }
  while (options.directory.size() > 1 && options.directory.back() == '/') {
    options.directory.pop_back();
  }
  if (!options.file_system) options.file_system = std::make_shared<PosixStoreFileSystem>();
  if (!options.clock) options.clock = [] { return Clock::now(); };
  bool writer = options.role == StoreRole::kWriter;
  if (writer) {
    if (auto made = core::EnsureDirectory(options.directory, kDirectoryMode); !made) {
      return core::Fail(made.error());
    }
    // The directory's own name must be durable before anything in it is acknowledged.
    if (auto synced = options.file_system->SyncDirectory(core::DirectoryOf(options.directory));
        !synced) {
      return core::Fail(synced.error());
    }
  } else if (auto exists = options.file_system->List(options.directory); !exists) {
    return core::Fail(exists.error().WithContext("quarantine directory"));
  }
  if (!index) {
    auto sqlite = SqliteIndex::Open(options.directory + "/index.sqlite", options.index_options);
    if (!sqlite) return core::Fail(sqlite.error());
    index = std::move(*sqlite);
  }
  auto lock = StoreLock::Open(options.directory + "/lock");
  if (!lock) return core::Fail(lock.error());

  bool recover = options.recover_at_open;
  std::unique_ptr<QuarantineStore> store(
      new QuarantineStore(std::move(options), std::move(index), std::nullopt));
  if (writer) {
    if (auto made = store->CreateMessageDirectories(); !made) return core::Fail(made.error());
  }
  if (recover) {
    auto exclusive = lock->TryLockExclusive();
    if (!exclusive) return core::Fail(exclusive.error());
    if (*exclusive) {
      auto report = store->RecoverLocked();
      if (report) {
        store->recovery_at_open_ = std::move(*report);
      } else if (writer) {
        // A writer that cannot repair the store should not start holding mail in it.
        return core::Fail(report.error().WithContext("quarantine recovery"));
      } else {
        // A reviewer (perhaps without write access) can still list and show.
        spdlog::warn("quarantine recovery in {} failed: {}", store->directory(),
                     report.error().ToString());
      }
    }
  }
  if (writer) {
    // Converting exclusive to shared is not atomic; another process may recover in between,
    // which is harmless: this one has written nothing yet.
    if (auto shared = lock->LockShared(); !shared) return core::Fail(shared.error());
    store->writer_lock_ = std::move(*lock);
  }
  return store;
}

core::Status QuarantineStore::CreateMessageDirectories() {
  StoreFileSystem& fs = *options_.file_system;
  std::string root = options_.directory + "/messages";
  // Created once, up front, so Store() never has to make (and fsync) a directory.
  if (auto made = fs.MakeDirectory(root, kDirectoryMode); !made) return made;
  for (char x : kHexDigits) {
    std::string first = fmt::format("{}/{}", root, x);
    if (auto made = fs.MakeDirectory(first, kDirectoryMode); !made) return made;
    for (char y : kHexDigits) {
      if (auto made = fs.MakeDirectory(fmt::format("{}/{}", first, y), kDirectoryMode); !made) {
        return made;
      }
    }
    if (auto synced = fs.SyncDirectory(first); !synced) return synced;
  }
  if (auto synced = fs.SyncDirectory(root); !synced) return synced;
  return fs.SyncDirectory(options_.directory);
}

core::Status QuarantineStore::WriteMessageFile(const std::string& id, const std::string& bytes) {
  StoreFileSystem& fs = *options_.file_system;
  std::string directory = options_.directory + "/" + MessageDirectoryRelativePath(id);
  std::string final_path = MessagePath(id);
  std::string temporary = fmt::format("{}/.{}{}", directory, id, kTemporarySuffix);

  auto fd = fs.CreateNew(temporary, kFileMode);
  if (!fd) return core::Fail(fd.error());
  auto abandon = [&](core::Error error, bool close) {
    if (close) (void)fs.Close(*fd, temporary);
    (void)fs.Remove(temporary);
    return core::Fail(std::move(error));
  };
  if (auto written = fs.Write(*fd, bytes, temporary); !written) {
    return abandon(written.error(), true);
  }
  if (auto synced = fs.Sync(*fd, temporary); !synced) return abandon(synced.error(), true);
  if (auto closed = fs.Close(*fd, temporary); !closed) return abandon(closed.error(), false);
  if (auto renamed = fs.Rename(temporary, final_path); !renamed) {
    return abandon(renamed.error(), false);
  }
  if (auto synced = fs.SyncDirectory(directory); !synced) {
    // The name may or may not be on disk; take it back so no entry without a row can appear.
    (void)fs.Remove(final_path);
    (void)fs.SyncDirectory(directory);
    return core::Fail(synced.error());
  }
  return {};
}

core::Result<std::string> QuarantineStore::Store(std::string_view message, EntryMetadata metadata) {
  if (options_.role != StoreRole::kWriter) {
    return core::Fail(ErrorCode::kTempFail, "quarantine opened for review cannot store messages");
  }
  if (message.size() > options_.max_message_bytes) {
    return core::Fail(ErrorCode::kTempFail,
                      "message of {} bytes is over the quarantine limit of {}", message.size(),
                      options_.max_message_bytes);
  }
  if (auto valid = ValidateMetadata(metadata); !valid)
    return core::Fail(AsTemporary(valid.error()));
  SanitizeText(metadata);
  struct HeaderField {
    std::string* value;
    std::string_view name;
  };
  for (HeaderField field :
       {HeaderField{&metadata.header_from, "From"}, HeaderField{&metadata.subject, "Subject"},
        HeaderField{&metadata.message_id, "Message-ID"}}) {
    if (field.value->empty()) {
      *field.value = ToValidUtf8(FirstHeaderValue(message, field.name).value_or(""));
    }
  }

  QuarantineEntry entry;
  entry.time = TruncateToMicroseconds(options_.clock());
  entry.id = NewQuarantineId(entry.time);
  entry.size = message.size();
  entry.metadata = std::move(metadata);

  auto file = EncodeMessageFile(entry, message, options_.compression_level);
  if (!file) return core::Fail(AsTemporary(file.error()));
  if (auto written = WriteMessageFile(entry.id, *file); !written) {
    return core::Fail(AsTemporary(written.error().WithContext("quarantine " + entry.id)));
  }
  if (auto inserted = index_->Insert(entry); !inserted) {
    std::string path = MessagePath(entry.id);
    if (auto removed = options_.file_system->Remove(path); !removed) {
      // Left behind, it is a complete orphan: the next recovery indexes it (the sender retries
      // meanwhile, so the message is held twice at worst, never lost).
      spdlog::error("quarantine {}: cannot remove file after failed index insert: {}", entry.id,
                    removed.error().ToString());
    } else {
      (void)options_.file_system->SyncDirectory(core::DirectoryOf(path));
    }
    return core::Fail(AsTemporary(inserted.error().WithContext("quarantine index " + entry.id)));
  }
  return entry.id;
}

core::Result<QuarantineEntry> QuarantineStore::GetEntry(std::string_view id) {
  if (!IsValidQuarantineId(id)) {
    return core::Fail(ErrorCode::kInvalid, "not a quarantine ID: '{}'", ToValidUtf8(id));
  }
  return index_->Get(id);
}

core::Result<std::string> QuarantineStore::ReadVerified(const QuarantineEntry& entry) {
  if (entry.state == EntryState::kDeleted) {
    return core::Fail(ErrorCode::kNotFound, "quarantine entry {} was deleted", entry.id);
  }
  std::string path = MessagePath(entry.id);
  auto file = options_.file_system->ReadFile(path, MaxMessageFileBytes(options_.max_message_bytes));
  std::string damage;
  if (!file) {
    damage = file.error().code() == ErrorCode::kNotFound ? "message file missing"
                                                         : file.error().message();
    if (file.error().code() != ErrorCode::kNotFound && file.error().temporary()) {
      return core::Fail(file.error());  // an I/O error is not damage: it may pass
    }
  } else {
    auto decoded = DecodeMessageFile(*file, options_.max_message_bytes);
    if (!decoded) {
      if (decoded.error().code() != ErrorCode::kCorrupt) return core::Fail(decoded.error());
      damage = decoded.error().message();
    } else if (decoded->entry.id != entry.id) {
      damage = fmt::format("file holds entry {}", decoded->entry.id);
    } else {
      if (!entry.damage.empty()) (void)index_->SetDamage(entry.id, "");  // restored by hand
      return std::move(decoded->message);
    }
  }
  if (auto marked = index_->SetDamage(entry.id, damage); !marked) {
    spdlog::warn("quarantine {}: cannot mark as damaged: {}", entry.id, marked.error().ToString());
  }
  return core::Fail(ErrorCode::kCorrupt, "quarantine entry {} is damaged: {} ({})", entry.id,
                    damage, path);
}

core::Result<std::string> QuarantineStore::ReadMessage(std::string_view id) {
  auto entry = GetEntry(id);
  if (!entry) return core::Fail(entry.error());
  return ReadVerified(*entry);
}

core::Result<QueryPage> QuarantineStore::List(const QuarantineQuery& query) {
  auto page = index_->Query(query);
  if (!page) return page;
  for (QuarantineEntry& entry : page->entries) {
    if (entry.state == EntryState::kDeleted || !entry.damage.empty()) continue;
    auto size = options_.file_system->FileSize(MessagePath(entry.id));
    if (!size && size.error().code() == ErrorCode::kNotFound) entry.damage = "message file missing";
  }
  return page;
}

core::Status QuarantineStore::Delete(std::string_view id, std::string_view actor) {
  auto entry = GetEntry(id);
  if (!entry) return core::Fail(entry.error());
  if (entry->state == EntryState::kDeleted) {
    return core::Fail(ErrorCode::kNotFound, "quarantine entry {} was deleted already", entry->id);
  }
  // Held while the file goes, so a recovery cannot run in between (quarantine_store.h).
  auto lock = StoreLock::Open(LockPath());
  if (!lock) return core::Fail(lock.error());
  if (auto shared = lock->LockShared(); !shared) return shared;

  EntryEvent event;
  event.kind = EntryEvent::Kind::kDelete;
  event.time = options_.clock();
  event.actor = SanitizeActor(actor);
  // The row first: a crash after it leaves a file the index calls deleted, which recovery removes;
  // the other order could leave a row whose file is gone.
  if (auto recorded = index_->RecordEvent(entry->id, event); !recorded) return recorded;
  std::string path = MessagePath(entry->id);
  auto removed = options_.file_system->Remove(path);
  if (!removed && removed.error().code() != ErrorCode::kNotFound) {
    return core::Fail(removed.error().WithContext(fmt::format(
        "entry {} is deleted in the index, but its file stays until recovery", entry->id)));
  }
  return options_.file_system->SyncDirectory(core::DirectoryOf(path));
}

core::Result<ExpireReport> QuarantineStore::ExpireOlderThan(Clock::duration older_than,
                                                            TimePoint now) {
  auto lock = StoreLock::Open(LockPath());
  if (!lock) return core::Fail(lock.error());
  if (auto shared = lock->LockShared(); !shared) return core::Fail(shared.error());

  TimePoint cutoff = now - older_than;
  ExpireReport report;
  std::string after;
  constexpr size_t kBatch = 500;
  for (;;) {
    auto ids = index_->ExpiryCandidates(cutoff, kBatch, after);
    if (!ids) return core::Fail(ids.error());
    if (ids->empty()) break;
    after = ids->back();
    std::vector<std::string> erasable;
    std::set<std::string> directories;
    // Files first, rows after: a crash in between leaves rows without files (expired again next
    // time), never files without rows (which recovery would bring back).
    for (const std::string& id : *ids) {
      std::string path = MessagePath(id);
      auto size = options_.file_system->FileSize(path);
      auto removed = options_.file_system->Remove(path);
      if (removed) {
        ++report.files_removed;
        if (size) report.bytes_freed += *size;
        directories.insert(core::DirectoryOf(path));
      } else if (removed.error().code() != ErrorCode::kNotFound) {
        ++report.failures;
        spdlog::warn("quarantine expiry: {}", removed.error().ToString());
        continue;
      }
      erasable.push_back(id);
    }
    for (const std::string& directory : directories) {
      if (auto synced = options_.file_system->SyncDirectory(directory); !synced) {
        return core::Fail(synced.error());
      }
    }
    if (auto erased = index_->Erase(erasable); !erased) return core::Fail(erased.error());
    report.entries_removed += erasable.size();
  }
  return report;
}

}  // namespace moat::quarantine
