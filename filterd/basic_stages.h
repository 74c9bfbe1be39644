// basic_stages.h - the stages moat-filterd runs on every message whatever content checks are
// configured: the Received trace field of the filter's hop, and X-Virus-Scanned.
//
//   ReceivedHeaderStage     plans "Received: from <LHLO> ([<MTA address>]) by <myhostname>
//                           (moat-filterd, port <listener port>) with LMTP id <message id>
//                           [for <rcpt>]; <date>" on top (RFC 5321 4.4 trace field; "for" only
//                           with a single recipient, as Postfix does). The snapshot builder
//                           (filterd_snapshot.h) puts it first in every bank's stage list.
//   VirusScannedHeaderStage plans "X-Virus-Scanned: <virus_scanned_header>" (amavis
//                           $X_HEADER_LINE); part of the basic content (BasicContentFactory),
//                           which the real content stages replace.
//
// Both only plan header edits (the finisher applies them), take microseconds, and never fail.
// Immutable after construction; shared by all workers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "filterd/stage.h"

namespace moat::filterd {

class ReceivedHeaderStage : public Stage {
 public:
  explicit ReceivedHeaderStage(std::string hostname) : hostname_(std::move(hostname)) {}
  std::string_view name() const override { return "received"; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;

 private:
  std::string hostname_;
};

class VirusScannedHeaderStage : public Stage {
 public:
  explicit VirusScannedHeaderStage(std::string value) : value_(std::move(value)) {}
  std::string_view name() const override { return "x-virus-scanned"; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override;

 private:
  std::string value_;
};

// "Sat, 21 Nov 2026 08:01:17 +0000" (RFC 5322 date-time, local time with its offset).
std::string Rfc5322Date(std::chrono::system_clock::time_point time);

}  // namespace moat::filterd
