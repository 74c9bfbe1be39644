// smtp_line_reader.cc - fixed receive buffer and bounded line splitting.
#include "core/smtp_line_reader.h"

#include <cstring>

namespace moat::core {

SmtpInputBuffer::SmtpInputBuffer(std::size_t capacity)
    : data_(new char[capacity]), capacity_(capacity) {}

std::span<char> SmtpInputBuffer::PrepareRead() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == capacity_ && begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  } else if (begin_ > capacity_ / 2) {
    // Keep reads large: a tail stuck near the end would make every read small.
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {data_.get() + end_, capacity_ - end_};
}

void SmtpInputBuffer::CommitRead(std::size_t n) {
  end_ += n;
  if (end_ > capacity_) end_ = capacity_;
}

void SmtpInputBuffer::Consume(std::size_t n) {
  begin_ += n;
  if (begin_ >= end_) begin_ = end_ = 0;
}

SmtpLineReader::SmtpLineReader(std::size_t max_line_length) : max_line_length_(max_line_length) {}

SmtpLineReader::Result SmtpLineReader::Next(SmtpInputBuffer& input) {
  std::string_view pending = input.pending();
  const void* found = pending.empty() ? nullptr : std::memchr(pending.data(), '\n', pending.size());
  if (found == nullptr) {
    if (discarding_ || pending.size() >= max_line_length_) {
      discarding_ = true;
      input.Consume(pending.size());
    }
    return {Status::kNeedMore, {}};
  }
  std::size_t length = static_cast<const char*>(found) - pending.data() + 1;
  std::string_view line = pending.substr(0, length);
  input.Consume(length);
  if (discarding_ || length > max_line_length_) {
    discarding_ = false;
    return {Status::kTooLong, {}};
  }
  line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return {Status::kLine, line};
}

}  // namespace moat::core
