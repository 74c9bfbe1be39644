// queue_file.cc - an open queue file: in-place recipient marks and schedule updates.
#include <algorithm>

#include "mta/queue_store.h"

namespace moat::mta {

QueueFile::QueueFile(std::shared_ptr<QueueFileSystem> fs, int fd, std::string path, bool writable,
                     QueuedMessage message)
    : fs_(std::move(fs)),
      fd_(fd),
      path_(std::move(path)),
      writable_(writable),
      message_(std::move(message)) {}

QueueFile::QueueFile(QueueFile&& other) noexcept
    : fs_(std::move(other.fs_)),
      fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      writable_(other.writable_),
      message_(std::move(other.message_)) {}

QueueFile& QueueFile::operator=(QueueFile&& other) noexcept {
  if (this != &other) {
    Close();
    fs_ = std::move(other.fs_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    writable_ = other.writable_;
    message_ = std::move(other.message_);
  }
  return *this;
}

QueueFile::~QueueFile() { Close(); }

void QueueFile::Close() {
  if (fd_ >= 0 && fs_) (void)fs_->Close(fd_, path_);
  fd_ = -1;
}

core::Status QueueFile::MarkRecipients(std::span<const uint64_t> offsets,
                                       RecipientStatus status) {
  if (!writable_) return core::Fail(core::ErrorCode::kInvalid, "{}: opened read-only", path_);
  std::vector<QueueRecipient*> targets;
  targets.reserve(offsets.size());
  for (uint64_t offset : offsets) {
    auto it = std::find_if(message_.envelope.recipients.begin(), message_.envelope.recipients.end(),
                           [&](const QueueRecipient& r) { return r.offset == offset; });
    if (it == message_.envelope.recipients.end()) {
      return core::Fail(core::ErrorCode::kInvalid, "{}: no recipient record at offset {}", path_,
                        offset);
    }
    targets.push_back(&*it);
  }
  const char type = static_cast<char>(status);
  for (QueueRecipient* r : targets) {
    if (r->status == status) continue;
    if (auto s = fs_->WriteAt(fd_, r->offset, std::string_view(&type, 1), path_); !s) return s;
    r->status = status;
  }
  return {};
}

core::Status QueueFile::SetSchedule(const QueueSchedule& schedule) {
  if (!writable_) return core::Fail(core::ErrorCode::kInvalid, "{}: opened read-only", path_);
  if (auto s = fs_->WriteAt(fd_, kScheduleDataOffset, EncodeSchedule(schedule), path_); !s) {
    return s;
  }
  message_.envelope.schedule = schedule;
  return {};
}

core::Status QueueFile::Sync() { return fs_->Sync(fd_, path_); }

core::Result<std::string> QueueFile::ReadContent() const {
  auto content = fs_->ReadAt(fd_, message_.content_offset,
                             static_cast<size_t>(message_.content_length), path_);
  if (!content) return content;
  if (content->size() != message_.content_length) {
    return core::Fail(core::ErrorCode::kCorrupt, "{}: content cut short", path_);
  }
  return content;
}

}  // namespace moat::mta
