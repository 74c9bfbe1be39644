// delivery_agents.cc - dispatch to the delivery agents; error(8), discard(8) and soft_bounce.
// clang-format off
#include <memory>
#include <string>
#include <asio.hpp>
// clang-format on

#include "mta/delivery_agents.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {

DeliveryAgents::DeliveryAgents(asio::any_io_executor executor,
                               std::shared_ptr<const TransportCatalog> catalog,
                               core::DnsResolver* dns, SmtpAgentOptions options)
    : catalog_(catalog),
      soft_bounce_(catalog->main().GetBool("soft_bounce")),
      smtp_(std::move(executor), catalog, dns, options) {}

asio::awaitable<DeliveryResult> DeliveryAgents::Deliver(Resolution route,
                                                        DeliveryRequest request) {
  DeliveryResult result;
  if (route.failure) {
    result = UniformResult(
        request, route.failure->temporary ? DeliveryStatus::kDeferred : DeliveryStatus::kBounced,
        route.failure->dsn, route.failure->reason);
  } else {
    switch (route.agent) {
      case DeliveryAgentKind::kSmtp:
      case DeliveryAgentKind::kLmtp: {
        DeliveryResult sent = co_await smtp_.Deliver(std::move(route), std::move(request));
        result = std::move(sent);
        break;
      }
      case DeliveryAgentKind::kError:
        result = UniformResult(request, DeliveryStatus::kBounced, route.error.dsn,
                               route.error.text);
        break;
      case DeliveryAgentKind::kRetry:
        result = UniformResult(request, DeliveryStatus::kDeferred, route.error.dsn,
                               route.error.text);
        break;
      case DeliveryAgentKind::kDiscard:
        result = UniformResult(request, DeliveryStatus::kDelivered, "2.0.0", route.error.text);
        break;
      case DeliveryAgentKind::kUnsupported:
        result = UniformResult(request, DeliveryStatus::kDeferred, "4.3.5",
                               route.settings != nullptr ? route.settings->unsupported_reason
                                                         : "mail transport unavailable");
        break;
    }
  }
  if (soft_bounce_) {
    for (RecipientResult& r : result.recipients) {
      if (r.status != DeliveryStatus::kBounced) continue;
      r.status = DeliveryStatus::kDeferred;
      if (!r.dsn.empty() && r.dsn.front() == '5') r.dsn.front() = '4';
    }
  }
  co_return result;
}

asio::awaitable<void> DeliveryAgents::Shutdown() { co_await smtp_.Shutdown(); }

}  // namespace moat::mta
