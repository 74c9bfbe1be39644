// smtp_session.h - the server side of one SMTP or LMTP connection (RFC 5321, RFC 2033).
//
// A session reads commands, checks the protocol (sequence, syntax, limits), asks its SmtpHandler
// for every decision and writes the replies. It implements:
//   - EHLO/HELO (SMTP) or LHLO (LMTP), with the keyword list PIPELINING, SIZE, STARTTLS (when the
//     handler has a TLS context), AUTH PLAIN LOGIN (when the handler offers it),
//     ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8 (optional), XFORWARD (authorised clients);
//   - PIPELINING (RFC 2920): every complete command already received is answered before anything
//     is written, and replies go out in one write when the input runs dry (or the output grows
//     past 64 KiB); SmtpSessionInfo::improper_pipelining tells a policy who sent ahead unasked;
//   - STARTTLS (RFC 3207): input pipelined behind it is discarded, and after the handshake the
//     session forgets HELO, AUTH, XFORWARD and any transaction;
//   - MAIL/RCPT with SIZE, BODY, DSN (RET, ENVID, NOTIFY, ORCPT), AUTH=, SMTPUTF8; DATA with
//     dot-unstuffing, bare-LF normalisation and the size limit (552 5.3.4 after the end marker);
//   - LMTP: one reply per accepted recipient after the message;
//   - timeouts (421 4.4.2 and close), Postfix's hard/soft error limits and junk command limit,
//     over-long lines (500 5.5.2), clients that are not speaking SMTP (221 and close).
//
// Lifetime: create with std::make_shared and co_await Run() (or co_spawn it) on the socket's
// executor, a strand when the io_context runs on several threads. Run() returns after the
// connection closed and OnDisconnect() was called. RequestStop() and Abort() may be called from
// any thread. The options are shared and immutable.
#pragma once

// Standard headers before asio's: see smtp_stream.h.
// clang-format off
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/smtp_command.h"
#include "core/smtp_data_reader.h"
#include "core/smtp_handler.h"
#include "core/smtp_line_reader.h"
#include "core/smtp_stream.h"

