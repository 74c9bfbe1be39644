// queue_file_format.cc - encoding and decoding of queue file records (layout in the header).
#include "mta/queue_file_format.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace moat::mta {
namespace {

using core::ErrorCode;

constexpr size_t kMaxLengthBytes = 5;  // 35 bits: far above any message size limit

std::string FixedNumbers(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return fmt::format("{:>15} {:>15} {:>15} {:>15}", a, b, c, d);
}

// Parses the four fields of a SIZE or SCHEDULE record.
bool ParseFixedNumbers(std::string_view data, uint64_t (&out)[4]) {
  if (data.size() != kFixedRecordDataSize) return false;
  for (int i = 0; i < 4; ++i) {
    std::string_view field = data.substr(static_cast<size_t>(i) * 16, 15);
    if (i < 3 && data[static_cast<size_t>(i) * 16 + 15] != ' ') return false;
    size_t start = field.find_first_not_of(' ');
    if (start == std::string_view::npos) return false;
    field.remove_prefix(start);
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out[i]);
    if (ec != std::errc() || end != field.data() + field.size()) return false;
  }
  return true;
}

struct Record {
  char type = 0;
  uint64_t offset = 0;  // of the type byte
  std::string_view data;
};

// Reads the record at `pos` of `bytes` (whose first byte is at file offset `base`).
core::Result<Record> ReadRecord(std::string_view bytes, size_t& pos, uint64_t base,
                                bool* incomplete) {
  Record record;
  record.offset = base + pos;
  if (pos >= bytes.size()) {
    if (incomplete) *incomplete = true;
    return core::Fail(ErrorCode::kCorrupt, "truncated at offset {}", record.offset);
  }
  record.type = bytes[pos++];
  uint64_t length = 0;
  for (size_t i = 0;; ++i) {
    if (i == kMaxLengthBytes) {
      return core::Fail(ErrorCode::kCorrupt, "record length too long at offset {}",
                        record.offset);
    }
    if (pos >= bytes.size()) {
      if (incomplete) *incomplete = true;
      return core::Fail(ErrorCode::kCorrupt, "truncated record length at offset {}",
                        record.offset);
    }
    auto byte = static_cast<unsigned char>(bytes[pos++]);
    length |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) break;
  }
  if (length > bytes.size() - pos) {
    if (incomplete) *incomplete = true;
    return core::Fail(ErrorCode::kCorrupt, "record '{}' at offset {} runs past the end",
                      record.type, record.offset);
  }
  record.data = bytes.substr(pos, static_cast<size_t>(length));
  pos += static_cast<size_t>(length);
  return record;
}

std::string_view RetText(core::DsnRet ret) {
  switch (ret) {
    case core::DsnRet::kFull:
      return "FULL";
    case core::DsnRet::kHeaders:
      return "HDRS";
    case core::DsnRet::kUnspecified:
      break;
  }
  return "";
}

std::string_view BodyText(core::SmtpBodyType body) {
  switch (body) {
    case core::SmtpBodyType::k7Bit:
      return "7BIT";
    case core::SmtpBodyType::k8BitMime:
      return "8BITMIME";
    case core::SmtpBodyType::kBinaryMime:
      return "BINARYMIME";
    case core::SmtpBodyType::kUnspecified:
      break;
  }
  return "";
}

// The string attributes, by name, for encoding and decoding alike.
template <typename Attributes, typename Visit>
void ForEachStringAttribute(Attributes& a, Visit visit) {
  visit("service", a.service);
  visit("client_name", a.client_name);
  visit("client_address", a.client_address);
  visit("client_port", a.client_port);
  visit("helo", a.helo);
  visit("protocol", a.protocol);
  visit("sasl_method", a.sasl_method);
  visit("sasl_username", a.sasl_username);
  visit("tls_protocol", a.tls_protocol);
  visit("tls_cipher", a.tls_cipher);
  visit("log_ident", a.log_ident);
  visit("filter", a.filter);
  visit("redirect", a.redirect);
  visit("hold_reason", a.hold_reason);
  visit("rewrite_context", a.rewrite_context);
  visit("envid", a.envid);
}

void AppendAttribute(std::string& out, char type, std::string_view name, std::string_view value) {
  std::string data;
  data.reserve(name.size() + 1 + value.size());
  data.append(name).push_back('=');
  data.append(value);
  AppendRecord(out, type, data);
}

