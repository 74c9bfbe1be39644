// summary_log.h - the one log line per message, in the amavisd-new manner, that administrators
// grep and log analysers (pflogsumm-style scripts, amavis-logwatch) read:
//
//   <id> Passed CLEAN {RelayedInbound}, inbound [127.0.0.1]:41644 [192.0.2.10]
//   <a@example.com> -> <b@example.org>,<c@example.org>, Queue-ID: 4XyZ, Message-ID: <m@x>,
//   mail_id: <id>, Hits: -, size: 3072, queued_as: 4AbC, 12 ms
//
// (one line). Verb: Passed (at least one recipient reinjected), Blocked (the policy discarded,
// bounced or rejected it), Refused (the MTA refused every recipient with 5xx), Deferred (every
// recipient got a 4xx; the reason follows "Deferred"). The action tag is
// {Relayed|Discarded|Bounced|Rejected|TempFailed}{Inbound|Outbound}[,Quarantined]. Then the
// policy bank, the LMTP peer, the original client (XFORWARD ADDR), the envelope, the upstream
// queue ID (XFORWARD IDENT), the Message-ID, our ID, the spam score when rules scored, the size
// as received, the reinjection's queue IDs, the quarantine ID and DKIM signatures when any, and
// the elapsed time from the end of DATA. Peer-supplied text is made printable and cut short.
//
// Pure function; thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "filterd/message_context.h"
#include "filterd/message_finisher.h"
#include "filterd/policy.h"

namespace moat::filterd {

// `decision` is null when the message was deferred before the policy ran (`deferral` says why).
std::string FormatSummaryLine(const MessageContext& context, const Decision* decision,
                              const FinishResult& finish, std::chrono::milliseconds elapsed,
                              const std::string& deferral = "");

}  // namespace moat::filterd
