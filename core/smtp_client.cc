// smtp_client.cc - SMTP/LMTP client: connection set-up and mail transactions.
#include "core/smtp_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/use_awaitable.hpp>

#include "core/smtp_command.h"

// GCC 12 reports asio's recycling coroutine-frame allocator (aligned_alloc + sized delete)
// as mismatched new/delete when it inlines both; a known false positive (GCC bug 109224).
// GCC 12 also miscompiled `co_return co_await f()` and co_await inside conditions here (the
// callee's frame was left uninitialised), so awaited results always go to a named variable.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::core {
namespace {

constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
// Message bytes per write while sending DATA.
constexpr std::size_t kChunk = 64 * 1024;
// Longest reply line accepted from a server (RFC 5321 says 512; be generous, stay bounded).
constexpr std::size_t kMaxReplyLine = 8192;

constexpr std::string_view kStageGreeting = "receiving the initial server greeting";
constexpr std::string_view kStageEndOfData =
    "sending end of data -- message may be sent more than once";

}  // namespace

std::size_t SmtpDeliveryResult::delivered() const {
  std::size_t count = 0;
  for (const auto& reply : replies) count += reply.code() / 100 == 2;
  return count;
}

SmtpClient::SmtpClient(asio::any_io_executor executor, SmtpClientOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      input_(std::max<std::size_t>(options_.read_buffer_size, 2 * kMaxReplyLine)),
      line_reader_(kMaxReplyLine) {
  out_.reserve(4096);
}

SmtpClient::~SmtpClient() { Close(); }

void SmtpClient::Close() {
  ready_ = false;
  if (stream_) stream_->Close();
}

std::optional<SmtpTlsInfo> SmtpClient::tls() const {
  if (stream_ && stream_->tls_active()) return stream_->tls_info();
  return std::nullopt;
}

SmtpReply SmtpClient::Failure(std::string_view enhanced, std::string_view text) const {
  return SmtpReply(421, enhanced, text);
}

void SmtpClient::Break(SmtpReply reason) {
  failure_ = std::move(reason);
  ready_ = false;
  if (stream_) stream_->Close();
}

asio::awaitable<bool> SmtpClient::WriteOut(std::chrono::milliseconds timeout,
                                           std::string_view stage) {
  stream_->SetTimeout(timeout);
  std::error_code error = co_await stream_->Write(out_);
  bool timed_out = stream_->timed_out();
  stream_->ClearTimeout();
  out_.clear();
  if (!error) co_return true;
  Break(timed_out
            ? Failure("4.4.2",
                      fmt::format("conversation with {} timed out while {}", peer_name_, stage))
            : Failure("4.4.2", fmt::format("lost connection with {} while {}", peer_name_, stage)));
  co_return false;
}

asio::awaitable<std::optional<SmtpReply>> SmtpClient::ReadReply(std::chrono::milliseconds timeout,
                                                                std::string_view stage) {
  parser_.Reset();
  while (true) {
    SmtpLineReader::Result line = line_reader_.Next(input_);
    if (line.status == SmtpLineReader::Status::kLine) {
      SmtpReplyParser::State state = parser_.Feed(line.line);
      if (state == SmtpReplyParser::State::kDone) {
        SmtpReply reply = parser_.Take();
        if (first_reply_code_ == 0) first_reply_code_ = reply.code();
        if (reply.closes_connection()) saw_421_ = true;
        co_return reply;
      }
      if (state == SmtpReplyParser::State::kError) {
        Break(Failure("4.5.0", fmt::format("protocol error with {} while {}: {}", peer_name_, stage,
                                           parser_.error())));
        co_return std::nullopt;
      }
      continue;
    }
    if (line.status == SmtpLineReader::Status::kTooLong) {
      Break(Failure("4.5.0", fmt::format("protocol error with {} while {}: reply line too long",
                                         peer_name_, stage)));
      co_return std::nullopt;
    }
    stream_->SetTimeout(timeout);
    SmtpIoResult io = co_await stream_->ReadSome(input_.PrepareRead());
    bool timed_out = stream_->timed_out();
    stream_->ClearTimeout();
    if (io.error) {
      Break(timed_out ? Failure("4.4.2", fmt::format("conversation with {} timed out while {}",
                                                     peer_name_, stage))
                      : Failure("4.4.2", fmt::format("lost connection with {} while {}", peer_name_,
                                                     stage)));
      co_return std::nullopt;
    }
    input_.CommitRead(io.bytes);
  }
}

asio::awaitable<std::optional<SmtpReply>> SmtpClient::Command(std::string_view line,
                                                              std::chrono::milliseconds timeout,
                                                              std::string_view stage) {
  out_.assign(line);
  bool written = co_await WriteOut(timeout, stage);
  if (!written) co_return std::nullopt;
  std::optional<SmtpReply> reply = co_await ReadReply(timeout, stage);
  co_return reply;
}

asio::awaitable<SmtpReply> SmtpClient::Connect(const SmtpEndpoint& peer) {
  Close();
  stream_.reset();
  failure_ = SmtpReply();
  greeting_ = SmtpReply();
  capabilities_ = SmtpCapabilities();
  saw_421_ = false;
  transactions_ = 0;
  SmtpReply out;
  co_await ConnectBody(peer, out);
  if (out.positive() && stream_ && stream_->is_open()) {
    ready_ = true;
  } else {
    failure_ = out;  // what a Send() on this closed client reports
    Close();
  }
  co_return out;
}

asio::awaitable<void> SmtpClient::ConnectBody(SmtpEndpoint peer, SmtpReply& out) {
  server_name_ = options_.tls_server_name.empty() ? peer.host : options_.tls_server_name;
  bool plain_only = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    stream_ = std::make_unique<SmtpStream>(SmtpStream::Socket(executor_));
    input_.Clear();
    line_reader_.Reset();
    bool retry_plain = false;
    bool opened = co_await OpenSocket(peer, out);
    if (!opened) co_return;
    co_await stream_->RunGuarded(HandshakeBody(plain_only, out, retry_plain));
    if (!retry_plain) co_return;
    // TLS "may": a failed handshake falls back to a new plain-text connection, as Postfix does.
    spdlog::info("TLS handshake with {} failed; retrying without TLS", peer_name_);
    stream_->Close();
    plain_only = true;
  }
}

