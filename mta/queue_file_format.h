// queue_file_format.h - the byte layout of a queue file, field by field (Postfix's rec_type.h is
// the model), and the pure functions that encode and decode it.
//
// A queue file is a sequence of records. Each record is
//
//   type    1 byte, an ASCII letter (the table below)
//   length  the data length as an unsigned base-128 number, least significant group first, 7
//           bits per byte, the high bit set on every byte except the last (Postfix's rec_put);
//           at most 5 bytes
//   data    `length` bytes, any values
//
// Records, in file order:
//
//   'C' SIZE       First record, at offset 0. Exactly 63 data bytes: four decimal numbers, each
//                  right-aligned with spaces in 15 characters, separated by one space:
//                    format version (1), content offset (file offset of the first content byte),
//                    content length (bytes), recipient count (recipient records in the file).
//                  Written once.
//   'W' SCHEDULE   Second record, at offset 65 (its data at kScheduleDataOffset = 67). 63 bytes
//                  in the same layout: next attempt (Unix seconds, 0 = as soon as possible),
//                  attempts so far, last attempt (Unix seconds, 0 = never), delay warning time
//                  (Unix seconds, 0 = none). Rewritten in place by the queue manager.
//   'T' TIME       Arrival time, "<seconds>.<microseconds>" (six digits), Unix time.
//   'A' ATTRIBUTE  "name=value", zero or more (QueueAttributes): service, client_name,
//                  client_address, client_port, helo, protocol, sasl_method, sasl_username,
//                  tls_protocol, tls_cipher, log_ident, filter, redirect, hold_reason,
//                  rewrite_context, envid, ret (FULL|HDRS), body (7BIT|8BITMIME|BINARYMIME),
//                  smtputf8 (yes). Unknown names are kept.
//   'S' SENDER     The envelope sender after cleanup; empty data for the null sender <>.
//   Then one group per recipient, in order:
//   'a' RCPT ATTR  "notify=<flags>" (core::dsn_notify bits, decimal) and/or
//                  "orcpt=<type>;<address>" (DSN ORCPT); zero to two, before their recipient.
//   'O' ORIGINAL   The recipient as the client gave it in RCPT TO, before rewriting.
//   'R' RECIPIENT  The address to deliver to. The type byte says its state and is the only byte
//   'D'            the queue manager ever changes in the group, in place: 'R' pending, 'D' done
//   'F'            (delivered), 'F' done (failed; the reason is in the bounce log). The file
//                  offset of this record is the recipient's identity (QueueRecipient::offset).
//   'M' CONTENT    The message, header and body, CRLF line ends, exactly as it will be sent
//                  (not dot-stuffed). The content offset and length of the SIZE record point at
//                  this record's data, so a reader can skip it without parsing.
//   'E' END        Empty. A file is committed only when it ends with this record, right after the
//                  content; anything else (short, no END, trailing bytes) is not a queue file.
//
// The fixed-width SIZE and SCHEDULE records come first so that a scan reads 130 bytes to learn a
// message's schedule and where its content is, and an update rewrites 63 bytes in place.
//
// Errors: every decoding failure is kCorrupt with the offset and what was wrong. `incomplete`
// (set by the functions that take it) tells a file cut short — shorter than its SIZE record
// says, or without its END record — from one that is damaged otherwise: recovery removes an
// incomplete file from incoming/ (it was never acknowledged) and moves other damage to corrupt/.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "mta/queue_message.h"

namespace moat::mta {

inline constexpr int kQueueFormatVersion = 1;
inline constexpr size_t kFixedRecordDataSize = 63;
inline constexpr size_t kFixedRecordSize = 2 + kFixedRecordDataSize;  // type + 1 length byte
inline constexpr uint64_t kScheduleDataOffset = kFixedRecordSize + 2;
// SIZE + SCHEDULE: what a scan reads to learn the layout and the schedule.
inline constexpr size_t kQueueFileHeadSize = 2 * kFixedRecordSize;
// The END record: type 'E', length 0.
inline constexpr std::string_view kEndRecord{"E\0", 2};

namespace record {
inline constexpr char kSize = 'C';
inline constexpr char kSchedule = 'W';
inline constexpr char kTime = 'T';
inline constexpr char kAttribute = 'A';
inline constexpr char kSender = 'S';
inline constexpr char kRecipientAttribute = 'a';
inline constexpr char kOriginal = 'O';
inline constexpr char kContent = 'M';
inline constexpr char kEnd = 'E';
}  // namespace record

// What the SIZE and SCHEDULE records say.
struct QueueFileHead {
  int version = 0;
  uint64_t content_offset = 0;
  uint64_t content_length = 0;
  uint64_t recipient_count = 0;
  QueueSchedule schedule;

  // The size a committed file with this head has: content, then the END record.
  uint64_t committed_size() const { return content_offset + content_length + kEndRecord.size(); }
};

// Everything before the content bytes: the records from SIZE through the CONTENT record's type
// and length. A queue file is EncodeQueueEnvelope(e, n) + <n content bytes> + kEndRecord.
// Throws nothing; recipient statuses and offsets of `envelope` are ignored (all pending).
std::string EncodeQueueEnvelope(const QueueEnvelope& envelope, uint64_t content_length);

// The 63 data bytes of a SCHEDULE record.
std::string EncodeSchedule(const QueueSchedule& schedule);

// Decodes the first kQueueFileHeadSize bytes (fewer: incomplete).
core::Result<QueueFileHead> DecodeQueueFileHead(std::string_view head, bool* incomplete = nullptr);

// Decodes the envelope records: `envelope_bytes` is the file from offset 0 up to the content
// offset of `head`. Recipient offsets are file offsets.
core::Result<QueueEnvelope> DecodeQueueEnvelope(std::string_view envelope_bytes,
                                                const QueueFileHead& head);

// Checks that a file of `file_size` bytes whose last bytes are `tail` (at least
// kEndRecord.size() of them, ending at end of file) is committed per `head`.
core::Status CheckQueueFileEnd(const QueueFileHead& head, uint64_t file_size,
                               std::string_view tail, bool* incomplete = nullptr);

// Postfix's base-128 record length.
void AppendRecordLength(std::string& out, uint64_t length);
void AppendRecord(std::string& out, char type, std::string_view data);

}  // namespace moat::mta
