// filterd_metrics.cc - moat-filterd's metrics.
#include "filterd/filterd_metrics.h"

#include <filesystem>
#include <optional>
#include <system_error>

#include "filterd/message_finisher.h"

namespace moat::filterd {
namespace {

namespace fs = std::filesystem;
using Kind = RecipientOutcome::Kind;

// The spam stage is the rule engine (stage_spam.h).
constexpr std::string_view kRuleStage = "spam";
constexpr std::string_view kFinishStage = "finish";
constexpr std::string_view kNoDecision = "TEMPFAIL";

}  // namespace

FilterdMetrics::FilterdMetrics(core::MetricsRegistry& r) {
  messages_ = &r.AddCounterFamily(
      "moat_filterd_messages_total",
      "Messages finished, by policy bank and verdict (content class; TEMPFAIL: deferred before "
      "the policy decided).",
      {"bank", "verdict"});
  bytes_ = &r.AddCounterFamily(
      "moat_filterd_bytes_total",
      "Bytes of the messages finished, as received, by policy bank and verdict.",
      {"bank", "verdict"});
  actions_ = &r.AddCounterFamily(
      "moat_filterd_actions_total",
      "Messages by what was done with them (the summary log line's action).", {"action"});
  quarantined_ =
      &r.AddCounter("moat_filterd_quarantined_total", "Messages with a copy in the quarantine.");
  stage_seconds_ = &r.AddHistogramFamily(
      "moat_filterd_stage_duration_seconds",
      "Time per pipeline stage, and of the finishing steps (stage finish: quarantine, DKIM "
      "signing, reinjection).",
      {"stage"}, core::kLatencyBuckets);
  message_seconds_ =
      &r.AddHistogram("moat_filterd_message_duration_seconds",
                      "Time from the end of DATA to the LMTP replies.", core::kLatencyBuckets);
  rule_seconds_ = &r.AddCounter("moat_filterd_rule_engine_seconds_total",
                                "Time spent in the rule engine (the spam stage).");
  reinjections_ = &r.AddCounter("moat_filterd_reinjections_total",
                                "SMTP transactions to forward_to (the MTA's return listener).");
  reinjection_failures_ = &r.AddCounterFamily(
      "moat_filterd_reinjection_failures_total",
      "Reinjection transactions not accepted for every recipient, by kind (4xx, 5xx; connect: no "
      "connection, timeout, lost connection or refused greeting).",
      {"kind"});
  core::CounterFamily& refusals = r.AddCounterFamily(
      "moat_filterd_overload_refusals_total",
      "Messages and connections refused because moat-filterd was busy (worker_pool: 451 4.3.2 "
      "for a message; max_sessions: 421 for a connection).",
      {"reason"});
  pool_refusals_ = &refusals.WithLabels({"worker_pool"});
  session_refusals_ = &refusals.WithLabels({"max_sessions"});
  sessions_ = &r.AddGauge("moat_filterd_sessions_open", "LMTP sessions open.");
  clamav_signatures_ = &r.AddGauge("moat_filterd_clamav_signatures",
                                   "Signatures in the loaded ClamAV engine (0: no engine).");
  clamav_version_ = &r.AddGauge("moat_filterd_clamav_database_version",
                                "Version of the loaded daily ClamAV database (0: none official).");
  clamav_age_ = &r.AddGauge(
      "moat_filterd_clamav_database_age_seconds",
      "Seconds since the loaded ClamAV database was built (or its newest file changed; -1: "
      "unknown).");
  // The series every scrape should show, even before the first message.
  for (std::string_view kind : {"4xx", "5xx", "connect"}) {
    reinjection_failures_->WithLabels({std::string(kind)});
  }
}

std::string_view FilterdMetrics::ActionOf(const Decision* decision, const FinishResult& finish) {
  bool delivered = false, discarded = false, rejected = false, all_temp = true;
  for (const RecipientOutcome& r : finish.recipients) {
    delivered = delivered || r.kind == Kind::kDelivered;
    discarded = discarded || r.kind == Kind::kDiscarded;
    rejected = rejected || r.kind == Kind::kRejected;
    all_temp = all_temp && r.kind == Kind::kTempFailed;
  }
  if (delivered) return "relayed";
  if (all_temp) return "tempfailed";
  if (discarded) return "discarded";
  if (rejected) {
    bool bounced = false;
    if (decision) {
      for (const RecipientDecision& rd : decision->recipients) {
        bounced = bounced || rd.destiny == Destiny::kBounce;
      }
    }
    return bounced ? "bounced" : "rejected";
  }
  return "refused";
}

void FilterdMetrics::RecordMessage(const MessageContext& context, const Decision* decision,
                                   const FinishResult& finish,
                                   std::chrono::duration<double> elapsed,
                                   std::chrono::duration<double> finish_time) {
  std::string verdict(decision ? ContentClassName(decision->content_class) : kNoDecision);
  std::string bank = context.policy_bank.empty() ? std::string("none") : context.policy_bank;
  messages_->WithLabels({bank, verdict}).Increment();
  bytes_->WithLabels({bank, verdict}).Increment(context.message.size());
  actions_->WithLabels({std::string(ActionOf(decision, finish))}).Increment();
  if (!finish.quarantine_id.empty()) quarantined_->Increment();
  for (const StageTiming& timing : context.timings) {
    std::chrono::duration<double> seconds = timing.elapsed;
    stage_seconds_->WithLabels({timing.stage}).Observe(seconds.count());
    if (timing.stage == kRuleStage) rule_seconds_->Add(seconds.count());
  }
  if (decision)
    stage_seconds_->WithLabels({std::string(kFinishStage)}).Observe(finish_time.count());
  message_seconds_->Observe(elapsed.count());
}

std::string_view FilterdMetrics::ReinjectionFailureKind(const core::SmtpDeliveryResult& result) {
  if (result.connection_failed) return "connect";
  bool permanent = false, temporary = result.replies.empty();
  for (const core::SmtpReply& reply : result.replies) {
    permanent = permanent || reply.permanent();
    temporary = temporary || (!reply.positive() && !reply.permanent());
  }
  if (permanent) return "5xx";
  if (temporary) return "4xx";
  return "";
}

void FilterdMetrics::RecordReinjection(const core::SmtpDeliveryResult& result) {
  reinjections_->Increment();
  std::string_view kind = ReinjectionFailureKind(result);
  if (!kind.empty()) reinjection_failures_->WithLabels({std::string(kind)}).Increment();
}

void FilterdMetrics::SetSessions(std::uint64_t open, std::uint64_t refused_busy) {
  sessions_->Set(static_cast<double>(open));
  session_refusals_->SetFromSource(static_cast<double>(refused_busy));
}

void FilterdMetrics::SetClamav(const scanners::ClamavDatabaseInfo& info,
                               std::chrono::system_clock::time_point now) {
  clamav_signatures_->Set(info.signature_count);
  clamav_version_->Set(info.version);
  clamav_age_->Set(ClamavDatabaseAge(info, now));
}

double ClamavDatabaseAge(const scanners::ClamavDatabaseInfo& info,
                         std::chrono::system_clock::time_point now) {
  std::optional<std::chrono::system_clock::time_point> built;
  if (info.built > 0) {
    built = std::chrono::system_clock::from_time_t(info.built);
  } else {
    for (const std::string& file : info.files) {
      std::error_code error;
      auto mtime = fs::last_write_time(fs::path(info.directory) / file, error);
      if (error) continue;
      auto when = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
          std::chrono::file_clock::to_sys(mtime));
      if (!built || when > *built) built = when;
    }
  }
  if (!built) return -1;
  return std::chrono::duration<double>(now - *built).count();
}

}  // namespace moat::filterd
