// store_release.cc - QuarantineStore::PrepareRelease and Release.
#include <spdlog/spdlog.h>

#include "quarantine/quarantine_store.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

// The latest release in an entry's history, for the "already released" message.
const EntryEvent* LastRelease(const QuarantineEntry& entry) {
  const EntryEvent* last = nullptr;
  for (const EntryEvent& event : entry.history) {
    if (event.kind == EntryEvent::Kind::kRelease) last = &event;
  }
  return last;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out.append(separator);
    out.append(item);
  }
  return out;
}

}  // namespace

core::Result<PreparedRelease> QuarantineStore::PrepareRelease(std::string_view id,
                                                              const ReleaseRequest& request) {
  auto entry = GetEntry(id);
  if (!entry) return core::Fail(entry.error());
  if (entry->state == EntryState::kReleased && !request.force) {
    const EntryEvent* last = LastRelease(*entry);
    return core::Fail(ErrorCode::kPermFail,
                      "quarantine entry {} was released already{}; force to release it again",
                      entry->id,
                      last != nullptr ? fmt::format(" ({} by {} to {})", FormatUtc(last->time),
                                                    last->actor, Join(last->recipients, ", "))
                                      : "");
  }
  PreparedRelease prepared;
  prepared.envelope_sender = entry->metadata.envelope_sender;
  prepared.recipients =
      request.recipients.empty() ? entry->metadata.recipients : request.recipients;
  for (const std::string& rcpt : prepared.recipients) {
    // The address goes into an SMTP command: nothing that could end or split it.
    bool bad = rcpt.empty() || rcpt.size() > 320 ||
               rcpt.find_first_of(std::string_view("\r\n\0<> ", 6)) != std::string::npos;
    if (bad) {
      return core::Fail(ErrorCode::kInvalid, "not a usable recipient address: '{}'",
                        ToValidUtf8(rcpt));
    }
  }
  auto message = ReadVerified(*entry);
  if (!message) return core::Fail(message.error());
  prepared.time = options_.clock();
  prepared.message = BuildReleasedMessage(*message, entry->id, request.actor, prepared.time);
  return prepared;
}

core::Result<ReleaseResult> QuarantineStore::Release(std::string_view id,
                                                     const ReleaseRequest& request,
                                                     MessageSender& sender) {
  auto prepared = PrepareRelease(id, request);
  if (!prepared) return core::Fail(prepared.error());
  auto outcome = sender.Send(prepared->envelope_sender, prepared->recipients, prepared->message);
  if (!outcome) return core::Fail(outcome.error().WithContext(fmt::format("release {}", id)));
  if (outcome->accepted.empty()) {
    bool temporary = false;
    std::vector<std::string> replies;
    for (const RejectedRecipient& r : outcome->rejected) {
      temporary = temporary || r.temporary;
      replies.push_back(fmt::format("<{}> {}", r.address, r.reply));
    }
    return core::Fail(temporary ? ErrorCode::kTempFail : ErrorCode::kPermFail,
                      "release {}: no recipient accepted: {}", id, Join(replies, "; "));
  }

  // Sent first, recorded after: an unrecorded release is the lesser harm than a recorded one that
  // never went out. If recording fails the operator is told the message went.
  EntryEvent event;
  event.kind = EntryEvent::Kind::kRelease;
  event.time = prepared->time;
  event.actor = SanitizeActor(request.actor);
  event.recipients = outcome->accepted;
  std::vector<std::string> details;
  if (request.force) details.emplace_back("forced");
  for (const RejectedRecipient& r : outcome->rejected) {
    details.push_back(fmt::format("rejected <{}>: {}", r.address, r.reply));
  }
  event.detail = Join(details, "; ");
  if (auto recorded = index_->RecordEvent(id, event); !recorded) {
    spdlog::error("quarantine {}: released to {} but not recorded: {}", id,
                  Join(outcome->accepted, ", "), recorded.error().ToString());
    return core::Fail(recorded.error().WithContext(
        fmt::format("release {}: sent to {}, but recording the release failed", id,
                    Join(outcome->accepted, ", "))));
  }
  spdlog::info("quarantine {}: released by {} to {}", id, event.actor,
               Join(outcome->accepted, ", "));
  return ReleaseResult{std::move(*prepared), std::move(*outcome)};
}

}  // namespace moat::quarantine
