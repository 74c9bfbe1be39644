// entry_json.h - QuarantineEntry as JSON: the view scripts and the web API read, and the sidecar
// inside each message file (message_file.h documents its keys).
//
// EntryToJson (for `moat quarantine list/show --json` and /api/quarantine):
//   id, time (ISO 8601 UTC), time_us, class, subclass, reason, sender, recipients [..], from,
//   subject, message_id, size, client_address, policy_bank, score (number or null), state
//   (held/released/deleted), damage ("" when intact), history [{time, time_us, kind, actor,
//   recipients, detail}], and, when the entry has one, trace: the decision trace as a JSON value
//   (or as a string when it is not valid JSON).
// Dump the result with nlohmann::json::error_handler_t::replace: text read back from an index is
// not guaranteed to be UTF-8.
//
// Pure functions, thread-safe. SidecarFromJson returns kCorrupt for a missing or mistyped key.
#pragma once

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "quarantine/quarantine_entry.h"

namespace moat::quarantine {

nlohmann::json EntryToJson(const QuarantineEntry& entry);
nlohmann::json EventToJson(const EntryEvent& event);

nlohmann::json SidecarToJson(const QuarantineEntry& entry);
core::Result<QuarantineEntry> SidecarFromJson(const nlohmann::json& sidecar);
inline constexpr int kSidecarFormat = 1;

}  // namespace moat::quarantine
