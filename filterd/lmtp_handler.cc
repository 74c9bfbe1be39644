// lmtp_handler.cc - LMTP session -> FilterService.
#include "filterd/lmtp_handler.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::filterd {

asio::awaitable<std::vector<core::SmtpReply>> LmtpHandler::OnMessage(
    const core::SmtpSessionInfo& info, const core::SmtpEnvelope& envelope, std::string& message) {
  std::vector<core::SmtpReply> replies = co_await service_->Process(bank_, info, envelope, message);
  co_return replies;
}

}  // namespace moat::filterd
