// bounce_policy.h - who is told what when mail fails, is delayed, or is held up by a local
// problem: Postfix bounce(8)'s rules (bounce_notify_service.c, bounce_warn_service.c) and
// notify_classes (postconf(5)), as a pure function the queue manager asks before it composes
// notices (bounce_message.h) and queues them (bounce_sender.h).
//
// Events and notices, by the envelope sender S of the message concerned:
//   failure  S ordinary   the report to S from <> (recipients whose NOTIFY allows FAILURE; none
//                         left: no report), and with notify_classes bounce a "Postmaster Copy"
//                         (headers only, every recipient) to bounce_notice_recipient.
//            S = <>       a bounce (or notice) that could not be delivered: with notify_classes
//                         bounce or 2bounce (bounce implies 2bounce) the whole thing goes to
//                         2bounce_notice_recipient from the double-bounce address; otherwise it
//                         is discarded ("undeliverable notification from <> discarded", Postfix's
//                         "undeliverable bounce discarded"). Never to <>.
//            S = double-bounce address   a postmaster notice that could not be delivered:
//                         discarded ("undeliverable postmaster notification discarded"); that
//                         is what stops the loop.
//   delay    S ordinary   the warning to S from <> (recipients whose NOTIFY allows DELAY), and
//                         with notify_classes delay a copy to delay_notice_recipient.
//            otherwise    nothing, not even the copy (Postfix sends the postmaster one; Moat
//                         never warns about bounces or notices, see qmgr_policy_timing.h).
//   resource, software    with that class in notify_classes, a notice to
//                         error_notice_recipient from the double-bounce address, headers only.
// Postmaster notices come from double_bounce_sender@$myhostname, so their own failure is caught
// by the rule above; unqualified notice recipients ("postmaster") get @$myorigin, as Postfix's
// cleanup would append it.
//
// Critical notices (the sender's report, the double bounce) must be queued before the bounce
// log may go; a postmaster copy is a courtesy: if it cannot be queued, that is logged only.
//
// Thread safety: NotifyPolicy is an immutable value; PlanNotices() is a pure function.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "mta/queue_message.h"
#include "mta/queue_recipient_log.h"

namespace moat::mta {

// notify_classes bits.
namespace notify_class {
inline constexpr unsigned kBounce = 1;
inline constexpr unsigned kTwoBounce = 2;
inline constexpr unsigned kDelay = 4;
inline constexpr unsigned kResource = 8;
inline constexpr unsigned kSoftware = 16;
inline constexpr unsigned kOther = 32;  // data, policy, protocol: smtpd's, not the queue's
}  // namespace notify_class

struct NotifyPolicy {
  unsigned classes = notify_class::kResource | notify_class::kSoftware;  // Postfix's default
  std::string bounce_notice_recipient = "postmaster";
  std::string two_bounce_notice_recipient = "postmaster";
  std::string delay_notice_recipient = "postmaster";
  std::string error_notice_recipient = "postmaster";
  std::string double_bounce_address;  // double_bounce_sender@$myhostname
  std::string myorigin;               // for unqualified notice recipients

  // From main.cf (notify_classes, *_notice_recipient, double_bounce_sender, myhostname,
  // myorigin). Throws core::ConfigError for an unknown class.
  static NotifyPolicy FromConfig(const core::Config& main);
  // notify_classes text -> bits; kInvalid names the unknown word.
  static core::Result<unsigned> ParseClasses(std::string_view text);
};

enum class NoticeEvent { kFailure, kDelay, kResource, kSoftware };

struct PlannedNotice {
  std::string sender;         // envelope sender of the notice: "" or the double-bounce address
  std::string recipient;      // the envelope recipient (and To:)
  bool postmaster = false;    // a postmaster notice (its subject and wording)
  bool headers_only = false;  // return only the original's header
  bool critical = false;      // must be queued before the log that caused it may go
  std::vector<RecipientLogEntry> entries;  // the recipients it reports
};

struct NoticePlan {
  std::vector<PlannedNotice> notices;  // critical ones first
  std::string discarded;               // non-empty: why nothing (or less) is sent, for the log
};

// `envelope` is the message's (its sender and each recipient's NOTIFY); `entries` the bounce
// log (failure), this attempt's defer notes (delay), or the local problems (resource,
// software).
NoticePlan PlanNotices(const NotifyPolicy& policy, NoticeEvent event, const QueueEnvelope& envelope,
                       std::span<const RecipientLogEntry> entries);

}  // namespace moat::mta
