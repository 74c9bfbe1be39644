// filter_service.cc - one message through stages, policy and finishing steps.
#include "filterd/filter_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <optional>
#include <random>

#include "filterd/filterd_metrics.h"
#include "filterd/message_pipeline.h"
#include "filterd/summary_log.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::filterd {
namespace {

using Kind = RecipientOutcome::Kind;

core::SmtpReply TempFail(std::string_view enhanced, const std::string& text) {
  return core::SmtpReply(451, enhanced, text);
}

}  // namespace

std::string NewMessageId() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::string id(12, '0');
  std::uint64_t bits = generator();
  std::uint64_t more = generator();
  for (std::size_t i = 0; i < id.size(); ++i) {
    std::uint64_t& source = i < 10 ? bits : more;
    id[i] = kAlphabet[source % 62];
    source /= 62;
  }
  return id;
}

ClientInfo ClientFromSession(const core::SmtpSessionInfo& info) {
  ClientInfo client;
  const core::XforwardAttributes& x = info.xforward;
  client.address = core::XforwardValueAvailable(x.addr) ? *x.addr : info.client_address;
  client.name = core::XforwardValueAvailable(x.name) ? *x.name : "unknown";
  client.helo = core::XforwardValueAvailable(x.helo) ? *x.helo : info.helo;
  client.protocol = core::XforwardValueAvailable(x.proto) ? *x.proto : "";
  client.upstream_queue_id = core::XforwardValueAvailable(x.ident) ? *x.ident : "";
  client.xforward = x;
  return client;
}

core::Result<std::string> ChoosePolicyBank(std::string_view listener_bank,
                                           const core::XforwardAttributes& xforward,
                                           const core::NetworkList& mynetworks,
                                           std::string* trace_note) {
  if (listener_bank == "originating" || !core::XforwardValueAvailable(xforward.addr)) {
    if (trace_note) *trace_note = fmt::format("policy bank {}: by listener", listener_bank);
    return std::string(listener_bank);
  }
  auto inside = mynetworks.Contains(*xforward.addr);
  if (!inside) return core::Fail(inside.error());
  if (*inside) {
    if (trace_note) {
      *trace_note = fmt::format("policy bank originating: XFORWARD ADDR {} in mynetworks",
                                *xforward.addr);
    }
    return std::string("originating");
  }
  if (trace_note) *trace_note = fmt::format("policy bank {}: by listener", listener_bank);
  return std::string(listener_bank);
}

FilterService::FilterService(const SnapshotHolder& snapshots, WorkerPool& cpu_pool,
                             FinisherServices finisher)
    : snapshots_(snapshots), cpu_pool_(cpu_pool), finisher_(finisher) {}

asio::awaitable<std::vector<core::SmtpReply>> FilterService::Process(
    std::string_view listener_bank, const core::SmtpSessionInfo& info,
    const core::SmtpEnvelope& envelope, std::string& message) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const FilterdSnapshot> snapshot = snapshots_.Get();
  counters_.messages.fetch_add(1, std::memory_order_relaxed);

  MessageContext context;
  context.id = NewMessageId();
  context.envelope = envelope;
  context.message = std::move(message);
  context.reception.peer_address = info.client_address;
  context.reception.peer_port = info.client_port;
  context.reception.peer_helo = info.helo;
  context.reception.local_port = info.local_port;
  context.reception.time = std::chrono::system_clock::now();
  context.client = ClientFromSession(info);

  FinishResult finish;
  std::optional<Decision> decision;
  std::string deferral;
  std::string note;
  std::chrono::duration<double> finish_time{0};
  core::Result<std::string> bank =
      ChoosePolicyBank(listener_bank, info.xforward, *snapshot->settings.mynetworks, &note);
  if (!bank) {
    deferral = fmt::format("mynetworks lookup failed: {}", bank.error().ToString());
    context.policy_bank = std::string(listener_bank);
    finish = AllRecipients(context, Kind::kTempFailed,
                           TempFail("4.3.0", fmt::format("id={}: lookup error, try again later",
                                                         context.id)));
  } else {
    context.policy_bank = *bank;
    context.trace.push_back(std::move(note));
    const BankContent& content = snapshot->bank(*bank);
    PipelineResult pipeline = co_await RunPipeline(content.stages, context, cpu_pool_);
    if (pipeline.status == PipelineResult::Status::kOverload) {
      counters_.overloaded.fetch_add(1, std::memory_order_relaxed);
      if (finisher_.metrics) finisher_.metrics->RecordOverload();
      deferral = "worker pool full";
      finish = AllRecipients(
          context, Kind::kTempFailed,
          TempFail("4.3.2", fmt::format("id={}: too busy, try again later", context.id)));
    } else if (pipeline.status == PipelineResult::Status::kFailed) {
      deferral = fmt::format("stage {} failed: {}", pipeline.stage,
                             pipeline.error ? pipeline.error->ToString() : "?");
      finish = AllRecipients(
          context, Kind::kTempFailed,
          TempFail("4.3.0", fmt::format("id={}: {} failed, try again later", context.id,
                                        pipeline.stage)));
    } else {
      Decision decided;
      bool valid = true;
      try {
        decided = content.policy->Decide(context);
      } catch (const std::exception& e) {
        valid = false;
        deferral = fmt::format("policy failed: {}", e.what());
      }
      if (valid && decided.recipients.size() != context.envelope.recipients.size()) {
        valid = false;
        deferral = fmt::format("policy decided for {} recipients of {}", decided.recipients.size(),
                               context.envelope.recipients.size());
      }
      if (!valid) {
        spdlog::error("{}: {}", context.id, deferral);
        finish = AllRecipients(
            context, Kind::kTempFailed,
            TempFail("4.3.0", fmt::format("id={}: internal error, try again later", context.id)));
      } else {
        decision = std::move(decided);
        const auto finish_start = std::chrono::steady_clock::now();
        FinishResult finished = co_await FinishMessage(*snapshot, context, *decision, finisher_);
        finish = std::move(finished);
        finish_time = std::chrono::steady_clock::now() - finish_start;
      }
    }
  }

  const std::chrono::duration<double> total = std::chrono::steady_clock::now() - start;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(total);
  if (finisher_.metrics) {
    finisher_.metrics->RecordMessage(context, decision ? &*decision : nullptr, finish, total,
                                     finish_time);
  }
  spdlog::info("{}", FormatSummaryLine(context, decision ? &*decision : nullptr, finish, elapsed,
                                       deferral));
  bool delivered = false, blocked = false, all_temp = true;
  for (const RecipientOutcome& r : finish.recipients) {
    delivered = delivered || r.kind == Kind::kDelivered;
    blocked = blocked || r.kind == Kind::kDiscarded || r.kind == Kind::kRejected;
    all_temp = all_temp && r.kind == Kind::kTempFailed;
  }
  if (delivered) counters_.passed.fetch_add(1, std::memory_order_relaxed);
  if (blocked) counters_.blocked.fetch_add(1, std::memory_order_relaxed);
  if (all_temp) counters_.deferred.fetch_add(1, std::memory_order_relaxed);
  if (!finish.quarantine_id.empty()) counters_.quarantined.fetch_add(1, std::memory_order_relaxed);

  std::vector<core::SmtpReply> replies;
  replies.reserve(finish.recipients.size());
  for (RecipientOutcome& r : finish.recipients) replies.push_back(std::move(r.reply));
  message = std::move(context.message);  // the session reuses the buffer
  co_return replies;
}

}  // namespace moat::filterd
