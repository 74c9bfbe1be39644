// error.h - the error value every Moat module returns across its boundary.
//
// A fallible function returns core::Result<T> (std::expected<T, core::Error>), or core::Status when
// it has no value. The code keeps temporary apart from permanent, because at the SMTP/LMTP edge the
// difference decides whether a sender retries (4xx) or gives up (5xx):
//
//   kTempFail  try again later: a timeout, an overloaded pool, a DNS SERVFAIL, a peer's 4xx.
//   kPermFail  will never work for this input: a peer's 5xx, a message over a hard limit.
//   kNotFound  a lookup or an ID that does not exist. Lookups that merely miss return
//              std::nullopt instead; kNotFound is for "the thing you named is not there".
//   kInvalid   malformed input: a config value, a command line, a rule, a protocol line.
//   kCorrupt   stored data that fails its own checks (a queue file without its end record).
//   kIo        the operating system refused: open, write, fsync, rename, connect.
//
// An error is never read as success or as "nothing found": a lookup error defers mail, a scanner
// error is a tempfail unless a policy says otherwise. Only kPermFail and kInvalid of input that
// came from the peer map to 5xx; kIo, kCorrupt and kTempFail are always temporary for the peer.
//
// Error is a small value type, cheap to move, safe to copy between threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace moat::core {

enum class ErrorCode { kTempFail, kPermFail, kNotFound, kInvalid, kCorrupt, kIo };

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // True when the condition may clear by itself; a peer should retry (4xx).
  bool temporary() const { return code_ == ErrorCode::kTempFail || code_ == ErrorCode::kIo; }

  // "kind: message", for logs.
  std::string ToString() const;

  // Adds context in front of the message, keeping the code: "loading table x: <message>".
  Error WithContext(std::string_view context) const&;
  Error WithContext(std::string_view context) &&;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// Builds the unexpected branch of a Result: `return core::Fail(ErrorCode::kIo, "open {}: {}", p, e);`
template <typename... Args>
std::unexpected<Error> Fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(Error(code, fmt::format(format, std::forward<Args>(args)...)));
}

inline std::unexpected<Error> Fail(Error error) { return std::unexpected<Error>(std::move(error)); }

// "open /x: No such file or directory" from errno.
Error ErrnoError(ErrorCode code, std::string_view what, int errno_value);

}  // namespace moat::core
