// queue_actions.h - what `moat queue delete|hold|release|requeue` do to the queue files, after
// Postfix's postsuper -d / -h / -H / -r, through mta::QueueStore while moat-mta may be running.
//
//   delete   removes the file and its defer/, bounce/ and trace/ logs.
//            Default queues: hold, incoming, active, deferred.
//   hold     moves it to hold/: the queue manager never takes it from there.
//            Default queues: incoming, active, deferred (a message being delivered finishes
//            its attempt; its results are kept and it stays on hold).
//   release  moves it from hold/ to incoming/ when it was never tried, else to deferred/ with
//            its next attempt due now (the caller then wakes the queue manager up).
//   requeue  a fresh copy with a new queue ID in incoming/: the recipients still to deliver,
//            a new arrival time (so maximal_queue_lifetime starts again, as with postsuper -r),
//            no retry history; then the old file and its logs are removed. The message is first
//            moved to hold/, so the queue manager cannot start delivering it during the copy.
//            Default queues: hold, incoming, deferred. A message being delivered (active/) is
//            skipped — copying it then could deliver recipients twice; try again after its
//            attempt. Not requeued either: a message whose non-delivery notification is still
//            to be sent, or one with no recipient left.
//
// The queue manager moves files at any time: when a file is gone from where it was found
// (kNotFound), the message is looked for again, a few times, and acted on where it is now.
// A message found in a queue the action does not take is skipped with the reason ("already on
// hold", "in deferred/"). Outcomes, one per ID: done, not found (delivered or removed
// meanwhile), skipped, failed (kIo, kCorrupt: a real error; the message is left where it was,
// or on hold when a requeue could not be finished).
//
// Thread safety: as QueueStore (any thread).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "mta/queue_store.h"

namespace moat::cli {

enum class QueueAction { kDelete, kHold, kRelease, kRequeue };

std::string_view QueueActionName(QueueAction action);  // "delete", "hold", ...
std::vector<mta::QueueName> DefaultQueues(QueueAction action);

struct ActionOutcome {
  enum class Kind { kDone, kNotFound, kSkipped, kFailed };
  Kind kind = Kind::kDone;
  // kDone: where the message went ("hold", "deferred", the new ID of a requeue); otherwise why.
  std::string detail;
};

ActionOutcome ApplyQueueAction(mta::QueueStore& store, QueueAction action, std::string_view id,
                               std::span<const mta::QueueName> queues);

// Every message ID in `queues` (for ALL), in queue order.
core::Result<std::vector<std::string>> ListQueueIds(const mta::QueueStore& store,
                                                    std::span<const mta::QueueName> queues);

}  // namespace moat::cli
