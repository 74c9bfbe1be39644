// decision_trace.cc - MessageContext + Decision -> JSON.
#include "filterd/decision_trace.h"

#include <nlohmann/json.hpp>

#include "quarantine/quarantine_entry.h"

namespace moat::filterd {

std::string DecisionTraceJson(const MessageContext& context, const Decision& decision) {
  using nlohmann::json;
  // Peer-supplied text may be any bytes; the JSON library refuses invalid UTF-8 when dumping.
  auto text = [](std::string_view s) { return quarantine::ToValidUtf8(s); };
  json doc;
  doc["id"] = text(context.id);
  doc["policy_bank"] = text(context.policy_bank);
  doc["verdict"] = std::string(ContentClassName(decision.content_class));
  doc["subclass"] = text(decision.subclass);
  doc["reason"] = text(decision.reason);
  doc["score"] = context.spam_score;
  doc["quarantine"] = decision.quarantine;
  doc["client"] = {{"address", text(context.client.address)},
                   {"name", text(context.client.name)},
                   {"helo", text(context.client.helo)},
                   {"protocol", text(context.client.protocol)},
                   {"queue_id", text(context.client.upstream_queue_id)}};
  json recipients = json::array();
  for (const auto& rcpt : context.envelope.recipients) recipients.push_back(text(rcpt.recipient));
  doc["envelope"] = {{"sender", text(context.envelope.mail.sender)}, {"recipients", recipients}};
  json findings = json::array();
  for (const Finding& f : context.findings) {
    findings.push_back({{"stage", text(f.stage)},
                        {"name", text(f.name)},
                        {"class", std::string(ContentClassName(f.content_class))},
                        {"subclass", text(f.subclass)},
                        {"score", f.score},
                        {"part", text(f.part)},
                        {"detail", text(f.detail)}});
  }
  doc["findings"] = std::move(findings);
  json destinies = json::array();
  for (std::size_t i = 0; i < decision.recipients.size(); ++i) {
    std::string rcpt =
        i < context.envelope.recipients.size() ? context.envelope.recipients[i].recipient : "";
    destinies.push_back(
        {{"recipient", text(rcpt)}, {"destiny", std::string(DestinyName(decision.recipients[i].destiny))}});
  }
  doc["destinies"] = std::move(destinies);
  json trace = json::array();
  for (const std::string& note : context.trace) trace.push_back(text(note));
  doc["trace"] = std::move(trace);
  json timings = json::array();
  for (const StageTiming& t : context.timings) {
    timings.push_back({{"stage", text(t.stage)}, {"us", t.elapsed.count()}});
  }
  doc["timings"] = std::move(timings);
  return doc.dump();
}

}  // namespace moat::filterd
