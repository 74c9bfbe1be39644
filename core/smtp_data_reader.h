// smtp_data_reader.h - decoding the message that follows DATA: dot-unstuffing, the end marker,
// line-end normalisation and the size limit (RFC 5321 4.5.2 and 4.5.3.1.7).
//
// Consume() takes what is in the input buffer and appends the message bytes to `out`:
//   - a line starting with '.' loses that dot; a line that is only "." ends the message
//     (CRLF.CRLF, also LF.LF and mixtures, since bare LF is accepted);
//   - every line end becomes CRLF (a bare LF gains a CR; a CR not followed by LF is content);
//   - NUL and 8-bit bytes pass through;
//   - once `size_limit` bytes would be exceeded, nothing more is stored (overflow() turns true)
//     but reading continues to the end marker, so the server can answer 552 5.3.4 in step.
// The message handed over always ends with CRLF unless empty. State carries across calls, so input
// may arrive in pieces of any size. Bytes after the end marker stay in the input buffer (they are
// the next pipelined command). Not thread-safe; one per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/smtp_line_reader.h"

namespace moat::core {

class SmtpDataReader {
 public:
  // `size_limit` 0 means unlimited.
  explicit SmtpDataReader(std::uint64_t size_limit = 0) { Reset(size_limit); }

  void Reset(std::uint64_t size_limit);
  // Returns true once the end marker has been consumed.
  bool Consume(SmtpInputBuffer& input, std::string& out);

  bool overflow() const { return overflow_; }
  // Message bytes seen so far (after unstuffing), stored or not.
  std::uint64_t size() const { return size_; }

 private:
  enum class State { kLineStart, kDot, kDotCr, kInLine };
  void Emit(const char* data, std::size_t length, std::string& out);

  std::uint64_t size_limit_ = 0;
  std::uint64_t size_ = 0;
  State state_ = State::kLineStart;
  bool last_cr_ = false;
  bool overflow_ = false;
};

// The reverse, for the client: dot-stuffs a message and normalises its line ends to CRLF. Feed the
// message in pieces with Encode(), then Finish() appends the final CRLF (when the message did not
// end with a line end) and the ".\r\n" end marker.
class SmtpDotStuffer {
 public:
  void Encode(std::string_view piece, std::string& out);
  void Finish(std::string& out);
  void Reset() {
    at_line_start_ = true;
    last_cr_ = false;
  }

 private:
  bool at_line_start_ = true;
  bool last_cr_ = false;
};

}  // namespace moat::core