asio::awaitable<bool> SmtpClient::OpenSocket(const SmtpEndpoint& peer, SmtpReply& out) {
  std::vector<std::pair<asio::generic::stream_protocol::endpoint, std::string>> addresses;
  if (peer.kind == SmtpEndpoint::Kind::kUnix) {
    addresses.emplace_back(asio::local::stream_protocol::endpoint(peer.path), "unix:" + peer.path);
  } else {
    if (peer.host.empty()) {
      out = Failure("4.4.3", fmt::format("no host given for {}", peer.ToString()));
      co_return false;
    }
    asio::ip::tcp::resolver resolver(executor_);
    auto [error, results] = co_await resolver.async_resolve(peer.host, peer.port, kUseTuple);
    if (error) {
      out = Failure("4.4.3", fmt::format("host or domain name not found: {}: {}", peer.host,
                                         error.message()));
      co_return false;
    }
    for (const auto& entry : results) {
      // Postfix's "name[address]:port" form.
      SmtpSocketAddress address = DescribeEndpoint(entry.endpoint());
      addresses.emplace_back(entry.endpoint(),
                             fmt::format("{}[{}]:{}", peer.host, address.address, address.port));
    }
  }
  std::error_code last_error = asio::error::host_not_found;
  for (const auto& [address, label] : addresses) {
    peer_name_ = label;
    bool connected = false;
    // Each address gets its own connect timeout (smtp_connect_timeout).
    auto attempt = [&]() -> asio::awaitable<void> {
      stream_->SetTimeout(options_.timeouts.connect);
      last_error = co_await stream_->Connect(address);
      if (stream_->timed_out()) last_error = asio::error::timed_out;
      stream_->ClearTimeout();
      connected = !last_error;
    };
    co_await stream_->RunGuarded(attempt());
    if (connected) co_return true;
  }
  out = Failure("4.4.1", fmt::format("connect to {}: {}", peer_name_, last_error.message()));
  co_return false;
}

