// smtp_client.h - the client side of SMTP and LMTP: moat-mta's delivery agents (smtp, lmtp,
// the content-filter hand-off) and moat-filterd's reinjection all send mail through it.
//
// One SmtpClient is one connection, reusable for many transactions:
//   Connect(peer)  TCP (host:port, every address tried in turn) or unix socket; greeting;
//                  EHLO/LHLO (HELO when EHLO is refused, SMTP only); STARTTLS per policy
//                  (none / may / encrypt / verify, with CA and host name verification on
//                  demand); AUTH PLAIN or LOGIN when credentials are given and offered.
//   Send(tx)       XFORWARD (when offered; values xtext-encoded as Postfix does), MAIL with
//                  SIZE/BODY/RET/ENVID/AUTH/SMTPUTF8 as offered, RCPT with NOTIFY/ORCPT, DATA with
//                  dot-stuffing and CRLF line ends. With PIPELINING, XFORWARD+MAIL+RCPTs+DATA
//                  leave in one write and the replies are read in order. LMTP reads one reply
//                  per accepted recipient after the message. Ends with the connection ready for
//                  the next Send() (RSET when a transaction was abandoned).
//   Quit()
// Every phase has its own timeout, as Postfix's smtp_*_timeout family.
//
// Results are values, never exceptions: Send() returns the final reply of every recipient, in
// envelope order. A refused RCPT keeps the server's refusal; an accepted one gets the reply to the
// message (the per-recipient LMTP reply, or the one SMTP reply). A connection failure or timeout
// at any point gives every recipient without a final reply a synthetic 4xx (421 4.4.1 connect
// failures, 421 4.4.2 lost connection/timeout, 421 4.5.0 protocol errors, 421 4.7.x TLS), so a
// broken conversation is always a temporary failure and never a success.
//
// Thread safety: none; use one client from one coroutine at a time, on the executor (strand) it
// was created with.
#pragma once

// Standard headers before asio's: see smtp_stream.h.
// clang-format off
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/smtp_capabilities.h"
#include "core/smtp_data_reader.h"
#include "core/smtp_endpoint.h"
#include "core/smtp_envelope.h"
#include "core/smtp_line_reader.h"
#include "core/smtp_reply.h"
#include "core/smtp_sasl.h"
#include "core/smtp_stream.h"

