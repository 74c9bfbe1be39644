// queue_test_util.h - helpers shared by the queue tests: sample envelopes, and a file system that
// fails on schedule and can forget, like a power cut, everything that was not fsynced.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mta/queue_file_system.h"
#include "mta/queue_message.h"
#include "mta/queue_store.h"
#include "tests/support/fault_injection.h"

namespace moat::mta::testing {

inline QueueStoreOptions StoreOptions(std::string directory,
                                      std::shared_ptr<QueueFileSystem> fs = nullptr,
                                      bool create = true) {
  QueueStoreOptions options;
  options.directory = std::move(directory);
  options.file_system = std::move(fs);
  options.create_directories = create;
  return options;
}

inline QueueEnvelope SampleEnvelope(int recipients = 2) {
  QueueEnvelope e;
  e.arrival_us = 1'700'000'000'123'456;
  e.sender = "sender@example.org";
  e.attributes.service = "smtp";
  e.attributes.client_name = "unknown";
  e.attributes.client_address = "192.0.2.7";
  e.attributes.client_port = "40000";
  e.attributes.helo = "client.example.org";
  e.attributes.protocol = "ESMTPS";
  e.attributes.tls_protocol = "TLSv1.3";
  e.attributes.tls_cipher = "TLS_AES_256_GCM_SHA384";
  e.attributes.envid = "env-1";
  e.attributes.ret = core::DsnRet::kHeaders;
  e.attributes.body = core::SmtpBodyType::k8BitMime;
  e.attributes.smtputf8 = true;
  e.attributes.filter = "lmtp:[127.0.0.1]:10024";
  e.attributes.extra = {{"x_future", "a=b"}};
  for (int i = 0; i < recipients; ++i) {
    QueueRecipient r;
    r.address = fmt::format("user{}@example.com", i);
    r.original = fmt::format("alias{}@example.com", i);
    if (i % 2 == 0) {
      r.notify = core::dsn_notify::kFailure | core::dsn_notify::kDelay;
      r.orcpt_type = "rfc822";
      r.orcpt = r.original;
    }
    e.recipients.push_back(r);
  }
  return e;
}

inline std::string SampleContent(size_t body_bytes = 3000) {
  std::string content =
      "Received: from client.example.org (unknown [192.0.2.7])\r\n"
      "\tby mx.example.com (Moat) with ESMTP id X\r\n"
      "From: <sender@example.org>\r\nSubject: test\r\n\r\n";
  while (content.size() < body_bytes) content += "body line of a test message 0123456789\r\n";
  return content;
}

// Files (not directories) below `dir`, relative names, sorted.
inline std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// PosixQueueFileSystem with failures from a FaultInjector and a model of what a power cut keeps.
// Operation names: create, open, append, write, write_at, read, sync, close, rename, fsync_dir,
// mkdir, remove, list, stat, truncate; every call also asks "any" (a rule on "any" with skip = K
// and times = 0 makes the machine die after K calls).
//
// The crash model (LevelDB's fault_injection_test): a file's bytes beyond its last fsync are
// lost; in-place writes since its last fsync are undone; a name created or renamed into a
// directory since that directory's last fsync is lost (a renamed file goes back to its old name
// when that name was durable). Files that existed before the object was made count as durable.
class CrashingFileSystem : public PosixQueueFileSystem {
 public:
  explicit CrashingFileSystem(std::shared_ptr<moat::testing::FaultInjector> faults)
      : faults_(std::move(faults)) {}

