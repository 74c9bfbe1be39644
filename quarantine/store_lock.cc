// store_lock.cc - flock() on the quarantine's lock file.
#include "quarantine/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace moat::quarantine {

core::Result<StoreLock> StoreLock::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // flock needs no write access
  if (fd < 0) return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "open " + path, errno));
  return StoreLock(fd, path);
}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

core::Status StoreLock::LockShared() {
  while (::flock(fd_, LOCK_SH) != 0) {
    if (errno == EINTR) continue;
    return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "flock " + path_, errno));
  }
  return {};
}

core::Result<bool> StoreLock::TryLockExclusive() {
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "flock " + path_, errno));
  }
  return true;
}

void StoreLock::Unlock() { (void)::flock(fd_, LOCK_UN); }

}  // namespace moat::quarantine