asio::awaitable<std::optional<SmtpReply>> SmtpClient::Hello() {
  bool lmtp = options_.mode == SmtpMode::kLmtp;
  std::string line = fmt::format("{} {}\r\n", lmtp ? "LHLO" : "EHLO", options_.helo_name);
  std::string_view stage = lmtp ? "performing the LHLO handshake" : "performing the EHLO handshake";
  auto reply = co_await Command(line, options_.timeouts.helo, stage);
  if (!reply) co_return std::nullopt;
  if (reply->positive()) {
    capabilities_ = ParseEhloReply(*reply);
    co_return reply;
  }
  if (lmtp || !reply->permanent()) co_return reply;
  // An SMTP server that does not know EHLO: plain HELO, no extensions.
  auto helo = co_await Command(fmt::format("HELO {}\r\n", options_.helo_name),
                               options_.timeouts.helo, "performing the HELO handshake");
  if (helo && helo->positive()) capabilities_ = SmtpCapabilities();
  co_return helo;
}

asio::awaitable<std::optional<SmtpReply>> SmtpClient::Authenticate() {
  const SaslCredentials& credentials = *options_.auth;
  std::optional<SmtpReply> reply;
  if (capabilities_.HasAuth("PLAIN")) {
    std::string line = fmt::format(
        "AUTH PLAIN {}\r\n",
        EncodeSaslPlain(credentials.authzid, credentials.username, credentials.password));
    reply = co_await Command(line, options_.timeouts.auth, "authenticating");
  } else if (capabilities_.HasAuth("LOGIN")) {
    reply = co_await Command("AUTH LOGIN\r\n", options_.timeouts.auth, "authenticating");
    if (reply && reply->code() == 334) {
      reply = co_await Command(Base64Encode(credentials.username) + "\r\n", options_.timeouts.auth,
                               "authenticating");
    }
    if (reply && reply->code() == 334) {
      reply = co_await Command(Base64Encode(credentials.password) + "\r\n", options_.timeouts.auth,
                               "authenticating");
    }
  } else {
    // Postfix goes on without AUTH when the server offers no mechanism it can use.
    spdlog::warn("{} offers no AUTH mechanism we support; sending without authentication",
                 peer_name_);
    co_return SmtpReply(250, "2.0.0", "no authentication");
  }
  if (!reply) co_return std::nullopt;
  if (reply->code() == 235) co_return reply;
  // smtp_sasl_auth_soft_bounce: an authentication failure defers mail instead of bouncing it.
  co_return SmtpReply(
      454, "4.7.0",
      fmt::format("SASL authentication failed; server {} said: {}", peer_name_, reply->ToString()));
}

