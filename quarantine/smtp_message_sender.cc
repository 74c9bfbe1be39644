// smtp_message_sender.cc - one SMTP conversation per release, on a private io_context.
// Standard headers before asio's (see core/smtp_stream.h).
// clang-format off
#include <algorithm>
#include <optional>
#include <string>
#include <vector>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
// clang-format on

#include "quarantine/smtp_message_sender.h"

#include "core/smtp_client.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

struct Conversation {
  core::SmtpReply connect;
  core::SmtpDeliveryResult delivery;
  bool sent = false;
};

// A plain coroutine function (no capturing lambda): its state lives in its parameters, and
// `transaction` and `out` outlive it because io_context::run() returns only after it finished.
asio::awaitable<void> Converse(asio::any_io_executor executor, core::SmtpClientOptions options,
                               core::SmtpEndpoint peer, const core::SmtpTransaction* transaction,
                               Conversation* out) {
  core::SmtpClient client(executor, std::move(options));
  core::SmtpReply connected = co_await client.Connect(peer);
  out->connect = connected;
  if (!connected.positive()) co_return;
  core::SmtpDeliveryResult delivery = co_await client.Send(*transaction);
  out->delivery = std::move(delivery);
  out->sent = true;
  co_await client.Quit();
}

bool HasEightBit(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return (static_cast<unsigned char>(c) & 0x80) != 0; });
}

core::Error ReplyError(std::string_view stage, const core::SmtpReply& reply,
                       const std::string& peer) {
  ErrorCode code = reply.permanent() ? ErrorCode::kPermFail : ErrorCode::kTempFail;
  return core::Error(code, fmt::format("{} {}: {}", stage, peer, reply.ToString()));
}

}  // namespace

core::Result<SendOutcome> SmtpMessageSender::Send(std::string_view envelope_sender,
                                                  std::span<const std::string> recipients,
                                                  std::string_view message) {
  if (recipients.empty()) return core::Fail(ErrorCode::kInvalid, "release: no recipients");

  core::SmtpClientOptions client_options;
  client_options.helo_name = options_.helo_name;
  client_options.send_xforward = false;
  core::SmtpClientTimeouts& t = client_options.timeouts;
  t.connect = options_.connect_timeout;
  t.helo = t.starttls = t.auth = t.xforward = t.mail = t.rcpt = t.data_init = t.data_xfer =
      t.data_done = t.rset = t.quit = options_.reply_timeout;

  core::SmtpTransaction transaction;
  transaction.mail.sender = std::string(envelope_sender);
  bool utf8_address = HasEightBit(envelope_sender);
  for (const std::string& rcpt : recipients) {
    core::RcptParams params;
    params.recipient = rcpt;
    transaction.recipients.push_back(std::move(params));
    utf8_address = utf8_address || HasEightBit(rcpt);
  }
  transaction.mail.smtputf8 = utf8_address;
  if (HasEightBit(message)) transaction.mail.body = core::SmtpBodyType::k8BitMime;
  transaction.message = message;

  asio::io_context io;
  Conversation conversation;
  asio::co_spawn(io,
                 Converse(io.get_executor(), std::move(client_options), options_.peer, &transaction,
                          &conversation),
                 asio::detached);
  io.run();

  const std::string peer = options_.peer.ToString();
  if (!conversation.connect.positive()) {
    return core::Fail(ReplyError("connect to", conversation.connect, peer));
  }
  const core::SmtpDeliveryResult& delivery = conversation.delivery;
  if (!conversation.sent || delivery.replies.size() != recipients.size()) {
    return core::Fail(ErrorCode::kTempFail, "send to {}: the conversation ended early", peer);
  }
  if (!delivery.mail_reply.empty() && !delivery.mail_reply.positive()) {
    return core::Fail(ReplyError("MAIL FROM refused by", delivery.mail_reply, peer));
  }
  SendOutcome outcome;
  for (size_t i = 0; i < recipients.size(); ++i) {
    const core::SmtpReply& reply = delivery.replies[i];
    if (reply.positive()) {
      outcome.accepted.push_back(recipients[i]);
    } else {
      outcome.rejected.push_back({recipients[i], reply.ToString(), !reply.permanent()});
    }
  }
  if (outcome.accepted.empty() && delivery.connection_failed) {
    // A lost connection or timeout: every recipient carries the same synthetic 4xx.
    return core::Fail(ErrorCode::kTempFail, "send to {}: {}", peer,
                      delivery.replies.front().ToString());
  }
  if (outcome.accepted.empty() && !delivery.data_reply.empty() && !delivery.data_reply.positive()) {
    return core::Fail(ReplyError("message refused by", delivery.data_reply, peer));
  }
  return outcome;
}

}  // namespace moat::quarantine
