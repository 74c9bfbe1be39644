// smtp_session.cc - SMTP/LMTP server session.
#include "core/smtp_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

// GCC 12 reports asio's recycling coroutine-frame allocator (aligned_alloc + sized delete)
// as mismatched new/delete when it inlines both; a known false positive (GCC bug 109224).
// GCC 12 also miscompiles `co_return co_await f()` and co_await inside conditions in some
// coroutines (seen in smtp_client.cc), so awaited results always go to a named variable.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::core {
namespace {

constexpr std::size_t kMaxPendingOutput = 64 * 1024;
// A message buffer bigger than this is released after the transaction instead of kept for reuse.
constexpr std::size_t kKeptMessageCapacity = 4 * 1024 * 1024;
constexpr auto kFinalWriteTimeout = std::chrono::seconds(10);

bool EndsPipelineGroup(SmtpVerb verb) {
  switch (verb) {
    case SmtpVerb::kHelo:
    case SmtpVerb::kEhlo:
    case SmtpVerb::kLhlo:
    case SmtpVerb::kStartTls:
    case SmtpVerb::kData:
    case SmtpVerb::kNoop:
    case SmtpVerb::kVrfy:
    case SmtpVerb::kExpn:
      return true;
    default:
      return false;
  }
}

// Commands allowed before STARTTLS when TLS is required (Postfix SMTPD_CMD_FLAG_PRE_TLS).
bool AllowedBeforeTls(SmtpVerb verb) {
  switch (verb) {
    case SmtpVerb::kHelo:
    case SmtpVerb::kEhlo:
    case SmtpVerb::kLhlo:
    case SmtpVerb::kStartTls:
    case SmtpVerb::kNoop:
    case SmtpVerb::kRset:
    case SmtpVerb::kQuit:
      return true;
    default:
      return false;
  }
}

std::string PrintableText(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

SmtpSession::SmtpSession(SmtpStream::Socket socket,
                         std::shared_ptr<const SmtpServerOptions> options,
                         std::unique_ptr<SmtpHandler> handler, std::uint64_t id,
                         std::shared_ptr<SmtpServerCounters> counters)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      counters_(std::move(counters)),
      stream_(std::move(socket)),
      input_(std::max<std::size_t>(options_->read_buffer_size, 4096)),
      line_reader_(
          std::clamp<std::size_t>(options_->line_length_limit, 512, input_.capacity() - 1)) {
  info_.id = id;
  info_.mode = options_->mode;
  SmtpSocketAddress remote = stream_.RemoteAddress();
  SmtpSocketAddress local = stream_.LocalAddress();
  info_.client_address = remote.unix_socket ? local.address : remote.address;
  info_.client_port = remote.port;
  info_.unix_socket = remote.unix_socket || local.unix_socket;
  info_.local_address = local.address;
  info_.local_port = local.port;
  output_.reserve(4096);
}

SmtpSession::~SmtpSession() = default;

void SmtpSession::RequestStop() {
  asio::post(stream_.get_executor(), [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    self->stop_requested_ = true;
    if (self->idle_ && !self->in_transaction_) self->stream_.Cancel();
  });
}

void SmtpSession::Abort() {
  asio::post(stream_.get_executor(), [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->stream_.Close();
  });
}

asio::awaitable<void> SmtpSession::Run() {
  auto self = shared_from_this();
  try {
    co_await stream_.RunGuarded(Dialogue());
  } catch (const std::exception& e) {
    spdlog::error("smtp session {}: {}", info_.id, e.what());
  }
  try {
    ResetTransaction(true);
    stream_.Close();
    handler_->OnDisconnect(info_);
  } catch (const std::exception& e) {
    spdlog::error("smtp session {}: disconnect handler: {}", info_.id, e.what());
  }
}

asio::awaitable<void> SmtpSession::Dialogue() {
  bool failed = false;
  try {
    co_await Converse();
  } catch (const std::exception& e) {
    spdlog::error("smtp session {} from {}: internal error after {}: {}", info_.id,
                  info_.client_address, where_, e.what());
    failed = true;
  }
  if (failed && stream_.is_open()) {
    // Whatever went wrong, the client must not read it as success.
    output_.clear();
    ReplyRaw(SmtpReply(421, "4.3.0", fmt::format("{} Error: internal error", options_->hostname)));
    stream_.SetTimeout(kFinalWriteTimeout);
    co_await stream_.Write(output_);
    stream_.ClearTimeout();
  }
}

asio::awaitable<void> SmtpSession::Converse() {
  SmtpReply connect = co_await handler_->OnConnect(info_);
  if (connect.empty() || connect.positive()) {
    std::string banner = !options_->banner.empty()
                             ? options_->banner
                             : fmt::format("{} {} Moat", options_->hostname,
                                           options_->mode == SmtpMode::kLmtp ? "LMTP" : "ESMTP");
    if (connect.code() == 220 && !connect.text().empty()) banner = connect.text();
    ReplyRaw(SmtpReply(220, "", banner));
  } else if (connect.closes_connection() || connect.code() == 521) {
    // 421, or 521 "does not accept mail" (RFC 7504; postscreen's drop): say it and hang up.
    Reply(connect, false);
    co_await Flush();
    co_return;
  } else {
    Reply(connect);
    access_denied_ = true;
  }

  while (true) {
    if (info_.error_count >= options_->hard_error_limit) {
      Reply(SmtpReply(421, "4.7.0", fmt::format("{} Error: too many errors", options_->hostname)),
            false);
      if (counters_) counters_->error_limit_closes.fetch_add(1, std::memory_order_relaxed);
      NoteEnd("too many errors");
      break;
    }
    if (stop_requested_ && !in_transaction_) {
      Reply(SmtpReply(421, "4.3.2", fmt::format("{} Service shutting down", options_->hostname)),
            false);
      break;
    }
    LineEvent event = co_await ReadLine();
    if (event.status == ReadStatus::kClosed) {
      if (counters_) counters_->lost_connections.fetch_add(1, std::memory_order_relaxed);
      NoteEnd("lost connection");
      co_return;
    }
    if (event.status == ReadStatus::kTimeout) {
      if (counters_) counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
      NoteEnd("timeout");
      Reply(SmtpReply(421, "4.4.2", fmt::format("{} Error: timeout exceeded", options_->hostname)),
            false);
      break;
    }
    if (event.status == ReadStatus::kStop) continue;  // the loop top answers 421
    if (event.status == ReadStatus::kTooLong) {
      Reply(SmtpReply(500, "5.5.2", "Error: line too long"));
      continue;
    }
    int errors_before = info_.error_count;
    Flow flow = co_await Dispatch(event.line);
    if (flow == Flow::kClose) break;
    if (info_.error_count > errors_before && info_.error_count >= options_->soft_error_limit &&
        options_->error_sleep.count() > 0) {
      // Postfix's smtpd_error_sleep_time: slow down a client that keeps making errors.
      asio::steady_timer timer(stream_.get_executor());
      timer.expires_after(options_->error_sleep);
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    if (output_.size() > kMaxPendingOutput) {
      bool flushed = co_await Flush();
      if (!flushed) co_return;
    }
  }
  if (!output_.empty() && stream_.is_open()) {
    stream_.SetTimeout(
        std::min<std::chrono::milliseconds>(options_->command_timeout, kFinalWriteTimeout));
    if (counters_) counters_->reply_writes.fetch_add(1, std::memory_order_relaxed);
    co_await stream_.Write(output_);
    stream_.ClearTimeout();
    output_.clear();
  }
  if (stream_.tls_active()) {
    stream_.SetTimeout(std::chrono::seconds(2));
    co_await stream_.ShutdownTls();
    stream_.ClearTimeout();
  }
}

asio::awaitable<SmtpSession::LineEvent> SmtpSession::ReadLine() {
  while (true) {
    SmtpLineReader::Result result = line_reader_.Next(input_);
    if (result.status == SmtpLineReader::Status::kLine)
      co_return LineEvent{ReadStatus::kLine, result.line};
    if (result.status == SmtpLineReader::Status::kTooLong)
      co_return LineEvent{ReadStatus::kTooLong, {}};
    if (stop_requested_ && !in_transaction_) co_return LineEvent{ReadStatus::kStop, {}};
    if (!output_.empty()) {
      bool flushed = co_await Flush();
      if (!flushed) {
        ReadStatus status = stream_.timed_out() ? ReadStatus::kTimeout : ReadStatus::kClosed;
        co_return LineEvent{status, {}};
      }
      // A stop requested while the write was pending must not wait for the next read.
      if (stop_requested_ && !in_transaction_) co_return LineEvent{ReadStatus::kStop, {}};
    }
    stream_.SetTimeout(options_->command_timeout);
    idle_ = true;
    SmtpIoResult io = co_await stream_.ReadSome(input_.PrepareRead());
    idle_ = false;
    stream_.ClearTimeout();
    if (io.error) {
      if (stream_.timed_out()) co_return LineEvent{ReadStatus::kTimeout, {}};
      if (stop_requested_ && io.error == asio::error::operation_aborted) {
        co_return LineEvent{ReadStatus::kStop, {}};
      }
      co_return LineEvent{ReadStatus::kClosed, {}};
    }
    input_.CommitRead(io.bytes);
  }
}

asio::awaitable<bool> SmtpSession::Flush() {
  if (output_.empty()) co_return true;
  stream_.SetTimeout(options_->command_timeout);
  if (counters_) counters_->reply_writes.fetch_add(1, std::memory_order_relaxed);
  std::error_code error = co_await stream_.Write(output_);
  stream_.ClearTimeout();
  output_.clear();
  co_return !error;
}

void SmtpSession::Reply(const SmtpReply& reply, bool count_error) {
  reply.WithDefaultEnhanced().AppendTo(output_);
  if (count_error && reply.code() >= 400) ++info_.error_count;
}

void SmtpSession::ReplyRaw(const SmtpReply& reply) { reply.AppendTo(output_); }

SmtpSession::Flow SmtpSession::Refuse(const SmtpReply& reply) {
  Reply(reply);
  return reply.closes_connection() ? Flow::kClose : Flow::kContinue;
}

void SmtpSession::CountJunk() {
  if (++junk_commands_ > options_->junk_command_limit) ++info_.error_count;
}

void SmtpSession::NoteEnd(std::string_view reason) {
  spdlog::info("{} after {} from [{}]:{} (helo {})", reason, where_, info_.client_address,
               info_.client_port, info_.helo.empty() ? "none" : info_.helo);
}

void SmtpSession::CheckPipelining(SmtpVerb verb) {
  info_.input_pending = !input_.empty();
  if (info_.improper_pipelining) return;
  if (info_.esmtp && options_->pipelining && !EndsPipelineGroup(verb)) return;
  if (info_.input_pending || stream_.Available() > 0) info_.improper_pipelining = true;
}

void SmtpSession::ResetTransaction(bool notify_handler) {
  if (in_transaction_ && notify_handler) handler_->OnTransactionAborted(info_);
  in_transaction_ = false;
  envelope_.mail = MailParams();
  envelope_.recipients.clear();
  info_.xforward = XforwardAttributes();
}

SmtpExtensionSet SmtpSession::OfferedParameters() {
  SmtpExtensionSet offered;
  offered.size = true;
  offered.eight_bit_mime = options_->eight_bit_mime;
  offered.dsn = options_->dsn;
  offered.smtputf8 = options_->smtputf8;
  offered.auth = handler_->OfferAuth(info_);
  offered.strict_rfc821_envelopes = options_->strict_rfc821_envelopes;
  return offered;
}

std::string SmtpSession::EhloText() {
  std::string text = options_->hostname;
  if (options_->pipelining) text.append("\nPIPELINING");
  if (options_->message_size_limit > 0) {
    fmt::format_to(std::back_inserter(text), "\nSIZE {}", options_->message_size_limit);
  } else {
    text.append("\nSIZE");
  }
  if (!stream_.tls_active() && handler_->TlsContext(info_)) text.append("\nSTARTTLS");
  if (info_.auth_user.empty() && handler_->OfferAuth(info_)) text.append("\nAUTH PLAIN LOGIN");
  text.append("\nENHANCEDSTATUSCODES");
  if (options_->eight_bit_mime) text.append("\n8BITMIME");
  if (options_->dsn) text.append("\nDSN");
  if (options_->smtputf8) text.append("\nSMTPUTF8");
  if (handler_->AllowXforward(info_))
    text.append("\nXFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
  return text;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::Dispatch(std::string_view line) {
  SmtpCommandLine command = ParseCommandLine(line);
  if (command.verb == SmtpVerb::kEmpty) {
    Reply(SmtpReply(500, "5.5.2", "Error: bad syntax"));
    co_return Flow::kContinue;
  }
  if (command.verb == SmtpVerb::kUnknown && IsNonSmtpCommand(command.verb_text)) {
    spdlog::warn("non-SMTP command from {}: {:.100}", info_.client_address, PrintableText(line));
    Reply(SmtpReply(221, "2.7.0", "Error: I can break rules, too. Goodbye."));
    co_return Flow::kClose;
  }
  where_ = SmtpVerbName(command.verb);
  if (access_denied_ && command.verb != SmtpVerb::kQuit) {
    Reply(
        SmtpReply(503, "5.7.0", fmt::format("Error: access denied for {}", info_.client_address)));
    co_return Flow::kContinue;
  }
  CheckPipelining(command.verb);
  if (options_->require_tls && !stream_.tls_active() && !AllowedBeforeTls(command.verb) &&
      command.verb != SmtpVerb::kUnknown) {
    Reply(SmtpReply(530, "5.7.0", "Must issue a STARTTLS command first"));
    co_return Flow::kContinue;
  }
  Flow flow = Flow::kContinue;
  switch (command.verb) {
    case SmtpVerb::kHelo:
    case SmtpVerb::kEhlo:
    case SmtpVerb::kLhlo:
      flow = co_await HandleHelo(command);
      co_return flow;
    case SmtpVerb::kMail:
      flow = co_await HandleMail(command);
      co_return flow;
    case SmtpVerb::kRcpt:
      flow = co_await HandleRcpt(command);
      co_return flow;
    case SmtpVerb::kData:
      flow = co_await HandleData(command);
      co_return flow;
    case SmtpVerb::kStartTls:
      flow = co_await HandleStartTls(command);
      co_return flow;
    case SmtpVerb::kAuth:
      flow = co_await HandleAuth(command);
      co_return flow;
    case SmtpVerb::kXforward:
      flow = co_await HandleXforward(command);
      co_return flow;
    case SmtpVerb::kRset:
      CountJunk();
      if (!command.args.empty()) {
        Reply(SmtpReply(501, "5.5.4", "Syntax: RSET"));
      } else {
        ResetTransaction(true);
        Reply(SmtpReply(250, "2.0.0", "Ok"));
      }
      co_return Flow::kContinue;
    case SmtpVerb::kNoop:
      CountJunk();
      Reply(SmtpReply(250, "2.0.0", "Ok"));
      co_return Flow::kContinue;
    case SmtpVerb::kQuit:
      Reply(SmtpReply(221, "2.0.0", "Bye"));
      ResetTransaction(true);
      co_return Flow::kClose;
    case SmtpVerb::kVrfy:
      CountJunk();
      if (command.args.empty()) {
        Reply(SmtpReply(501, "5.5.4", "Syntax: VRFY address"));
      } else {
        Reply(SmtpReply(252, "2.0.0",
                        "Cannot VRFY user, but will accept message and attempt delivery"));
      }
      co_return Flow::kContinue;
    case SmtpVerb::kHelp:
      CountJunk();
      Reply(
          SmtpReply(214, "2.0.0",
                    options_->mode == SmtpMode::kLmtp
                        ? "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY"
                        : "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS AUTH"));
      co_return Flow::kContinue;
    case SmtpVerb::kExpn:
    case SmtpVerb::kBdat:
      Reply(SmtpReply(502, "5.5.1", "Error: command not implemented"));
      co_return Flow::kContinue;
    case SmtpVerb::kEmpty:
    case SmtpVerb::kUnknown:
      break;
  }
  Reply(SmtpReply(502, "5.5.2", "Error: command not recognized"));
  co_return Flow::kContinue;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleHelo(const SmtpCommandLine& command) {
  bool lmtp = options_->mode == SmtpMode::kLmtp;
  if (lmtp && command.verb != SmtpVerb::kLhlo) {
    Reply(SmtpReply(502, "5.5.1", "Error: this is an LMTP server, use LHLO"));
    co_return Flow::kContinue;
  }
  if (!lmtp && command.verb == SmtpVerb::kLhlo) {
    Reply(SmtpReply(502, "5.5.2", "Error: command not recognized"));
    co_return Flow::kContinue;
  }
  CountJunk();
  if (command.args.empty()) {
    Reply(SmtpReply(501, "5.5.4", fmt::format("Syntax: {} hostname", SmtpVerbName(command.verb))));
    co_return Flow::kContinue;
  }
  std::string helo = PrintableText(command.args);
  SmtpReply decision = co_await handler_->OnHelo(info_, helo);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  ResetTransaction(true);
  info_.helo = std::move(helo);
  info_.esmtp = command.verb != SmtpVerb::kHelo;
  if (info_.esmtp) {
    ReplyRaw(SmtpReply(250, "", EhloText()));
  } else {
    ReplyRaw(SmtpReply(250, "", options_->hostname));
  }
  co_return Flow::kContinue;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleMail(const SmtpCommandLine& command) {
  bool lmtp = options_->mode == SmtpMode::kLmtp;
  if ((lmtp || options_->helo_required) && info_.helo.empty()) {
    Reply(SmtpReply(503, "5.5.1", lmtp ? "Error: send LHLO first" : "Error: send HELO/EHLO first"));
    co_return Flow::kContinue;
  }
  if (in_transaction_) {
    Reply(SmtpReply(503, "5.5.1", "Error: nested MAIL command"));
    co_return Flow::kContinue;
  }
  auto mail = ParseMailArguments(command.args, OfferedParameters());
  if (!mail) {
    Reply(mail.error());
    co_return Flow::kContinue;
  }
  if (mail->size && options_->message_size_limit > 0 &&
      *mail->size > options_->message_size_limit) {
    Reply(SmtpReply(552, "5.3.4", "Message size exceeds fixed limit"));
    co_return Flow::kContinue;
  }
  SmtpReply decision = co_await handler_->OnMail(info_, *mail);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  in_transaction_ = true;
  envelope_.mail = std::move(*mail);
  envelope_.recipients.clear();
  Reply(decision.empty() ? SmtpReply(250, "2.1.0", "Ok") : decision);
  co_return Flow::kContinue;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleRcpt(const SmtpCommandLine& command) {
  if (!in_transaction_) {
    Reply(SmtpReply(503, "5.5.1", "Error: need MAIL command"));
    co_return Flow::kContinue;
  }
  if (envelope_.recipients.size() >= options_->recipient_limit) {
    Reply(SmtpReply(452, "4.5.3", "Error: too many recipients"));
    co_return Flow::kContinue;
  }
  auto rcpt = ParseRcptArguments(command.args, OfferedParameters());
  if (!rcpt) {
    Reply(rcpt.error());
    co_return Flow::kContinue;
  }
  SmtpReply decision = co_await handler_->OnRcpt(info_, envelope_, *rcpt);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  envelope_.recipients.push_back(std::move(*rcpt));
  if (counters_) counters_->recipients.fetch_add(1, std::memory_order_relaxed);
  Reply(decision.empty() ? SmtpReply(250, "2.1.5", "Ok") : decision);
  co_return Flow::kContinue;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleData(const SmtpCommandLine& command) {
  if (!command.args.empty()) {
    Reply(SmtpReply(501, "5.5.4", "Syntax: DATA"));
    co_return Flow::kContinue;
  }
  if (!in_transaction_) {
    Reply(SmtpReply(503, "5.5.1", "Error: need RCPT command"));
    co_return Flow::kContinue;
  }
  if (envelope_.recipients.empty()) {
    Reply(SmtpReply(554, "5.5.1", "Error: no valid recipients"));
    co_return Flow::kContinue;
  }
  SmtpReply decision = co_await handler_->OnDataStart(info_, envelope_);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  ReplyRaw(decision.code() == 354 ? decision
                                  : SmtpReply(354, "", "End data with <CR><LF>.<CR><LF>"));
  bool flushed = co_await Flush();
  if (!flushed) {
    NoteEnd("lost connection");
    co_return Flow::kClose;
  }

  where_ = "DATA content";
  data_reader_.Reset(options_->message_size_limit);
  message_.clear();
  if (envelope_.mail.size) {
    // SIZE= tells how much is coming: one allocation instead of doubling up to it.
    std::uint64_t expected = *envelope_.mail.size + *envelope_.mail.size / 32 + 64;
    std::uint64_t cap =
        options_->message_size_limit > 0 ? options_->message_size_limit : kKeptMessageCapacity;
    message_.reserve(static_cast<std::size_t>(std::min(expected, cap)));
  }
  while (!data_reader_.Consume(input_, message_)) {
    stream_.SetTimeout(options_->data_timeout);
    SmtpIoResult io = co_await stream_.ReadSome(input_.PrepareRead());
    stream_.ClearTimeout();
    if (io.error) {
      if (stream_.timed_out()) {
        if (counters_) counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
        NoteEnd("timeout");
        Reply(
            SmtpReply(421, "4.4.2", fmt::format("{} Error: timeout exceeded", options_->hostname)),
            false);
      } else {
        if (counters_) counters_->lost_connections.fetch_add(1, std::memory_order_relaxed);
        NoteEnd(fmt::format("lost connection ({} bytes)", data_reader_.size()));
      }
      co_return Flow::kClose;
    }
    input_.CommitRead(io.bytes);
  }
  where_ = "END-OF-MESSAGE";

  const bool lmtp = options_->mode == SmtpMode::kLmtp;
  const std::size_t wanted = lmtp ? envelope_.recipients.size() : 1;
  std::vector<SmtpReply> replies;
  if (data_reader_.overflow()) {
    if (counters_) counters_->oversize_messages.fetch_add(1, std::memory_order_relaxed);
    replies.assign(wanted, SmtpReply(552, "5.3.4", "Error: message file too big"));
  } else {
    if (counters_) {
      counters_->messages.fetch_add(1, std::memory_order_relaxed);
      counters_->message_bytes.fetch_add(message_.size(), std::memory_order_relaxed);
    }
    replies = co_await handler_->OnMessage(info_, envelope_, message_);
    if (replies.size() == 1 && wanted > 1) replies.assign(wanted, replies.front());
    bool valid = replies.size() == wanted;
    for (const auto& reply : replies) valid = valid && !reply.empty();
    if (!valid) {
      spdlog::error("smtp session {}: handler returned {} replies for {} expected", info_.id,
                    replies.size(), wanted);
      replies.assign(wanted, SmtpReply(451, "4.3.0", "Error: internal error"));
    }
  }
  bool close = false;
  for (const auto& reply : replies) {
    Reply(reply, false);
    close = close || reply.closes_connection();
  }
  ++info_.transactions;
  junk_commands_ = 0;
  ResetTransaction(false);
  if (message_.capacity() > kKeptMessageCapacity) std::string().swap(message_);
  co_return close ? Flow::kClose : Flow::kContinue;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleStartTls(const SmtpCommandLine& command) {
  if (stream_.tls_active()) {
    Reply(SmtpReply(554, "5.5.1", "Error: TLS already active"));
    co_return Flow::kContinue;
  }
  std::shared_ptr<asio::ssl::context> context = handler_->TlsContext(info_);
  if (!context) {
    Reply(SmtpReply(502, "5.5.1", "Error: command not implemented"));
    co_return Flow::kContinue;
  }
  if (!command.args.empty()) {
    Reply(SmtpReply(501, "5.5.4", "Syntax: STARTTLS"));
    co_return Flow::kContinue;
  }
  SmtpReply decision = co_await handler_->OnStartTls(info_);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  Reply(SmtpReply(220, "2.0.0", "Ready to start TLS"));
  bool flushed = co_await Flush();
  if (!flushed) co_return Flow::kClose;
  // RFC 3207 4.2 / CVE-2011-0411: nothing the client sent before the handshake may count.
  input_.Clear();
  line_reader_.Reset();
  stream_.SetTimeout(options_->command_timeout);
  std::error_code error = co_await stream_.StartTlsServer(std::move(context));
  stream_.ClearTimeout();
  if (error) {
    if (counters_) counters_->tls_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("TLS handshake failed from {}: {}", info_.client_address, error.message());
    stream_.Close();
    co_return Flow::kClose;
  }
  if (counters_) counters_->tls_handshakes.fetch_add(1, std::memory_order_relaxed);
  // RFC 3207 4.2: forget everything learnt from the client before TLS.
  ResetTransaction(true);
  info_.helo.clear();
  info_.esmtp = false;
  info_.auth_user.clear();
  info_.auth_mechanism.clear();
  info_.tls = stream_.tls_info();
  co_return Flow::kContinue;
}

asio::awaitable<std::optional<std::string>> SmtpSession::ReadAuthResponse(
    std::string_view challenge) {
  ReplyRaw(SmtpReply(334, "", challenge));
  LineEvent event = co_await ReadLine();
  if (event.status == ReadStatus::kTooLong) {
    Reply(SmtpReply(500, "5.5.6", "Error: authentication exchange line is too long"));
    co_return std::nullopt;
  }
  if (event.status != ReadStatus::kLine) {
    auth_close_ = true;
    if (event.status == ReadStatus::kTimeout) {
      Reply(SmtpReply(421, "4.4.2", fmt::format("{} Error: timeout exceeded", options_->hostname)),
            false);
    }
    co_return std::nullopt;
  }
  co_return std::string(event.line);
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleAuth(const SmtpCommandLine& command) {
  if (!handler_->OfferAuth(info_)) {
    Reply(SmtpReply(503, "5.5.1", "Error: authentication not enabled"));
    co_return Flow::kContinue;
  }
  if (!info_.auth_user.empty()) {
    Reply(SmtpReply(503, "5.5.1", "Error: already authenticated"));
    co_return Flow::kContinue;
  }
  if (in_transaction_) {
    Reply(SmtpReply(503, "5.5.1", "Error: MAIL transaction in progress"));
    co_return Flow::kContinue;
  }
  std::string_view args = command.args;
  std::size_t space = args.find_first_of(" \t");
  std::string_view mechanism = args.substr(0, space);
  std::optional<std::string> initial;
  if (space != std::string_view::npos) {
    std::string_view rest = args.substr(space + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    initial = std::string(rest == "=" ? std::string_view() : rest);
  }
  std::string mech(mechanism);
  for (char& c : mech) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (mech.empty()) {
    Reply(SmtpReply(501, "5.5.4", "Syntax: AUTH mechanism"));
    co_return Flow::kContinue;
  }
  if (mech != "PLAIN" && mech != "LOGIN") {
    Reply(SmtpReply(504, "5.5.4", "Error: unsupported authentication mechanism"));
    co_return Flow::kContinue;
  }
  auth_close_ = false;
  auto aborted = [this](const std::string& response) {
    if (response != "*") return false;
    Reply(SmtpReply(501, "5.7.0", "Error: authentication aborted"));
    return true;
  };
  auto undecodable = [this] { Reply(SmtpReply(501, "5.5.2", "Error: cannot decode response")); };
  SaslCredentials credentials;
  if (mech == "PLAIN") {
    std::optional<std::string> response = initial;
    if (!response) response = co_await ReadAuthResponse("");
    if (!response) co_return auth_close_ ? Flow::kClose : Flow::kContinue;
    if (aborted(*response)) co_return Flow::kContinue;
    auto decoded = Base64Decode(*response);
    Result<SaslCredentials> parsed = Fail(ErrorCode::kInvalid, "undecodable");
    if (decoded) parsed = ParseSaslPlain(*decoded);
    if (!parsed) {
      undecodable();
      co_return Flow::kContinue;
    }
    credentials = std::move(*parsed);
  } else {
    credentials.mechanism = "LOGIN";
    std::optional<std::string> user = initial;
    if (!user) user = co_await ReadAuthResponse("VXNlcm5hbWU6");  // "Username:"
    if (!user) co_return auth_close_ ? Flow::kClose : Flow::kContinue;
    if (aborted(*user)) co_return Flow::kContinue;
    auto decoded_user = Base64Decode(*user);
    if (!decoded_user || decoded_user->empty()) {
      undecodable();
      co_return Flow::kContinue;
    }
    std::optional<std::string> password = co_await ReadAuthResponse("UGFzc3dvcmQ6");  // "Password:"
    if (!password) co_return auth_close_ ? Flow::kClose : Flow::kContinue;
    if (aborted(*password)) co_return Flow::kContinue;
    auto decoded_password = Base64Decode(*password);
    if (!decoded_password) {
      undecodable();
      co_return Flow::kContinue;
    }
    credentials.username = std::move(*decoded_user);
    credentials.password = std::move(*decoded_password);
  }
  SmtpReply decision = co_await handler_->OnAuth(info_, credentials);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  info_.auth_user = credentials.username;
  info_.auth_mechanism = credentials.mechanism;
  Reply(decision.empty() ? SmtpReply(235, "2.7.0", "Authentication successful") : decision);
  co_return Flow::kContinue;
}

asio::awaitable<SmtpSession::Flow> SmtpSession::HandleXforward(const SmtpCommandLine& command) {
  CountJunk();
  if (in_transaction_) {
    Reply(SmtpReply(503, "5.5.1", "Error: MAIL transaction in progress"));
    co_return Flow::kContinue;
  }
  if (command.args.empty()) {
    Reply(SmtpReply(501, "5.5.4", "Syntax: XFORWARD attribute=value..."));
    co_return Flow::kContinue;
  }
  if (!handler_->AllowXforward(info_)) {
    Reply(SmtpReply(550, "5.7.0", "Error: insufficient authorization"));
    co_return Flow::kContinue;
  }
  auto attributes = ParseXforwardArguments(command.args);
  if (!attributes) {
    Reply(attributes.error());
    co_return Flow::kContinue;
  }
  SmtpReply decision = co_await handler_->OnXforward(info_, *attributes);
  if (!decision.empty() && !decision.positive()) co_return Refuse(decision);
  info_.xforward.Merge(*attributes);
  Reply(decision.empty() ? SmtpReply(250, "2.0.0", "Ok") : decision);
  co_return Flow::kContinue;
}

}  // namespace moat::core
