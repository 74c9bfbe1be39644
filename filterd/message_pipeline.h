// message_pipeline.h - runs a bank's StageList over one MessageContext (stage.h contract).
//
// Consecutive CPU stages run as ONE job on the worker pool (one hop there and back, however
// many stages), I/O stages (is_async()) run on the calling coroutine's executor, in list order.
// Every stage's elapsed time is appended to context.timings.
//
// Outcomes:
//   kDone      every stage ran (a failing stage with FailureMode::kRecordUnchecked added an
//              UNCHECKED "scanner-failure" finding naming the stage and the error, and the run
//              went on);
//   kOverload  the worker pool's queue was full: nothing was lost, answer 451 4.3.2;
//   kFailed    a stage failed with FailureMode::kTempFail (or threw, which is a bug): `error`
//              and `stage` say which; answer 451 4.x.x. Never read as clean.
// The context may hold partial findings after kOverload/kFailed; the caller discards them.
//
// Thread safety: the context is touched by one thread at a time (the worker while the job runs,
// the caller otherwise). The pool and the stages are shared.
#pragma once

// clang-format off
#include <optional>
#include <string>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/error.h"
#include "filterd/message_context.h"
#include "filterd/stage.h"
#include "filterd/worker_pool.h"

namespace moat::filterd {

struct PipelineResult {
  enum class Status { kDone, kOverload, kFailed };
  Status status = Status::kDone;
  std::string stage;                 // kFailed: the stage that failed
  std::optional<core::Error> error;  // kFailed: why
};

asio::awaitable<PipelineResult> RunPipeline(const StageList& stages, MessageContext& context,
                                            WorkerPool& pool);

// Runs the CPU stages [begin, end) of `stages` on this thread (what the pool job does; `moat
// scan` and tests call it directly). Stops at the first kTempFail failure.
PipelineResult RunCpuStages(const StageList& stages, std::size_t begin, std::size_t end,
                            MessageContext& context, WorkerResources& resources);

}  // namespace moat::filterd
