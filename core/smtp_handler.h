// smtp_handler.h - what a server session asks its owner: the policy hooks of an SMTP/LMTP server.
//
// The session (smtp_session.h) speaks the protocol; an SmtpHandler decides. moat-mta's smtpd puts
// its restrictions (smtpd_*_restrictions, access maps, relay control) and its queue behind this
// interface; moat-filterd puts its policy banks and the scanning pipeline behind it. One handler
// object serves one connection (a factory makes one per accepted connection), so it may keep
// per-session state; its callbacks run one at a time on the session's executor.
//
// Every decision callback returns an SmtpReply:
//   - empty (SmtpReply{}): accept, the session sends its standard reply ("250 2.1.0 Ok"...);
//   - 2xx/3xx: accept, and send exactly this reply;
//   - 4xx/5xx: refuse with exactly this reply (a missing enhanced code becomes "x.0.0");
//   - 421: refuse and close the connection after sending it.
// Replies are sent in order and flushed per the PIPELINING rules, never by the handler.
//
// The callbacks are awaitables so a handler can look things up (DNS, tables, a queue fsync, a
// reinjection) without blocking the thread. The session guarantees the objects passed by
// reference live until the callback's awaitable completes.
#pragma once

// Standard headers before asio's: see smtp_stream.h.
// clang-format off
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/smtp_envelope.h"
#include "core/smtp_reply.h"
#include "core/smtp_sasl.h"
#include "core/smtp_tls.h"

namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace moat::core {

// What the session knows about the connection, kept current by the session.
struct SmtpSessionInfo {
  std::uint64_t id = 0;  // unique per listener, for logs
  SmtpMode mode = SmtpMode::kSmtp;
  std::string client_address;  // IP address text; the socket path for unix sockets
  std::uint16_t client_port = 0;
  bool unix_socket = false;  // the client came over a unix-domain socket
  std::string local_address;
  std::uint16_t local_port = 0;

  std::string helo;                // HELO/EHLO/LHLO argument; empty before
  bool esmtp = false;              // EHLO or LHLO was used
  std::optional<SmtpTlsInfo> tls;  // set once STARTTLS completed
  std::string auth_user;           // authenticated SASL user; empty when not authenticated
  std::string auth_mechanism;
  XforwardAttributes xforward;  // accumulated since the last transaction ended

  // Pipelining as Postfix's reject_unauth_pipelining sees it: the client sent more input after
  // a command that must end a pipelined group (HELO, EHLO, DATA, STARTTLS, AUTH, QUIT, ...), or
  // sent ahead without having seen PIPELINING in an EHLO reply. Sticky for the session.
  bool improper_pipelining = false;
  // For the command being handled: more input was already waiting behind it.
  bool input_pending = false;

  int error_count = 0;             // error replies so far (the hard limit counts these)
  std::uint64_t transactions = 0;  // messages completed in this session
};

class SmtpHandler {
 public:
  virtual ~SmtpHandler() = default;

  // The connection was accepted; 2xx (or empty) sends the 220 greeting (a 220 reply's text
  // replaces the banner), 421 closes, any other 4xx/5xx is sent instead of the greeting and
  // every later command except QUIT is refused with 503 5.7.0.
  virtual asio::awaitable<SmtpReply> OnConnect(const SmtpSessionInfo& info);
  virtual asio::awaitable<SmtpReply> OnHelo(const SmtpSessionInfo& info, const std::string& helo);

  // Offers. Asked when building the EHLO reply and again when the command arrives.
  // A context means STARTTLS is offered (only before TLS is active).
  virtual std::shared_ptr<asio::ssl::context> TlsContext(const SmtpSessionInfo& info);
  // AUTH PLAIN LOGIN is offered (typically only once info.tls is set).
  virtual bool OfferAuth(const SmtpSessionInfo& info);
  // XFORWARD is accepted from this client (smtpd_authorized_xforward_hosts).
  virtual bool AllowXforward(const SmtpSessionInfo& info);

  // STARTTLS arrived and TLS is offered; a refusal (e.g. 454 4.7.0) keeps the session plain.
  virtual asio::awaitable<SmtpReply> OnStartTls(const SmtpSessionInfo& info);
  // Check the credentials; accept -> "235 2.7.0 Authentication successful" and info.auth_user
  // is set. The default refuses everything with 535 5.7.8.
  virtual asio::awaitable<SmtpReply> OnAuth(const SmtpSessionInfo& info,
                                            const SaslCredentials& credentials);
  // `attributes` are the ones this command carried; info.xforward still holds the earlier ones.
  virtual asio::awaitable<SmtpReply> OnXforward(const SmtpSessionInfo& info,
                                                const XforwardAttributes& attributes);
  virtual asio::awaitable<SmtpReply> OnMail(const SmtpSessionInfo& info, const MailParams& mail);
  // `envelope` holds the sender and the recipients accepted so far.
  virtual asio::awaitable<SmtpReply> OnRcpt(const SmtpSessionInfo& info,
                                            const SmtpEnvelope& envelope, const RcptParams& rcpt);
  // DATA with at least one accepted recipient; accept -> 354.
  virtual asio::awaitable<SmtpReply> OnDataStart(const SmtpSessionInfo& info,
                                                 const SmtpEnvelope& envelope);
  // The message arrived complete and within the size limit. `message` holds its bytes with
  // CRLF line ends, dot-unstuffing done; the handler may move it away (otherwise the session
  // reuses the buffer). The whole message is in memory, bounded by message_size_limit.
  // SMTP: return one reply.
  // LMTP: return one reply per envelope recipient, in order (a single reply applies to all).
  // A wrong count is answered 451 4.3.0 for every recipient, never 250.
  virtual asio::awaitable<std::vector<SmtpReply>> OnMessage(const SmtpSessionInfo& info,
                                                            const SmtpEnvelope& envelope,
                                                            std::string& message) = 0;

  // The current transaction was abandoned (RSET, HELO/EHLO, STARTTLS, QUIT or connection loss
  // between MAIL and the end of DATA), so state tied to it can go.
  virtual void OnTransactionAborted(const SmtpSessionInfo& info);
  // The connection is gone (always called once, last).
  virtual void OnDisconnect(const SmtpSessionInfo& info);
};

}  // namespace moat::core
