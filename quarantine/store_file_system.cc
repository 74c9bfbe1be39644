// store_file_system.cc - the POSIX file layer of the quarantine store.
#include "quarantine/store_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/durable_file.h"

namespace moat::quarantine {
namespace {

core::ErrorCode CodeFor(int errno_value) {
  return errno_value == ENOENT ? core::ErrorCode::kNotFound : core::ErrorCode::kIo;
}

}  // namespace

core::Result<int> PosixStoreFileSystem::CreateNew(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "create " + path, errno));
  return fd;
}

core::Status PosixStoreFileSystem::Write(int fd, std::string_view data, const std::string& path) {
  return core::WriteAll(fd, data, path);
}

core::Status PosixStoreFileSystem::Sync(int fd, const std::string& path) {
  if (::fsync(fd) != 0)
    return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "fsync " + path, errno));
  return {};
}

core::Status PosixStoreFileSystem::Close(int fd, const std::string& path) {
  // Linux frees the descriptor even when close() fails; never retry it.
  if (::close(fd) != 0 && errno != EINTR) {
    return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "close " + path, errno));
  }
  return {};
}

core::Status PosixStoreFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return core::Fail(core::ErrnoError(CodeFor(errno), "rename " + from + " to " + to, errno));
  }
  return {};
}

core::Status PosixStoreFileSystem::SyncDirectory(const std::string& path) {
  return core::FsyncDirectory(path);
}

core::Status PosixStoreFileSystem::MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return {};
  int error = errno;
  struct stat st {};
  if (error == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
  return core::Fail(core::ErrnoError(CodeFor(error), "mkdir " + path, error));
}

core::Status PosixStoreFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    return core::Fail(core::ErrnoError(CodeFor(errno), "unlink " + path, errno));
  }
  return {};
}

core::Result<std::string> PosixStoreFileSystem::ReadFile(const std::string& path,
                                                         size_t max_bytes) {
  return core::ReadFile(path, max_bytes);
}

core::Result<std::vector<std::string>> PosixStoreFileSystem::List(const std::string& directory) {
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) {
    return core::Fail(core::ErrnoError(CodeFor(errno), "opendir " + directory, errno));
  }
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
  if (error != 0)
    return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "readdir " + directory, error));
  return names;
}

core::Result<uint64_t> PosixStoreFileSystem::FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return core::Fail(core::ErrnoError(CodeFor(errno), "stat " + path, errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace moat::quarantine