namespace moat::core {

struct SmtpServerOptions {
  SmtpMode mode = SmtpMode::kSmtp;
  std::string hostname = "localhost";             // myhostname: greeting, EHLO reply, 421 texts
  std::string banner;                             // after "220 "; default "<hostname> ESMTP Moat"
  std::uint64_t message_size_limit = 10'240'000;  // bytes; 0 = unlimited (kept in memory!)
  std::size_t recipient_limit = 1000;             // smtpd_recipient_limit
  std::chrono::milliseconds command_timeout{300'000};  // smtpd_timeout
  std::chrono::milliseconds data_timeout{300'000};
  int hard_error_limit = 20;                 // smtpd_hard_error_limit: then 421 and close
  int soft_error_limit = 10;                 // smtpd_soft_error_limit: then error_sleep per error
  std::chrono::milliseconds error_sleep{0};  // smtpd_error_sleep_time (Postfix: 1s)
  int junk_command_limit = 100;              // smtpd_junk_command_limit (NOOP, RSET, HELO, ...)
  // Longest command line with its CRLF. RFC 5321 allows 512 plus what extensions add (DSN's
  // ORCPT and ENVID alone add 600); Postfix's line_length_limit is 2048.
  std::size_t line_length_limit = 2048;
  std::size_t read_buffer_size = 64 * 1024;
  bool pipelining = true;
  bool eight_bit_mime = true;
  bool dsn = true;
  bool smtputf8 = false;
  bool helo_required = false;  // smtpd_helo_required (always on for LMTP)
  bool strict_rfc821_envelopes = false;  // MAIL/RCPT addresses must be in angle brackets
  bool require_tls = false;    // smtpd_tls_security_level = encrypt
};

// Totals over all sessions of a listener; updated with relaxed atomics.
struct SmtpServerCounters {
  std::atomic<std::uint64_t> messages{0};  // OnMessage called
  std::atomic<std::uint64_t> message_bytes{0};
  std::atomic<std::uint64_t> recipients{0};  // accepted RCPTs
  std::atomic<std::uint64_t> oversize_messages{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> lost_connections{0};
  std::atomic<std::uint64_t> error_limit_closes{0};
  std::atomic<std::uint64_t> tls_handshakes{0};
  std::atomic<std::uint64_t> tls_failures{0};
  std::atomic<std::uint64_t> reply_writes{0};  // socket writes of replies (pipelining batches)
};

class SmtpSession : public std::enable_shared_from_this<SmtpSession> {
 public:
  SmtpSession(SmtpStream::Socket socket, std::shared_ptr<const SmtpServerOptions> options,
              std::unique_ptr<SmtpHandler> handler, std::uint64_t id = 0,
              std::shared_ptr<SmtpServerCounters> counters = nullptr);
  ~SmtpSession();

  // The whole conversation. Never throws.
  asio::awaitable<void> Run();

  // Graceful stop: an idle session answers 421 4.3.2 and closes at once; a session inside a
  // transaction finishes it (through the end of DATA) first. Thread-safe.
  void RequestStop();
  // Closes the connection now; pending work fails. Thread-safe.
  void Abort();

  // Executor only.
  const SmtpSessionInfo& info() const { return info_; }

 private:
  enum class Flow { kContinue, kClose };
  enum class ReadStatus { kLine, kTooLong, kClosed, kTimeout, kStop };
  struct LineEvent {
    ReadStatus status;
    std::string_view line;
  };

  asio::awaitable<void> Dialogue();
  asio::awaitable<void> Converse();
  asio::awaitable<LineEvent> ReadLine();
  asio::awaitable<bool> Flush();
  asio::awaitable<Flow> Dispatch(std::string_view line);

  asio::awaitable<Flow> HandleHelo(const SmtpCommandLine& command);
  asio::awaitable<Flow> HandleMail(const SmtpCommandLine& command);
  asio::awaitable<Flow> HandleRcpt(const SmtpCommandLine& command);
  asio::awaitable<Flow> HandleData(const SmtpCommandLine& command);
  asio::awaitable<Flow> HandleStartTls(const SmtpCommandLine& command);
  asio::awaitable<Flow> HandleAuth(const SmtpCommandLine& command);
  asio::awaitable<Flow> HandleXforward(const SmtpCommandLine& command);
  // Reads one AUTH continuation line; nullopt when the exchange must end (reply already queued
  // or the connection is gone, see auth_flow_).
  asio::awaitable<std::optional<std::string>> ReadAuthResponse(std::string_view challenge);

  // Queues a reply (default enhanced code added); 4xx/5xx count as errors unless told not to.
  void Reply(const SmtpReply& reply, bool count_error = true);
  // Queues a reply exactly as given (greeting, EHLO, 334, 354).
  void ReplyRaw(const SmtpReply& reply);
  // A refusal from the handler: queue it; 421 closes.
  Flow Refuse(const SmtpReply& reply);
  void CheckPipelining(SmtpVerb verb);
  void CountJunk();
  void ResetTransaction(bool notify_handler);
  std::string EhloText();
  SmtpExtensionSet OfferedParameters();
  void NoteEnd(std::string_view reason);

  std::shared_ptr<const SmtpServerOptions> options_;
  std::unique_ptr<SmtpHandler> handler_;
  std::shared_ptr<SmtpServerCounters> counters_;
  SmtpStream stream_;
  SmtpInputBuffer input_;
  SmtpLineReader line_reader_;
  SmtpDataReader data_reader_;
  std::string output_;
  std::string message_;
  SmtpSessionInfo info_;
  SmtpEnvelope envelope_;
  bool in_transaction_ = false;
  bool access_denied_ = false;
  bool idle_ = false;
  bool stop_requested_ = false;
  bool auth_close_ = false;
  int junk_commands_ = 0;
  std::string_view where_ = "CONNECT";
};

}  // namespace moat::core
