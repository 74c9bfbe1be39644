// mta_metrics.cc - moat-mta's metrics.
#include "mta/mta_metrics.h"

#include <dirent.h>

#include <chrono>

namespace moat::mta {
namespace {

constexpr const char* kQueues[] = {"incoming", "active", "deferred", "hold", "corrupt"};
// A runaway queue is counted up to here per scrape (a readdir of a million names takes a while).
constexpr std::uint64_t kMaxCountedFiles = 1'000'000;

// Queue files in one queue directory: every name not starting with '.' (temporary files are
// ".tmp.<ID>").
std::uint64_t CountQueueFiles(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return 0;
  std::uint64_t files = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    if (++files >= kMaxCountedFiles) break;
  }
  ::closedir(dir);
  return files;
}

}  // namespace

MtaMetrics::MtaMetrics(core::MetricsRegistry& r, std::string queue_directory)
    : queue_directory_(std::move(queue_directory)) {
  connections_ = &r.AddCounterFamily("moat_mta_connections_total",
                                     "SMTP connections accepted, by smtpd service.", {"service"});
  accepted_ = &r.AddCounterFamily("moat_mta_messages_accepted_total",
                                  "Messages queued (250 after the queue file was fsynced), by "
                                  "smtpd service.",
                                  {"service"});
  accepted_bytes_ = &r.AddCounterFamily("moat_mta_bytes_accepted_total",
                                        "Bytes of the messages queued, as received, by smtpd "
                                        "service.",
                                        {"service"});
  rejects_ = &r.AddCounterFamily(
      "moat_mta_rejects_total",
      "Refusals by restriction stage (client, helo, sender, recipient, data, end_of_data) and by "
      "cleanup (header/body checks).",
      {"stage"});
  queues_ = &r.AddGaugeFamily("moat_mta_queue_messages",
                              "Messages in each queue (files counted at scrape time).", {"queue"});
  deliveries_ = &r.AddCounterFamily(
      "moat_mta_deliveries_total",
      "Recipients per delivery attempt by master.cf transport and status (sent, deferred, "
      "bounced).",
      {"transport", "status"});
  deferrals_ = &r.AddCounterFamily(
      "moat_mta_deferrals_total",
      "Deferred recipients by enhanced status class.subject (4.1 address, 4.2 mailbox, 4.3 "
      "system, 4.4 network/routing, 4.5 protocol, 4.6 content, 4.7 policy; other).",
      {"dsn_class"});
  delivery_delay_ = &r.AddHistogramFamily(
      "moat_mta_delivery_delay_seconds",
      "Time from a message's arrival to the delivery of a recipient, by transport.", {"transport"},
      core::kDelayBuckets);
  for (const char* queue : kQueues) queues_->WithLabels({queue});
  for (std::string_view stage :
       {"client", "helo", "sender", "recipient", "data", "end_of_data", "cleanup"}) {
    rejects_->WithLabels({std::string(stage)});
  }
  if (!queue_directory_.empty()) r.AddCollectHook([this] { CollectQueues(); });
}

std::string MtaMetrics::ServiceLabel(std::string_view service) {
  if (service.starts_with('$')) service.remove_prefix(1);
  return std::string(service);
}

std::string_view MtaMetrics::StageName(RestrictionStage stage) {
  switch (stage) {
    case RestrictionStage::kClient:
      return "client";
    case RestrictionStage::kHelo:
      return "helo";
    case RestrictionStage::kSender:
      return "sender";
    case RestrictionStage::kRecipient:
      return "recipient";
    case RestrictionStage::kData:
      return "data";
    case RestrictionStage::kEndOfData:
      return "end_of_data";
  }
  return "other";
}

std::string MtaMetrics::DsnClass(std::string_view dsn) {
  if (dsn.size() >= 4 && dsn[0] == '4' && dsn[1] == '.' && dsn[2] >= '0' && dsn[2] <= '7' &&
      dsn[3] == '.') {
    return std::string(dsn.substr(0, 3));
  }
  return "other";
}

void MtaMetrics::RecordConnection(std::string_view service) {
  connections_->WithLabels({ServiceLabel(service)}).Increment();
}

void MtaMetrics::RecordReject(RestrictionStage stage) { RecordReject(StageName(stage)); }

void MtaMetrics::RecordReject(std::string_view stage) {
  rejects_->WithLabels({std::string(stage)}).Increment();
}

void MtaMetrics::RecordAccepted(std::string_view service, std::uint64_t bytes) {
  std::string label = ServiceLabel(service);
  accepted_->WithLabels({label}).Increment();
  accepted_bytes_->WithLabels({label}).Increment(bytes);
}

void MtaMetrics::RecordDelivery(std::string_view transport, const DeliveryResult& result,
                                const QueuedMessage& message) {
  std::string name(transport);
  const auto arrival =
      std::chrono::system_clock::time_point(std::chrono::microseconds(message.envelope.arrival_us));
  const std::chrono::duration<double> delay = std::chrono::system_clock::now() - arrival;
  for (const RecipientResult& r : result.recipients) {
    deliveries_->WithLabels({name, std::string(DeliveryStatusName(r.status))}).Increment();
    if (r.status == DeliveryStatus::kDeferred)
      deferrals_->WithLabels({DsnClass(r.dsn)}).Increment();
    if (r.status == DeliveryStatus::kDelivered) {
      delivery_delay_->WithLabels({name}).Observe(std::max(0.0, delay.count()));
    }
  }
}

void MtaMetrics::CollectQueues() {
  for (const char* queue : kQueues) {
    queues_->WithLabels({queue}).Set(
        static_cast<double>(CountQueueFiles(queue_directory_ + "/" + queue)));
  }
}

}  // namespace moat::mta
