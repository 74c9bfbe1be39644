// queue_id.h - queue IDs: unique, sortable by arrival, and safe as file names.
//
// A queue ID is 15 characters of Crockford's base-32 alphabet (0-9 and A-Z without I, L, O, U;
// ASCII order is numeric order):
//
//   SSSSSSS   7 characters: Unix seconds of creation (35 bits: good until the year 3058)
//   UUUU      4 characters: microseconds within that second
//   NNNN      4 characters: a per-generator sequence number (20 bits, starting at a random value)
//
// so IDs sort by creation time, like Postfix's long queue IDs (enable_long_queue_ids), and
// `ls incoming/` lists messages in arrival order. Two generators (moat-mta and `moat queue
// requeue`) can only collide when they draw the same sequence number in the same microsecond;
// the queue store also refuses to replace an existing file (rename without replace), so a
// collision fails a commit instead of overwriting a message.
//
// Thread safety: QueueIdGenerator::Next() may be called from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moat::mta {

inline constexpr size_t kQueueIdLength = 15;

class QueueIdGenerator {
 public:
  QueueIdGenerator();
  std::string Next(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

 private:
  std::atomic<uint32_t> sequence_;
};

// True for exactly kQueueIdLength characters of the alphabet: anything else (paths, "..", lower
// case) is not a queue ID.
bool IsValidQueueId(std::string_view id);

// The creation time encoded in a valid ID.
std::optional<std::chrono::system_clock::time_point> QueueIdTime(std::string_view id);

}  // namespace moat::mta
