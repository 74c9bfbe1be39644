// smtp_handler.cc - the defaults of SmtpHandler: accept the protocol steps, offer nothing optional.
#include "core/smtp_handler.h"

namespace moat::core {

asio::awaitable<SmtpReply> SmtpHandler::OnConnect(const SmtpSessionInfo&) { co_return SmtpReply(); }

asio::awaitable<SmtpReply> SmtpHandler::OnHelo(const SmtpSessionInfo&, const std::string&) {
  co_return SmtpReply();
}

std::shared_ptr<asio::ssl::context> SmtpHandler::TlsContext(const SmtpSessionInfo&) {
  return nullptr;
}

bool SmtpHandler::OfferAuth(const SmtpSessionInfo&) { return false; }

bool SmtpHandler::AllowXforward(const SmtpSessionInfo&) { return false; }

asio::awaitable<SmtpReply> SmtpHandler::OnStartTls(const SmtpSessionInfo&) {
  co_return SmtpReply();
}

asio::awaitable<SmtpReply> SmtpHandler::OnAuth(const SmtpSessionInfo&, const SaslCredentials&) {
  co_return SmtpReply(535, "5.7.8", "Error: authentication failed");
}

asio::awaitable<SmtpReply> SmtpHandler::OnXforward(const SmtpSessionInfo&,
                                                   const XforwardAttributes&) {
  co_return SmtpReply();
}

asio::awaitable<SmtpReply> SmtpHandler::OnMail(const SmtpSessionInfo&, const MailParams&) {
  co_return SmtpReply();
}

asio::awaitable<SmtpReply> SmtpHandler::OnRcpt(const SmtpSessionInfo&, const SmtpEnvelope&,
                                               const RcptParams&) {
  co_return SmtpReply();
}

asio::awaitable<SmtpReply> SmtpHandler::OnDataStart(const SmtpSessionInfo&, const SmtpEnvelope&) {
  co_return SmtpReply();
}

void SmtpHandler::OnTransactionAborted(const SmtpSessionInfo&) {}

void SmtpHandler::OnDisconnect(const SmtpSessionInfo&) {}

}  // namespace moat::core
