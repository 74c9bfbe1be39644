// stage.h - the filter-chain contract of moat-filterd (one message, ordered stages).
//
// A Stage is built once from the configuration snapshot and shared by every worker and every
// session; it must be immutable after construction (thread-safe const methods). For one message
// the pipeline calls the stages in their configured order. A stage reads the MessageContext and
// ADDS findings, trace notes, artefacts and planned header edits; it never decides the message's
// fate and never sends anything. After all stages, the policy decides (content class, destiny),
// then the finishing steps run in this order: quarantine, header edits, DKIM signing (the last
// change to the message, so the signature covers the final bytes), reinjection.
//
// Two kinds of stage:
//   - CPU stages (decomposition, ClamAV, rules, banned checks) implement Run(); the pipeline runs
//     them on the bounded worker pool, with that worker's WorkerResources (per-thread objects such
//     as a libmagic handle or PCRE2 match scratch), so a slow scan never stalls protocol handling.
//   - I/O stages (DKIM key lookups in DNS) implement RunAsync(); the pipeline co_awaits them on
//     the session's executor.
//
// Errors: a stage that cannot do its job (engine failure, timeout, corrupt input it cannot even
// record) returns an Error. Its failure mode then applies: kTempFail (the default) defers the
// message with a 4xx; kRecordUnchecked adds an UNCHECKED "scanner-failure" finding and goes on.
// An error is never read as clean.
#pragma once

// clang-format off
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/error.h"
#include "filterd/message_context.h"

namespace moat::filterd {

// Per-worker-thread objects a CPU stage may need. Each worker owns one; it is never shared
// between threads. Stages find their own entry by key and create it lazily.
struct WorkerResources {
  std::map<std::string, std::shared_ptr<void>> slots;

  template <typename T, typename Make>
  T& Slot(const std::string& key, Make&& make) {
    auto& slot = slots[key];
    if (!slot) slot = std::static_pointer_cast<void>(make());
    return *static_cast<T*>(slot.get());
  }
};

enum class FailureMode { kTempFail, kRecordUnchecked };

class Stage {
 public:
  virtual ~Stage() = default;

  virtual std::string_view name() const = 0;
  virtual bool is_async() const { return false; }
  virtual FailureMode failure_mode() const { return FailureMode::kTempFail; }

  // CPU stages: runs on a worker thread.
  virtual core::Status Run(MessageContext& context, WorkerResources& resources) const;
  // I/O stages: runs on the session's executor.
  virtual asio::awaitable<core::Status> RunAsync(MessageContext& context) const;
};

using StageList = std::vector<std::shared_ptr<const Stage>>;

}  // namespace moat::filterd
