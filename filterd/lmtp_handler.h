// lmtp_handler.h - the SmtpHandler behind each of moat-filterd's LMTP listeners (one object per
// connection, made by the listener's factory).
//
// The wire protocol, limits and replies before the end of DATA are the session's
// (core/smtp_session.h: LHLO, PIPELINING, SIZE with message_size_limit -> 552 5.3.4, recipient
// limit -> 452 4.5.3, timeouts -> 421 4.4.2, DSN parameters). This handler accepts XFORWARD
// from every client of the listener (like amavisd-new's inet_acl, the listeners are meant for
// the MTA on loopback), and hands each complete message to the FilterService with the
// listener's policy bank; the service's per-recipient replies go back over LMTP.
//
// Thread safety: one handler per session, called on the session's strand.
#pragma once

#include <memory>
#include <string>

#include "core/smtp_handler.h"
#include "filterd/filter_service.h"

namespace moat::filterd {

class LmtpHandler : public core::SmtpHandler {
 public:
  LmtpHandler(std::shared_ptr<FilterService> service, std::string bank)
      : service_(std::move(service)), bank_(std::move(bank)) {}

  bool AllowXforward(const core::SmtpSessionInfo&) override { return true; }
  asio::awaitable<std::vector<core::SmtpReply>> OnMessage(const core::SmtpSessionInfo& info,
                                                          const core::SmtpEnvelope& envelope,
                                                          std::string& message) override;

 private:
  std::shared_ptr<FilterService> service_;
  std::string bank_;
};

}  // namespace moat::filterd
