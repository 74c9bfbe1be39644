// queue_message.cc - names of the queues and small helpers of the queue data model.
#include "mta/queue_message.h"

#include <algorithm>

namespace moat::mta {

std::string_view QueueNameText(QueueName queue) {
  switch (queue) {
    case QueueName::kIncoming:
      return "incoming";
    case QueueName::kActive:
      return "active";
    case QueueName::kDeferred:
      return "deferred";
    case QueueName::kHold:
      return "hold";
    case QueueName::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

std::optional<QueueName> ParseQueueName(std::string_view text) {
  for (QueueName queue : kAllQueues) {
    if (QueueNameText(queue) == text) return queue;
  }
  return std::nullopt;
}

bool RecipientDone(RecipientStatus status) { return status != RecipientStatus::kPending; }

size_t QueuedMessage::pending_recipients() const {
  return static_cast<size_t>(
      std::count_if(envelope.recipients.begin(), envelope.recipients.end(),
                    [](const QueueRecipient& r) { return !RecipientDone(r.status); }));
}

}  // namespace moat::mta
