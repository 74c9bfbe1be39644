// delivery_result.h - what the queue manager hands a delivery agent, and what it gets back: one
// result per recipient, worded as Postfix logs it and as RFC 3464 DSNs need it.
//
// A DeliveryRequest is one message for one route (transport + nexthop) with up to
// destination_recipient_limit of its recipients. The agent answers every recipient with
//   delivered  the next hop accepted it (2xx), or discard: dropped it on purpose;
//   deferred   temporary failure: the queue manager keeps the recipient and retries;
//   bounced    permanent failure: the queue manager returns it to the sender (bounce_*.h).
// with the enhanced status code, the reason text Postfix would log after "status=...", the remote
// reply when there was one (Remote-MTA / Diagnostic-Code of the DSN), and the relay it talked to.
//
// `site_failure` tells the scheduler that no host of the destination could be reached at all
// (connection refused, timeouts, DNS trouble, 421 greetings): negative concurrency feedback.
//
// FormatDeliveryLog() gives Postfix's log line, e.g.
//   to=<a@example.com>, relay=mx.example.com[192.0.2.1]:25, delay=1.2,
//   delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Xyz)
//
// Plain values; copy and move freely.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp_envelope.h"
#include "core/smtp_reply.h"

namespace moat::mta {

struct DeliveryRecipient {
  core::RcptParams rcpt;     // address, NOTIFY, ORCPT
  std::uint32_t index = 0;   // the queue manager's handle (position in the queue file)
};

struct DeliveryRequest {
  std::string queue_id;
  core::MailParams mail;  // sender, SIZE, BODY, RET, ENVID, SMTPUTF8
  std::vector<DeliveryRecipient> recipients;
  core::XforwardAttributes xforward;  // the original client, from the queue file
  // The message as queued (CRLF or LF line ends). Shared so cached retries need no copy.
  std::shared_ptr<const std::string> content;
  std::chrono::system_clock::time_point arrival;
};

enum class DeliveryStatus { kDelivered, kDeferred, kBounced };
std::string_view DeliveryStatusName(DeliveryStatus status);  // "sent", "deferred", "bounced"

struct RecipientResult {
  std::uint32_t index = 0;
  std::string recipient;
  std::string original_recipient;  // ORCPT address, when given
  DeliveryStatus status = DeliveryStatus::kDeferred;
  std::string dsn;     // "2.0.0", "4.4.1", "5.1.1"
  std::string reason;  // "250 2.0.0 Ok: queued as X", "host mx[192.0.2.1] said: 550 ..."
  std::string relay = "none";   // "mx.example.com[192.0.2.1]:25", "none"
  std::string remote_host;      // the remote MTA's name, when it replied (DSN Remote-MTA)
  core::SmtpReply reply;        // its reply, when it replied (DSN Diagnostic-Code)
  // Success only, for NOTIFY=SUCCESS: "delivered" (LMTP: final delivery), "relayed" (an SMTP
  // next hop without DSN support: we owe the success DSN), "" (the next hop supports DSN and
  // takes NOTIFY over; discard and other agents).
  std::string action;
};

struct DeliveryResult {
  std::vector<RecipientResult> recipients;
  bool site_failure = false;
  std::string site_dsn;
  std::string site_reason;
  // Postfix's "delays" c and d: connection set-up (DNS, connect, greeting, EHLO, TLS) and
  // transmission.
  std::chrono::duration<double> setup_time{0};
  std::chrono::duration<double> transfer_time{0};

  std::size_t Count(DeliveryStatus status) const;
};

// The same result for every recipient of `request` (error/retry/discard, route failures).
DeliveryResult UniformResult(const DeliveryRequest& request, DeliveryStatus status,
                             std::string_view dsn, std::string_view reason);

struct DelaySplit {
  // Postfix "delays=a/b/c/d": before the queue manager, in the queue manager, connection set-up,
  // transmission. The queue manager knows a and b.
  std::chrono::duration<double> before_queue_manager{0};
  std::chrono::duration<double> in_queue_manager{0};
};

// "<queue_id>: to=<...>, [orig_to=<...>, ]relay=..., delay=..., delays=..., dsn=..., status=..."
std::string FormatDeliveryLog(std::string_view queue_id, const RecipientResult& recipient,
                              const DeliveryResult& result, std::chrono::duration<double> delay,
                              const DelaySplit& split = {});

}  // namespace moat::mta
