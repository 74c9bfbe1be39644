// delivery_result.cc - per-recipient results and Postfix's delivery log line (after log_adhoc.c).
#include "mta/delivery_result.h"

#include <cmath>

#include <fmt/format.h>

namespace moat::mta {
namespace {

// Postfix keeps one or two significant digits: "0.08", "1.2", "13".
std::string PrettyDelay(double seconds) {
  if (seconds < 0) seconds = 0;
  std::string text;
  if (seconds >= 10) {
    text = fmt::format("{:.0f}", std::floor(seconds));
  } else if (seconds >= 1) {
    text = fmt::format("{:.1f}", std::floor(seconds * 10) / 10);
  } else {
    text = fmt::format("{:.2f}", std::floor(seconds * 100) / 100);
  }
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

}  // namespace

std::string_view DeliveryStatusName(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kDelivered:
      return "sent";
    case DeliveryStatus::kDeferred:
      return "deferred";
    case DeliveryStatus::kBounced:
      return "bounced";
  }
  return "deferred";
}

std::size_t DeliveryResult::Count(DeliveryStatus status) const {
  std::size_t n = 0;
  for (const auto& r : recipients) n += r.status == status ? 1 : 0;
  return n;
}

DeliveryResult UniformResult(const DeliveryRequest& request, DeliveryStatus status,
                             std::string_view dsn, std::string_view reason) {
  DeliveryResult result;
  for (const DeliveryRecipient& r : request.recipients) {
    RecipientResult out;
    out.index = r.index;
    out.recipient = r.rcpt.recipient;
    out.original_recipient = r.rcpt.orcpt;
    out.status = status;
    out.dsn.assign(dsn);
    out.reason.assign(reason);
    result.recipients.push_back(std::move(out));
  }
  return result;
}

std::string FormatDeliveryLog(std::string_view queue_id, const RecipientResult& recipient,
                              const DeliveryResult& result, std::chrono::duration<double> delay,
                              const DelaySplit& split) {
  std::string line = fmt::format("{}: to=<{}>, ", queue_id, recipient.recipient);
  if (!recipient.original_recipient.empty() &&
      recipient.original_recipient != recipient.recipient) {
    line += fmt::format("orig_to=<{}>, ", recipient.original_recipient);
  }
  line += fmt::format("relay={}, delay={}, delays={}/{}/{}/{}, dsn={}, status={} ({})",
                      recipient.relay, PrettyDelay(delay.count()),
                      PrettyDelay(split.before_queue_manager.count()),
                      PrettyDelay(split.in_queue_manager.count()),
                      PrettyDelay(result.setup_time.count()),
                      PrettyDelay(result.transfer_time.count()), recipient.dsn,
                      DeliveryStatusName(recipient.status), recipient.reason);
  return line;
}

}  // namespace moat::mta
