// pass_policy.h - the simplest MessagePolicy: every recipient gets PASS, nothing is quarantined.
//
// The basic content (filterd_snapshot.h BasicContentFactory) uses it until the real per-bank
// policy (destinies per content class, spam levels) is plugged in. The decision still reports the
// most severe content class the findings argue for (verdict.h), with their names as the reason,
// so the summary log shows what the stages saw even though nothing acts on it.
//
// Stateless; Decide() is thread-safe.
#pragma once

#include "filterd/policy.h"

namespace moat::filterd {

class PassAllPolicy : public MessagePolicy {
 public:
  Decision Decide(const MessageContext& context) const override;
};

// The most severe class among `findings` (kClean when there are none), with the subclass and the
// names of the findings of that class joined by ", " as the reason.
Decision ClassifyFindings(const std::vector<Finding>& findings);

}  // namespace moat::filterd
