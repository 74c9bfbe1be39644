// quarantine_test_util.h - what the quarantine tests share: sample messages and metadata, a file
// layer that fails on command, an index that fails on command, and a recording MessageSender.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "quarantine/quarantine_index.h"
#include "quarantine/quarantine_store.h"
#include "quarantine/release_message.h"
#include "quarantine/store_file_system.h"
#include "tests/support/fault_injection.h"

namespace moat::quarantine::test {

inline std::string SampleMessage(int n = 0, std::string_view line_ending = "\r\n") {
  std::string eol(line_ending);
  return "Received: from mx.example.net by gw.example.com; Sat, 21 Nov 2026 08:00:00 +0000" + eol +
         "From: \"Sender " + std::to_string(n) + "\" <sender" + std::to_string(n) +
         "@example.net>" + eol + "To: rcpt@example.com" + eol + "Subject: Invoice " +
         std::to_string(n) + eol + "\tfolded part" + eol + "Message-ID: <msg" + std::to_string(n) +
         "@example.net>" + eol + "Date: Sat, 21 Nov 2026 07:59:59 +0000" + eol + eol +
         "Hello, this is message " + std::to_string(n) + "." + eol + "Bytes: \x01\xff\xfe" + eol;
}

inline EntryMetadata SampleMetadata(ContentClass c = ContentClass::kSpam) {
  EntryMetadata m;
  m.content_class = c;
  m.reason = "score 12.5 hits: BAYES_99,URIBL_BLACK";
  m.trace_json =
      R"({"verdict":"SPAM","score":12.5,"findings":[{"stage":"rules","name":"BAYES_99"}]})";
  m.envelope_sender = "sender@example.net";
  m.recipients = {"rcpt@example.com", "other@example.com"};
  m.client_address = "192.0.2.7";
  m.policy_bank = "inbound";
  m.score = 12.5;
  return m;
}

// Every message file and leftover temporary file under a quarantine directory.
inline std::vector<std::string> FilesUnder(const std::string& directory) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(directory + "/messages", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(it->path().string());
  }
  return files;
}

// PosixStoreFileSystem with failures from a FaultInjector. Operation names: create, write, fsync,
// close, rename, fsync_dir, mkdir, remove, read, list, stat.
class FaultyFileSystem : public PosixStoreFileSystem {
 public:
  explicit FaultyFileSystem(std::shared_ptr<testing::FaultInjector> faults)
      : faults_(std::move(faults)) {}

  core::Result<int> CreateNew(const std::string& path, mode_t mode) override {
    if (auto f = faults_->Check("create", path)) return Fail("create", path, *f);
    return PosixStoreFileSystem::CreateNew(path, mode);
  }
  core::Status Write(int fd, std::string_view data, const std::string& path) override {
    if (auto f = faults_->Check("write", path)) {
      // A disk filling up: part of the data lands, then the call fails.
      (void)PosixStoreFileSystem::Write(fd, data.substr(0, std::min(f->partial_bytes, data.size())),
                                        path);
      return Fail("write", path, *f);
    }
    return PosixStoreFileSystem::Write(fd, data, path);
  }
  core::Status Sync(int fd, const std::string& path) override {
    if (auto f = faults_->Check("fsync", path)) return Fail("fsync", path, *f);
    return PosixStoreFileSystem::Sync(fd, path);
  }
  core::Status Close(int fd, const std::string& path) override {
    if (auto f = faults_->Check("close", path)) {
      (void)PosixStoreFileSystem::Close(fd, path);  // the descriptor is gone either way
      return Fail("close", path, *f);
    }
    return PosixStoreFileSystem::Close(fd, path);
  }
  core::Status Rename(const std::string& from, const std::string& to) override {
    if (auto f = faults_->Check("rename", from)) return Fail("rename", from, *f);
    return PosixStoreFileSystem::Rename(from, to);
  }
  core::Status SyncDirectory(const std::string& path) override {
    if (auto f = faults_->Check("fsync_dir", path)) return Fail("fsync directory", path, *f);
    return PosixStoreFileSystem::SyncDirectory(path);
  }
  core::Status MakeDirectory(const std::string& path, mode_t mode) override {
    if (auto f = faults_->Check("mkdir", path)) return Fail("mkdir", path, *f);
    return PosixStoreFileSystem::MakeDirectory(path, mode);
  }
  core::Status Remove(const std::string& path) override {
    if (auto f = faults_->Check("remove", path)) return Fail("unlink", path, *f);
    return PosixStoreFileSystem::Remove(path);
  }
  core::Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    if (auto f = faults_->Check("read", path)) return Fail("read", path, *f);
    return PosixStoreFileSystem::ReadFile(path, max_bytes);
  }

 private:
  static std::unexpected<core::Error> Fail(std::string_view what, const std::string& path,
                                           const testing::Fault& fault) {
    return core::Fail(
        core::ErrnoError(core::ErrorCode::kIo, fmt::format("{} {}", what, path), fault.error));
  }
  std::shared_ptr<testing::FaultInjector> faults_;
};

