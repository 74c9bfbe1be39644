// queue_actions.cc - delete, hold, release and requeue on queue files (see queue_actions.h).
#include "cli/queue_actions.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace moat::cli {
namespace {

using core::ErrorCode;
using mta::QueueName;
using Kind = ActionOutcome::Kind;

// How often a message that moves while it is acted on is looked for again.
constexpr int kAttempts = 4;

ActionOutcome Done(std::string detail) { return {Kind::kDone, std::move(detail)}; }
ActionOutcome Skipped(std::string why) { return {Kind::kSkipped, std::move(why)}; }
ActionOutcome Failed(const core::Error& error) { return {Kind::kFailed, error.message()}; }

// The result of one try: an outcome, or "moved away: look again" (nullopt).
using Try = std::optional<ActionOutcome>;

Try FromStatus(const core::Status& status, std::string done_detail) {
  if (status) return Done(std::move(done_detail));
  if (status.error().code() == ErrorCode::kNotFound) return std::nullopt;
  return Failed(status.error());
}

Try Release(mta::QueueStore& store, std::string_view id) {
  auto file = store.OpenFile(QueueName::kHold, id, /*writable=*/true);
  if (!file) {
    if (file.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return Failed(file.error());
  }
  if (file->message().envelope.schedule.attempts == 0) {
    return FromStatus(store.Move(id, QueueName::kHold, QueueName::kIncoming), "incoming");
  }
  // Tried before: deferred, and due now rather than after the backoff it had.
  mta::QueueSchedule schedule = file->message().envelope.schedule;
  schedule.next_attempt = 0;
  if (auto s = file->SetSchedule(schedule); !s) return Failed(s.error());
  if (auto s = file->Sync(); !s) return Failed(s.error());
  return FromStatus(store.Move(id, QueueName::kHold, QueueName::kDeferred), "deferred");
}

// After a requeue could not go on: the message goes back where it came from.
std::string PutBack(mta::QueueStore& store, std::string_view id, QueueName from) {
  if (from == QueueName::kHold) return "";
  if (auto s = store.Move(id, QueueName::kHold, from); !s) {
    return fmt::format(" (it stays on hold: {})", s.error().message());
  }
  return "";
}

constexpr std::string_view kBeingDelivered =
    "being delivered (active/); try again when this delivery attempt is over";

Try Requeue(mta::QueueStore& store, std::string_view id, QueueName from) {
  if (from == QueueName::kActive) return Skipped(std::string(kBeingDelivered));
  if (from != QueueName::kHold) {
    // Claim it: from here on the queue manager cannot activate it.
    if (auto s = store.Move(id, from, QueueName::kHold); !s) {
      if (s.error().code() == ErrorCode::kNotFound) return std::nullopt;
      return Failed(s.error());
    }
  }
  auto message = store.Read(QueueName::kHold, id, /*with_content=*/true);
  if (!message) {
    return ActionOutcome{Kind::kFailed, message.error().message() + PutBack(store, id, from)};
  }
  auto bounces = store.ReadLog(mta::RecipientLogKind::kBounce, id);
  if (!bounces || !bounces->empty()) {
    std::string why = bounces ? "a non-delivery notification is still to be sent"
                              : bounces.error().message();
    return ActionOutcome{bounces ? Kind::kSkipped : Kind::kFailed, why + PutBack(store, id, from)};
  }
  mta::QueueEnvelope envelope = message->envelope;
  envelope.recipients.clear();
  for (const mta::QueueRecipient& r : message->envelope.recipients) {
    if (r.status == mta::RecipientStatus::kPending) envelope.recipients.push_back(r);
  }
  if (envelope.recipients.empty()) {
    return Skipped("no recipient left to deliver" + PutBack(store, id, from));
  }
  envelope.schedule = {};
  envelope.attributes.hold_reason.clear();
  envelope.arrival_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            store.Now().time_since_epoch())
                            .count();
  std::string new_id;
  core::Status committed;
  for (int attempt = 0; attempt < 3; ++attempt) {
    new_id = store.NewId();
    committed = store.Commit(new_id, envelope, message->content, QueueName::kIncoming);
    if (committed || committed.error().code() != ErrorCode::kTempFail ||
        committed.error().message().find("already in use") == std::string::npos) {
      break;
    }
  }
  if (!committed) {
    return ActionOutcome{Kind::kFailed,
                         committed.error().message() + PutBack(store, id, from)};
  }
  if (auto removed = store.Delete(QueueName::kHold, id); !removed) {
    // Two copies now; the old one is on hold, so it is never delivered twice.
    return ActionOutcome{Kind::kFailed,
                         fmt::format("requeued as {}, but the old copy stays on hold: {}", new_id,
                                     removed.error().message())};
  }
  return Done(new_id);
}

}  // namespace

