// durable_file.cc - fsync-before-acknowledge file helpers.
#include "core/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace moat::core {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string TemporaryNameFor(const std::string& path) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{}.tmp.{}.{:x}", path, ::getpid(), random());
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError(ErrorCode::kIo, fmt::format("write {}", what), errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status FsyncDirectory(const std::string& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Fail(ErrnoError(ErrorCode::kIo, "open directory " + directory, errno));
  if (::fsync(fd.get()) != 0) {
    return Fail(ErrnoError(ErrorCode::kIo, "fsync directory " + directory, errno));
  }
  return {};
}

Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
  std::string temporary = TemporaryNameFor(path);
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Fail(ErrnoError(ErrorCode::kIo, "create " + temporary, errno));
  auto cleanup_on_error = [&](Error error) {
    ::unlink(temporary.c_str());
    return Fail(std::move(error));
  };
  if (auto written = WriteAll(fd.get(), data, temporary); !written) {
    return cleanup_on_error(written.error());
  }
  if (::fsync(fd.get()) != 0) {
    return cleanup_on_error(ErrnoError(ErrorCode::kIo, "fsync " + temporary, errno));
  }
  if (::close(fd.Release()) != 0) {
    return cleanup_on_error(ErrnoError(ErrorCode::kIo, "close " + temporary, errno));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return cleanup_on_error(ErrnoError(ErrorCode::kIo, "rename to " + path, errno));
  }
  return FsyncDirectory(DirectoryOf(path));
}

Status EnsureDirectory(const std::string& path, mode_t mode) {
  if (path.empty()) return Fail(ErrorCode::kInvalid, "empty directory name");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return Fail(ErrorCode::kIo, "{} exists and is not a directory", path);
  }
  std::string parent = DirectoryOf(path);
  if (parent != path && parent != "." && parent != "/") {
    if (auto made = EnsureDirectory(parent, mode); !made) return made;
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Fail(ErrnoError(ErrorCode::kIo, "mkdir " + path, errno));
  }
  return {};
}

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    ErrorCode code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
    return Fail(ErrnoError(code, "open " + path, errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(ErrnoError(ErrorCode::kIo, "stat " + path, errno));
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return Fail(ErrorCode::kInvalid, "{}: {} bytes is over the limit of {}", path, st.st_size,
                max_bytes);
  }
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError(ErrorCode::kIo, "read " + path, errno));
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      return Fail(ErrorCode::kInvalid, "{}: grew over the limit of {} bytes", path, max_bytes);
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

}  // namespace moat::core