asio::awaitable<void> SmtpClient::HandshakeBody(bool plain_only, SmtpReply& out,
                                                bool& retry_plain) {
  auto greeting = co_await ReadReply(options_.timeouts.helo, kStageGreeting);
  if (!greeting) {
    out = failure_;
    co_return;
  }
  greeting_ = *greeting;
  if (greeting->code() != 220) {
    out = *greeting;
    co_return;
  }
  auto hello = co_await Hello();
  if (!hello) {
    out = failure_;
    co_return;
  }
  if (!hello->positive()) {
    out = *hello;
    co_return;
  }
  if (options_.tls != SmtpTlsPolicy::kNone && !plain_only) {
    bool required = options_.tls != SmtpTlsPolicy::kMay;
    if (!capabilities_.starttls) {
      if (required) {
        out = Failure("4.7.4",
                      fmt::format("TLS is required, but was not offered by host {}", peer_name_));
        co_return;
      }
    } else {
      auto reply = co_await Command("STARTTLS\r\n", options_.timeouts.starttls, "sending STARTTLS");
      if (!reply) {
        out = failure_;
        co_return;
      }
      if (reply->code() != 220) {
        if (required) {
          out =
              Failure("4.7.4", fmt::format("TLS is required, but host {} refused to start TLS: {}",
                                           peer_name_, reply->ToString()));
          co_return;
        }
      } else {
        if (!options_.tls_context) {
          auto context = MakeTlsClientContext(TlsClientSettings{});
          if (!context) {
            out = Failure("4.7.0", fmt::format("TLS set-up failed: {}", context.error().message()));
            co_return;
          }
          options_.tls_context = *context;
        }
        input_.Clear();
        line_reader_.Reset();
        stream_->SetTimeout(options_.timeouts.starttls);
        std::error_code error = co_await stream_->StartTlsClient(
            options_.tls_context, server_name_, options_.tls == SmtpTlsPolicy::kVerify);
        bool timed_out = stream_->timed_out();
        stream_->ClearTimeout();
        if (error) {
          if (options_.tls == SmtpTlsPolicy::kMay) {
            retry_plain = true;
            co_return;
          }
          std::string verify = stream_->tls_verify_error();
          out = !verify.empty()
                    ? Failure("4.7.5", fmt::format("Server certificate not trusted: {}: {}",
                                                   peer_name_, verify))
                    : Failure("4.7.0", fmt::format("TLS handshake with {} failed: {}", peer_name_,
                                                   timed_out ? "timeout" : error.message()));
          Break(out);
          co_return;
        }
        hello = co_await Hello();  // RFC 3207: everything learnt before TLS is void
        if (!hello) {
          out = failure_;
          co_return;
        }
        if (!hello->positive()) {
          out = *hello;
          co_return;
        }
      }
    }
  }
  if (options_.auth) {
    auto auth = co_await Authenticate();
    if (!auth) {
      out = failure_;
      co_return;
    }
    if (!auth->positive()) {
      out = *auth;
      co_return;
    }
  }
  out = *hello;
}

asio::awaitable<SmtpDeliveryResult> SmtpClient::Send(const SmtpTransaction& transaction) {
  SmtpDeliveryResult result;
  result.replies.assign(transaction.recipients.size(), SmtpReply());
  if (!ready_ || !stream_ || !stream_->is_open()) {
    SmtpReply why =
        !failure_.empty()
            ? failure_
            : Failure("4.4.2", fmt::format("not connected to {}",
                                           peer_name_.empty() ? "a server" : peer_name_));
    result.replies.assign(transaction.recipients.size(), why);
    result.connection_failed = true;
    co_return result;
  }
  co_await stream_->RunGuarded(SendBody(transaction, result));
  co_return result;
}

