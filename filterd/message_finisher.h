// message_finisher.h - the finishing steps after the policy decided: quarantine, header edits,
// DKIM signing, reinjection - in that order (stage.h) - and one LMTP reply per recipient.
//
//   1. Quarantine. When Decision::quarantine is set, the ORIGINAL message (as received) goes to
//      the QuarantineStore with its metadata (class, subclass, reason, decision trace, envelope,
//      client, bank, score) on the disk pool; Store() returns only once file and index row are
//      durable. A store that is not configured, refuses, or fails makes EVERY recipient a 451:
//      nothing is acknowledged that is not safe.
//   2. Header edits. Recipients whose destiny is PASS are grouped by their own header edits;
//      each group's copy is the message with the context's edits, then the group's, applied
//      (header_editor.h).
//   3. DKIM signing, for the originating bank only, when the snapshot has keys: the keys that
//      sign for the From address of the copy (DkimKeyStore::KeysFor) sign it on the CPU pool and
//      the signatures go on top. No key: the copy passes unsigned, with a trace note and a log
//      line. A message that cannot be signed (no From) passes unsigned likewise; a signing
//      failure of OpenSSL is a 451.
//   4. Reinjection of each group through the Reinjector, envelope and DSN parameters as
//      received, XFORWARD of the original client.
// Replies (RFC 2033, one per recipient in envelope order):
//   PASS     the MTA's reply to that recipient: 2xx -> "250 2.0.0 <rcpt> Ok, id=ID, from
//            MTA(peer): <its reply>"; 4xx (also a timeout or refused connection) -> that 4xx
//            (421 becomes 451 so the LMTP session stays open); 5xx -> that 5xx;
//   DISCARD  "250 2.7.0 Ok, discarded, id=ID - CLASS" (after the quarantine copy is durable);
//   BOUNCE / REJECT  the policy's reply (a 5xx; "554 5.7.0 Reject, id=ID - CLASS" when the policy
//            gave none or a positive one).
//
// Thread safety: one call per message; the services are shared and thread-safe.
#pragma once

// clang-format off
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/smtp_reply.h"
#include "filterd/filterd_snapshot.h"
#include "filterd/message_context.h"
#include "filterd/policy.h"
#include "filterd/reinjector.h"
#include "filterd/worker_pool.h"
#include "quarantine/quarantine_store.h"

namespace moat::filterd {

class FilterdMetrics;

struct FinisherServices {
  quarantine::QuarantineStore* store = nullptr;  // null: no quarantine configured
  WorkerPool* cpu_pool = nullptr;                // DKIM signing
  WorkerPool* disk_pool = nullptr;               // quarantine writes (fsync)
  Reinjector* reinjector = nullptr;
  FilterdMetrics* metrics = nullptr;             // null: nothing counted (moat scan, tests)
};

struct RecipientOutcome {
  enum class Kind { kDelivered, kDiscarded, kRejected, kTempFailed, kRefusedByMta };
  Kind kind = Kind::kTempFailed;
  core::SmtpReply reply;  // the LMTP reply
  std::string queued_as;  // kDelivered: the MTA's queue ID, when its reply named one
};

struct FinishResult {
  std::vector<RecipientOutcome> recipients;  // parallel to the envelope's recipients
  std::string quarantine_id;                 // empty when not quarantined
  std::vector<std::string> dkim_signatures;  // "d=example.com s=sel" per signature added
};

asio::awaitable<FinishResult> FinishMessage(const FilterdSnapshot& snapshot,
                                            MessageContext& context, const Decision& decision,
                                            const FinisherServices& services);

// Every recipient gets `reply` (4xx paths before the finishing steps: overload, stage failure).
FinishResult AllRecipients(const MessageContext& context, RecipientOutcome::Kind kind,
                           const core::SmtpReply& reply);

// The queue ID in an MTA's "250 2.0.0 Ok: queued as 4XyZ" ("" when there is none).
std::string QueuedAs(const core::SmtpReply& reply);

}  // namespace moat::filterd
