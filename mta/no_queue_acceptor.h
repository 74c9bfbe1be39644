// no_queue_acceptor.h - the MessageAcceptor of a moat-mta built without its queue.
//
// Until cleanup and the queue store are part of the build, moat-mta must still never answer 250
// for a message it has not made durable: this acceptor answers every message with a temporary
// failure (smtpd replies 451 4.3.0), so senders keep their copy and retry. main.cc replaces it
// with the queue's acceptor (mta/incoming_message.h) once that exists.
//
// Thread-safe (stateless).
#pragma once

#include "mta/incoming_message.h"

namespace moat::mta {

class NoQueueAcceptor final : public MessageAcceptor {
 public:
  asio::awaitable<core::Result<AcceptResult>> Accept(IncomingMessage message) override;
};

}  // namespace moat::mta
