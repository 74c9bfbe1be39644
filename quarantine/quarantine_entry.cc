// quarantine_entry.cc - content classes, states, IDs and the text helpers of quarantine_entry.h.
#include "quarantine/quarantine_entry.h"

#include <strings.h>

#include <cctype>
#include <ctime>
#include <random>

namespace moat::quarantine {
namespace {

constexpr size_t kIdLength = 35;  // YYYYMMDD-HHMMSS.ffffff-rrrrrrrrrrrr
constexpr size_t kIdTimeLength = 22;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

int Digits(std::string_view text, size_t pos, size_t count) {
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

// "YYYYMMDD-HHMMSS.ffffff" of a UTC time.
std::string TimePart(TimePoint time) {
  int64_t micros = ToUnixMicros(time);
  int64_t seconds = micros / 1'000'000;
  int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    seconds -= 1;
  }
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04d}{:02d}{:02d}-{:02d}{:02d}{:02d}.{:06d}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
}

}  // namespace

std::string_view ContentClassName(ContentClass content_class) {
  switch (content_class) {
    case ContentClass::kVirus:
      return "VIRUS";
    case ContentClass::kBanned:
      return "BANNED";
    case ContentClass::kUnchecked:
      return "UNCHECKED";
    case ContentClass::kSpam:
      return "SPAM";
    case ContentClass::kSpammy:
      return "SPAMMY";
    case ContentClass::kBadHeader:
      return "BAD-HEADER";
    case ContentClass::kClean:
      return "CLEAN";
  }
  return "CLEAN";
}

std::optional<ContentClass> ParseContentClass(std::string_view name) {
  for (ContentClass c : kAllContentClasses) {
    if (EqualsIgnoreCase(name, ContentClassName(c))) return c;
  }
  if (EqualsIgnoreCase(name, "BAD_HEADER") || EqualsIgnoreCase(name, "BADH")) {
    return ContentClass::kBadHeader;
  }
  return std::nullopt;
}

std::string_view EntryStateName(EntryState state) {
  switch (state) {
    case EntryState::kHeld:
      return "held";
    case EntryState::kReleased:
      return "released";
    case EntryState::kDeleted:
      return "deleted";
  }
  return "held";
}

std::optional<EntryState> ParseEntryState(std::string_view name) {
  for (EntryState s : {EntryState::kHeld, EntryState::kReleased, EntryState::kDeleted}) {
    if (EqualsIgnoreCase(name, EntryStateName(s))) return s;
  }
  return std::nullopt;
}

std::string_view EventKindName(EntryEvent::Kind kind) {
  return kind == EntryEvent::Kind::kRelease ? "release" : "delete";
}

std::optional<EntryEvent::Kind> ParseEventKind(std::string_view name) {
  if (name == "release") return EntryEvent::Kind::kRelease;
  if (name == "delete") return EntryEvent::Kind::kDelete;
  return std::nullopt;
}

TimePoint TruncateToMicroseconds(TimePoint time) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(time);
}

int64_t ToUnixMicros(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

TimePoint FromUnixMicros(int64_t micros) {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(micros)));
}

std::string FormatUtc(TimePoint time) {
  time_t t = Clock::to_time_t(std::chrono::floor<std::chrono::seconds>(time));
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string NewQuarantineId(TimePoint time) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{}-{:012x}", TimePart(time), random() & 0xffff'ffff'ffffULL);
}

std::string QuarantineIdLowerBound(TimePoint time) { return TimePart(time); }

bool IsValidQuarantineId(std::string_view id) {
  if (id.size() != kIdLength) return false;
  for (size_t i = 0; i < kIdLength; ++i) {
    char c = id[i];
    bool ok = false;
    if (i == 8 || i == kIdTimeLength) {
      ok = c == '-';
    } else if (i == 15) {
      ok = c == '.';
    } else if (i > kIdTimeLength) {
      ok = IsLowerHex(c);
    } else {
      ok = IsDigit(c);
    }
    if (!ok) return false;
  }
  int month = Digits(id, 4, 2), day = Digits(id, 6, 2);
  int hour = Digits(id, 9, 2), minute = Digits(id, 11, 2), second = Digits(id, 13, 2);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
         second <= 60;
}

core::Result<TimePoint> QuarantineIdTime(std::string_view id) {
  if (!IsValidQuarantineId(id)) {
    return core::Fail(core::ErrorCode::kInvalid, "not a quarantine ID: '{}'", ToValidUtf8(id));
  }
  struct tm tm {};
  tm.tm_year = Digits(id, 0, 4) - 1900;
  tm.tm_mon = Digits(id, 4, 2) - 1;
  tm.tm_mday = Digits(id, 6, 2);
  tm.tm_hour = Digits(id, 9, 2);
  tm.tm_min = Digits(id, 11, 2);
  tm.tm_sec = Digits(id, 13, 2);
  int64_t seconds = static_cast<int64_t>(::timegm(&tm));
  return FromUnixMicros(seconds * 1'000'000 + Digits(id, 16, 6));
}

std::string ToValidUtf8(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code = 0;
    if (byte < 0x80) {
      out.push_back(text[i++]);
      continue;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
      code = byte & 0x1F;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
      code = byte & 0x0F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      code = byte & 0x07;
    }
    bool valid = length != 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) valid = false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (valid && ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
                  (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)) {
      valid = false;
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

core::Status ValidateMetadata(const EntryMetadata& metadata) {
  auto has_line_break = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  if (metadata.recipients.empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "quarantine entry without recipients");
  }
  for (const std::string& rcpt : metadata.recipients) {
    if (rcpt.empty() || has_line_break(rcpt)) {
      return core::Fail(core::ErrorCode::kInvalid, "bad recipient address '{}'", ToValidUtf8(rcpt));
    }
  }
  if (has_line_break(metadata.envelope_sender)) {
    return core::Fail(core::ErrorCode::kInvalid, "bad envelope sender");
  }
  if (has_line_break(metadata.policy_bank) || has_line_break(metadata.client_address)) {
    return core::Fail(core::ErrorCode::kInvalid, "bad policy bank or client address");
  }
  return {};
}

}  // namespace moat::quarantine
