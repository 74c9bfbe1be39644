// queue_file_system.cc - the POSIX file layer of the queue store.
#include "mta/queue_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "core/durable_file.h"

namespace moat::mta {
namespace {

core::ErrorCode CodeFor(int errno_value) {
  return errno_value == ENOENT ? core::ErrorCode::kNotFound : core::ErrorCode::kIo;
}

std::unexpected<core::Error> Errno(std::string_view what, const std::string& path) {
  int error = errno;
  return core::Fail(core::ErrnoError(CodeFor(error), std::string(what) + " " + path, error));
}

}  // namespace

core::Result<int> PosixQueueFileSystem::CreateNew(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create", path);
  return fd;
}

core::Result<int> PosixQueueFileSystem::Open(const std::string& path, bool writable) {
  int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  return fd;
}

core::Result<int> PosixQueueFileSystem::OpenAppend(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0) return Errno("open", path);
  return fd;
}

core::Status PosixQueueFileSystem::Write(int fd, std::span<const std::string_view> pieces,
                                         const std::string& path) {
  // One writev for the common case; short writes continue piece by piece.
  constexpr size_t kMaxIov = 16;
  if (pieces.size() <= kMaxIov) {
    iovec iov[kMaxIov];
    size_t total = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
      iov[i].iov_base = const_cast<char*>(pieces[i].data());
      iov[i].iov_len = pieces[i].size();
      total += pieces[i].size();
    }
    ssize_t n;
    do {
      n = ::writev(fd, iov, static_cast<int>(pieces.size()));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Errno("write", path);
    if (static_cast<size_t>(n) == total) return {};
    size_t done = static_cast<size_t>(n);
    for (std::string_view piece : pieces) {
      if (done >= piece.size()) {
        done -= piece.size();
        continue;
      }
      if (auto s = core::WriteAll(fd, piece.substr(done), path); !s) return s;
      done = 0;
    }
    return {};
  }
  for (std::string_view piece : pieces) {
    if (auto s = core::WriteAll(fd, piece, path); !s) return s;
  }
  return {};
}

core::Status PosixQueueFileSystem::WriteAt(int fd, uint64_t offset, std::string_view data,
                                           const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("pwrite", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

core::Status PosixQueueFileSystem::Truncate(int fd, uint64_t size, const std::string& path) {
  int result;
  do {
    result = ::ftruncate(fd, static_cast<off_t>(size));
  } while (result != 0 && errno == EINTR);
  if (result != 0) return Errno("truncate", path);
  return {};
}

core::Result<std::string> PosixQueueFileSystem::ReadAt(int fd, uint64_t offset, size_t length,
                                                       const std::string& path) {
  std::string data(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

core::Result<uint64_t> PosixQueueFileSystem::Size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("stat", path);
  return static_cast<uint64_t>(st.st_size);
}

core::Status PosixQueueFileSystem::Sync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return Errno("fsync", path);
  return {};
}

core::Status PosixQueueFileSystem::Close(int fd, const std::string& path) {
  // Linux frees the descriptor even when close() fails; never retry it.
  if (::close(fd) != 0 && errno != EINTR) return Errno("close", path);
  return {};
}

core::Result<bool> PosixQueueFileSystem::Rename(const std::string& from, const std::string& to,
                                                bool no_replace) {
  if (no_replace) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
      return true;
    }
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS) return Errno("rename " + from + " to", to);
    // A file system without RENAME_NOREPLACE: link() never replaces either.
    if (::link(from.c_str(), to.c_str()) != 0) {
      if (errno == EEXIST) return false;
      return Errno("link " + from + " to", to);
    }
    if (::unlink(from.c_str()) != 0) return Errno("unlink", from);
    return true;
  }
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename " + from + " to", to);
  return true;
}

core::Status PosixQueueFileSystem::SyncDirectory(const std::string& path) {
  return core::FsyncDirectory(path);
}

core::Status PosixQueueFileSystem::MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return {};
  int error = errno;
  struct stat st {};
  if (error == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
  errno = error;
  return Errno("mkdir", path);
}

core::Status PosixQueueFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return Errno("unlink", path);
  return {};
}

core::Result<std::vector<std::string>> PosixQueueFileSystem::List(const std::string& directory) {
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return Errno("opendir", directory);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* item = ::readdir(dir);
    if (item == nullptr) break;
    std::string_view name = item->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int error = errno;
  ::closedir(dir);
  if (error != 0) {
    errno = error;
    return Errno("readdir", directory);
  }
  return names;
}

core::Result<QueueFileInfo> PosixQueueFileSystem::Stat(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Errno("stat", path);
  return QueueFileInfo{static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)};
}

}  // namespace moat::mta
