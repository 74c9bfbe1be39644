// scan_runner.cc - the pipeline run sequentially on one thread (see scan_runner.h).
#include "filterd/scan_runner.h"

// clang-format off
#include <chrono>
#include <exception>
#include <string>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
// clang-format on

#include <fmt/format.h>

namespace moat::filterd {
namespace {

// A plain coroutine (not a capturing lambda): its state lives in its own frame.
asio::awaitable<void> RunAsyncStage(const Stage* stage, MessageContext* context,
                                    core::Status* out) {
  core::Status status = co_await stage->RunAsync(*context);
  *out = std::move(status);
}

core::Status RunOne(const Stage& stage, MessageContext& context, WorkerResources& resources) {
  if (!stage.is_async()) return stage.Run(context, resources);
  core::Status status =
      core::Fail(core::ErrorCode::kTempFail, "stage {} did not complete", stage.name());
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, RunAsyncStage(&stage, &context, &status),
                 [&failure](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return core::Fail(core::ErrorCode::kTempFail, "stage {}: {}", stage.name(), e.what());
    }
  }
  return status;
}

Finding FailureFinding(const Stage& stage, const core::Error& error) {
  Finding f;
  f.stage = std::string(stage.name());
  f.name = "scanner-failure";
  f.content_class = ContentClass::kUnchecked;
  f.subclass = "scanner-failure";
  f.detail = error.ToString();
  return f;
}

}  // namespace

std::string WithCrlfLineEnds(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 32);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out += '\r';
    out += raw[i];
  }
  return out;
}

ScanResult RunScan(ScanRequest request, const ContentPipeline& pipeline,
                   WorkerResources& resources) {
  ScanResult result;
  MessageContext& context = result.context;
  context.id = request.id;
  context.policy_bank = pipeline.bank;
  context.message = WithCrlfLineEnds(request.message);
  context.envelope.mail.sender = request.sender;
  if (request.recipients.empty()) request.recipients.push_back(kDefaultScanRecipient);
  for (std::string& r : request.recipients) {
    core::RcptParams rcpt;
    rcpt.recipient = std::move(r);
    context.envelope.recipients.push_back(std::move(rcpt));
  }
  if (!request.client_address.empty()) {
    context.client.address = request.client_address;
    context.client.xforward.addr = request.client_address;
  }

  for (const auto& stage : pipeline.stages) {
    auto start = std::chrono::steady_clock::now();
    core::Status status = RunOne(*stage, context, resources);
    context.timings.push_back(
        {std::string(stage->name()), std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now() - start)});
    if (status) continue;
    context.findings.push_back(FailureFinding(*stage, status.error()));
    if (stage->failure_mode() == FailureMode::kTempFail) {
      result.tempfail = status.error();
      result.failed_stage = std::string(stage->name());
      context.trace.push_back(fmt::format("{}: failed, the daemon would answer 4xx: {}",
                                          stage->name(), status.error().ToString()));
      break;
    }
    context.trace.push_back(fmt::format("{}: failed, recorded as UNCHECKED: {}", stage->name(),
                                        status.error().ToString()));
  }
  result.decision = pipeline.policy->Decide(context);
  return result;
}

}  // namespace moat::filterd
