// summary_log.cc - the amavis-style summary line.
#include "filterd/summary_log.h"

#include <fmt/format.h>

#include "quarantine/message_headers.h"

namespace moat::filterd {
namespace {

constexpr std::size_t kMaxField = 200;

std::string Printable(std::string_view text, std::size_t limit = kMaxField) {
  std::string out;
  out.reserve(std::min(text.size(), limit));
  for (char c : text.substr(0, limit)) {
    auto byte = static_cast<unsigned char>(c);
    out.push_back(byte < 0x20 || byte == 0x7f ? '?' : c);
  }
  if (text.size() > limit) out += "...";
  return out;
}

using Kind = RecipientOutcome::Kind;

}  // namespace

std::string FormatSummaryLine(const MessageContext& context, const Decision* decision,
                              const FinishResult& finish, std::chrono::milliseconds elapsed,
                              const std::string& deferral) {
  bool delivered = false, discarded = false, rejected = false, refused = false, all_temp = true;
  for (const RecipientOutcome& r : finish.recipients) {
    delivered = delivered || r.kind == Kind::kDelivered;
    discarded = discarded || r.kind == Kind::kDiscarded;
    rejected = rejected || r.kind == Kind::kRejected;
    refused = refused || r.kind == Kind::kRefusedByMta;
    all_temp = all_temp && r.kind == Kind::kTempFailed;
  }
  bool bounced = false;
  if (decision) {
    for (const RecipientDecision& rd : decision->recipients) {
      bounced = bounced || rd.destiny == Destiny::kBounce;
    }
  }
  std::string verb;
  std::string action;
  if (delivered) {
    verb = "Passed";
    action = "Relayed";
  } else if (all_temp) {
    verb = deferral.empty() ? "Deferred" : fmt::format("Deferred ({})", Printable(deferral));
    action = "TempFailed";
  } else if (discarded || rejected) {
    verb = "Blocked";
    action = discarded ? "Discarded" : bounced ? "Bounced" : "Rejected";
  } else {
    verb = "Refused";
    action = "Rejected";
  }
  std::string verdict =
      decision ? std::string(ContentClassName(decision->content_class)) : std::string("UNCHECKED");
  if (decision && !decision->reason.empty()) {
    verdict += fmt::format(" ({})", Printable(decision->reason));
  }
  std::string tag = action + (context.policy_bank == "originating" ? "Outbound" : "Inbound");
  if (!finish.quarantine_id.empty()) tag += ",Quarantined";

  std::string line = fmt::format("{} {} {} {{{}}}, {} [{}]:{}", context.id, verb, verdict, tag,
                                 context.policy_bank, Printable(context.reception.peer_address),
                                 context.reception.peer_port);
  if (!context.client.address.empty() && context.client.address != context.reception.peer_address) {
    line += fmt::format(" [{}]", Printable(context.client.address));
  }
  line += fmt::format(" <{}> ->", Printable(context.envelope.mail.sender));
  for (std::size_t i = 0; i < context.envelope.recipients.size(); ++i) {
    if (i == 20) {
      line += fmt::format(",... ({} recipients)", context.envelope.recipients.size());
      break;
    }
    line += fmt::format("{}<{}>", i == 0 ? " " : ",",
                        Printable(context.envelope.recipients[i].recipient));
  }
  if (!context.client.upstream_queue_id.empty()) {
    line += fmt::format(", Queue-ID: {}", Printable(context.client.upstream_queue_id));
  }
  auto message_id = quarantine::FirstHeaderValue(context.message, "Message-ID");
  if (message_id) line += fmt::format(", Message-ID: {}", Printable(*message_id));
  line += fmt::format(", mail_id: {}", context.id);
  bool scored = context.spam_score != 0;
  for (const Finding& f : context.findings) scored = scored || f.score != 0;
  if (scored) {
    line += fmt::format(", Hits: {:.3f}", context.spam_score);
  } else {
    line += ", Hits: -";
  }
  line += fmt::format(", size: {}", context.message.size());
  std::string queued;
  for (const RecipientOutcome& r : finish.recipients) {
    if (r.queued_as.empty() || queued.find(r.queued_as) != std::string::npos) continue;
    if (!queued.empty()) queued += ",";
    queued += Printable(r.queued_as, 40);
  }
  if (!queued.empty()) line += fmt::format(", queued_as: {}", queued);
  if (!finish.quarantine_id.empty()) line += fmt::format(", quarantine: {}", finish.quarantine_id);
  for (const std::string& signature : finish.dkim_signatures) {
    line += fmt::format(", dkim_signed: {}", signature);
  }
  line += fmt::format(", {} ms", elapsed.count());
  return line;
}

}  // namespace moat::filterd
