// smtp_reply.h - an SMTP/LMTP reply: code, enhanced status code (RFC 3463) and text lines.
//
// Both sides of the wire use this one type. The server session formats replies with
// AppendTo() ("250-first\r\n250 last\r\n", the enhanced code repeated on every line as RFC 2034
// asks); the client reads a peer's reply line by line with SmtpReplyParser, which enforces the
// RFC 5321 grammar (same code on every line, '-' continuation, final line with ' ' or nothing).
// Handlers of the server session return an SmtpReply to say what to answer; a default-constructed
// (empty) reply means "accept with the session's standard text".
//
// Text is stored as one string with '\n' between lines, so a one-line reply costs one allocation
// at most. Replies are plain values: cheap to move, safe to copy across threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::core {

class SmtpReply {
 public:
  // The empty reply (code 0): "no specific reply" / accept with the default text.
  SmtpReply() = default;
  // `enhanced` is "x.y.z" or empty; `text` may hold several lines separated by '\n'.
  // A trailing '\r' on any line is dropped; other CR/LF bytes never reach the wire.
  SmtpReply(int code, std::string_view enhanced, std::string_view text);

  // Parses "550 5.7.1 text" or "550 text" (as written in access maps and tests) into a one-line
  // reply; nullopt when it does not start with a valid three-digit code (2xx..5xx).
  static std::optional<SmtpReply> FromString(std::string_view line);

  int code() const { return code_; }
  bool empty() const { return code_ == 0; }
  const std::string& enhanced() const { return enhanced_; }
  // All lines joined with '\n', without codes.
  const std::string& text() const { return text_; }
  std::vector<std::string_view> Lines() const;

  bool positive() const { return code_ >= 200 && code_ < 400; }   // 2xx and 3xx
  bool transient() const { return code_ >= 400 && code_ < 500; }  // 4xx
  bool permanent() const { return code_ >= 500 && code_ < 600; }  // 5xx
  // 421: the server closes the connection after sending it.
  bool closes_connection() const { return code_ == 421; }

  // Same reply with "<class>.0.0" as enhanced code when it has none and the code is 2xx/4xx/5xx.
  SmtpReply WithDefaultEnhanced() const&;
  SmtpReply WithDefaultEnhanced() &&;

  // Appends the wire form, every line ended by CRLF.
  void AppendTo(std::string& out) const;
  std::string Format() const;
  // One line for logs: "550 5.1.1 text" (lines joined with a space).
  std::string ToString() const;

  // The reply as an error value: 4xx -> kTempFail, 5xx -> kPermFail, message = ToString().
  Error ToError() const;

  friend bool operator==(const SmtpReply&, const SmtpReply&) = default;

 private:
  int code_ = 0;
  std::string enhanced_;
  std::string text_;
};

// True when `text` is a well-formed enhanced status code "c.s.d" (c in 2,4,5; s and d up to 3
// digits).
bool IsEnhancedStatusCode(std::string_view text);

// Reads a (possibly multi-line) reply from a peer, one line at a time (lines without CRLF).
// Contract: Feed() lines until it answers kDone or kError; Take() then hands over the reply and
// resets the parser. A reply is limited to kMaxLines lines and kMaxBytes bytes so a hostile peer
// cannot grow it without bound.
class SmtpReplyParser {
 public:
  static constexpr std::size_t kMaxLines = 1000;
  static constexpr std::size_t kMaxBytes = 64 * 1024;

  enum class State { kMore, kDone, kError };

  State Feed(std::string_view line);
  // The finished reply (after kDone). Resets the parser.
  SmtpReply Take();
  // Why the reply was refused (after kError).
  const std::string& error() const { return error_; }
  void Reset();

 private:
  int code_ = 0;
  std::size_t lines_ = 0;
  std::string enhanced_;
  std::string text_;
  std::string error_;
  bool done_ = false;
};

}  // namespace moat::core