  core::Result<int> CreateNew(const std::string& path, mode_t mode) override {
    if (auto f = Check("create", path)) return Fail("create", path, *f);
    auto fd = PosixQueueFileSystem::CreateNew(path, mode);
    if (fd) {
      std::lock_guard lock(mutex_);
      fds_[*fd] = path;
      files_[path] = Tracked{};
    }
    return fd;
  }
  core::Result<int> Open(const std::string& path, bool writable) override {
    if (auto f = Check("open", path)) return Fail("open", path, *f);
    auto fd = PosixQueueFileSystem::Open(path, writable);
    if (fd) Remember(*fd, path);
    return fd;
  }
  core::Result<int> OpenAppend(const std::string& path, mode_t mode) override {
    if (auto f = Check("append", path)) return Fail("open", path, *f);
    bool existed = std::filesystem::exists(path);
    auto fd = PosixQueueFileSystem::OpenAppend(path, mode);
    if (fd) {
      std::lock_guard lock(mutex_);
      fds_[*fd] = path;
      if (!existed) files_[path] = Tracked{};
    }
    if (fd && existed) Remember(*fd, path);
    return fd;
  }
  core::Status Write(int fd, std::span<const std::string_view> pieces,
                     const std::string& path) override {
    if (auto f = Check("write", path)) {
      // A disk filling up: part of the data lands, then the call fails.
      size_t left = f->partial_bytes;
      for (std::string_view piece : pieces) {
        std::string_view part = piece.substr(0, std::min(left, piece.size()));
        const std::string_view one[] = {part};
        (void)PosixQueueFileSystem::Write(fd, one, path);
        left -= part.size();
      }
      return Fail("write", path, *f);
    }
    RememberOverwrite(fd, path, static_cast<uint64_t>(::lseek(fd, 0, SEEK_CUR)), pieces);
    return PosixQueueFileSystem::Write(fd, pieces, path);
  }
  core::Status Truncate(int fd, uint64_t size, const std::string& path) override {
    if (auto f = Check("truncate", path)) return Fail("truncate", path, *f);
    {
      // Undone by a crash before the next sync: the cut tail comes back.
      std::lock_guard lock(mutex_);
      struct stat st {};
      ::fstat(fd, &st);
      if (static_cast<uint64_t>(st.st_size) > size) {
        std::string tail(static_cast<size_t>(st.st_size) - size, '\0');
        ssize_t n = ::pread(fd, tail.data(), tail.size(), static_cast<off_t>(size));
        tail.resize(n > 0 ? static_cast<size_t>(n) : 0);
        Track(path).undo.push_back({size, tail});
      }
    }
    return PosixQueueFileSystem::Truncate(fd, size, path);
  }
  core::Status WriteAt(int fd, uint64_t offset, std::string_view data,
                       const std::string& path) override {
    if (auto f = Check("write_at", path)) return Fail("pwrite", path, *f);
    {
      std::lock_guard lock(mutex_);
      std::string old(data.size(), '\0');
      ssize_t n = ::pread(fd, old.data(), old.size(), static_cast<off_t>(offset));
      old.resize(n > 0 ? static_cast<size_t>(n) : 0);
      Track(path).undo.push_back({offset, old});
    }
    return PosixQueueFileSystem::WriteAt(fd, offset, data, path);
  }
  core::Result<std::string> ReadAt(int fd, uint64_t offset, size_t length,
                                   const std::string& path) override {
    if (auto f = Check("read", path)) return Fail("read", path, *f);
    return PosixQueueFileSystem::ReadAt(fd, offset, length, path);
  }
  core::Status Sync(int fd, const std::string& path) override {
    if (auto f = Check("sync", path)) return Fail("fsync", path, *f);
    auto s = PosixQueueFileSystem::Sync(fd, path);
    if (s) {
      std::lock_guard lock(mutex_);
      struct stat st {};
      ::fstat(fd, &st);
      auto found = fds_.find(fd);
      if (found != fds_.end()) {
        Tracked& t = Track(found->second);
        t.synced_size = static_cast<uint64_t>(st.st_size);
        t.undo.clear();
      }
    }
    return s;
  }
  core::Status Close(int fd, const std::string& path) override {
    {
      std::lock_guard lock(mutex_);
      fds_.erase(fd);
    }
    if (auto f = Check("close", path)) {
      (void)PosixQueueFileSystem::Close(fd, path);
      return Fail("close", path, *f);
    }
    return PosixQueueFileSystem::Close(fd, path);
  }
  core::Result<bool> Rename(const std::string& from, const std::string& to,
                            bool no_replace) override {
    if (auto f = Check("rename", from)) return Fail("rename", from, *f);
    auto renamed = PosixQueueFileSystem::Rename(from, to, no_replace);
    if (renamed && *renamed) {
      std::lock_guard lock(mutex_);
      Tracked moved = Track(from);
      files_.erase(from);
      if (moved.name_durable) moved.durable_name = from;
      moved.name_durable = false;
      files_[to] = moved;
      for (auto& [fd, name] : fds_) {
        if (name == from) name = to;
      }
    }
    return renamed;
  }
  core::Status SyncDirectory(const std::string& path) override {
    if (auto f = Check("fsync_dir", path)) return Fail("fsync directory", path, *f);
    auto s = PosixQueueFileSystem::SyncDirectory(path);
    if (s) {
      std::lock_guard lock(mutex_);
      for (auto& [name, t] : files_) {
        if (std::filesystem::path(name).parent_path() == std::filesystem::path(path)) {
          t.name_durable = true;
          t.durable_name.reset();
        }
      }
    }
    return s;
  }
  core::Status MakeDirectory(const std::string& path, mode_t mode) override {
    if (auto f = Check("mkdir", path)) return Fail("mkdir", path, *f);
    return PosixQueueFileSystem::MakeDirectory(path, mode);
  }
  core::Status Remove(const std::string& path) override {
    if (auto f = Check("remove", path)) return Fail("unlink", path, *f);
    auto s = PosixQueueFileSystem::Remove(path);
    if (s) {
      std::lock_guard lock(mutex_);
      files_.erase(path);
    }
    return s;
  }
  core::Result<std::vector<std::string>> List(const std::string& directory) override {
    if (auto f = Check("list", directory)) return Fail("opendir", directory, *f);
    return PosixQueueFileSystem::List(directory);
  }
  core::Result<QueueFileInfo> Stat(const std::string& path) override {
    if (auto f = Check("stat", path)) return Fail("stat", path, *f);
    return PosixQueueFileSystem::Stat(path);
  }