core::Status DecodeAttribute(std::string_view data, QueueAttributes& attributes,
                             uint64_t offset) {
  size_t equals = data.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return core::Fail(ErrorCode::kCorrupt, "attribute without name=value at offset {}", offset);
  }
  std::string_view name = data.substr(0, equals);
  std::string_view value = data.substr(equals + 1);
  bool known = false;
  ForEachStringAttribute(attributes, [&](std::string_view n, std::string& field) {
    if (n == name) {
      field.assign(value);
      known = true;
    }
  });
  if (known) return {};
  if (name == "ret") {
    attributes.ret = value == "FULL"   ? core::DsnRet::kFull
                     : value == "HDRS" ? core::DsnRet::kHeaders
                                       : core::DsnRet::kUnspecified;
  } else if (name == "body") {
    attributes.body = value == "7BIT"         ? core::SmtpBodyType::k7Bit
                      : value == "8BITMIME"   ? core::SmtpBodyType::k8BitMime
                      : value == "BINARYMIME" ? core::SmtpBodyType::kBinaryMime
                                              : core::SmtpBodyType::kUnspecified;
  } else if (name == "smtputf8") {
    attributes.smtputf8 = value == "yes";
  } else {
    attributes.extra.emplace_back(std::string(name), std::string(value));
  }
  return {};
}

core::Status DecodeRecipientAttribute(std::string_view data, QueueRecipient& recipient,
                                      uint64_t offset) {
  if (data.starts_with("notify=")) {
    std::string_view digits = data.substr(7);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(),
                                     recipient.notify);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return core::Fail(ErrorCode::kCorrupt, "bad notify attribute at offset {}", offset);
    }
    return {};
  }
  if (data.starts_with("orcpt=")) {
    std::string_view value = data.substr(6);
    size_t semicolon = value.find(';');
    if (semicolon == std::string_view::npos) {
      return core::Fail(ErrorCode::kCorrupt, "bad orcpt attribute at offset {}", offset);
    }
    recipient.orcpt_type.assign(value.substr(0, semicolon));
    recipient.orcpt.assign(value.substr(semicolon + 1));
    return {};
  }
  return {};  // unknown recipient attributes are ignored (forward compatibility)
}

core::Result<int64_t> DecodeTime(std::string_view data, uint64_t offset) {
  size_t dot = data.find('.');
  int64_t seconds = 0;
  int64_t micros = 0;
  std::string_view s = data.substr(0, dot);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  bool ok = ec == std::errc() && end == s.data() + s.size() && dot != std::string_view::npos;
  if (ok) {
    std::string_view u = data.substr(dot + 1);
    auto [uend, uec] = std::from_chars(u.data(), u.data() + u.size(), micros);
    ok = uec == std::errc() && uend == u.data() + u.size() && u.size() == 6;
  }
  if (!ok) return core::Fail(ErrorCode::kCorrupt, "bad time record at offset {}", offset);
  return seconds * 1'000'000 + micros;
}

}  // namespace