// A QuarantineIndex that forwards to a real one and fails Insert while `fail_inserts` is set.
class FailingIndex : public QuarantineIndex {
 public:
  explicit FailingIndex(std::unique_ptr<QuarantineIndex> inner) : inner_(std::move(inner)) {}
  bool fail_inserts = false;
  core::Status Insert(const QuarantineEntry& entry) override {
    if (fail_inserts)
      return core::Fail(core::ErrorCode::kIo, "sqlite step: database or disk is full");
    return inner_->Insert(entry);
  }
  core::Status InsertMany(std::span<const QuarantineEntry> entries) override {
    return inner_->InsertMany(entries);
  }
  core::Result<QuarantineEntry> Get(std::string_view id) override { return inner_->Get(id); }
  core::Result<QueryPage> Query(const QuarantineQuery& query) override {
    return inner_->Query(query);
  }
  core::Result<std::vector<ClassCount>> CountByClass(TimePoint since, TimePoint until,
                                                     Clock::duration bucket) override {
    return inner_->CountByClass(since, until, bucket);
  }
  core::Status RecordEvent(std::string_view id, const EntryEvent& event) override {
    return inner_->RecordEvent(id, event);
  }
  core::Status SetDamage(std::string_view id, std::string_view damage) override {
    return inner_->SetDamage(id, damage);
  }
  core::Result<std::vector<std::string>> ExpiryCandidates(TimePoint cutoff, size_t limit,
                                                          std::string_view after) override {
    return inner_->ExpiryCandidates(cutoff, limit, after);
  }
  core::Status Erase(std::span<const std::string> ids) override { return inner_->Erase(ids); }
  core::Result<std::vector<IndexedId>> AllIds() override { return inner_->AllIds(); }

 private:
  std::unique_ptr<QuarantineIndex> inner_;
};

// Records what it was asked to send; answers with `result` (accepting everything by default).
class FakeSender : public MessageSender {
 public:
  struct Call {
    std::string sender;
    std::vector<std::string> recipients;
    std::string message;
  };
  std::vector<Call> calls;
  std::optional<core::Error> error;  // fail the whole send
  std::vector<std::string> reject;   // refuse these recipients (550)
  core::Result<SendOutcome> Send(std::string_view envelope_sender,
                                 std::span<const std::string> recipients,
                                 std::string_view message) override {
    calls.push_back({std::string(envelope_sender),
                     {recipients.begin(), recipients.end()},
                     std::string(message)});
    if (error) return core::Fail(*error);
    SendOutcome outcome;
    for (const std::string& r : recipients) {
      if (std::find(reject.begin(), reject.end(), r) != reject.end()) {
        outcome.rejected.push_back({r, "550 5.1.1 no such user", false});
      } else {
        outcome.accepted.push_back(r);
      }
    }
    return outcome;
  }
};

// A clock the test moves by hand.
struct FakeClock {
  TimePoint now = FromUnixMicros(1'795'000'000'000'000);  // 2026-11-19
  std::function<TimePoint()> Function() {
    return [this] { return now; };
  }
};

}  // namespace moat::quarantine::test