asio::awaitable<void> SmtpClient::SendBody(const SmtpTransaction& tx, SmtpDeliveryResult& result) {
  const std::size_t count = tx.recipients.size();
  const bool reused = transactions_ > 0;
  first_reply_code_ = 0;
  auto fail_remaining = [&](const SmtpReply& why) {
    for (auto& reply : result.replies) {
      if (reply.empty()) reply = why;
    }
    result.connection_failed = true;
    // Nothing of this transaction was answered, or only by the 421 an idle-timed-out server
    // sends before closing: the transaction never started.
    result.retry_on_new_connection = reused && (first_reply_code_ == 0 || first_reply_code_ == 421);
  };
  ready_ = false;
  if (reused && stream_->Available() > 0) {
    // Unsolicited input on an idle connection: the server said goodbye (421) while we waited.
    Break(Failure("4.4.2", fmt::format("connection with {} was closed by the server while idle",
                                       peer_name_)));
    fail_remaining(failure_);
    co_return;
  }
  if (count == 0) {
    ready_ = true;
    co_return;
  }
  if (capabilities_.size && capabilities_.size_limit > 0 &&
      tx.message.size() > capabilities_.size_limit) {
    result.replies.assign(
        count, SmtpReply(552, "5.3.4",
                         fmt::format("message size {} exceeds size limit {} of server {}",
                                     tx.message.size(), capabilities_.size_limit, peer_name_)));
    ready_ = true;
    co_return;
  }
  if (tx.mail.smtputf8 && !capabilities_.smtputf8) {
    result.replies.assign(
        count,
        SmtpReply(550, "5.6.7",
                  fmt::format("SMTPUTF8 is required, but was not offered by host {}", peer_name_)));
    ready_ = true;
    co_return;
  }

  SmtpExtensionSet offered;
  offered.size = capabilities_.size;
  offered.eight_bit_mime = capabilities_.eight_bit_mime;
  offered.dsn = capabilities_.dsn;
  offered.smtputf8 = capabilities_.smtputf8;
  offered.auth = !capabilities_.auth_mechanisms.empty();
  MailParams mail = tx.mail;
  if (!mail.size) mail.size = tx.message.size();

  const bool pipelined = options_.use_pipelining && capabilities_.pipelining;
  std::string xforward;
  int xforward_lines = 0;
  if (options_.send_xforward && !capabilities_.xforward_attributes.empty() &&
      !tx.xforward.empty()) {
    xforward_lines =
        AppendXforwardCommands(tx.xforward, capabilities_.xforward_attributes, xforward);
  }

  std::optional<SmtpReply> mail_reply;
  std::vector<std::size_t> accepted;
  std::optional<SmtpReply> data_reply;
  bool mail_failed = false;
  auto take_rcpt_reply = [&](std::size_t i, const SmtpReply& reply) {
    if (mail_failed) return;
    if (reply.positive()) {
      accepted.push_back(i);
    } else {
      result.replies[i] = reply;
    }
  };

  if (pipelined) {
    out_ = std::move(xforward);
    AppendMailCommand(mail, offered, out_);
    for (const auto& rcpt : tx.recipients) AppendRcptCommand(rcpt, offered, out_);
    out_.append("DATA\r\n");
    bool written = co_await WriteOut(options_.timeouts.mail, "sending MAIL FROM");
    if (!written) {
      fail_remaining(failure_);
      co_return;
    }
    for (int i = 0; i < xforward_lines; ++i) {
      auto reply = co_await ReadReply(options_.timeouts.xforward, "sending XFORWARD");
      if (!reply) {
        fail_remaining(failure_);
        co_return;
      }
      if (!reply->positive())
        spdlog::warn("{} refused XFORWARD: {}", peer_name_, reply->ToString());
    }
    mail_reply = co_await ReadReply(options_.timeouts.mail, "sending MAIL FROM");
    if (!mail_reply) {
      fail_remaining(failure_);
      co_return;
    }
    result.mail_reply = *mail_reply;
    mail_failed = !mail_reply->positive();
    if (mail_failed) result.replies.assign(count, *mail_reply);
    for (std::size_t i = 0; i < count; ++i) {
      auto reply = co_await ReadReply(options_.timeouts.rcpt, "sending RCPT TO");
      if (!reply) {
        fail_remaining(failure_);
        co_return;
      }
      take_rcpt_reply(i, *reply);
    }
    data_reply = co_await ReadReply(options_.timeouts.data_init, "sending DATA command");
    if (!data_reply) {
      fail_remaining(failure_);
      co_return;
    }
  } else {
    // One command at a time; XFORWARD lines too.
    std::size_t start = 0;
    for (int i = 0; i < xforward_lines; ++i) {
      std::size_t end = xforward.find("\r\n", start) + 2;
      auto reply = co_await Command(std::string_view(xforward).substr(start, end - start),
                                    options_.timeouts.xforward, "sending XFORWARD");
      start = end;
      if (!reply) {
        fail_remaining(failure_);
        co_return;
      }
      if (!reply->positive())
        spdlog::warn("{} refused XFORWARD: {}", peer_name_, reply->ToString());
    }
    out_.clear();
    AppendMailCommand(mail, offered, out_);
    std::string line = std::move(out_);
    mail_reply = co_await Command(line, options_.timeouts.mail, "sending MAIL FROM");
    if (!mail_reply) {
      fail_remaining(failure_);
      co_return;
    }
    result.mail_reply = *mail_reply;
    if (!mail_reply->positive()) {
      result.replies.assign(count, *mail_reply);
      ready_ = !saw_421_;
      co_return;
    }
    for (std::size_t i = 0; i < count; ++i) {
      line.clear();
      AppendRcptCommand(tx.recipients[i], offered, line);
      auto reply = co_await Command(line, options_.timeouts.rcpt, "sending RCPT TO");
      if (!reply) {
        fail_remaining(failure_);
        co_return;
      }
      take_rcpt_reply(i, *reply);
    }
    if (accepted.empty()) {
      ready_ = co_await SendRset();
      co_return;
    }
    data_reply = co_await Command("DATA\r\n", options_.timeouts.data_init, "sending DATA command");
    if (!data_reply) {
      fail_remaining(failure_);
      co_return;
    }
  }

  if (mail_failed || accepted.empty()) {
    if (data_reply->code() == 354) {
      // A server that says 354 with no valid recipient: sending the dot would deliver an empty
      // message somewhere, so drop the connection instead.
      Break(Failure("4.5.0", fmt::format("protocol error with {}: DATA accepted without recipients",
                                         peer_name_)));
      fail_remaining(failure_);
      co_return;
    }
    if (mail_failed) {
      ready_ = !saw_421_;
    } else {
      ready_ = co_await SendRset();
    }
    co_return;
  }
  if (data_reply->code() != 354) {
    for (std::size_t i : accepted) result.replies[i] = *data_reply;
    result.data_reply = *data_reply;
    ready_ = co_await SendRset();
    co_return;
  }

  stuffer_.Reset();
  std::string_view rest = tx.message;
  out_.clear();
  while (true) {
    std::size_t take = std::min(rest.size(), kChunk);
    stuffer_.Encode(rest.substr(0, take), out_);
    rest.remove_prefix(take);
    if (rest.empty()) stuffer_.Finish(out_);
    if (rest.empty() || out_.size() >= kChunk) {
      bool written = co_await WriteOut(options_.timeouts.data_xfer, "sending message body");
      if (!written) {
        fail_remaining(failure_);
        co_return;
      }
    }
    if (rest.empty()) break;
  }

  if (options_.mode == SmtpMode::kLmtp) {
    for (std::size_t i : accepted) {
      auto reply = co_await ReadReply(options_.timeouts.data_done, kStageEndOfData);
      if (!reply) {
        fail_remaining(failure_);
        co_return;
      }
      result.replies[i] = *reply;
    }
  } else {
    auto reply = co_await ReadReply(options_.timeouts.data_done, kStageEndOfData);
    if (!reply) {
      fail_remaining(failure_);
      co_return;
    }
    for (std::size_t i : accepted) result.replies[i] = *reply;
    result.data_reply = *reply;
  }
  ++transactions_;
  ready_ = !saw_421_;
  if (saw_421_) Close();
}

