// web_session.h - logged-in browser sessions of `moat web`, each with its CSRF token.
//
// A login creates a session: a 256-bit random token for the cookie (HttpOnly, SameSite=Strict,
// Secure under TLS; set by web_server.cc) and a separate 256-bit CSRF token, the synchronizer
// token every state-changing request must echo (X-CSRF-Token header or csrf_token form field).
// The CSRF token is bound to its session: a token of another (or an expired, or logged-out)
// session is stale and refused.
//
// Sessions live in memory only: restarting `moat web` logs everyone out, which is the safe
// direction. They expire after `idle_timeout` without a request and `absolute_timeout` after the
// login whatever happens; at most `max_sessions` exist (the oldest is dropped), so a flood of
// logins cannot grow memory without bound. The map is keyed by the SHA-256 of the token, so a
// lookup's timing says nothing useful about stored tokens.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cli/web_auth.h"

namespace moat::cli {

using WebClock = std::chrono::system_clock;

struct WebSession {
  std::string user;
  WebRole role = WebRole::kReviewer;
  std::string csrf_token;
  WebClock::time_point created;
  WebClock::time_point last_seen;
};

struct SessionOptions {
  std::chrono::seconds idle_timeout{30 * 60};
  std::chrono::seconds absolute_timeout{12 * 60 * 60};
  size_t max_sessions = 10'000;
};

class SessionStore {
 public:
  explicit SessionStore(SessionOptions options = {},
                        std::function<WebClock::time_point()> clock = WebClock::now);

  // A new session; returns its cookie token.
  std::string Create(const std::string& user, WebRole role);
  // The session of a cookie token, its idle timer restarted; nullopt when unknown or expired.
  std::optional<WebSession> Touch(std::string_view token);
  // Logs out (unknown tokens are ignored).
  void Remove(std::string_view token);
  // Logs out every session of `user` (after a password change, say).
  void RemoveUser(std::string_view user);
  size_t size();

 private:
  void ExpireLocked(WebClock::time_point now);

  SessionOptions options_;
  std::function<WebClock::time_point()> clock_;
  std::mutex mutex_;
  std::map<std::string, WebSession, std::less<>> sessions_;  // by SHA-256 of the token
};

}  // namespace moat::cli