void AppendRecordLength(std::string& out, uint64_t length) {
  do {
    auto byte = static_cast<unsigned char>(length & 0x7f);
    length >>= 7;
    if (length != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (length != 0);
}

void AppendRecord(std::string& out, char type, std::string_view data) {
  out.push_back(type);
  AppendRecordLength(out, data.size());
  out.append(data);
}

std::string EncodeSchedule(const QueueSchedule& s) {
  return FixedNumbers(static_cast<uint64_t>(std::max<int64_t>(s.next_attempt, 0)), s.attempts,
                      static_cast<uint64_t>(std::max<int64_t>(s.last_attempt, 0)),
                      static_cast<uint64_t>(std::max<int64_t>(s.warn_time, 0)));
}

std::string EncodeQueueEnvelope(const QueueEnvelope& envelope, uint64_t content_length) {
  std::string body;  // every record after SIZE and SCHEDULE, up to the content record's header
  body.reserve(512 + envelope.recipients.size() * 128);
  int64_t arrival = std::max<int64_t>(envelope.arrival_us, 0);
  AppendRecord(body, record::kTime,
               fmt::format("{}.{:06}", arrival / 1'000'000, arrival % 1'000'000));
  const QueueAttributes& a = envelope.attributes;
  ForEachStringAttribute(a, [&](std::string_view name, const std::string& value) {
    if (!value.empty()) AppendAttribute(body, record::kAttribute, name, value);
  });
  if (a.ret != core::DsnRet::kUnspecified) {
    AppendAttribute(body, record::kAttribute, "ret", RetText(a.ret));
  }
  if (a.body != core::SmtpBodyType::kUnspecified) {
    AppendAttribute(body, record::kAttribute, "body", BodyText(a.body));
  }
  if (a.smtputf8) AppendAttribute(body, record::kAttribute, "smtputf8", "yes");
  for (const auto& [name, value] : a.extra) {
    AppendAttribute(body, record::kAttribute, name, value);
  }
  AppendRecord(body, record::kSender, envelope.sender);
  for (const QueueRecipient& r : envelope.recipients) {
    if (r.notify != 0) {
      AppendAttribute(body, record::kRecipientAttribute, "notify", std::to_string(r.notify));
    }
    if (!r.orcpt_type.empty() || !r.orcpt.empty()) {
      AppendAttribute(body, record::kRecipientAttribute, "orcpt", r.orcpt_type + ";" + r.orcpt);
    }
    AppendRecord(body, record::kOriginal, r.original);
    AppendRecord(body, static_cast<char>(RecipientStatus::kPending), r.address);
  }
  body.push_back(record::kContent);
  AppendRecordLength(body, content_length);

  uint64_t content_offset = kQueueFileHeadSize + body.size();
  std::string out;
  out.reserve(content_offset);
  AppendRecord(out, record::kSize,
               FixedNumbers(kQueueFormatVersion, content_offset, content_length,
                            envelope.recipients.size()));
  AppendRecord(out, record::kSchedule, EncodeSchedule(envelope.schedule));
  out.append(body);
  return out;
}

core::Result<QueueFileHead> DecodeQueueFileHead(std::string_view head, bool* incomplete) {
  // Garbage must not pass for a file cut short: whatever bytes are there must begin the two
  // fixed records.
  const char expected[] = {record::kSize, static_cast<char>(kFixedRecordDataSize)};
  for (size_t i = 0; i < 2 && i < head.size(); ++i) {
    if (head[i] != expected[i]) {
      return core::Fail(ErrorCode::kCorrupt, "not a queue file: no SIZE record at offset 0");
    }
  }
  const char expected_schedule[] = {record::kSchedule, static_cast<char>(kFixedRecordDataSize)};
  for (size_t i = 0; i < 2 && kFixedRecordSize + i < head.size(); ++i) {
    if (head[kFixedRecordSize + i] != expected_schedule[i]) {
      return core::Fail(ErrorCode::kCorrupt, "no SCHEDULE record at offset {}", kFixedRecordSize);
    }
  }
  size_t pos = 0;
  auto size = ReadRecord(head, pos, 0, incomplete);
  if (!size) return std::unexpected(size.error());
  uint64_t fields[4];
  if (size->type != record::kSize || !ParseFixedNumbers(size->data, fields)) {
    return core::Fail(ErrorCode::kCorrupt, "not a queue file: bad SIZE record at offset 0");
  }
  QueueFileHead result;
  result.version = static_cast<int>(fields[0]);
  if (fields[0] != kQueueFormatVersion) {
    return core::Fail(ErrorCode::kCorrupt, "unsupported queue file version {}", fields[0]);
  }
  result.content_offset = fields[1];
  result.content_length = fields[2];
  result.recipient_count = fields[3];
  if (result.content_offset < kQueueFileHeadSize ||
      result.content_length > (uint64_t{1} << 40) || result.recipient_count > (1u << 24)) {
    return core::Fail(ErrorCode::kCorrupt, "implausible SIZE record");
  }
  auto schedule = ReadRecord(head, pos, 0, incomplete);
  if (!schedule) return std::unexpected(schedule.error());
  if (schedule->type != record::kSchedule || !ParseFixedNumbers(schedule->data, fields)) {
    return core::Fail(ErrorCode::kCorrupt, "bad SCHEDULE record at offset {}", schedule->offset);
  }
  result.schedule.next_attempt = static_cast<int64_t>(fields[0]);
  result.schedule.attempts = static_cast<uint32_t>(fields[1]);
  result.schedule.last_attempt = static_cast<int64_t>(fields[2]);
  result.schedule.warn_time = static_cast<int64_t>(fields[3]);
  return result;
}

core::Result<QueueEnvelope> DecodeQueueEnvelope(std::string_view bytes, const QueueFileHead& head) {
  if (bytes.size() != head.content_offset) {
    return core::Fail(ErrorCode::kCorrupt, "envelope is {} bytes, SIZE record says {}",
                      bytes.size(), head.content_offset);
  }
  QueueEnvelope envelope;
  envelope.schedule = head.schedule;
  size_t pos = kQueueFileHeadSize;
  bool have_time = false;
  bool have_sender = false;
  QueueRecipient pending;  // recipient attributes and original seen so far
  bool have_original = false;
  for (;;) {
    if (pos < bytes.size() && bytes[pos] == record::kContent) {
      // The content record's header ends the envelope; its data lies beyond `bytes`.
      size_t content_record = pos;
      size_t p = pos + 1;
      uint64_t length = 0;
      bool ended = false;
      for (size_t i = 0; i < kMaxLengthBytes && p < bytes.size(); ++i) {
        auto byte = static_cast<unsigned char>(bytes[p++]);
        length |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
          ended = true;
          break;
        }
      }
      if (!ended || p != bytes.size() || length != head.content_length) {
        return core::Fail(ErrorCode::kCorrupt, "bad CONTENT record at offset {}",
                          content_record);
      }
      break;
    }
    auto rec = ReadRecord(bytes, pos, 0, nullptr);
    if (!rec) return std::unexpected(rec.error());
    switch (rec->type) {
      case record::kTime: {
        auto t = DecodeTime(rec->data, rec->offset);
        if (!t) return std::unexpected(t.error());
        envelope.arrival_us = *t;
        have_time = true;
        break;
      }
      case record::kAttribute:
        if (auto s = DecodeAttribute(rec->data, envelope.attributes, rec->offset); !s) {
          return std::unexpected(s.error());
        }
        break;
      case record::kSender:
        envelope.sender.assign(rec->data);
        have_sender = true;
        break;
      case record::kRecipientAttribute:
        if (auto s = DecodeRecipientAttribute(rec->data, pending, rec->offset); !s) {
          return std::unexpected(s.error());
        }
        break;
      case record::kOriginal:
        pending.original.assign(rec->data);
        have_original = true;
        break;
      case static_cast<char>(RecipientStatus::kPending):
      case static_cast<char>(RecipientStatus::kDelivered):
      case static_cast<char>(RecipientStatus::kFailed):
        if (!have_sender || !have_original) {
          return core::Fail(ErrorCode::kCorrupt, "recipient record out of order at offset {}",
                            rec->offset);
        }
        pending.address.assign(rec->data);
        pending.status = static_cast<RecipientStatus>(rec->type);
        pending.offset = rec->offset;
        envelope.recipients.push_back(std::move(pending));
        pending = QueueRecipient();
        have_original = false;
        break;
      default:
        return core::Fail(ErrorCode::kCorrupt, "unexpected record type 0x{:02x} at offset {}",
                          static_cast<unsigned char>(rec->type), rec->offset);
    }
  }
  if (!have_time || !have_sender) {
    return core::Fail(ErrorCode::kCorrupt, "envelope lacks its {} record",
                      have_time ? "SENDER" : "TIME");
  }
  if (have_original) {
    return core::Fail(ErrorCode::kCorrupt, "original recipient without its recipient record");
  }
  if (envelope.recipients.size() != head.recipient_count) {
    return core::Fail(ErrorCode::kCorrupt, "{} recipient records, SIZE record says {}",
                      envelope.recipients.size(), head.recipient_count);
  }
  return envelope;
}

core::Status CheckQueueFileEnd(const QueueFileHead& head, uint64_t file_size,
                               std::string_view tail, bool* incomplete) {
  uint64_t expected = head.committed_size();
  if (file_size < expected) {
    if (incomplete) *incomplete = true;
    return core::Fail(ErrorCode::kCorrupt, "file is {} bytes, {} expected: incomplete",
                      file_size, expected);
  }
  if (file_size > expected) {
    return core::Fail(ErrorCode::kCorrupt, "file is {} bytes, {} expected: trailing data",
                      file_size, expected);
  }
  if (!tail.ends_with(kEndRecord)) {
    if (incomplete) *incomplete = true;
    return core::Fail(ErrorCode::kCorrupt, "no END record at offset {}",
                      file_size - kEndRecord.size());
  }
  return {};
}

}  // namespace moat::mta
