// store_recovery.cc - QuarantineStore recovery: bring files and index back in step after a crash.
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "core/durable_file.h"
#include "quarantine/message_file.h"
#include "quarantine/quarantine_store.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

constexpr std::string_view kHexDigits = "0123456789abcdef";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

core::Result<RecoveryReport> QuarantineStore::Recover() {
  auto lock = StoreLock::Open(LockPath());
  if (!lock) return core::Fail(lock.error());
  auto exclusive = lock->TryLockExclusive();
  if (!exclusive) return core::Fail(exclusive.error());
  if (!*exclusive) return RecoveryReport{};
  return RecoverLocked();
}

core::Result<RecoveryReport> QuarantineStore::RecoverLocked() {
  StoreFileSystem& fs = *options_.file_system;
  RecoveryReport report;
  report.ran = true;

  std::map<std::string, std::string> files;  // ID -> path
  std::set<std::string> touched;             // directories to fsync
  for (char x : kHexDigits) {
    for (char y : kHexDigits) {
      std::string directory = fmt::format("{}/messages/{}/{}", options_.directory, x, y);
      auto names = fs.List(directory);
      if (!names) {
        if (names.error().code() == ErrorCode::kNotFound) continue;
        return core::Fail(names.error());
      }
      for (const std::string& name : *names) {
        std::string path = directory + "/" + name;
        if (name.starts_with('.') && EndsWith(name, kTemporarySuffix)) {
          // Never acknowledged: the writer died before its rename.
          if (auto removed = fs.Remove(path); removed) {
            ++report.temporary_files_removed;
            touched.insert(directory);
          }
          continue;
        }
        std::string_view id(name);
        if (EndsWith(id, kMessageFileSuffix)) id.remove_suffix(kMessageFileSuffix.size());
        if (!EndsWith(name, kMessageFileSuffix) || !IsValidQuarantineId(id) ||
            MessageFileRelativePath(id) != path.substr(options_.directory.size() + 1)) {
          report.foreign.push_back(path);
          continue;
        }
        files.emplace(std::string(id), path);
      }
    }
  }

  auto rows = index_->AllIds();
  if (!rows) return core::Fail(rows.error());
  std::vector<QuarantineEntry> orphans;
  std::set<std::string> indexed;
  for (const IndexedId& row : *rows) {
    indexed.insert(row.id);
    auto file = files.find(row.id);
    if (row.state == EntryState::kDeleted) {
      if (file != files.end()) {
        // The delete was recorded, the crash came before the unlink.
        if (auto removed = fs.Remove(file->second); removed) {
          ++report.deleted_files_removed;
          touched.insert(core::DirectoryOf(file->second));
        }
      }
      continue;
    }
    if (file == files.end() && !row.damaged) {
      if (auto marked = index_->SetDamage(row.id, "message file missing"); !marked) {
        return core::Fail(marked.error());
      }
      ++report.missing_files_marked;
    }
  }
  for (const auto& [id, path] : files) {
    if (indexed.contains(id)) continue;
    auto bytes = fs.ReadFile(path, MaxMessageFileBytes(options_.max_message_bytes));
    if (!bytes) {
      report.unreadable.push_back(path);
      continue;
    }
    auto decoded = DecodeMessageFile(*bytes, options_.max_message_bytes);
    if (!decoded || decoded->entry.id != id) {
      spdlog::warn("quarantine recovery: cannot re-index {}: {}", path,
                   decoded ? "ID does not match the file name" : decoded.error().ToString());
      report.unreadable.push_back(path);
      continue;
    }
    orphans.push_back(std::move(decoded->entry));
    if (orphans.size() >= 500) {
      if (auto inserted = index_->InsertMany(orphans); !inserted) {
        return core::Fail(inserted.error());
      }
      report.orphans_reindexed += orphans.size();
      orphans.clear();
    }
  }
  if (!orphans.empty()) {
    if (auto inserted = index_->InsertMany(orphans); !inserted) return core::Fail(inserted.error());
    report.orphans_reindexed += orphans.size();
  }
  for (const std::string& directory : touched) {
    if (auto synced = fs.SyncDirectory(directory); !synced) return core::Fail(synced.error());
  }
  if (report.orphans_reindexed + report.temporary_files_removed + report.deleted_files_removed +
          report.missing_files_marked + report.unreadable.size() >
      0) {
    spdlog::info(
        "quarantine recovery in {}: {} re-indexed, {} unfinished files removed, {} deleted "
        "files removed, {} missing files, {} unreadable",
        options_.directory, report.orphans_reindexed, report.temporary_files_removed,
        report.deleted_files_removed, report.missing_files_marked, report.unreadable.size());
  }
  return report;
}

}  // namespace moat::quarantine
