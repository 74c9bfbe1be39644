// filter_service.h - what moat-filterd does with one message, from the end of DATA to the LMTP
// replies: build the MessageContext, choose the policy bank, run the bank's stages, let its
// policy decide, run the finishing steps (message_finisher.h), log the summary line.
//
// Policy bank: the listener's bank, except that mail whose XFORWARD ADDR is in mynetworks uses
// "originating" (amavisd-new's MYNETS bank). Without XFORWARD ADDR the listener decides alone.
//
// Replies, one per recipient (RFC 2033): see message_finisher.h. Before the policy has decided,
// every failure is a 4xx for all recipients, so the MTA keeps the message:
//   worker pool full                 451 4.3.2 "too busy"
//   a stage failed (kTempFail mode)  451 4.3.0
//   the policy threw / bad decision  451 4.3.0
//   mynetworks lookup error          451 4.3.0
//
// One FilterService serves every listener; Process() runs concurrently from many sessions. It
// reads the current snapshot once per message. Thread-safe.
#pragma once

// clang-format off
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/network_list.h"
#include "core/smtp_handler.h"
#include "filterd/filterd_snapshot.h"
#include "filterd/message_finisher.h"
#include "filterd/worker_pool.h"

namespace moat::filterd {

struct FilterServiceCounters {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> passed{0};       // at least one recipient reinjected
  std::atomic<std::uint64_t> blocked{0};      // discarded / bounced / rejected by policy
  std::atomic<std::uint64_t> deferred{0};     // every recipient 4xx
  std::atomic<std::uint64_t> overloaded{0};   // 451 4.3.2: the pool was full
  std::atomic<std::uint64_t> quarantined{0};
};

class FilterService {
 public:
  FilterService(const SnapshotHolder& snapshots, WorkerPool& cpu_pool, FinisherServices finisher);

  // `message` is taken for the time of the call and handed back (its buffer reused by the
  // session); its content afterwards is unspecified.
  asio::awaitable<std::vector<core::SmtpReply>> Process(std::string_view listener_bank,
                                                        const core::SmtpSessionInfo& info,
                                                        const core::SmtpEnvelope& envelope,
                                                        std::string& message);

  const FilterServiceCounters& counters() const { return counters_; }

 private:
  const SnapshotHolder& snapshots_;
  WorkerPool& cpu_pool_;
  FinisherServices finisher_;
  FilterServiceCounters counters_;
};

// A new message ID: 12 characters of [0-9A-Za-z] from a per-thread random generator (amavis
// mail_id style), unique enough to find a message in logs and the quarantine trace.
std::string NewMessageId();

// What XFORWARD said about the original client, with the LMTP peer where it said nothing.
ClientInfo ClientFromSession(const core::SmtpSessionInfo& info);

// The policy bank for a message from `listener_bank`'s listener (see the file comment). An error
// of a mynetworks table lookup comes back as the error.
core::Result<std::string> ChoosePolicyBank(std::string_view listener_bank,
                                           const core::XforwardAttributes& xforward,
                                           const core::NetworkList& mynetworks,
                                           std::string* trace_note = nullptr);

}  // namespace moat::filterd
