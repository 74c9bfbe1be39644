// smtpd_handler.cc - moat-mta's smtpd decisions (Postfix smtpd.c's command handlers).
#include "mta/smtpd_handler.h"

// clang-format off
#include <asio/co_spawn.hpp>
#include <asio/ip/address.hpp>
#include <asio/use_awaitable.hpp>
// clang-format on
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mta/mta_metrics.h"
#include "mta/dnsbl_screen.h"
#include "mta/smtpd_policy.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

bool IsLoopback(std::string_view text) {
  auto address = core::IpAddress::Parse(text);
  if (!address) return false;
  if (address->is_v4()) return address->bytes()[0] == 127;
  static const auto kV6Loopback = core::IpAddress::Parse("::1");
  return *address == *kV6Loopback;
}

core::SmtpReply ReplyFromAcceptError(const core::Error& error) {
  if (error.code() == core::ErrorCode::kPermFail) {
    auto parsed = core::SmtpReply::FromString(error.message());
    if (parsed && parsed->permanent()) return *parsed;
    return core::SmtpReply(550, "5.7.1", error.message());
  }
  return core::SmtpReply(451, "4.3.0", "Error: queue file write error");
}

}  // namespace

SmtpdHandler::SmtpdHandler(std::shared_ptr<const SmtpdService> service,
                           std::shared_ptr<const SmtpdRuntime> runtime)
    : service_(std::move(service)), runtime_(std::move(runtime)) {
  limits_key_ = ClientLimits::ServiceKey(service_->settings.service_name);
  state_.metrics = runtime_->metrics;
}

int SmtpdHandler::CountEvent(ClientLimits::Event event) {
  return runtime_->limits->CountEvent(event, limits_key_, *client_ip_,
                                      service_->settings.limits.time_unit);
}

void SmtpdHandler::ResetTransaction() {
  state_.ResetTransaction();
  sender_.clear();
  recipients_.clear();
}

