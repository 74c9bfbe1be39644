// decision_trace.h - the decision trace of one message as JSON: what the quarantine index keeps
// beside a held message (EntryMetadata::trace_json) so an operator can see why it was held.
//
// {"id", "policy_bank", "verdict", "subclass", "reason", "score", "quarantine",
//  "client": {"address", "name", "helo", "protocol", "queue_id"},
//  "envelope": {"sender", "recipients": [...]},
//  "findings": [{"stage", "name", "class", "subclass", "score", "part", "detail"}],
//  "destinies": [{"recipient", "destiny"}], "trace": ["note", ...],
//  "timings": [{"stage", "us"}]}
// The field names of "findings" are those of `moat scan --json`, which is meant to replace this
// document once the offline scan shares it. Text is passed through as given; the quarantine makes
// it valid UTF-8 when storing. Pure function; thread-safe.
#pragma once

#include <string>

#include "filterd/message_context.h"
#include "filterd/policy.h"

namespace moat::filterd {

std::string DecisionTraceJson(const MessageContext& context, const Decision& decision);

}  // namespace moat::filterd
