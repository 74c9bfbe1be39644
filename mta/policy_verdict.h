// policy_verdict.h - what one of moat-mta's built-in policy checks answers to the smtpd
// restriction evaluator: DNSBLs (dnsbl_restriction.h), SPF (spf_policy.h), greylisting
// (greylist_policy.h).
//
// The actions are Postfix's access(5) results the checks need:
//   kDunno   no opinion: the evaluator goes on with the next restriction;
//   kPermit  accept now (an allow-listed client; the evaluator stops the list with OK);
//   kReject  refuse with `reply` (5xx; or 4xx under soft_bounce, which the evaluator applies);
//   kDefer   refuse with `reply` (4xx): a greylisted triplet, an SPF temperror when configured;
//   kDrop    refuse with `reply` (421 or 521) and close the connection (postscreen's "drop").
// `prepend_headers` are added to the message whatever the action (Received-SPF, X-Greylist), as
// full unfolded "Name: value" lines without a line ending — what SmtpdActions::prepend_headers
// (mta/incoming_message.h) holds. `log` is one line for the log ("client [192.0.2.1] listed by
// zen.example (score 2)").
//
// A plain value; cheap to move.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/smtp_reply.h"

namespace moat::mta {

enum class PolicyAction { kDunno, kPermit, kReject, kDefer, kDrop };

std::string_view PolicyActionName(PolicyAction action);  // "DUNNO", "PERMIT", "REJECT", ...

struct PolicyVerdict {
  PolicyAction action = PolicyAction::kDunno;
  core::SmtpReply reply;  // set for kReject, kDefer and kDrop
  std::vector<std::string> prepend_headers;
  std::string log;

  bool refuses() const {
    return action == PolicyAction::kReject || action == PolicyAction::kDefer ||
           action == PolicyAction::kDrop;
  }
};

inline std::string_view PolicyActionName(PolicyAction action) {
  switch (action) {
    case PolicyAction::kDunno: return "DUNNO";
    case PolicyAction::kPermit: return "PERMIT";
    case PolicyAction::kReject: return "REJECT";
    case PolicyAction::kDefer: return "DEFER";
    case PolicyAction::kDrop: return "DROP";
  }
  return "DUNNO";
}

}  // namespace moat::mta
