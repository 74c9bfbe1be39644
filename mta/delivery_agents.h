// delivery_agents.h - the one entry point the queue manager calls to deliver: it dispatches a
// resolved route to the agent master.cf names for it.
//
//   route.failure set        every recipient deferred or bounced with that reason (unknown
//                            transport, unsupported agent, bad address, bad nexthop syntax)
//   smtp / lmtp              SmtpDeliveryAgent (delivery_smtp.h)
//   error                    bounced with the nexthop text (Postfix error(8)): relocated_maps'
//                            "5.1.6 User has moved to ...", transport_maps "error:..."
//   retry                    deferred with the nexthop text (error(8) as the retry service)
//   discard                  delivered, nothing sent (Postfix discard(8)): "status=sent (text)"
//
// soft_bounce = yes turns every bounce into a deferral (5.x.x -> 4.x.x), as Postfix does, so an
// administrator can test a configuration without losing mail.
//
// Construction throws core::ConfigError (transport settings, tables). Deliver() may run from many
// coroutines at once; Shutdown() before destruction while the io_context runs.
#pragma once

// clang-format off
#include <memory>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/dns_resolver.h"
#include "mta/delivery_result.h"
#include "mta/delivery_smtp.h"
#include "mta/resolve_address.h"

namespace moat::mta {

class DeliveryAgents {
 public:
  DeliveryAgents(asio::any_io_executor executor, std::shared_ptr<const TransportCatalog> catalog,
                 core::DnsResolver* dns, SmtpAgentOptions options = {});

  asio::awaitable<DeliveryResult> Deliver(Resolution route, DeliveryRequest request);
  asio::awaitable<void> Shutdown();

  SmtpDeliveryAgent& smtp() { return smtp_; }

 private:
  std::shared_ptr<const TransportCatalog> catalog_;
  bool soft_bounce_ = false;
  SmtpDeliveryAgent smtp_;
};

}  // namespace moat::mta
