// decode_limits.h - the resource limits of decoding one message, and its time budget.
//
// Every byte a sender controls is decoded under these limits, so no message can make the filter
// use unbounded memory or time. Exceeding a limit is not an error: the decoder records a
// LimitEvent (content_events.h) naming the limit and the place, skips what lies beyond, and
// carries on with the rest of the message. Memory held for one message is bounded by
// roughly raw size + max_total_bytes (+ the text copies of text parts).
//
// The defaults follow amavisd-new's spirit ($MAXLEVELS, $MAXFILES, expansion quota) scaled to
// in-memory decoding: at the defaults a decompression bomb costs at most ~128 MiB of unpacked
// bytes (measured peak RSS of a whole decode + ClamAV scan of a 42.zip: ~175 MB; of 1 GiB of
// zeros: ~165 MB; tests/scanners/bomb_test.cc holds it under 256 MB).
// DecodeLimits is a plain value, shared read-only by all workers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace moat::scanners {

struct DecodeLimits {
  // MIME: parts in the whole message (attached messages included) and multipart/message nesting.
  size_t max_mime_parts = 1000;
  int max_mime_depth = 32;
  // Containers: archives and compressed streams inside archives inside ... (1 = an archive
  // attached to the message may be opened, but no archive inside it).
  int max_depth = 8;
  // Archive members over the whole message (directories included).
  size_t max_members = 5000;
  // Unpacked bytes over the whole message (archive members and their nested members).
  uint64_t max_total_bytes = 128ull << 20;
  // One archive member (bytes beyond it are not read; the prefix is kept and scanned).
  uint64_t max_member_bytes = 64ull << 20;
  // A container may expand to at most ratio x its own size, once it produced more than
  // ratio_floor_bytes (small files legitimately compress very well).
  uint64_t max_compression_ratio = 200;
  uint64_t ratio_floor_bytes = 4ull << 20;
  // Wall-clock budget for decoding one message.
  std::chrono::milliseconds max_time{30'000};
};

// A point in time after which decoding stops (LimitKind::kTime).
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Deadline(std::chrono::milliseconds budget) : end_(Clock::now() + budget) {}
  static Deadline Never() { return Deadline(Clock::time_point::max()); }
  bool Expired() const { return Clock::now() >= end_; }

 private:
  explicit Deadline(Clock::time_point end) : end_(end) {}
  Clock::time_point end_;
};

}  // namespace moat::scanners
