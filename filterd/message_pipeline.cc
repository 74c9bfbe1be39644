// message_pipeline.cc - stage list -> worker pool batches and async stages.
#include "filterd/message_pipeline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>

namespace moat::filterd {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

// Applies the stage's failure mode; true when the pipeline goes on.
bool HandleFailure(const Stage& stage, const core::Error& error, MessageContext& context,
                   PipelineResult& result) {
  if (stage.failure_mode() == FailureMode::kRecordUnchecked) {
    Finding finding;
    finding.stage = std::string(stage.name());
    finding.name = "scanner-failure";
    finding.content_class = ContentClass::kUnchecked;
    finding.subclass = "scanner-failure";
    finding.detail = error.ToString();
    context.findings.push_back(std::move(finding));
    context.trace.push_back(fmt::format("stage {} failed, recorded as UNCHECKED: {}",
                                        stage.name(), error.ToString()));
    return true;
  }
  result.status = PipelineResult::Status::kFailed;
  result.stage = std::string(stage.name());
  result.error = error;
  return false;
}

}  // namespace

PipelineResult RunCpuStages(const StageList& stages, std::size_t begin, std::size_t end,
                            MessageContext& context, WorkerResources& resources) {
  PipelineResult result;
  for (std::size_t i = begin; i < end; ++i) {
    const Stage& stage = *stages[i];
    Clock::time_point start = Clock::now();
    core::Status status;
    try {
      status = stage.Run(context, resources);
    } catch (const std::exception& e) {
      status = core::Fail(core::ErrorCode::kTempFail, "stage threw: {}", e.what());
    }
    context.timings.push_back({std::string(stage.name()), Since(start)});
    if (!status && !HandleFailure(stage, status.error(), context, result)) return result;
  }
  return result;
}

asio::awaitable<PipelineResult> RunPipeline(const StageList& stages, MessageContext& context,
                                            WorkerPool& pool) {
  PipelineResult result;
  std::size_t i = 0;
  while (i < stages.size()) {
    if (stages[i]->is_async()) {
      const Stage& stage = *stages[i];
      Clock::time_point start = Clock::now();
      core::Status status;
      try {
        status = co_await stage.RunAsync(context);
      } catch (const std::exception& e) {
        status = core::Fail(core::ErrorCode::kTempFail, "stage threw: {}", e.what());
      }
      context.timings.push_back({std::string(stage.name()), Since(start)});
      if (!status && !HandleFailure(stage, status.error(), context, result)) co_return result;
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < stages.size() && !stages[end]->is_async()) ++end;
    PipelineResult batch;
    WorkerPool::RunResult run = co_await pool.Run(
        [&stages, i, end, &context, &batch](WorkerResources& resources) {
          batch = RunCpuStages(stages, i, end, context, resources);
        });
    if (run == WorkerPool::RunResult::kRefused) {
      result.status = PipelineResult::Status::kOverload;
      co_return result;
    }
    if (run == WorkerPool::RunResult::kThrew) {
      result.status = PipelineResult::Status::kFailed;
      result.stage = "worker";
      result.error = core::Error(core::ErrorCode::kTempFail, "worker job threw");
      co_return result;
    }
    if (batch.status != PipelineResult::Status::kDone) co_return batch;
    i = end;
  }
  co_return result;
}

}  // namespace moat::filterd
