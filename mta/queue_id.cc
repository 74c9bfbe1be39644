// queue_id.cc - queue ID generation (format in the header).
#include "mta/queue_id.h"

#include <algorithm>
#include <random>

namespace moat::mta {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int DigitValue(char c) {
  size_t pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

void AppendBase32(std::string& out, uint64_t value, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    out.push_back(kAlphabet[(value >> (5 * i)) & 31]);
  }
}

uint64_t DecodeBase32(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) value = (value << 5) | static_cast<uint64_t>(DigitValue(c));
  return value;
}

}  // namespace

QueueIdGenerator::QueueIdGenerator() : sequence_(std::random_device{}() & 0xfffff) {}

std::string QueueIdGenerator::Next(std::chrono::system_clock::time_point now) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
  uint64_t total = static_cast<uint64_t>(std::max<int64_t>(micros.count(), 0));
  uint64_t seconds = total / 1'000'000;
  uint64_t fraction = total % 1'000'000;
  uint32_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed) & 0xfffff;
  std::string id;
  id.reserve(kQueueIdLength);
  AppendBase32(id, seconds, 7);
  AppendBase32(id, fraction, 4);
  AppendBase32(id, sequence, 4);
  return id;
}

bool IsValidQueueId(std::string_view id) {
  if (id.size() != kQueueIdLength) return false;
  for (char c : id) {
    if (DigitValue(c) < 0) return false;
  }
  return DecodeBase32(id.substr(7, 4)) < 1'000'000;
}

std::optional<std::chrono::system_clock::time_point> QueueIdTime(std::string_view id) {
  if (!IsValidQueueId(id)) return std::nullopt;
  uint64_t seconds = DecodeBase32(id.substr(0, 7));
  uint64_t fraction = DecodeBase32(id.substr(7, 4));
  return std::chrono::system_clock::time_point(
      std::chrono::microseconds(seconds * 1'000'000 + fraction));
}

}  // namespace moat::mta
