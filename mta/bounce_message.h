// bounce_message.h - the delivery status notifications (RFC 3464 DSN, multipart/report) the
// queue manager sends: Postfix bounce(8)'s notices, in its wording.
//
//   kFailure  "Undelivered Mail Returned to Sender": recipients that failed permanently or
//             expired (Action: failed). To the sender, or as a postmaster copy ("Postmaster
//             Copy: Undelivered Mail", notify_classes bounce and 2bounce).
//   kDelay    "Delayed Mail (still being retried)": a delay warning after delay_warning_time
//             (Action: delayed, Will-Retry-Until), original headers only. To the sender, or
//             as a postmaster copy ("Postmaster Warning: Delayed Mail", notify_classes delay).
//   kProblem  "Postmaster Warning: Delivery Problem (resource|software)": mail held up by a
//             local problem (notify_classes resource, software), headers only, postmaster only.
//
// ComposeBounce() builds the whole report message: a human-readable part, a
// message/delivery-status part (Reporting-MTA, Arrival-Date, per recipient Final-Recipient,
// Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code, and for delays
// Last-Attempt-Date and Will-Retry-Until), and the original message (text/rfc822-headers when
// the sender asked for RET=HDRS, the message is larger than bounce_size_limit or the notice
// wants headers only; message/rfc822 otherwise). Who gets which notice, from which envelope
// sender, is bounce_policy.h's business; a message from <> never gets one sent back to <>.
//
// Pure function, thread-safe. Lines end in CRLF, as queue files hold them.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "mta/queue_message.h"
#include "mta/queue_recipient_log.h"

namespace moat::mta {

enum class ReportKind { kFailure, kDelay, kProblem };

struct BounceOptions {
  std::string myhostname;  // Reporting-MTA and the From address's domain
  std::string queue_id;    // of the original message, for the text and X-Postfix-Queue-ID
  std::string bounce_id;   // the report's own queue ID (its Message-ID)
  std::chrono::system_clock::time_point now;
  std::size_t bounce_size_limit = 50000;  // larger originals are returned as headers only

  ReportKind kind = ReportKind::kFailure;
  std::string to;                // the To: header; empty: the original sender
  bool postmaster_copy = false;  // for the postmaster: its subject, no apology to a sender
  bool headers_only = false;     // return the original's header even when it is small
  // kDelay: how long the message has waited, how old it may grow, and until when it is tried.
  std::chrono::seconds delayed_for{0};
  std::chrono::seconds lifetime{0};
  std::chrono::system_clock::time_point retry_until;
  std::string problem;  // kProblem: "resource" or "software"
};

// `original` with its content; `entries` the recipients to report (one per recipient, from
// the bounce or defer log: `address` is the recipient, `status` the enhanced code, `action`
// failed or delayed, `reason` the diagnostic, `time` when it was decided).
std::string ComposeBounce(const QueuedMessage& original,
                          std::span<const RecipientLogEntry> entries, const BounceOptions& options);

// "4.0 hour(s)", "2 minute(s)", "5.0 day(s)": Postfix's wording of durations in notices.
std::string DescribeDuration(std::chrono::seconds duration);

// RFC 5322 date-time in UTC ("Sat, 21 Nov 2026 11:45:07 +0000").
std::string Rfc5322Date(std::chrono::system_clock::time_point time);

}  // namespace moat::mta
