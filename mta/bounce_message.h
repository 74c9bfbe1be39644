// bounce_message.h - the non-delivery report (RFC 3464 DSN, multipart/report) the queue manager
// sends to the sender of a message whose recipients failed permanently or expired (Postfix's
// bounce(8) "failure" notice).
//
// ComposeBounce() builds the whole report message: a human-readable part in Postfix's wording,
// a message/delivery-status part (Reporting-MTA, Arrival-Date, per recipient Final-Recipient,
// Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code), and the original message
// (text/rfc822-headers when the sender asked for RET=HDRS or the message is larger than
// bounce_size_limit, message/rfc822 otherwise). The queue manager commits it as a new queue file
// from the null sender <> to the original sender; a message from <> never gets one (that is how
// bounce loops are prevented), the caller checks that.
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

struct BounceOptions {
  std::string myhostname;  // Reporting-MTA and the From address's domain
  std::string queue_id;    // of the original message, for the text and X-Postfix-Queue-ID
  std::string bounce_id;   // the report's own queue ID (its Message-ID)
  std::chrono::system_clock::time_point now;
  std::size_t bounce_size_limit = 50000;  // larger originals are returned as headers only
};

// `original` with its content; `failed` the bounce log entries to report (one per recipient;
// `address` is the recipient, `status` the enhanced code, `reason` the diagnostic).
std::string ComposeBounce(const QueuedMessage& original,
                          std::span<const RecipientLogEntry> failed, const BounceOptions& options);

// RFC 5322 date-time in UTC ("Sat, 21 Nov 2026 11:45:07 +0000").
std::string Rfc5322Date(std::chrono::system_clock::time_point time);

}  // namespace moat::mta
