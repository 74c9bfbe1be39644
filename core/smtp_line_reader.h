// smtp_line_reader.h - the receive buffer of an SMTP/LMTP connection and the line splitter that
// reads commands (server) or reply lines (client) from it.
//
// SmtpInputBuffer is one fixed block (64 KiB by default) that socket reads fill and parsers
// consume; it never grows, so a peer cannot make it allocate. Consumed space is reclaimed by
// moving the unread tail to the front only when more room is needed.
//
// SmtpLineReader extracts lines ending in LF (CRLF or bare LF, both accepted; the terminator and a
// CR before it are removed). NUL and other bytes pass through untouched. A line longer than the
// limit (counted with its terminator) is never buffered: its bytes are dropped as they arrive and
// the reader reports kTooLong once, when the line's end is seen, so the server answers
// "500 5.5.2 line too long" in order with pipelined commands and carries on with the next line.
//
// Lifetime: the string_view of a kLine result points into the buffer and stays valid until the
// next PrepareRead() (reading more may move the bytes). Not thread-safe; one per connection.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace moat::core {

class SmtpInputBuffer {
 public:
  static constexpr std::size_t kDefaultCapacity = 64 * 1024;

  explicit SmtpInputBuffer(std::size_t capacity = kDefaultCapacity);

  // Free space at the end to read into, after compacting when needed. Empty only when the
  // buffer is full of unconsumed bytes (callers consume before reading again).
  std::span<char> PrepareRead();
  // Marks `n` bytes of the span from PrepareRead() as filled.
  void CommitRead(std::size_t n);

  std::string_view pending() const { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  std::size_t capacity() const { return capacity_; }
  void Consume(std::size_t n);
  // Drops all unread input (e.g. what a client pipelined after STARTTLS, CVE-2011-0411).
  void Clear() { begin_ = end_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

class SmtpLineReader {
 public:
  enum class Status { kLine, kNeedMore, kTooLong };
  struct Result {
    Status status;
    std::string_view line;  // kLine only: without CR LF
  };

  // `max_line_length` counts the line with its CRLF (RFC 5321: 512 for commands, 1000 for text
  // lines; extensions raise it). It must be smaller than the buffer's capacity.
  explicit SmtpLineReader(std::size_t max_line_length);

  Result Next(SmtpInputBuffer& input);
  // True while the rest of an over-long line is being dropped.
  bool discarding() const { return discarding_; }
  void Reset() { discarding_ = false; }
  std::size_t max_line_length() const { return max_line_length_; }

 private:
  std::size_t max_line_length_;
  bool discarding_ = false;
};

}  // namespace moat::core
