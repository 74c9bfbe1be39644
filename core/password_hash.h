// password_hash.h - password hashes for SMTP AUTH (moat-mta) and the web UI: make one, check one.
//
// Format: passlib's pbkdf2_sha256 string, PBKDF2-HMAC-SHA256 (RFC 8018) over the UTF-8 password,
//
//   $pbkdf2-sha256$<iterations>$<salt>$<checksum>
//   $pbkdf2-sha256$600000$Wl2vX0ZuC2FvoLmvL7zQWg$3Q7Nxo0xK2QmDqf0Qk3w1w0bU2d0iH8vE8m1cW8r1aA
//
// where salt (16 random bytes from OpenSSL's CSPRNG) and checksum (32 bytes) are written in
// passlib's "adapted base64": the standard alphabet with '.' instead of '+', no padding. The string
// says everything needed to check it, so the iteration count can grow later without breaking old
// entries. Why this scheme: OpenSSL (already linked) implements it, it is a NIST-approved KDF, the
// cost is tunable, and the strings are what python3-passlib (and Django-style tools) make and
// check, so administrators can produce them without Moat (`moat passwd` is the convenient way).
//
// The default cost (kDefaultPbkdf2Iterations) follows OWASP's 2023 guidance for PBKDF2-SHA256;
// checking one costs about 0.15 s of one core here, which is why callers run VerifyPassword() off
// the I/O threads (moat-mta's smtpd does).
//
// Errors: HashPassword() fails with kIo only when the random generator fails. VerifyPassword()
// answers true/false for a well-formed stored hash and kInvalid for a stored value that is not one
// (a plain-text password in a table is refused, never compared). The comparison is constant-time.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

inline constexpr int kDefaultPbkdf2Iterations = 600'000;
// Bounds accepted in a stored hash (a hostile table entry must not stall a thread for minutes).
inline constexpr int kMinPbkdf2Iterations = 1'000;
inline constexpr int kMaxPbkdf2Iterations = 10'000'000;

struct PasswordHashOptions {
  int iterations = kDefaultPbkdf2Iterations;
};

Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options = {});

Result<bool> VerifyPassword(std::string_view password, std::string_view stored_hash);

// True when `text` has the shape of a hash this module can check (cheap, no KDF run).
bool IsPasswordHash(std::string_view text);

}  // namespace moat::core
