// entry_json.cc - JSON views of quarantine entries.
#include "quarantine/entry_json.h"

namespace moat::quarantine {
namespace {

using nlohmann::json;

json OptionalScore(const std::optional<double>& score) {
  return score ? json(*score) : json(nullptr);
}

}  // namespace

json EventToJson(const EntryEvent& event) {
  return json{{"time", FormatUtc(event.time)},     {"time_us", ToUnixMicros(event.time)},
              {"kind", EventKindName(event.kind)}, {"actor", event.actor},
              {"recipients", event.recipients},    {"detail", event.detail}};
}

json EntryToJson(const QuarantineEntry& entry) {
  const EntryMetadata& m = entry.metadata;
  json out{{"id", entry.id},
           {"time", FormatUtc(entry.time)},
           {"time_us", ToUnixMicros(entry.time)},
           {"class", ContentClassName(m.content_class)},
           {"subclass", m.subclass},
           {"reason", m.reason},
           {"sender", m.envelope_sender},
           {"recipients", m.recipients},
           {"from", m.header_from},
           {"subject", m.subject},
           {"message_id", m.message_id},
           {"size", entry.size},
           {"client_address", m.client_address},
           {"policy_bank", m.policy_bank},
           {"score", OptionalScore(m.score)},
           {"state", EntryStateName(entry.state)},
           {"damage", entry.damage}};
  json history = json::array();
  for (const EntryEvent& event : entry.history) history.push_back(EventToJson(event));
  out["history"] = std::move(history);
  if (!m.trace_json.empty()) {
    json trace = json::parse(m.trace_json, nullptr, /*allow_exceptions=*/false);
    out["trace"] = trace.is_discarded() ? json(m.trace_json) : std::move(trace);
  }
  return out;
}

json SidecarToJson(const QuarantineEntry& entry) {
  const EntryMetadata& m = entry.metadata;
  return json{{"format", kSidecarFormat},
              {"id", entry.id},
              {"time_us", ToUnixMicros(entry.time)},
              {"size", entry.size},
              {"class", ContentClassName(m.content_class)},
              {"subclass", m.subclass},
              {"reason", m.reason},
              {"sender", m.envelope_sender},
              {"recipients", m.recipients},
              {"from", m.header_from},
              {"subject", m.subject},
              {"message_id", m.message_id},
              {"client_address", m.client_address},
              {"policy_bank", m.policy_bank},
              {"score", OptionalScore(m.score)},
              {"trace_json", m.trace_json}};
}

core::Result<QuarantineEntry> SidecarFromJson(const json& sidecar) {
  auto bad = [](std::string_view what) {
    return core::Fail(core::ErrorCode::kCorrupt, "quarantine sidecar: {}", what);
  };
  if (!sidecar.is_object()) return bad("not a JSON object");
  auto text = [&](const char* key, std::string* out) {
    auto found = sidecar.find(key);
    if (found == sidecar.end() || !found->is_string()) return false;
    *out = found->get<std::string>();
    return true;
  };
  auto format = sidecar.find("format");
  if (format == sidecar.end() || !format->is_number_integer() || *format != kSidecarFormat) {
    return bad("unknown format");
  }
  QuarantineEntry entry;
  EntryMetadata& m = entry.metadata;
  std::string class_name;
  if (!text("id", &entry.id) || !IsValidQuarantineId(entry.id)) return bad("bad id");
  auto time = sidecar.find("time_us");
  auto size = sidecar.find("size");
  if (time == sidecar.end() || !time->is_number_integer()) return bad("bad time_us");
  if (size == sidecar.end() || !size->is_number_unsigned()) return bad("bad size");
  entry.time = FromUnixMicros(time->get<int64_t>());
  entry.size = size->get<uint64_t>();
  if (!text("class", &class_name)) return bad("bad class");
  auto content_class = ParseContentClass(class_name);
  if (!content_class) return bad("unknown class");
  m.content_class = *content_class;
  if (!text("subclass", &m.subclass) || !text("reason", &m.reason) ||
      !text("sender", &m.envelope_sender) || !text("from", &m.header_from) ||
      !text("subject", &m.subject) || !text("message_id", &m.message_id) ||
      !text("client_address", &m.client_address) || !text("policy_bank", &m.policy_bank) ||
      !text("trace_json", &m.trace_json)) {
    return bad("missing text field");
  }
  auto recipients = sidecar.find("recipients");
  if (recipients == sidecar.end() || !recipients->is_array()) return bad("bad recipients");
  for (const json& rcpt : *recipients) {
    if (!rcpt.is_string()) return bad("bad recipient");
    m.recipients.push_back(rcpt.get<std::string>());
  }
  auto score = sidecar.find("score");
  if (score == sidecar.end() || !(score->is_null() || score->is_number())) return bad("bad score");
  if (score->is_number()) m.score = score->get<double>();
  return entry;
}

}  // namespace moat::quarantine
