// mta_metrics.h - what moat-mta counts for its /metrics endpoint (main.cf metrics_listen).
//
// moat-mta's main() owns the MetricsRegistry and one MtaMetrics; smtpd (SmtpdRuntime::metrics,
// copied into each session's SmtpdPolicyState), the acceptor and the queue manager
// (QueueManagerConfig::metrics) record through a pointer that may be null (tests, `moat`):
//
//   moat_mta_connections_total{service}            SMTP connections accepted by a service
//   moat_mta_messages_accepted_total{service}      messages queued (250 after the fsync)
//   moat_mta_bytes_accepted_total{service}         their size as received
//   moat_mta_rejects_total{stage}                  refusals by restriction stage: client, helo,
//                                                  sender, recipient, data, end_of_data (the
//                                                  "NOQUEUE: reject" lines), and cleanup
//                                                  (header/body checks REJECT)
//   moat_mta_queue_messages{queue}                 files in incoming, active, deferred, hold,
//                                                  corrupt, counted at each scrape
//   moat_mta_deliveries_total{transport,status}    recipients per delivery attempt: sent,
//                                                  deferred, bounced, by master.cf transport
//   moat_mta_deferrals_total{dsn_class}            deferred recipients by enhanced status class
//                                                  and subject: 4.0 .. 4.7 (RFC 3463: 4.1
//                                                  address, 4.2 mailbox, 4.3 system, 4.4
//                                                  network/routing, 4.5 protocol, 4.6 content,
//                                                  4.7 policy), other
//   moat_mta_delivery_delay_seconds{transport}     histogram of arrival-to-delivery time of the
//                                                  recipients sent
//
// Service labels are the master.cf service field without a leading '$' ("smtp_listen",
// "127.0.0.1:10025"); transports are master.cf names: both are bounded by the configuration.
//
// Thread safety: Record*() from any thread (lock-free counters). CollectQueues() is the
// registry's collect hook (Render() serializes it); it only reads directories.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/metrics.h"
#include "mta/delivery_result.h"
#include "mta/queue_message.h"
#include "mta/smtpd_restriction.h"

namespace moat::mta {

class MtaMetrics {
 public:
  // Registers the metrics above in `registry` (which must outlive this object) and a collect
  // hook counting the queues under `queue_directory` ("" : no queue gauges).
  MtaMetrics(core::MetricsRegistry& registry, std::string queue_directory);

  void RecordConnection(std::string_view service);
  void RecordReject(RestrictionStage stage);
  void RecordReject(std::string_view stage);
  void RecordAccepted(std::string_view service, std::uint64_t bytes);
  // One delivery attempt's results for `message` (its arrival time gives the delay).
  void RecordDelivery(std::string_view transport, const DeliveryResult& result,
                      const QueuedMessage& message);
  void CollectQueues();

  // "4.4" for "4.4.1", "other" for anything else (also 5.x.x and malformed codes).
  static std::string DsnClass(std::string_view dsn);
  static std::string_view StageName(RestrictionStage stage);
  static std::string ServiceLabel(std::string_view service);

 private:
  std::string queue_directory_;
  // Owned by the registry.
  core::CounterFamily* connections_;
  core::CounterFamily* accepted_;
  core::CounterFamily* accepted_bytes_;
  core::CounterFamily* rejects_;
  core::GaugeFamily* queues_;
  core::CounterFamily* deliveries_;
  core::CounterFamily* deferrals_;
  core::HistogramFamily* delivery_delay_;
};

}  // namespace moat::mta
