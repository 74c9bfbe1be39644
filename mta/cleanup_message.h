// cleanup_message.h - cleanup: turns what smtpd accepted (an IncomingMessage) into what is
// queued (a QueueEnvelope and the final content), as Postfix's cleanup(8) does.
//
// In order:
//   1. The envelope sender: qualified (@$myorigin), then sender_canonical_maps, canonical_maps
//      and masquerading as sender_canonical_classes / canonical_classes / masquerade_classes
//      say (unless receive_override_options has no_address_mappings).
//   2. Each recipient: qualified, recipient_canonical_maps, canonical_maps, masquerading, then
//      virtual_alias_maps expansion (a list makes several recipients; each keeps the original
//      recipient, NOTIFY and ORCPT of its RCPT TO; NOTIFY=SUCCESS of an expanded alias is dropped
//      as Postfix does); duplicates (same address, original recipient and DSN parameters) are
//      dropped, remembering up to duplicate_filter_limit.
//   3. The content: smtpd's PREPEND headers, our Received header (with the queue ID; "for <rcpt>"
//      when there is one recipient), then the message, through cleanup_content.h (header and body
//      checks, header address rewriting, missing headers).
//   4. Decisions: REJECT (content checks) refuses; smtpd's DISCARD or a DISCARD action drops
//      the message (accepted, not queued); REDIRECT replaces the recipients; BCC adds one;
//      smtpd's or a content HOLD sends it to the hold queue; the content filter is the checks'
//      FILTER, else smtpd's FILTER, else the service's content_filter.
//   5. Limits: hopcount_limit (Received headers) and message_size_limit (the final content).
//
// The header rewrite context (Postfix's local_header_rewrite_clients): "local" for clients that
// match it (canonical mapping of header addresses, unqualified addresses get @$myorigin, missing
// headers added); otherwise "remote" when remote_header_rewrite_domain is set (unqualified
// header addresses get that domain); otherwise none (headers are not rewritten, and missing
// headers are added only with always_add_missing_headers).
//
// Errors (the smtpd reply follows from them; each message starts with an enhanced status code):
//   kPermFail  "5.7.1 <text>" header/body checks REJECT; "5.4.0 too many hops"; "5.3.4 message
//              file too big" -> 550/554/552
//   kTempFail  "4.x.x <text>" REJECT with a 4xx code; "4.6.0 Alias expansion error" (virtual
//              alias limits or loops); "4.3.0 ..." lookup table problems -> 451
//
// Thread safety: Process() is const and may run on many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "mta/cleanup_settings.h"
#include "mta/incoming_message.h"
#include "mta/queue_message.h"

namespace moat::mta {

struct CleanupOutcome {
  bool discarded = false;
  std::string discard_reason;
  QueueName target = QueueName::kIncoming;  // kHold when held
  QueueEnvelope envelope;
  std::string content;
  std::vector<std::string> check_trace;  // header/body check matches, "<action> <text>"
};

class Cleanup {
 public:
  explicit Cleanup(std::shared_ptr<const CleanupSettings> settings)
      : settings_(std::move(settings)) {}

  core::Result<CleanupOutcome> Process(const IncomingMessage& message, std::string_view queue_id,
                                       std::chrono::system_clock::time_point arrival) const;

  // `moat queue requeue`: the recipients' addresses through the envelope recipient mappings
  // and virtual aliases again (with the current tables), keeping original recipients and DSN
  // parameters, duplicates dropped. Done recipients are not passed in.
  core::Result<std::vector<QueueRecipient>> RemapRecipients(
      std::span<const QueueRecipient> recipients) const;

  const CleanupSettings& settings() const { return *settings_; }

 private:
  std::shared_ptr<const CleanupSettings> settings_;
};

}  // namespace moat::mta