std::string_view QueueActionName(QueueAction action) {
  switch (action) {
    case QueueAction::kDelete:
      return "delete";
    case QueueAction::kHold:
      return "hold";
    case QueueAction::kRelease:
      return "release";
    case QueueAction::kRequeue:
      return "requeue";
  }
  return "delete";
}

std::vector<QueueName> DefaultQueues(QueueAction action) {
  switch (action) {
    case QueueAction::kDelete:
      return {QueueName::kHold, QueueName::kIncoming, QueueName::kActive, QueueName::kDeferred};
    case QueueAction::kHold:
      return {QueueName::kIncoming, QueueName::kActive, QueueName::kDeferred};
    case QueueAction::kRelease:
      return {QueueName::kHold};
    case QueueAction::kRequeue:
      return {QueueName::kHold, QueueName::kIncoming, QueueName::kDeferred};
  }
  return {};
}

ActionOutcome ApplyQueueAction(mta::QueueStore& store, QueueAction action, std::string_view id,
                               std::span<const QueueName> queues) {
  if (!mta::IsValidQueueId(id)) return {Kind::kFailed, "not a queue ID"};
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto where = store.Locate(id);
    if (!where) return Failed(where.error());
    if (!*where) {
      // Locate() looks in one queue after another: a message the queue manager moves at that
      // moment can slip past it. Only "nowhere" several times over is "not in the queue".
      if (attempt + 1 < kAttempts) continue;
      return {Kind::kNotFound, "not in the queue"};
    }
    QueueName queue = **where;
    if (action == QueueAction::kRequeue && queue == QueueName::kActive) {
      return Skipped(std::string(kBeingDelivered));
    }
    if (std::find(queues.begin(), queues.end(), queue) == queues.end()) {
      if (action == QueueAction::kHold && queue == QueueName::kHold) {
        return Skipped("already on hold");
      }
      if (action == QueueAction::kRelease && queue != QueueName::kCorrupt) {
        return Skipped(fmt::format("not on hold (in {}/)", mta::QueueNameText(queue)));
      }
      return Skipped(fmt::format("in {}/", mta::QueueNameText(queue)));
    }
    Try outcome;
    switch (action) {
      case QueueAction::kDelete:
        outcome = FromStatus(store.Delete(queue, id), "deleted");
        break;
      case QueueAction::kHold:
        outcome = FromStatus(store.Move(id, queue, QueueName::kHold), "hold");
        break;
      case QueueAction::kRelease:
        outcome = Release(store, id);
        break;
      case QueueAction::kRequeue:
        outcome = Requeue(store, id, queue);
        break;
    }
    if (outcome) return *outcome;
  }
  return {Kind::kFailed, "keeps moving between queues; try again"};
}

core::Result<std::vector<std::string>> ListQueueIds(const mta::QueueStore& store,
                                                    std::span<const QueueName> queues) {
  std::vector<std::string> ids;
  for (QueueName queue : queues) {
    auto entries = store.List(queue);
    if (!entries) return std::unexpected(entries.error());
    for (mta::QueueEntry& entry : *entries) ids.push_back(std::move(entry.id));
  }
  return ids;
}

}  // namespace moat::cli
