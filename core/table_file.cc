// table_file.cc - table source files: reading, identity (stamp), logical lines.
#include "core/table_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moat::core {
namespace {

FileStamp StampOf(const struct stat& st) {
  FileStamp stamp;
  stamp.device = st.st_dev;
  stamp.inode = st.st_ino;
  stamp.size = st.st_size;
  stamp.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return stamp;
}

Error OpenError(const std::string& path, int errno_value) {
  return Error(errno_value == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               fmt::format("{}: cannot open table: {}", path, std::strerror(errno_value)));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string_view TrimTrailing(std::string_view s) {
  while (!s.empty() && IsTableSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return out;
}

Error OneLine(const Error& error) { return Error(error.code(), Printable(error.message())); }

Error TableSyntaxError(std::string_view path, int line_number, std::string_view message) {
  return Error(ErrorCode::kInvalid, fmt::format("{}:{}: {}", path, line_number, message));
}

Result<FileStamp> StatTableFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Fail(OpenError(path, errno));
  return StampOf(st);
}

Result<TableFile> ReadTableFile(const std::string& path, size_t max_bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return Fail(OpenError(path, errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Fail(OpenError(path, errno));
  if (S_ISDIR(st.st_mode)) return Fail(OpenError(path, EISDIR));
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Fail(ErrorCode::kInvalid, "{}: table file is {} bytes, over the limit of {} bytes", path,
                st.st_size, max_bytes);
  }
  TableFile file;
  file.stamp = StampOf(st);
  // st_size is a hint only (the file may grow while we read, or be a pipe); the limit is not.
  file.text.resize(S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) + 1 : 64 * 1024);
  size_t used = 0;
  for (;;) {
    if (used == file.text.size()) {
      if (file.text.size() > max_bytes) {
        return Fail(ErrorCode::kInvalid, "{}: table file is over the limit of {} bytes", path,
                    max_bytes);
      }
      file.text.resize(file.text.size() * 2);
    }
    ssize_t n = ::read(fd.get(), file.text.data() + used, file.text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, "{}: cannot read table: {}", path, std::strerror(errno));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > max_bytes) {
    return Fail(ErrorCode::kInvalid, "{}: table file is over the limit of {} bytes", path,
                max_bytes);
  }
  file.text.resize(used);
  return file;
}

Status ForEachLogicalLine(std::string_view content, std::string_view path,
                          const LogicalLineFn& fn) {
  std::string joined;       // only used when a logical line spans physical lines
  std::string_view single;  // the logical line while it is one physical line
  bool have_line = false;
  bool is_joined = false;
  int first_line = 0;

  auto flush = [&]() -> Status {
    if (!have_line) return {};
    std::string_view text = TrimTrailing(is_joined ? std::string_view(joined) : single);
    have_line = false;
    is_joined = false;
    if (!text.empty() && IsTableSpace(text.front())) {
      return Fail(
          TableSyntaxError(path, first_line, "logical line must not start with whitespace"));
    }
    return fn(text, first_line);
  };

  size_t pos = 0;
  int line_number = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view physical = content.substr(pos, end - pos);
    pos = end + 1;
    // Files edited on Windows: a CR before each newline is line-ending, not text.
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
    ++line_number;

    size_t first = 0;
    while (first < physical.size() && IsTableSpace(physical[first])) ++first;
    if (first == physical.size() || physical[first] == '#') continue;  // blank or comment

    if (first == 0 || !have_line) {
      // Non-blank text at column 0 starts a new logical line. Text after whitespace with
      // nothing to continue starts one too, which flush() reports as an error.
      Status status = flush();
      if (!status) return status;
      have_line = true;
      is_joined = false;
      single = physical;
      first_line = line_number;
      continue;
    }
    if (!is_joined) {
      joined.assign(single);
      is_joined = true;
    }
    joined.append(physical);
  }
  return flush();
}

}  // namespace moat::core