  // The power cut: applies the crash model to the real files. Call with no call in flight.
  void SimulateCrash() {
    std::lock_guard lock(mutex_);
    for (auto& [name, t] : files_) {
      if (!std::filesystem::exists(name)) continue;
      for (auto it = t.undo.rbegin(); it != t.undo.rend(); ++it) {
        int fd = ::open(name.c_str(), O_WRONLY);
        if (fd >= 0) {
          (void)!::pwrite(fd, it->second.data(), it->second.size(),
                          static_cast<off_t>(it->first));
          ::close(fd);
        }
      }
      if (t.synced_size) std::filesystem::resize_file(name, *t.synced_size);
      if (!t.name_durable) {
        if (t.durable_name) {
          std::filesystem::rename(name, *t.durable_name);
        } else {
          std::filesystem::remove(name);
        }
      }
    }
    files_.clear();
    fds_.clear();
  }

 private:
  struct Tracked {
    std::optional<uint64_t> synced_size = 0;  // nullopt: all bytes durable (pre-existing)
    bool name_durable = false;
    std::optional<std::string> durable_name;  // where the file was before an unsynced rename
    std::vector<std::pair<uint64_t, std::string>> undo;  // in-place writes since the last sync
  };

  Tracked& Track(const std::string& path) {
    auto found = files_.find(path);
    if (found != files_.end()) return found->second;
    Tracked t;
    t.synced_size.reset();
    t.name_durable = true;
    return files_[path] = t;
  }
  // A write over bytes the file already has (a reused spare) is undone by a crash before the
  // next sync, like WriteAt(); bytes past the end are covered by synced_size.
  void RememberOverwrite(int fd, const std::string& path, uint64_t offset,
                         std::span<const std::string_view> pieces) {
    std::lock_guard lock(mutex_);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) <= offset) return;
    uint64_t length = 0;
    for (std::string_view piece : pieces) length += piece.size();
    length = std::min<uint64_t>(length, static_cast<uint64_t>(st.st_size) - offset);
    std::string old(static_cast<size_t>(length), '\0');
    ssize_t n = ::pread(fd, old.data(), old.size(), static_cast<off_t>(offset));
    old.resize(n > 0 ? static_cast<size_t>(n) : 0);
    Track(path).undo.push_back({offset, old});
  }
  void Remember(int fd, const std::string& path) {
    std::lock_guard lock(mutex_);
    fds_[fd] = path;
  }
  std::optional<moat::testing::Fault> Check(std::string_view operation, const std::string& path) {
    if (auto f = faults_->Check("any", path)) return f;
    return faults_->Check(operation, path);
  }
  static std::unexpected<core::Error> Fail(std::string_view what, const std::string& path,
                                           const moat::testing::Fault& fault) {
    return core::Fail(
        core::ErrnoError(core::ErrorCode::kIo, fmt::format("{} {}", what, path), fault.error));
  }

  std::shared_ptr<moat::testing::FaultInjector> faults_;
  std::mutex mutex_;
  std::map<int, std::string> fds_;
  std::map<std::string, Tracked> files_;
};

}  // namespace moat::mta::testing
