// smtp_data_reader.cc - DATA decoding (server) and dot-stuffing (client).
//
// Both directions copy runs of ordinary CRLF-terminated lines with one append instead of one per
// line; only dots at line starts and bare LFs break a run.
#include "core/smtp_data_reader.h"

#include <cstring>

namespace moat::core {

void SmtpDataReader::Reset(std::uint64_t size_limit) {
  size_limit_ = size_limit;
  size_ = 0;
  state_ = State::kLineStart;
  last_cr_ = false;
  overflow_ = false;
}

void SmtpDataReader::Emit(const char* data, std::size_t length, std::string& out) {
  if (length == 0) return;
  size_ += length;
  if (overflow_) return;
  if (size_limit_ != 0 && size_ > size_limit_) {
    overflow_ = true;
    return;
  }
  out.append(data, length);
}

bool SmtpDataReader::Consume(SmtpInputBuffer& input, std::string& out) {
  std::string_view pending = input.pending();
  const char* p = pending.data();
  const std::size_t n = pending.size();
  std::size_t pos = 0;
  std::size_t run = 0;  // start of bytes still to be copied verbatim
  bool done = false;
  while (!done) {
    if (state_ == State::kLineStart) {
      if (pos == n) break;
      if (p[pos] == '.') {
        Emit(p + run, pos - run, out);
        run = ++pos;
        state_ = State::kDot;
        continue;
      }
      state_ = State::kInLine;
    } else if (state_ == State::kDot) {
      if (pos == n) break;
      if (p[pos] == '\n') {
        run = ++pos;
        done = true;
        break;
      }
      if (p[pos] == '\r') {
        run = ++pos;
        state_ = State::kDotCr;
        continue;
      }
      state_ = State::kInLine;  // a stuffed dot: dropped
    } else if (state_ == State::kDotCr) {
      if (pos == n) break;
      if (p[pos] == '\n') {
        run = ++pos;
        done = true;
        break;
      }
      // ".\r" then something else: the dot was stuffing and the CR is content.
      Emit("\r", 1, out);
      last_cr_ = true;
      state_ = State::kInLine;
    }
    // kInLine
    const void* found = pos < n ? std::memchr(p + pos, '\n', n - pos) : nullptr;
    if (found == nullptr) {
      if (n > pos) last_cr_ = p[n - 1] == '\r';
      pos = n;
      break;
    }
    std::size_t nl = static_cast<const char*>(found) - p;
    bool crlf = nl > pos ? p[nl - 1] == '\r' : last_cr_;
    if (crlf) {
      pos = nl + 1;
    } else {
      Emit(p + run, nl - run, out);
      Emit("\r\n", 2, out);
      run = pos = nl + 1;
    }
    last_cr_ = false;
    state_ = State::kLineStart;
  }
  if (!done) Emit(p + run, pos - run, out);
  input.Consume(pos);
  if (done) state_ = State::kLineStart;
  return done;
}

void SmtpDotStuffer::Encode(std::string_view piece, std::string& out) {
  const char* p = piece.data();
  const std::size_t n = piece.size();
  std::size_t pos = 0;
  std::size_t run = 0;
  while (pos < n) {
    if (at_line_start_) {
      at_line_start_ = false;
      if (p[pos] == '.') {
        out.append(p + run, pos - run);
        out.push_back('.');
        run = pos;  // the original dot follows the added one
      }
    }
    const void* found = std::memchr(p + pos, '\n', n - pos);
    if (found == nullptr) {
      last_cr_ = p[n - 1] == '\r';
      pos = n;
      break;
    }
    std::size_t nl = static_cast<const char*>(found) - p;
    bool crlf = nl > pos ? p[nl - 1] == '\r' : last_cr_;
    if (!crlf) {
      out.append(p + run, nl - run);
      out.append("\r\n");
      run = nl + 1;
    }
    pos = nl + 1;
    last_cr_ = false;
    at_line_start_ = true;
  }
  out.append(p + run, pos - run);
}

void SmtpDotStuffer::Finish(std::string& out) {
  if (!at_line_start_) {
    // A message whose last line has no line end: end it, then the marker. A lone trailing CR
    // already written becomes part of that CRLF.
    out.append(last_cr_ ? "\n" : "\r\n");
  }
  out.append(".\r\n");
  Reset();
}

}  // namespace moat::core
