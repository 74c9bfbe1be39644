// fault_injection.cc - failure schedules and a small real tmpfs for tests.
#include "tests/support/fault_injection.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace moat::testing {

void FaultInjector::Add(FaultRule rule) {
  std::lock_guard lock(mutex_);
  rules_.push_back({std::move(rule), 0});
}

void FaultInjector::Clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
}

std::optional<Fault> FaultInjector::Check(std::string_view operation, std::string_view path) {
  std::lock_guard lock(mutex_);
  auto counted = calls_.find(operation);
  if (counted == calls_.end()) counted = calls_.emplace(std::string(operation), 0).first;
  ++counted->second;
  for (Entry& entry : rules_) {
    const FaultRule& rule = entry.rule;
    if (rule.operation != operation) continue;
    if (!rule.path_contains.empty() && path.find(rule.path_contains) == std::string_view::npos) {
      continue;
    }
    int index = entry.matched++;
    if (index < rule.skip) continue;
    if (rule.times != 0 && index >= rule.skip + rule.times) continue;
    ++injected_;
    return rule.fault;
  }
  return std::nullopt;
}

int FaultInjector::calls(std::string_view operation) const {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(operation);
  return found == calls_.end() ? 0 : found->second;
}

int FaultInjector::injected() const {
  std::lock_guard lock(mutex_);
  return injected_;
}

ScopedTmpfs::ScopedTmpfs(size_t bytes) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr ? base : "/tmp") + "/moat-tmpfs.XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  path_ = templ;
  std::string data = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("moat-test", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
    error_ = std::string("mount tmpfs: ") + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

ScopedTmpfs::~ScopedTmpfs() {
  if (path_.empty()) return;
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace moat::testing
