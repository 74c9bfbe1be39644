// web_login_limiter.h - slows password guessing at `moat web`'s login, per client address and
// per user name.
//
// Each key ("addr:<ip>" and "user:<name>") counts failed logins. The first `free_failures` cost
// nothing; after that every failure locks the key for `first_delay` doubled per further failure,
// capped at `max_delay` (5 free, then 1 s, 2 s, 4 s ... 15 min by default). A locked key is
// answered 429 with Retry-After before the password is even checked (so a locked-out guesser
// cannot learn whether a guess was right). A success clears the address and the user. A key
// with no failure for `forget_after` is forgotten.
//
// Counting per user too stops a guesser who spreads over many addresses; the cap on the lock
// bounds how long such a guesser can keep a real user out. At most `max_keys` keys are kept (the
// stalest are dropped first), so a flood of addresses cannot grow memory without bound.
//
// Thread safety: every method may be called from several threads at once. The clock is injected
// for tests.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cli/web_session.h"

namespace moat::cli {

struct LoginLimiterOptions {
  int free_failures = 5;
  std::chrono::seconds first_delay{1};
  std::chrono::seconds max_delay{15 * 60};
  std::chrono::seconds forget_after{60 * 60};
  size_t max_keys = 100'000;
};

class LoginLimiter {
 public:
  explicit LoginLimiter(LoginLimiterOptions options = {},
                        std::function<WebClock::time_point()> clock = WebClock::now);

  // nullopt when a login attempt may be checked now; otherwise how long to wait (at least 1 s).
  std::optional<std::chrono::seconds> Check(std::string_view address, std::string_view user);
  void RecordFailure(std::string_view address, std::string_view user);
  void RecordSuccess(std::string_view address, std::string_view user);
  // Keys (addresses and users) with failures on record.
  size_t tracked();

 private:
  struct Record {
    int failures = 0;
    WebClock::time_point last_failure;
    WebClock::time_point locked_until;
  };
  std::optional<std::chrono::seconds> WaitLocked(const std::string& key, WebClock::time_point now);
  void FailLocked(const std::string& key, WebClock::time_point now);
  void PruneLocked(WebClock::time_point now);

  LoginLimiterOptions options_;
  std::function<WebClock::time_point()> clock_;
  std::mutex mutex_;
  std::map<std::string, Record, std::less<>> records_;
};

}  // namespace moat::cli
