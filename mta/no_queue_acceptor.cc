// no_queue_acceptor.cc - refuse temporarily, never pretend.
#include "mta/no_queue_acceptor.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {

asio::awaitable<core::Result<AcceptResult>> NoQueueAcceptor::Accept(IncomingMessage) {
  co_return core::Fail(core::ErrorCode::kTempFail, "this moat-mta has no queue yet");
}

}  // namespace moat::mta
