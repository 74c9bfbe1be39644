// queue_message.h - what one queued message is, as the queue store writes and reads it.
//
// QueueEnvelope is what cleanup hands to the queue (mta/cleanup_message.h builds it): the final
// envelope after address rewriting, with the facts later stages need (client, protocol, DSN
// parameters, content filter, hold). QueuedMessage is what the queue store reads back: the same
// envelope plus the per-recipient status, the delivery schedule and where the content lies in the
// file. The byte layout is in mta/queue_file_format.h.
//
// Recipients are identified by the file offset of their record (QueueRecipient::offset): it
// never changes once the file is written, so the queue manager marks a recipient done, or logs a
// deferral for it, by offset (Postfix does the same).
//
// Plain values: copy and move freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/smtp_envelope.h"

namespace moat::mta {

// The queues (directories under queue_directory), as Postfix names them.
enum class QueueName { kIncoming, kActive, kDeferred, kHold, kCorrupt };

std::string_view QueueNameText(QueueName queue);  // "incoming", "active", ...
std::optional<QueueName> ParseQueueName(std::string_view text);
inline constexpr QueueName kAllQueues[] = {QueueName::kIncoming, QueueName::kActive,
                                           QueueName::kDeferred, QueueName::kHold,
                                           QueueName::kCorrupt};

// The record type byte of a recipient; rewritten in place when its state changes.
enum class RecipientStatus : char {
  kPending = 'R',    // still to be delivered
  kDelivered = 'D',  // done: the next hop accepted it
  kFailed = 'F',     // done: bounced or given up (the reason is in the bounce log)
};

bool RecipientDone(RecipientStatus status);

struct QueueRecipient {
  std::string address;  // the envelope recipient to deliver to (after canonical/virtual)
  // The recipient as the SMTP client gave it in RCPT TO, before any rewriting (Postfix's
  // "original recipient"); DSNs and X-Original-To use it.
  std::string original;
  unsigned notify = 0;     // core::dsn_notify flags; 0 when the client gave no NOTIFY
  std::string orcpt_type;  // DSN ORCPT= type ("rfc822"); empty when absent
  std::string orcpt;       // DSN ORCPT= address, decoded

  // Filled when read from a file; ignored when writing (a new recipient is pending).
  RecipientStatus status = RecipientStatus::kPending;
  uint64_t offset = 0;  // byte offset of the recipient record in the file

  friend bool operator==(const QueueRecipient&, const QueueRecipient&) = default;
};

// Facts about the message and how it arrived. Unknown attributes found in a file are kept in
// `extra` (name, value) so a newer writer's data survives a rewrite by an older reader.
struct QueueAttributes {
  std::string service;         // master.cf service that received it ("smtp", "127.0.0.1:10025")
  std::string client_name;     // client host name ("unknown" when not known)
  std::string client_address;  // client IP address
  std::string client_port;
  std::string helo;
  std::string protocol;  // SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP...
  std::string sasl_method;
  std::string sasl_username;
  std::string tls_protocol;  // "TLSv1.3" when the session used TLS
  std::string tls_cipher;
  std::string log_ident;  // the upstream queue ID from XFORWARD IDENT, for logs
  // The content filter (transport:nexthop) the message goes through first; empty: none.
  // header_checks FILTER beats smtpd's access FILTER, which beats content_filter.
  std::string filter;
  std::string redirect;     // header/body_checks REDIRECT target (recipients were replaced)
  std::string hold_reason;  // why it went to the hold queue at arrival; empty: not held
  std::string rewrite_context;  // "local", "remote" or "" (none), as cleanup decided
  // DSN and MAIL FROM parameters.
  std::string envid;
  core::DsnRet ret = core::DsnRet::kUnspecified;
  core::SmtpBodyType body = core::SmtpBodyType::kUnspecified;
  bool smtputf8 = false;
  std::vector<std::pair<std::string, std::string>> extra;

  friend bool operator==(const QueueAttributes&, const QueueAttributes&) = default;
};

// The delivery schedule, kept in a fixed-size record updated in place.
struct QueueSchedule {
  int64_t next_attempt = 0;  // Unix seconds; 0: as soon as possible
  uint32_t attempts = 0;     // delivery attempts so far
  int64_t last_attempt = 0;  // Unix seconds; 0: never tried
  int64_t warn_time = 0;     // Unix seconds a delay warning is due; 0: none (or already sent)

  friend bool operator==(const QueueSchedule&, const QueueSchedule&) = default;
};

// What cleanup commits: everything but the content bytes.
struct QueueEnvelope {
  int64_t arrival_us = 0;  // Unix time of arrival, microseconds
  std::string sender;      // empty: the null sender <>
  QueueAttributes attributes;
  std::vector<QueueRecipient> recipients;
  QueueSchedule schedule;  // normally all zero for a new message
};

// A message read back from the queue.
struct QueuedMessage {
  std::string id;
  QueueName queue = QueueName::kIncoming;
  QueueEnvelope envelope;
  uint64_t file_size = 0;
  uint64_t content_offset = 0;  // where the content starts in the file
  uint64_t content_length = 0;
  std::string content;  // filled only when asked for (ReadOptions::with_content)

  size_t pending_recipients() const;
};

}  // namespace moat::mta
