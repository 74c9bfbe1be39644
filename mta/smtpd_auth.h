// smtpd_auth.h - SMTP AUTH for moat-mta's smtpd: PLAIN/LOGIN credentials checked against a table
// of password hashes (smtpd_sasl_password_maps, "user $pbkdf2-sha256$..." lines made with
// `moat passwd`; see core/password_hash.h and the README).
//
// Checking a hash costs ~0.15 s of CPU by design, so it never runs on an I/O thread: Verify()
// hands the work to a small worker pool and resumes the session when it is done. At most
// `max_pending` checks wait at once; beyond that Verify() answers kBusy at once (454 4.7.0), so an
// AUTH flood cannot queue unbounded work. An unknown user costs the same as a wrong password (a
// dummy hash is checked), so timing does not tell which user names exist.
//
// Outcomes: kAccepted; kRejected (unknown user, wrong password, a table value that is not a hash
// - logged); kTemporaryFailure (the table lookup failed); kBusy.
//
// Thread safety: Verify() may be called from any coroutine; the verifier must outlive every
// Verify() in flight (moat-mta's server owns it and stops sessions first).
#pragma once

// clang-format off
#include <atomic>
#include <cstddef>
#include <string>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/lookup_table.h"
#include "core/smtp_sasl.h"

namespace moat::mta {

class PasswordVerifier {
 public:
  enum class Outcome { kAccepted, kRejected, kTemporaryFailure, kBusy };

  // `workers`: the executor the hash checks run on (a thread pool's).
  PasswordVerifier(asio::any_io_executor workers, std::size_t max_pending = 32);

  asio::awaitable<Outcome> Verify(const core::TableList& passwords,
                                  core::SaslCredentials credentials);

  std::size_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  asio::any_io_executor workers_;
  std::size_t max_pending_;
  std::atomic<std::size_t> pending_{0};
  std::string dummy_hash_;
};

}  // namespace moat::mta
