// queue_recovery.cc - what moat-mta does to its queue at start-up, before the queue manager
// runs (the rules are in queue_store.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mta/queue_store.h"

namespace moat::mta {
namespace {

bool IsTemporaryName(std::string_view name) { return name.starts_with(".tmp."); }

}  // namespace

core::Result<QueueRecoveryReport> QueueStore::Recover() {
  QueueRecoveryReport report;
  auto note_corrupt = [&](QueueName queue, const std::string& id,
                          const std::string& reason) -> core::Status {
    if (auto s = MoveToCorrupt(queue, id, reason); !s) return s;
    report.corrupt.push_back(fmt::format("{}/{}: {}", QueueNameText(queue), id, reason));
    return {};
  };

  for (QueueName queue : kAllQueues) {
    if (queue == QueueName::kCorrupt) continue;
    std::string dir = QueuePath(queue);
    auto names = fs_->List(dir);
    if (!names) return std::unexpected(names.error());
    for (const std::string& name : *names) {
      if (IsTemporaryName(name)) {
        if (auto s = fs_->Remove(dir + "/" + name); !s) return std::unexpected(s.error());
        ++report.temporary_removed;
        continue;
      }
      if (!IsValidQueueId(name)) continue;
      if (queue != QueueName::kIncoming && queue != QueueName::kActive) continue;
      std::string path = dir + "/" + name;
      auto fd = fs_->Open(path, false);
      if (!fd) return std::unexpected(fd.error());
      bool incomplete = false;
      auto message = ReadFromDescriptor(*fd, path, name, queue, false, &incomplete);
      (void)fs_->Close(*fd, path);
      if (!message) {
        if (message.error().code() != core::ErrorCode::kCorrupt) {
          return std::unexpected(message.error());
        }
        if (queue == QueueName::kIncoming && incomplete) {
          spdlog::warn("{}: removing incomplete queue file (never acknowledged): {}", name,
                       message.error().message());
          if (auto s = fs_->Remove(path); !s) return std::unexpected(s.error());
          ++report.incomplete_removed;
        } else if (auto s = note_corrupt(queue, name, message.error().message()); !s) {
          return std::unexpected(s.error());
        }
        continue;
      }
      if (queue == QueueName::kActive) {
        bool tried = message->envelope.schedule.attempts > 0;
        QueueName to = tried ? QueueName::kDeferred : QueueName::kIncoming;
        if (auto s = Move(name, queue, to); !s) return std::unexpected(s.error());
        ++(tried ? report.active_to_deferred : report.active_to_incoming);
      }
    }
    if (auto s = fs_->SyncDirectory(dir); !s) return std::unexpected(s.error());
  }

  // Spares are never trusted after a crash (see "Reuse" in queue_store.h).
  spares_.Clear();
  if (auto names = fs_->List(SparePath("")); names) {
    for (const std::string& name : *names) {
      if (auto s = fs_->Remove(SparePath(name)); !s) return std::unexpected(s.error());
    }
  } else if (names.error().code() != core::ErrorCode::kNotFound) {
    return std::unexpected(names.error());
  }

  for (RecipientLogKind kind :
       {RecipientLogKind::kDefer, RecipientLogKind::kBounce, RecipientLogKind::kTrace}) {
    std::string dir = directory_ + "/" + std::string(RecipientLogDirectory(kind));
    auto names = fs_->List(dir);
    if (!names) return std::unexpected(names.error());
    for (const std::string& name : *names) {
      if (!IsValidQueueId(name)) continue;
      auto where = Locate(name);
      if (!where) return std::unexpected(where.error());
      if (where->has_value()) continue;
      if (auto s = fs_->Remove(dir + "/" + name); !s) return std::unexpected(s.error());
      ++report.orphan_logs_removed;
    }
  }
  return report;
}

}  // namespace moat::mta
