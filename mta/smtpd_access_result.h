// smtpd_access_result.h - what the right-hand side of an access(5) table entry asks smtpd to do.
//
// check_client_access, check_helo_access, check_sender_access and check_recipient_access look a
// key up and hand the value here; the restriction evaluator (smtpd_restriction_eval.h) carries
// the action out. The values, as Postfix's smtpd_check.c check_table_result() reads them (action
// words are case-insensitive; "text" is optional):
//
//   OK, RELAY, all-digits   permit (ends this restriction list)
//   DUNNO                   ignore this entry, go on with the next restriction
//   REJECT text             access_map_reject_code (554) 5.7.1 ... rejected: text|Access denied
//   DEFER text              access_map_defer_code (450) 4.7.1 ... rejected: text|Access denied
//   4NN text / 5NN text     this code, with an enhanced code when the text starts with one
//   DEFER_IF_PERMIT text    450 later, if the request would otherwise be permitted
//   DEFER_IF_REJECT text    450 instead of a later reject
//   DISCARD text            accept and throw the message away (ends this list, permits)
//   HOLD text               put the message on hold
//   FILTER transport:dest   send the message to this content filter
//   REDIRECT user@domain    deliver to this address instead of the recipients
//   PREPEND Header: text    add this header line
//   WARN text               log a warning
//   anything else           a restriction list ("permit_mynetworks, reject") or class name
//
// Every text starting with an RFC 3463 code ("REJECT 5.7.0 go away") keeps that code. A FILTER
// without transport:destination, a REDIRECT without user@domain and a PREPEND that is not a
// header are configuration mistakes: kInvalid, which the evaluator logs and treats as DUNNO (as
// Postfix does). A lookup table in the value is kTableInValue (451 4.3.5, as Postfix).
//
// Pure; the views point into the value given.
#pragma once

#include <string_view>

namespace moat::mta {

enum class AccessActionKind {
  kOk,
  kDunno,
  kReject,
  kDefer,
  kReply,
  kDeferIfPermit,
  kDeferIfReject,
  kDiscard,
  kHold,
  kFilter,
  kRedirect,
  kPrepend,
  kWarn,
  kRestrictions,
  kInvalid,
  kTableInValue,
};

struct AccessAction {
  AccessActionKind kind = AccessActionKind::kDunno;
  int code = 0;             // kReply
  std::string_view dsn;     // enhanced code at the start of the text; empty when none
  std::string_view text;    // after the action word (and the enhanced code); for kRestrictions
                            // the whole value; for kInvalid why it is invalid
};

AccessAction ParseAccessAction(std::string_view value);

// The action word as written for logs ("REJECT", "FILTER", ...).
std::string_view AccessActionName(AccessActionKind kind);

// "x.y.z" with x in 2,4,5 and y, z of 1..3 digits (Postfix dsn_valid()); the length of the code
// at the start of `text` when it is followed by a space or the end, else 0.
std::size_t LeadingDsnLength(std::string_view text);

}  // namespace moat::mta
