// policy.h - from findings to a decision: what happens to the message, per recipient.
//
// A MessagePolicy belongs to one policy bank ("inbound", "originating") and is built once per
// configuration snapshot. After the pipeline's stages have filled the MessageContext, the daemon
// (and `moat scan`) call Decide() once. The Decision says the content class, whether one copy
// goes to the quarantine, and for every envelope recipient (same order as the envelope) the
// destiny and the header edits for that recipient's copy (X-Spam-* at tag level, the subject tag
// at tag2, alert headers). Recipients with equal edits share one reinjection transaction.
//
// How the daemon acts on a recipient's destiny:
//   kPass     reinject with the header edits; LMTP reply = the reinjection server's reply;
//   kDiscard  no reinjection; LMTP 250 once the quarantine copy (if any) is durable;
//   kBounce / kReject  no reinjection; LMTP reply = `reply` (a 5xx with enhanced code).
// A quarantine copy that cannot be stored turns every recipient into a 4xx (nothing is lost).
//
// Thread safety: Decide() is const and may run on any thread.
#pragma once

#include <string>
#include <vector>

#include "core/smtp_reply.h"
#include "filterd/message_context.h"
#include "filterd/verdict.h"

namespace moat::filterd {

struct RecipientDecision {
  Destiny destiny = Destiny::kPass;
  std::vector<HeaderEdit> header_edits;  // for this recipient's copy, applied after the
                                         // context's own header_edits
  core::SmtpReply reply;                 // for kBounce/kReject: the 5xx to answer
};

struct Decision {
  ContentClass content_class = ContentClass::kClean;
  std::string subclass;  // e.g. "encrypted", "limit:max_depth"
  std::string reason;    // one line for the log and the quarantine index: "Eicar-Test-Signature"
  bool quarantine = false;
  std::vector<RecipientDecision> recipients;  // parallel to context.envelope.recipients
};

class MessagePolicy {
 public:
  virtual ~MessagePolicy() = default;
  virtual Decision Decide(const MessageContext& context) const = 0;
};

}  // namespace moat::filterd
