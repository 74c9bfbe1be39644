// smtp_message_sender.h - the MessageSender that releases quarantined mail over SMTP, to the
// MTA's return listener (filterd.cf's forward_to), which takes it without filtering it again.
//
// Used by `moat quarantine release` and by the web review (`moat web`): both are synchronous
// callers, so Send() opens one connection with core::SmtpClient on an io_context of its own, runs
// EHLO / MAIL / RCPT... / DATA / QUIT on the calling thread and returns when the server has
// answered the message (or the conversation failed). Nothing is cached between calls.
//
// MAIL FROM is the entry's original envelope sender (so bounces go where they would have gone);
// BODY=8BITMIME is declared when the message has 8-bit bytes, SMTPUTF8 when an address is not
// ASCII (both only as the server offers them, see core/smtp_client.h). XFORWARD is not sent: the
// return listener should see the release as coming from this host.
//
// Results, as release_message.h asks of a MessageSender:
//   - an error when nothing was accepted because the conversation failed: connection refused or
//     lost, a timeout, a refused greeting/EHLO, MAIL FROM or DATA. kTempFail for 4xx replies and
//     every synthetic failure (connect, timeout, lost connection), kPermFail for 5xx replies;
//   - otherwise a SendOutcome: the recipients whose RCPT the server took and that got a positive
//     reply to the message, and the refused ones with the server's reply (temporary for 4xx).
//
// Thread safety: Send() may be called from several threads at once (each call has its own
// io_context and connection). The object holds only its options.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/smtp_endpoint.h"
#include "quarantine/release_message.h"

namespace moat::quarantine {

struct SmtpSenderOptions {
  core::SmtpEndpoint peer;  // the return listener: "127.0.0.1:10025" parsed
  std::string helo_name = "localhost";
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds reply_timeout{300'000};  // each reply, and each write of the message
};

class SmtpMessageSender final : public MessageSender {
 public:
  explicit SmtpMessageSender(SmtpSenderOptions options) : options_(std::move(options)) {}

  core::Result<SendOutcome> Send(std::string_view envelope_sender,
                                 std::span<const std::string> recipients,
                                 std::string_view message) override;

  const SmtpSenderOptions& options() const { return options_; }

 private:
  SmtpSenderOptions options_;
};

}  // namespace moat::quarantine