asio::awaitable<bool> SmtpClient::SendRset() {
  if (saw_421_) {
    Close();
    co_return false;
  }
  auto reply = co_await Command("RSET\r\n", options_.timeouts.rset, "sending RSET");
  if (!reply) co_return false;
  if (!reply->positive()) {
    Break(*reply);
    co_return false;
  }
  co_return true;
}

asio::awaitable<SmtpReply> SmtpClient::Reset() {
  if (!ready_ || !stream_)
    co_return failure_.empty() ? Failure("4.4.2", "not connected") : failure_;
  SmtpReply out;
  co_await stream_->RunGuarded(ResetBody(out));
  co_return out;
}

asio::awaitable<void> SmtpClient::ResetBody(SmtpReply& out) {
  ready_ = false;
  auto reply = co_await Command("RSET\r\n", options_.timeouts.rset, "sending RSET");
  if (!reply) {
    out = failure_;
    co_return;
  }
  out = *reply;
  ready_ = reply->positive() && !saw_421_;
  if (!ready_) Close();
}

asio::awaitable<void> SmtpClient::Quit() {
  if (stream_ && stream_->is_open()) {
    co_await stream_->RunGuarded(QuitBody());
  }
  Close();
}

asio::awaitable<void> SmtpClient::QuitBody() {
  ready_ = false;
  co_await Command("QUIT\r\n", options_.timeouts.quit, "sending QUIT");
}

}  // namespace moat::core
