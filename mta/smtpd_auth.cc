// smtpd_auth.cc - password checks for SMTP AUTH, off the I/O threads.
#include "mta/smtpd_auth.h"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/password_hash.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

// Runs on a worker thread. Takes its strings by value: they live in this frame.
asio::awaitable<core::Result<bool>> CheckOnWorker(std::string password, std::string stored) {
  core::Result<bool> result = core::VerifyPassword(password, stored);
  std::fill(password.begin(), password.end(), '\0');
  co_return result;
}

struct PendingGuard {
  std::atomic<std::size_t>& pending;
  ~PendingGuard() { pending.fetch_sub(1, std::memory_order_relaxed); }
};

}  // namespace

PasswordVerifier::PasswordVerifier(asio::any_io_executor workers, std::size_t max_pending)
    : workers_(std::move(workers)), max_pending_(max_pending) {
  // A real hash of a random password: unknown users cost as much as known ones.
  auto dummy = core::HashPassword("moat-dummy-password-for-unknown-users");
  dummy_hash_ = dummy ? *dummy : std::string();
}

asio::awaitable<PasswordVerifier::Outcome> PasswordVerifier::Verify(
    const core::TableList& passwords, core::SaslCredentials credentials) {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    co_return Outcome::kBusy;
  }
  PendingGuard guard{pending_};
  std::string stored;
  bool known = false;
  if (!credentials.username.empty() && credentials.username.size() <= 256 &&
      !passwords.empty()) {
    auto found = passwords.LookupInto(credentials.username, stored);
    if (!found) {
      spdlog::warn("SASL password table lookup for {}: {}", credentials.username,
                   found.error().message());
      co_return Outcome::kTemporaryFailure;
    }
    known = *found;
  }
  if (known) {
    // Only the first word: a table line may carry a comment after the hash.
    stored = stored.substr(0, stored.find_first_of(" \t"));
    if (!core::IsPasswordHash(stored)) {
      spdlog::error("SASL password table: the entry for {} is not a password hash (make one "
                    "with `moat passwd`); refusing",
                    credentials.username);
      known = false;
      stored.clear();
    }
  }
  if (!known) stored = dummy_hash_;
  if (stored.empty()) co_return Outcome::kRejected;
  auto result = co_await asio::co_spawn(
      workers_, CheckOnWorker(std::move(credentials.password), std::move(stored)),
      asio::use_awaitable);
  if (!result) {
    spdlog::warn("SASL password check for {}: {}", credentials.username, result.error().message());
    co_return result.error().temporary() ? Outcome::kTemporaryFailure : Outcome::kRejected;
  }
  co_return (known && *result) ? Outcome::kAccepted : Outcome::kRejected;
}

}  // namespace moat::mta