namespace moat::core {

enum class SmtpTlsPolicy {
  kNone,     // never STARTTLS
  kMay,      // STARTTLS when offered; plain when not offered or when the handshake fails
  kEncrypt,  // STARTTLS required; any certificate
  kVerify,   // STARTTLS required; certificate must verify against the CAs and match the name
};

// Postfix's smtp_*_timeout / lmtp_*_timeout defaults.
struct SmtpClientTimeouts {
  std::chrono::milliseconds connect{30'000};
  std::chrono::milliseconds helo{300'000};  // greeting and EHLO/LHLO/HELO
  std::chrono::milliseconds starttls{300'000};
  std::chrono::milliseconds auth{300'000};
  std::chrono::milliseconds xforward{300'000};
  std::chrono::milliseconds mail{300'000};
  std::chrono::milliseconds rcpt{300'000};
  std::chrono::milliseconds data_init{120'000};  // reply to DATA
  std::chrono::milliseconds data_xfer{180'000};  // each write of the message
  std::chrono::milliseconds data_done{600'000};  // reply after the final dot
  std::chrono::milliseconds rset{20'000};
  std::chrono::milliseconds quit{300'000};
};

struct SmtpClientOptions {
  SmtpMode mode = SmtpMode::kSmtp;
  std::string helo_name = "localhost";  // smtp_helo_name / myhostname
  SmtpTlsPolicy tls = SmtpTlsPolicy::kNone;
  std::shared_ptr<asio::ssl::context> tls_context;  // MakeTlsClientContext(); made if null
  std::string tls_server_name;  // SNI and the name to verify; default: the host connected to
  std::optional<SaslCredentials> auth;  // username + password; PLAIN preferred, then LOGIN
  bool use_pipelining = true;           // when offered
  bool send_xforward = true;            // when offered and the transaction carries attributes
  SmtpClientTimeouts timeouts;
  std::size_t read_buffer_size = 64 * 1024;
};

struct SmtpTransaction {
  MailParams mail;  // SIZE is taken from the message when not set
  std::vector<RcptParams> recipients;
  XforwardAttributes xforward;
  std::string_view message;  // the message; LF or CRLF line ends; must outlive Send()
};

struct SmtpDeliveryResult {
  // One per transaction recipient, in order: 2xx = delivered to the peer.
  std::vector<SmtpReply> replies;
  SmtpReply mail_reply;            // the peer's reply to MAIL (empty when not reached)
  SmtpReply data_reply;            // SMTP: the reply after the message (or to DATA); LMTP: empty
  bool connection_failed = false;  // a synthetic 4xx was given (lost, timeout, protocol)
  // The connection was reused and broke before the server answered anything of this
  // transaction but a 421 (an idle connection the server had timed out and closed): nothing
  // happened, retry on a fresh connection without counting it as an attempt.
  bool retry_on_new_connection = false;

  std::size_t delivered() const;
};

class SmtpClient {
 public:
  SmtpClient(asio::any_io_executor executor, SmtpClientOptions options);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // A 2xx reply (the EHLO/LHLO/HELO reply) when ready for Send(); otherwise why not: the peer's
  // refusal (e.g. a 554 greeting) or a synthetic 421 4.x.x. A failed Connect() leaves the
  // client closed; Connect() may be called again.
  asio::awaitable<SmtpReply> Connect(const SmtpEndpoint& peer);
  asio::awaitable<SmtpDeliveryResult> Send(const SmtpTransaction& transaction);
  // RSET (e.g. to check an idle cached connection); 2xx when still usable.
  asio::awaitable<SmtpReply> Reset();
  // QUIT, wait for the reply, close. Never fails.
  asio::awaitable<void> Quit();
  void Close();

  bool ready() const { return ready_; }
  const SmtpCapabilities& capabilities() const { return capabilities_; }
  const SmtpReply& greeting() const { return greeting_; }
  std::optional<SmtpTlsInfo> tls() const;
  // "host[address]:port" or "unix:/path", as used in replies and logs.
  const std::string& peer_name() const { return peer_name_; }
  std::uint64_t transactions() const { return transactions_; }

 private:
  asio::awaitable<void> ConnectBody(SmtpEndpoint peer, SmtpReply& out);
  asio::awaitable<bool> OpenSocket(const SmtpEndpoint& peer, SmtpReply& out);
  asio::awaitable<void> HandshakeBody(bool plain_only, SmtpReply& out, bool& retry_plain);
  asio::awaitable<std::optional<SmtpReply>> Hello();
  asio::awaitable<std::optional<SmtpReply>> Authenticate();
  asio::awaitable<void> SendBody(const SmtpTransaction& transaction, SmtpDeliveryResult& result);
  asio::awaitable<void> ResetBody(SmtpReply& out);
  asio::awaitable<void> QuitBody();

  asio::awaitable<bool> WriteOut(std::chrono::milliseconds timeout, std::string_view stage);
  asio::awaitable<std::optional<SmtpReply>> ReadReply(std::chrono::milliseconds timeout,
                                                      std::string_view stage);
  asio::awaitable<std::optional<SmtpReply>> Command(std::string_view line,
                                                    std::chrono::milliseconds timeout,
                                                    std::string_view stage);
  asio::awaitable<bool> SendRset();
  void Break(SmtpReply reason);
  SmtpReply Failure(std::string_view enhanced, std::string_view text) const;

  asio::any_io_executor executor_;
  SmtpClientOptions options_;
  std::unique_ptr<SmtpStream> stream_;
  SmtpInputBuffer input_;
  SmtpLineReader line_reader_;
  SmtpReplyParser parser_;
  SmtpDotStuffer stuffer_;
  std::string out_;
  SmtpCapabilities capabilities_;
  SmtpReply greeting_;
  SmtpReply failure_;  // why the connection broke
  std::string peer_name_;
  std::string server_name_;
  bool ready_ = false;
  bool saw_421_ = false;
  std::uint64_t transactions_ = 0;
  int first_reply_code_ = 0;  // of the current transaction
};

}  // namespace moat::core