asio::awaitable<core::SmtpReply> SmtpdHandler::OnConnect(const core::SmtpSessionInfo& info) {
  const SmtpdServiceSettings& s = service_->settings;
  if (runtime_->metrics) runtime_->metrics->RecordConnection(s.service_name);
  state_.client_namaddr = fmt::format("{}[{}]", state_.client_name, info.client_address);
  if (!info.unix_socket) client_ip_ = core::IpAddress::Parse(info.client_address);
  if (client_ip_) {
    auto exempt = s.limits.exceptions.Contains(*client_ip_);
    limit_exempt_ = exempt && *exempt;
  }
  if (Limited()) {
    ClientLimits::Counts counts =
        runtime_->limits->Connect(limits_key_, *client_ip_, s.limits.time_unit);
    connection_counted_ = true;
    const char* exceeded = nullptr;
    if (s.limits.connection_count > 0 && counts.connections > s.limits.connection_count) {
      exceeded = "Connection concurrency";
      spdlog::warn("{}: Connection concurrency limit exceeded: {} from {} for service {}",
                   s.syslog_name, counts.connections, state_.client_namaddr, s.service_name);
    } else if (s.limits.connection_rate > 0 && counts.rate > s.limits.connection_rate) {
      exceeded = "Connection rate";
      spdlog::warn("{}: Connection rate limit exceeded: {} from {} for service {}",
                   s.syslog_name, counts.rate, state_.client_namaddr, s.service_name);
    }
    if (exceeded != nullptr) {
      co_return core::SmtpReply(421, "4.7.0",
                                fmt::format("{} Error: too many connections from {}",
                                            s.myhostname, info.client_address));
    }
  }
  spdlog::info("{}: connect from {}", s.syslog_name, state_.client_namaddr);
  if (service_->screen && client_ip_) {
    core::SmtpReply dropped = co_await Screen(info);
    if (!dropped.empty()) co_return dropped;
  }
  if (!s.delay_reject) {
    SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
    core::SmtpReply reply = co_await policy.CheckClient("CONNECT");
    co_return reply;
  }
  co_return core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdHandler::Screen(const core::SmtpSessionInfo& info) {
  const SmtpdServiceSettings& s = service_->settings;
  DnsblClient* client = runtime_->policy.dnsbl;
  std::error_code ec;
  asio::ip::address address = asio::ip::make_address(info.client_address, ec);
  if (client == nullptr || ec) co_return core::SmtpReply();
  DnsblScreen screen(*client, service_->screen);
  // The DNSBL queries share state on the resolver's strand (dnsbl_client.h).
  asio::awaitable<ScreenResult> screening = screen.Screen(address);
  ScreenResult result = co_await asio::co_spawn(client->resolver().executor(),
                                                std::move(screening), asio::use_awaitable);
  if (!result.verdict.log.empty()) {
    spdlog::info("{}: {}: {}", s.syslog_name, state_.client_namaddr, result.verdict.log);
  }
  switch (result.verdict.action) {
    case PolicyAction::kDrop:
      spdlog::info("{}: DISCONNECT {}: {}", s.syslog_name, state_.client_namaddr,
                   result.verdict.reply.ToString());
      co_return result.verdict.reply;
    case PolicyAction::kReject:
    case PolicyAction::kDefer:
      screen_refusal_ = result.verdict.reply;
      break;
    case PolicyAction::kDunno:
    case PolicyAction::kPermit:
      break;
  }
  co_return core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdHandler::OnHelo(const core::SmtpSessionInfo& info,
                                                      const std::string& helo) {
  if (service_->settings.delay_reject) co_return core::SmtpReply();
  SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
  core::SmtpReply reply = co_await policy.CheckHelo(helo, info.esmtp ? "EHLO" : "HELO");
  co_return reply;
}

std::shared_ptr<asio::ssl::context> SmtpdHandler::TlsContext(const core::SmtpSessionInfo&) {
  return service_->tls;
}

bool SmtpdHandler::OfferAuth(const core::SmtpSessionInfo& info) {
  const SmtpdServiceSettings& s = service_->settings;
  if (!s.sasl_enabled || runtime_->passwords == nullptr) return false;
  if (info.tls) return true;
  // Clear-text AUTH: never, except loopback-to-loopback when smtpd_tls_auth_only = no.
  return !s.tls_auth_only && !info.unix_socket && IsLoopback(info.client_address) &&
         IsLoopback(info.local_address);
}

bool SmtpdHandler::AllowXforward(const core::SmtpSessionInfo& info) {
  if (info.unix_socket) return false;
  auto allowed = service_->settings.xforward_hosts.Contains(info.client_address);
  return allowed && *allowed;
}

asio::awaitable<core::SmtpReply> SmtpdHandler::OnAuth(const core::SmtpSessionInfo& info,
                                                      const core::SaslCredentials& credentials) {
  const SmtpdServiceSettings& s = service_->settings;
  if (Limited() && s.limits.auth_rate > 0 &&
      CountEvent(ClientLimits::Event::kAuth) > s.limits.auth_rate) {
    spdlog::warn("{}: AUTH command rate limit exceeded from {} for service {}", s.syslog_name,
                 state_.client_namaddr, s.service_name);
    co_return core::SmtpReply(450, "4.7.1",
                              fmt::format("Error: too many AUTH commands from {}",
                                          info.client_address));
  }
  const core::SmtpReply failed(535, "5.7.8", "Error: authentication failed: authentication failure");
  // Proxy authorization (a PLAIN authzid naming someone else) is not supported.
  if (!credentials.authzid.empty() && credentials.authzid != credentials.username) {
    spdlog::warn("{}: {}: SASL {} authentication failed: authorization identity {} refused",
                 s.syslog_name, state_.client_namaddr, credentials.mechanism,
                 credentials.authzid);
    co_return failed;
  }
  PasswordVerifier::Outcome outcome =
      co_await runtime_->passwords->Verify(s.sasl_password_maps, credentials);
  switch (outcome) {
    case PasswordVerifier::Outcome::kAccepted:
      spdlog::info("{}: {}: sasl_method={}, sasl_username={}", s.syslog_name,
                   state_.client_namaddr, credentials.mechanism, credentials.username);
      co_return core::SmtpReply();
    case PasswordVerifier::Outcome::kRejected:
      spdlog::warn("{}: {}: SASL {} authentication failed: authentication failure, "
                   "sasl_username={}",
                   s.syslog_name, state_.client_namaddr, credentials.mechanism,
                   credentials.username);
      co_return failed;
    case PasswordVerifier::Outcome::kTemporaryFailure:
    case PasswordVerifier::Outcome::kBusy:
      co_return core::SmtpReply(454, "4.7.0", "Temporary authentication failure");
  }
  co_return failed;
}

asio::awaitable<core::SmtpReply> SmtpdHandler::OnMail(const core::SmtpSessionInfo& info,
                                                      const core::MailParams& mail) {
  const SmtpdServiceSettings& s = service_->settings;
  ResetTransaction();
  if (Limited() && s.limits.message_rate > 0 &&
      CountEvent(ClientLimits::Event::kMessage) > s.limits.message_rate) {
    spdlog::warn("{}: Message delivery request rate limit exceeded from {} for service {}",
                 s.syslog_name, state_.client_namaddr, s.service_name);
    co_return core::SmtpReply(450, "4.7.1",
                              fmt::format("Error: too much mail from {}", info.client_address));
  }
  sender_ = InternalizeAddress(mail.sender);
  if (!sender_.empty()) {
    auto status = s.resolver.Resolve(sender_, scratch_address_);
    if (!status) {
      spdlog::warn("{}: resolving <{}>: {}", s.syslog_name, sender_, status.error().message());
      co_return core::SmtpReply(451, "4.3.0", fmt::format("<{}>: Temporary lookup failure", sender_));
    }
    if (scratch_address_.syntax_error) {
      co_return core::SmtpReply(501, "5.1.7", "Bad sender address syntax");
    }
  }
  if (!s.delay_reject) {
    SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
    core::SmtpReply reply = co_await policy.CheckMail(sender_, "MAIL");
    if (!reply.empty()) co_return reply;
  }
  if (s.spf_checks && s.spf_stage == SpfStage::kMail) {
    SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
    core::SmtpReply reply = co_await policy.CheckSpf(sender_, nullptr);
    co_return reply;
  }
  co_return core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdHandler::OnRcpt(const core::SmtpSessionInfo& info,
                                                      const core::SmtpEnvelope& envelope,
                                                      const core::RcptParams& rcpt) {
  const SmtpdServiceSettings& s = service_->settings;
  if (Limited() && s.limits.recipient_rate > 0 &&
      CountEvent(ClientLimits::Event::kRecipient) > s.limits.recipient_rate) {
    spdlog::warn("{}: Recipient address rate limit exceeded from {} for service {}",
                 s.syslog_name, state_.client_namaddr, s.service_name);
    co_return core::SmtpReply(450, "4.7.1", fmt::format("Error: too many recipients from {}",
                                                        info.client_address));
  }
  std::string recipient = InternalizeAddress(rcpt.recipient);
  if (screen_refusal_) {
    spdlog::info("{}: NOQUEUE: reject: RCPT from {}: {}; from=<{}> to=<{}> proto={} helo=<{}>",
                 s.syslog_name, state_.client_namaddr, screen_refusal_->ToString(), sender_,
                 recipient, info.esmtp ? "ESMTP" : "SMTP", info.helo);
    co_return *screen_refusal_;
  }
  auto status = s.resolver.Resolve(recipient, scratch_address_);
  if (!status) {
    spdlog::warn("{}: resolving <{}>: {}", s.syslog_name, recipient, status.error().message());
    co_return core::SmtpReply(451, "4.3.0",
                              fmt::format("<{}>: Temporary lookup failure", recipient));
  }
  if (scratch_address_.syntax_error) {
    co_return core::SmtpReply(501, "5.1.3", "Bad recipient address syntax");
  }
  SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
  core::SmtpReply reply = co_await policy.CheckRcpt(sender_, recipient, envelope.recipients.size());
  if (reply.empty() && s.spf_checks && s.spf_stage == SpfStage::kRcpt) {
    core::SmtpReply spf = co_await policy.CheckSpf(sender_, &recipient);
    reply = std::move(spf);
  }
  if (reply.empty()) recipients_.push_back(std::move(recipient));
  co_return reply;
}

asio::awaitable<core::SmtpReply> SmtpdHandler::OnDataStart(const core::SmtpSessionInfo& info,
                                                           const core::SmtpEnvelope&) {
  SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
  core::SmtpReply reply = co_await policy.CheckData(sender_, recipients_);
  co_return reply;
}

asio::awaitable<std::vector<core::SmtpReply>> SmtpdHandler::OnMessage(
    const core::SmtpSessionInfo& info, const core::SmtpEnvelope& envelope, std::string& message) {
  const SmtpdServiceSettings& s = service_->settings;
  std::vector<core::SmtpReply> replies;
  {
    SmtpdPolicy policy(*service_, info, state_, runtime_->policy);
    core::SmtpReply reply = co_await policy.CheckEndOfData(sender_, recipients_);
    if (!reply.empty()) {
      ResetTransaction();
      replies.push_back(std::move(reply));
      co_return replies;
    }
  }
  if (!runtime_->acceptor) {
    spdlog::error("{}: no queue in this process: message from {} deferred", s.syslog_name,
                  state_.client_namaddr);
    ResetTransaction();
    replies.emplace_back(451, "4.3.0", "Error: queue file write error");
    co_return replies;
  }
  if (state_.redirect) {
    spdlog::warn("{}: REDIRECT {} for the message from {} is recorded but not carried out: the "
                 "hand-off to cleanup has no redirect field yet",
                 s.syslog_name, *state_.redirect, state_.client_namaddr);
  }
  IncomingMessage incoming;
  incoming.service = s.service_name;
  incoming.session = info;
  incoming.envelope = envelope;
  incoming.content = std::move(message);
  incoming.actions = std::move(state_.actions);
  incoming.content_filter = s.content_filter;
  incoming.receive_override_options = s.receive_override_options;
  const std::size_t recipient_count = envelope.recipients.size();
  ResetTransaction();
  auto accepted = co_await runtime_->acceptor->Accept(std::move(incoming));
  if (!accepted) {
    spdlog::warn("{}: message from {} not queued: {}", s.syslog_name, state_.client_namaddr,
                 accepted.error().ToString());
    replies.push_back(ReplyFromAcceptError(accepted.error()));
    co_return replies;
  }
  if (accepted->discarded) {
    spdlog::info("{}: {}: discarded", s.syslog_name, state_.client_namaddr);
    replies.emplace_back(250, "2.0.0", "Ok: discarded");
    co_return replies;
  }
  spdlog::info("{}: {}: client={}, nrcpt={}", s.syslog_name, accepted->queue_id,
               state_.client_namaddr, recipient_count);
  replies.emplace_back(250, "2.0.0", fmt::format("Ok: queued as {}", accepted->queue_id));
  co_return replies;
}

void SmtpdHandler::OnTransactionAborted(const core::SmtpSessionInfo&) { ResetTransaction(); }

void SmtpdHandler::OnDisconnect(const core::SmtpSessionInfo&) {
  if (connection_counted_) runtime_->limits->Disconnect(limits_key_, *client_ip_);
  spdlog::info("{}: disconnect from {}", service_->settings.syslog_name, state_.client_namaddr);
}

}  // namespace moat::mta
