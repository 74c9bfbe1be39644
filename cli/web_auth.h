// web_auth.h - who may use the browser review (`moat web`): the users file, password hashes, and
// random tokens for sessions and CSRF.
//
// Users file (filterd.cf's web_users_file), one user a line, `#` comments and blank lines ignored:
//
//   # name     role      hash
//   alice      admin     $pbkdf2-sha256$600000$q7fT2x0f0Vx1G4Yv9aC0Tw$3u0...
//   bob        reviewer  $pbkdf2-sha256$600000$...
//
//   name   1-64 bytes of [A-Za-z0-9._@+-] (it is recorded in the quarantine history as web:<name>)
//   role   admin (everything) or reviewer (everything but releasing VIRUS mail)
//   hash   self-describing: $pbkdf2-sha256$<iterations>$<salt>$<hash>, salt and hash in base64
//          (RFC 4648, '=' padding optional; passlib's '.' for '+' accepted too), iterations
//          1000..100,000,000, salt 8..64 bytes, hash 32 bytes (SHA-256 output size). PBKDF2-HMAC-
//          SHA256 of the UTF-8 password (OpenSSL's PKCS5_PBKDF2_HMAC), compared in constant time.
//
// The file may hold secrets' hashes: it should be readable by its owner only (a group- or
// world-writable file is refused, since whoever writes it can add an admin).
//
// WebUserDirectory re-reads the file when its modification time or size changes, so adding a user
// needs no restart; a file that stops parsing keeps the previous users and logs the error.
//
// Thread safety: the free functions are pure (RandomToken uses OpenSSL's thread-safe RNG);
// WebUserDirectory may be shared between threads. Errors: kInvalid with "file:line: why" for a bad
// line, kIo/kNotFound when the file cannot be read.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::cli {

enum class WebRole { kAdmin, kReviewer };
std::string_view WebRoleName(WebRole role);  // "admin", "reviewer"
std::optional<WebRole> ParseWebRole(std::string_view name);

struct WebUser {
  std::string name;
  WebRole role = WebRole::kReviewer;
  std::string password_hash;
};

inline constexpr int kDefaultPbkdf2Iterations = 600'000;  // OWASP 2023 for PBKDF2-HMAC-SHA256

// Checks the hash format above; kInvalid says what is wrong (never echoes the hash itself).
core::Status CheckPasswordHash(std::string_view encoded);
// True when `password` matches; false for a wrong password and for a malformed hash.
bool VerifyPassword(std::string_view password, std::string_view encoded);
// A new hash of `password` with a random 16-byte salt.
std::string HashPassword(std::string_view password, int iterations = kDefaultPbkdf2Iterations);
// Runs one verification's worth of work against a fixed hash, so an unknown user name takes as
// long as a known one (no user enumeration by timing).
void BurnPasswordCheck(std::string_view password, int iterations);

// `bytes` random bytes (OpenSSL RAND_bytes) as unpadded base64url: cookie- and header-safe.
std::string RandomToken(size_t bytes = 32);
// Constant-time equality of two tokens (different lengths are unequal, without early exit on
// content).
bool TokensEqual(std::string_view a, std::string_view b);

// Parses the users file text; `file_name` is used in messages.
core::Result<std::vector<WebUser>> ParseUsersFile(std::string_view text,
                                                  std::string_view file_name);

class WebUserDirectory {
 public:
  explicit WebUserDirectory(std::string path) : path_(std::move(path)) {}
  // Reads the file now; an error leaves the directory as it was.
  core::Status Load();
  // The user named `name` (exact match), reloading first when the file changed.
  std::optional<WebUser> Find(std::string_view name);
  const std::string& path() const { return path_; }

 private:
  core::Status LoadLocked();

  std::string path_;
  std::mutex mutex_;
  std::vector<WebUser> users_;
  struct timespec mtime_ {};
  off_t size_ = -1;
};

}  // namespace moat::cli
