// filterd_metrics.h - what moat-filterd counts for its /metrics endpoint (metrics_listen).
//
// FilterdMetrics registers moat-filterd's metrics in the daemon's MetricsRegistry and records
// into them; FilterService and the finishing steps call it (through FinisherServices::metrics),
// the daemon adds the scrape-time values (sessions, ClamAV database) with a collect hook.
//
//   moat_filterd_messages_total{bank,verdict}      messages finished, by policy bank and content
//                                                  class (verdict TEMPFAIL: deferred before the
//                                                  policy decided: overload, a stage failed)
//   moat_filterd_bytes_total{bank,verdict}         their size as received
//   moat_filterd_actions_total{action}             relayed | discarded | rejected | bounced |
//                                                  tempfailed | refused (the MTA refused the
//                                                  reinjection), one per message, as the
//                                                  summary log line's action
//   moat_filterd_quarantined_total                 messages with a quarantine copy
//   moat_filterd_stage_duration_seconds{stage}     histogram per pipeline stage (stage.h names:
//                                                  received, decompose, clamav, banned, header,
//                                                  spam, dkim, x-virus-scanned, ...) plus
//                                                  "finish" (quarantine, signing, reinjection)
//   moat_filterd_message_duration_seconds          histogram, end of DATA to the LMTP replies
//   moat_filterd_rule_engine_seconds_total         time spent in the rule engine (spam stage)
//   moat_filterd_reinjections_total                SMTP transactions to forward_to
//   moat_filterd_reinjection_failures_total{kind}  4xx | 5xx | connect (no connection, timeout,
//                                                  lost connection, refused greeting)
//   moat_filterd_overload_refusals_total{reason}   worker_pool (451 4.3.2) | max_sessions (421)
//   moat_filterd_sessions_open                     LMTP sessions open now
//   moat_filterd_clamav_signatures                 signatures in the loaded ClamAV engine
//   moat_filterd_clamav_database_version           daily database version (0: none official)
//   moat_filterd_clamav_database_age_seconds       now minus the database's build time, or the
//                                                  newest database file's mtime without one
//
// Thread safety: every Record*() may run concurrently from any thread (lock-free counters);
// SetSessions()/SetMaxSessionRefusals()/SetClamav() are for the collect hook.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/metrics.h"
#include "core/smtp_client.h"
#include "filterd/message_context.h"
#include "filterd/policy.h"
#include "scanners/clamav_engine.h"

namespace moat::filterd {

struct FinishResult;

class FilterdMetrics {
 public:
  // Registers the metrics above in `registry`, which must outlive this object.
  explicit FilterdMetrics(core::MetricsRegistry& registry);

  // One finished message: `decision` is null when the message was deferred before the policy
  // decided; `timings` come from the context, `finish_time` is the finishing steps' share.
  void RecordMessage(const MessageContext& context, const Decision* decision,
                     const FinishResult& finish, std::chrono::duration<double> elapsed,
                     std::chrono::duration<double> finish_time);
  void RecordOverload() { pool_refusals_->Increment(); }
  void RecordReinjection(const core::SmtpDeliveryResult& result);

  void SetSessions(std::uint64_t open, std::uint64_t refused_busy);
  void SetClamav(const scanners::ClamavDatabaseInfo& info,
                 std::chrono::system_clock::time_point now);

  // The kind label of a failed reinjection ("" when every recipient was accepted).
  static std::string_view ReinjectionFailureKind(const core::SmtpDeliveryResult& result);
  // The action label of a finished message.
  static std::string_view ActionOf(const Decision* decision, const FinishResult& finish);

 private:
  // Owned by the registry.
  core::CounterFamily* messages_;
  core::CounterFamily* bytes_;
  core::CounterFamily* actions_;
  core::Counter* quarantined_;
  core::HistogramFamily* stage_seconds_;
  core::Histogram* message_seconds_;
  core::Counter* rule_seconds_;
  core::Counter* reinjections_;
  core::CounterFamily* reinjection_failures_;
  core::Counter* pool_refusals_;
  core::Counter* session_refusals_;
  core::Gauge* sessions_;
  core::Gauge* clamav_signatures_;
  core::Gauge* clamav_version_;
  core::Gauge* clamav_age_;
};

// Seconds since the database was built (its header time) or, without one, since the newest
// database file under info.directory was modified; -1 when neither is known.
double ClamavDatabaseAge(const scanners::ClamavDatabaseInfo& info,
                         std::chrono::system_clock::time_point now);

}  // namespace moat::filterd
