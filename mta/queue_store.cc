// queue_store.cc - commit, read, list, move and delete queue files (the contract is in the
// header; start-up recovery is in queue_recovery.cc, the open-file handle in queue_file.cc).
#include "mta/queue_store.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace moat::mta {
namespace {

using core::ErrorCode;

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirectoryMode = 0700;
// Files up to this size are read with one call; larger ones envelope and tail separately.
constexpr uint64_t kReadWholeBelow = 64 * 1024;

core::Status CheckId(std::string_view id) {
  if (!IsValidQueueId(id)) return core::Fail(ErrorCode::kInvalid, "bad queue ID \"{}\"", id);
  return {};
}

size_t QueueIndex(QueueName queue) { return static_cast<size_t>(queue); }

// Closes a descriptor on every path out of a function.
class FdCloser {
 public:
  FdCloser(QueueFileSystem& fs, int fd, const std::string& path) : fs_(fs), fd_(fd), path_(path) {}
  ~FdCloser() {
    if (fd_ >= 0) (void)fs_.Close(fd_, path_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports the error (a failed close after writing can mean lost data).
  core::Status CloseNow() {
    int fd = fd_;
    fd_ = -1;
    return fs_.Close(fd, path_);
  }

 private:
  QueueFileSystem& fs_;
  int fd_;
  const std::string& path_;
};

}  // namespace

QueueStore::QueueStore(QueueStoreOptions options)
    : directory_(std::move(options.directory)),
      fs_(options.file_system ? std::move(options.file_system)
                              : std::make_shared<PosixQueueFileSystem>()),
      clock_(options.clock ? std::move(options.clock)
                           : [] { return std::chrono::system_clock::now(); }),
      max_file_bytes_(options.max_file_bytes),
      spares_(options.spare_files) {
  while (directory_.size() > 1 && directory_.ends_with('/')) directory_.pop_back();
  for (QueueName queue : kAllQueues) {
    std::string path = QueuePath(queue);
    sync_groups_[QueueIndex(queue)] = std::make_unique<DirectorySyncGroup>(
        [fs = fs_, path] { return fs->SyncDirectory(path); });
  }
}

core::Result<std::shared_ptr<QueueStore>> QueueStore::Open(QueueStoreOptions options) {
  if (options.directory.empty()) {
    return core::Fail(ErrorCode::kInvalid, "queue_directory is empty");
  }
  bool create = options.create_directories;
  std::shared_ptr<QueueStore> store(new QueueStore(std::move(options)));
  std::vector<std::string> directories;
  for (QueueName queue : kAllQueues) directories.push_back(store->QueuePath(queue));
  for (RecipientLogKind kind :
       {RecipientLogKind::kDefer, RecipientLogKind::kBounce, RecipientLogKind::kTrace}) {
    directories.push_back(store->directory_ + "/" + std::string(RecipientLogDirectory(kind)));
  }
  if (create) {
    if (auto s = store->fs_->MakeDirectory(store->directory_, kDirectoryMode); !s) {
      return std::unexpected(s.error().WithContext("queue_directory"));
    }
  }
  if (store->spares_.limit() > 0) directories.push_back(store->SparePath(""));
  for (const std::string& path : directories) {
    if (create) {
      if (auto s = store->fs_->MakeDirectory(path, kDirectoryMode); !s) {
        return std::unexpected(s.error());
      }
    } else if (auto listed = store->fs_->Stat(path); !listed) {
      return std::unexpected(listed.error().WithContext("queue_directory"));
    }
  }
  return store;
}

std::string QueueStore::QueuePath(QueueName queue) const {
  return fmt::format("{}/{}", directory_, QueueNameText(queue));
}

std::string QueueStore::FilePath(QueueName queue, std::string_view id) const {
  return fmt::format("{}/{}/{}", directory_, QueueNameText(queue), id);
}

std::string QueueStore::LogPath(RecipientLogKind kind, std::string_view id) const {
  return fmt::format("{}/{}/{}", directory_, RecipientLogDirectory(kind), id);
}

std::string QueueStore::SparePath(std::string_view name) const {
  return name.empty() ? directory_ + "/spare" : fmt::format("{}/spare/{}", directory_, name);
}

DirectorySyncGroup& QueueStore::SyncGroup(QueueName queue) {
  return *sync_groups_[QueueIndex(queue)];
}

uint64_t QueueStore::directory_syncs() const {
  uint64_t total = 0;
  for (const auto& group : sync_groups_) total += group->syncs();
  return total;
}

core::Status QueueStore::Commit(std::string_view id, const QueueEnvelope& envelope,
                                std::string_view content, QueueName target) {
  if (auto s = CheckId(id); !s) return core::Fail(ErrorCode::kTempFail, "{}", s.error().message());
  if (target != QueueName::kIncoming && target != QueueName::kHold) {
    return core::Fail(ErrorCode::kTempFail, "commit into {} is not allowed",
                      QueueNameText(target));
  }
  std::string head = EncodeQueueEnvelope(envelope, content.size());
  std::string temporary = fmt::format("{}/.tmp.{}", QueuePath(target), id);
  std::string final_path = FilePath(target, id);

  std::optional<int> spare = TakeSpare(temporary);
  int fd = -1;
  if (spare) {
    fd = *spare;
  } else {
    auto created = fs_->CreateNew(temporary, kFileMode);
    if (!created) return core::Fail(ErrorCode::kIo, "{}", created.error().message());
    fd = *created;
  }
  auto remove_temporary = [&](const core::Error& error) {
    (void)fs_->Remove(temporary);
    return core::Fail(error.temporary() ? error.code() : ErrorCode::kIo, "{}", error.message());
  };
  {
    FdCloser closer(*fs_, fd, temporary);
    const std::string_view pieces[] = {head, content, kEndRecord};
    if (auto s = fs_->Write(fd, pieces, temporary); !s) return remove_temporary(s.error());
    if (spare) {
      // Nothing of the spare's previous message may stay behind the new one.
      uint64_t size = head.size() + content.size() + kEndRecord.size();
      if (auto s = fs_->Truncate(fd, size, temporary); !s) return remove_temporary(s.error());
    }
    if (auto s = fs_->Sync(fd, temporary); !s) return remove_temporary(s.error());
    if (auto s = closer.CloseNow(); !s) return remove_temporary(s.error());
  }
  auto renamed = fs_->Rename(temporary, final_path, /*no_replace=*/true);
  if (!renamed) return remove_temporary(renamed.error());
  if (!*renamed) {
    (void)fs_->Remove(temporary);
    return core::Fail(ErrorCode::kTempFail, "queue ID {} is already in use", id);
  }
  DirectorySyncGroup& group = SyncGroup(target);
  if (auto s = group.WaitDurable(group.Renamed()); !s) {
    // Not acknowledged: take it back so it is not delivered behind the client's retry.
    (void)fs_->Remove(final_path);
    return core::Fail(ErrorCode::kIo, "{}", s.error().message());
  }
  return {};
}

core::Result<std::vector<QueueEntry>> QueueStore::List(QueueName queue) const {
  auto names = fs_->List(QueuePath(queue));
  if (!names) return std::unexpected(names.error());
  std::vector<QueueEntry> entries;
  entries.reserve(names->size());
  for (std::string& name : *names) {
    if (IsValidQueueId(name)) entries.push_back({std::move(name), queue});
  }
  std::sort(entries.begin(), entries.end(),
            [](const QueueEntry& a, const QueueEntry& b) { return a.id < b.id; });
  return entries;
}

core::Result<std::optional<QueueName>> QueueStore::Locate(std::string_view id) const {
  if (auto s = CheckId(id); !s) return std::unexpected(s.error());
  for (QueueName queue : kAllQueues) {
    auto info = fs_->Stat(FilePath(queue, id));
    if (info) return queue;
    if (info.error().code() != ErrorCode::kNotFound) return std::unexpected(info.error());
  }
  return std::nullopt;
}

core::Result<QueueFileHead> QueueStore::ReadHead(QueueName queue, std::string_view id) const {
  if (auto s = CheckId(id); !s) return std::unexpected(s.error());
  std::string path = FilePath(queue, id);
  auto fd = fs_->Open(path, false);
  if (!fd) return std::unexpected(fd.error());
  FdCloser closer(*fs_, *fd, path);
  auto head = fs_->ReadAt(*fd, 0, kQueueFileHeadSize, path);
  if (!head) return std::unexpected(head.error());
  auto decoded = DecodeQueueFileHead(*head);
  if (!decoded) return std::unexpected(decoded.error().WithContext(path));
  return decoded;
}

core::Result<QueuedMessage> QueueStore::ReadFromDescriptor(int fd, const std::string& path,
                                                           std::string_view id, QueueName queue,
                                                           bool with_content,
                                                           bool* incomplete) const {
  auto size = fs_->Size(fd, path);
  if (!size) return std::unexpected(size.error());
  if (*size > max_file_bytes_) {
    return core::Fail(ErrorCode::kCorrupt, "{}: {} bytes is over the limit of {}", path, *size,
                      max_file_bytes_);
  }
  bool read_whole = *size <= kReadWholeBelow || with_content;
  uint64_t first_length = read_whole ? *size : kQueueFileHeadSize;
  auto first = fs_->ReadAt(fd, 0, static_cast<size_t>(first_length), path);
  if (!first) return std::unexpected(first.error());
  std::string whole = std::move(*first);
  if (whole.size() != std::min<uint64_t>(first_length, *size)) {
    return core::Fail(ErrorCode::kIo, "{}: file changed while being read", path);
  }
  auto head = DecodeQueueFileHead(whole, incomplete);
  if (!head) return std::unexpected(head.error().WithContext(path));
  // The size check first: a short file must read as incomplete, not as a bad envelope.
  if (*size < head->committed_size()) {
    if (incomplete) *incomplete = true;
    return core::Fail(ErrorCode::kCorrupt, "{}: file is {} bytes, {} expected: incomplete", path,
                      *size, head->committed_size());
  }
  std::string envelope_storage;
  std::string tail_storage;
  std::string_view envelope_bytes;
  std::string_view tail;
  if (read_whole) {
    envelope_bytes = std::string_view(whole).substr(0, head->content_offset);
    tail = std::string_view(whole).substr(whole.size() - kEndRecord.size());
  } else {
    auto envelope = fs_->ReadAt(fd, 0, static_cast<size_t>(head->content_offset), path);
    if (!envelope) return std::unexpected(envelope.error());
    envelope_storage = std::move(*envelope);
    envelope_bytes = envelope_storage;
    auto end = fs_->ReadAt(fd, *size - kEndRecord.size(), kEndRecord.size(), path);
    if (!end) return std::unexpected(end.error());
    tail_storage = std::move(*end);
    tail = tail_storage;
  }
  if (auto s = CheckQueueFileEnd(*head, *size, tail, incomplete); !s) {
    return std::unexpected(s.error().WithContext(path));
  }
  auto envelope = DecodeQueueEnvelope(envelope_bytes, *head);
  if (!envelope) return std::unexpected(envelope.error().WithContext(path));

  QueuedMessage message;
  message.id.assign(id);
  message.queue = queue;
  message.envelope = std::move(*envelope);
  message.file_size = *size;
  message.content_offset = head->content_offset;
  message.content_length = head->content_length;
  if (with_content) {
    message.content.assign(whole, static_cast<size_t>(head->content_offset),
                           static_cast<size_t>(head->content_length));
  }
  return message;
}

core::Result<QueuedMessage> QueueStore::Read(QueueName queue, std::string_view id,
                                             bool with_content) const {
  if (auto s = CheckId(id); !s) return std::unexpected(s.error());
  std::string path = FilePath(queue, id);
  auto fd = fs_->Open(path, false);
  if (!fd) return std::unexpected(fd.error());
  FdCloser closer(*fs_, *fd, path);
  return ReadFromDescriptor(*fd, path, id, queue, with_content, nullptr);
}

core::Result<QueueFile> QueueStore::OpenFile(QueueName queue, std::string_view id, bool writable,
                                             bool quarantine_corrupt) {
  if (auto s = CheckId(id); !s) return std::unexpected(s.error());
  std::string path = FilePath(queue, id);
  auto fd = fs_->Open(path, writable);
  if (!fd) return std::unexpected(fd.error());
  auto message = ReadFromDescriptor(*fd, path, id, queue, false, nullptr);
  if (!message) {
    (void)fs_->Close(*fd, path);
    if (message.error().code() == ErrorCode::kCorrupt && quarantine_corrupt) {
      if (auto moved = MoveToCorrupt(queue, id, message.error().message()); !moved) {
        return std::unexpected(moved.error());
      }
      return core::Fail(ErrorCode::kCorrupt, "{} (moved to corrupt/)", message.error().message());
    }
    return std::unexpected(message.error());
  }
  return QueueFile(fs_, *fd, std::move(path), writable, std::move(*message));
}

core::Status QueueStore::Move(std::string_view id, QueueName from, QueueName to,
                              MoveDurability durability) {
  if (auto s = CheckId(id); !s) return s;
  if (from == to) return core::Fail(ErrorCode::kInvalid, "{} is already in {}", id,
                                    QueueNameText(to));
  auto renamed = fs_->Rename(FilePath(from, id), FilePath(to, id), /*no_replace=*/true);
  if (!renamed) return std::unexpected(renamed.error());
  if (!*renamed) {
    return core::Fail(ErrorCode::kIo, "cannot move {} to {}: the name is taken", id,
                      QueueNameText(to));
  }
  if (durability == MoveDurability::kAtomic) return {};
  DirectorySyncGroup& group = SyncGroup(to);
  return group.WaitDurable(group.Renamed());
}

core::Status QueueStore::Defer(QueueFile& file, QueueName from,
                               std::span<const RecipientLogEntry> notes, int64_t next_attempt) {
  if (!notes.empty()) {
    if (auto s = AppendLog(RecipientLogKind::kDefer, file.id(), notes); !s) return s;
  }
  QueueSchedule schedule = file.message().envelope.schedule;
  schedule.attempts += 1;
  schedule.last_attempt =
      std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  schedule.next_attempt = next_attempt;
  if (auto s = file.SetSchedule(schedule); !s) return s;
  if (auto s = file.Sync(); !s) return s;
  if (from == QueueName::kDeferred) return {};
  if (auto s = Move(file.id(), from, QueueName::kDeferred); !s) {
    if (s.error().code() != ErrorCode::kNotFound) return s;
    // `moat queue hold|delete` took the message during the attempt. A deleted message must not
    // keep the log appended above (a held one keeps it: its reasons are still true).
    if (auto where = Locate(file.id()); where && !*where) {
      (void)RemoveLog(RecipientLogKind::kDefer, file.id());
    }
    return core::Fail(ErrorCode::kNotFound, "{} is no longer in {}/: moved or deleted by "
                      "another process (moat queue)", file.id(), QueueNameText(from));
  }
  file.message_.queue = QueueName::kDeferred;
  return {};
}

core::Status QueueStore::Delete(QueueName queue, std::string_view id) {
  if (auto s = CheckId(id); !s) return s;
  if (auto s = fs_->Remove(FilePath(queue, id)); !s) return s;
  RemoveLogs(id);
  // Not fsynced: a delete undone by a crash delivers the message again (a duplicate, never a
  // loss), the same trade Postfix makes.
  return {};
}

void QueueStore::RemoveLogs(std::string_view id) {
  for (RecipientLogKind kind :
       {RecipientLogKind::kDefer, RecipientLogKind::kBounce, RecipientLogKind::kTrace}) {
    if (auto s = RemoveLog(kind, id); !s && s.error().code() != ErrorCode::kNotFound) {
      spdlog::warn("{}: {}", id, s.error().message());
    }
  }
}

core::Status QueueStore::Recycle(QueueFile& file, QueueName queue) {
  const std::string id = file.id();
  if (auto s = CheckId(id); !s) return s;
  std::optional<uint64_t> size;
  if (file.fd_ >= 0) {
    if (auto known = fs_->Size(file.fd_, file.path_)) size = *known;
  }
  // Closed first: nothing may reach the file through this descriptor once it is a spare.
  file.Close();
  if (!size || *size > kMaxSpareBytes || !spares_.TryReserve()) return Delete(queue, id);
  auto renamed = fs_->Rename(FilePath(queue, id), SparePath(id), /*no_replace=*/true);
  if (!renamed || !*renamed) {
    spares_.Release();
    return Delete(queue, id);
  }
  spares_.Add(id);
  RemoveLogs(id);
  // Not fsynced, like Delete(): a crash may bring the message back (a duplicate).
  return {};
}

std::optional<int> QueueStore::TakeSpare(const std::string& temporary) {
  while (std::optional<std::string> name = spares_.Take()) {
    std::string path = SparePath(*name);
    auto renamed = fs_->Rename(path, temporary, /*no_replace=*/true);
    if (!renamed || !*renamed) {
      (void)fs_->Remove(path);
      continue;
    }
    auto fd = fs_->Open(temporary, /*writable=*/true);
    if (fd) return *fd;
    (void)fs_->Remove(temporary);
  }
  return std::nullopt;
}

core::Status QueueStore::MoveToCorrupt(QueueName queue, std::string_view id,
                                       std::string_view reason) {
  if (auto s = CheckId(id); !s) return s;
  spdlog::warn("{}: corrupt queue file in {}/ moved to corrupt/: {}", id, QueueNameText(queue),
               reason);
  if (queue == QueueName::kCorrupt) return {};
  auto renamed = fs_->Rename(FilePath(queue, id), FilePath(QueueName::kCorrupt, id), false);
  if (!renamed) return std::unexpected(renamed.error());
  DirectorySyncGroup& group = SyncGroup(QueueName::kCorrupt);
  return group.WaitDurable(group.Renamed());
}

core::Status QueueStore::AppendLog(RecipientLogKind kind, std::string_view id,
                                   std::span<const RecipientLogEntry> entries) {
  if (auto s = CheckId(id); !s) return s;
  std::string text;
  for (const RecipientLogEntry& entry : entries) text += EncodeRecipientLogEntry(entry);
  std::string path = LogPath(kind, id);
  auto fd = fs_->OpenAppend(path, kFileMode);
  if (!fd) return std::unexpected(fd.error());
  FdCloser closer(*fs_, *fd, path);
  const std::string_view pieces[] = {text};
  if (auto s = fs_->Write(*fd, pieces, path); !s) return s;
  if (auto s = fs_->Sync(*fd, path); !s) return s;
  return closer.CloseNow();
}

core::Result<std::vector<RecipientLogEntry>> QueueStore::ReadLog(RecipientLogKind kind,
                                                                 std::string_view id) const {
  if (auto s = CheckId(id); !s) return std::unexpected(s.error());
  std::string path = LogPath(kind, id);
  auto fd = fs_->Open(path, false);
  if (!fd) {
    if (fd.error().code() == ErrorCode::kNotFound) return std::vector<RecipientLogEntry>();
    return std::unexpected(fd.error());
  }
  FdCloser closer(*fs_, *fd, path);
  auto size = fs_->Size(*fd, path);
  if (!size) return std::unexpected(size.error());
  if (*size > max_file_bytes_) {
    return core::Fail(ErrorCode::kCorrupt, "{}: {} bytes is too large", path, *size);
  }
  auto text = fs_->ReadAt(*fd, 0, static_cast<size_t>(*size), path);
  if (!text) return std::unexpected(text.error());
  auto entries = DecodeRecipientLog(*text);
  if (!entries) return std::unexpected(entries.error().WithContext(path));
  return entries;
}

core::Status QueueStore::RemoveLog(RecipientLogKind kind, std::string_view id) {
  if (auto s = CheckId(id); !s) return s;
  return fs_->Remove(LogPath(kind, id));
}

}  // namespace moat::mta
