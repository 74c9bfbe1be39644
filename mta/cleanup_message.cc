// cleanup_message.cc - the cleanup pipeline: envelope rewriting, content pass, decisions.
#include "mta/cleanup_message.h"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mta/cleanup_address.h"
#include "mta/cleanup_address_map.h"
#include "mta/cleanup_content.h"
#include "mta/cleanup_received.h"

namespace moat::mta {
namespace {

using core::ErrorCode;

struct OverrideOptions {
  bool no_header_body_checks = false;
  bool no_address_mappings = false;
};

OverrideOptions ParseOverrides(const std::vector<std::string>& options) {
  OverrideOptions result;
  for (const std::string& option : options) {
    std::string lower = Lowercase(option);
    if (lower == "no_header_body_checks") result.no_header_body_checks = true;
    if (lower == "no_address_mappings") result.no_address_mappings = true;
    // no_unknown_recipient_checks is smtpd's; no_milters has nothing to switch off here.
  }
  return result;
}

// Drops repeated recipients the way Postfix's been_here does, up to a bound.
class DuplicateFilter {
 public:
  DuplicateFilter(int64_t limit, bool with_original) : limit_(limit), original_(with_original) {}
  bool Seen(const QueueRecipient& r) {
    std::string key = original_ ? fmt::format("{}\n{}\n{}\n{}\n{}", r.orcpt_type, r.orcpt,
                                              r.notify, r.original, r.address)
                                : r.address;
    if (seen_.count(key)) return true;
    if (limit_ == 0 || static_cast<int64_t>(seen_.size()) < limit_) seen_.insert(std::move(key));
    return false;
  }

 private:
  int64_t limit_;
  bool original_;
  std::set<std::string> seen_;
};

// Appends the virtual expansion of one (already canonicalized) recipient.
core::Status AddRecipient(const AddressMapper& mapper, bool map, std::string address,
                          QueueRecipient model, DuplicateFilter& duplicates,
                          std::vector<QueueRecipient>& out) {
  std::vector<std::string> expanded{address};
  if (map) {
    auto result = mapper.ExpandVirtual(address);
    if (!result) return std::unexpected(result.error());
    expanded = std::move(*result);
  }
  if ((model.notify & core::dsn_notify::kSuccess) &&
      (expanded.size() > 1 || expanded[0] != address)) {
    // RFC 3461 option (b), as Postfix: the alias expansion is where SUCCESS is reported.
    model.notify = model.notify == core::dsn_notify::kSuccess
                       ? core::dsn_notify::kNever
                       : model.notify & ~core::dsn_notify::kSuccess;
  }
  for (std::string& e : expanded) {
    QueueRecipient r = model;
    r.address = std::move(e);
    if (!duplicates.Seen(r)) out.push_back(std::move(r));
  }
  return {};
}

bool ClientMatchesRule(const RewriteClientRule& rule, const CleanupSettings& settings,
                       const core::SmtpSessionInfo& session) {
  using Kind = RewriteClientRule::Kind;
  switch (rule.kind) {
    case Kind::kAll:
      return true;
    case Kind::kSaslAuthenticated:
      return !session.auth_user.empty();
    case Kind::kTlsClientCerts:
      return session.tls && session.tls->peer_verified;
    case Kind::kMynetworks: {
      auto in = settings.mynetworks.Contains(session.client_address);
      return in && *in;
    }
    case Kind::kInetInterfaces: {
      if (session.unix_socket) return true;
      auto ip = core::IpAddress::Parse(session.client_address);
      if (!ip) return false;
      for (const core::IpAddress& local : settings.interface_addresses) {
        if (local == *ip) return true;
      }
      return false;
    }
    case Kind::kAddressMap: {
      auto found = rule.table->Lookup(session.client_address);
      return found && found->has_value();
    }
  }
  return false;
}

HeaderRewriteContext RewriteContextFor(const CleanupSettings& settings,
                                       const core::SmtpSessionInfo& session) {
  for (const RewriteClientRule& rule : settings.local_header_rewrite_clients) {
    if (ClientMatchesRule(rule, settings, session)) return HeaderRewriteContext::kLocal;
  }
  if (!settings.remote_header_rewrite_domain.empty()) return HeaderRewriteContext::kRemote;
  return HeaderRewriteContext::kNone;
}

std::string_view ContextName(HeaderRewriteContext context) {
  switch (context) {
    case HeaderRewriteContext::kLocal:
      return "local";
    case HeaderRewriteContext::kRemote:
      return "remote";
    case HeaderRewriteContext::kNone:
      break;
  }
  return "";
}

QueueAttributes AttributesFor(const IncomingMessage& message) {
  const core::SmtpSessionInfo& session = message.session;
  const core::XforwardAttributes& x = session.xforward;
  QueueAttributes a;
  a.service = message.service;
  // What the next hop should hear through XFORWARD: the original client when this session
  // forwarded one (a content filter reinjecting), else the session's own client.
  a.client_name = core::XforwardValueAvailable(x.name) ? *x.name : "unknown";
  a.client_address =
      core::XforwardValueAvailable(x.addr) ? *x.addr : session.client_address;
  a.client_port = core::XforwardValueAvailable(x.port) ? *x.port
                                                       : std::to_string(session.client_port);
  a.helo = core::XforwardValueAvailable(x.helo) ? *x.helo : session.helo;
  a.protocol = core::XforwardValueAvailable(x.proto) ? *x.proto : ReceivedProtocol(session);
  if (core::XforwardValueAvailable(x.ident)) a.log_ident = *x.ident;
  a.sasl_method = session.auth_mechanism;
  a.sasl_username = session.auth_user;
  if (session.tls) {
    a.tls_protocol = session.tls->protocol;
    a.tls_cipher = session.tls->cipher;
  }
  a.envid = message.envelope.mail.envid;
  a.ret = message.envelope.mail.ret;
  a.body = message.envelope.mail.body;
  a.smtputf8 = message.envelope.mail.smtputf8;
  return a;
}

}  // namespace

core::Result<CleanupOutcome> Cleanup::Process(const IncomingMessage& message,
                                              std::string_view queue_id,
                                              std::chrono::system_clock::time_point arrival) const {
  const CleanupSettings& s = *settings_;
  OverrideOptions overrides = ParseOverrides(message.receive_override_options);
  bool map = !overrides.no_address_mappings;
  AddressMapper mapper(s);
  CleanupOutcome outcome;
  QueueEnvelope& envelope = outcome.envelope;
  envelope.arrival_us =
      std::chrono::duration_cast<std::chrono::microseconds>(arrival.time_since_epoch()).count();
  envelope.attributes = AttributesFor(message);

  if (message.actions.discard) {
    spdlog::info("{}: discard: smtpd: {}", queue_id, message.actions.discard_reason);
    outcome.discarded = true;
    outcome.discard_reason = message.actions.discard_reason;
    return outcome;
  }

  // 1. Sender.
  const std::string& sender = message.envelope.mail.sender;
  if (map) {
    auto rewritten = mapper.RewriteEnvelopeSender(sender);
    if (!rewritten) return std::unexpected(rewritten.error());
    envelope.sender = std::move(*rewritten);
  } else {
    envelope.sender = mapper.Qualify(sender);
  }

  // 2. Recipients.
  DuplicateFilter duplicates(s.duplicate_filter_limit, s.enable_original_recipient);
  for (const core::RcptParams& rcpt : message.envelope.recipients) {
    QueueRecipient model;
    model.original = rcpt.recipient;
    model.notify = rcpt.notify;
    model.orcpt_type = rcpt.orcpt_type;
    model.orcpt = rcpt.orcpt;
    std::string address;
    if (map) {
      auto rewritten = mapper.RewriteEnvelopeRecipient(rcpt.recipient);
      if (!rewritten) return std::unexpected(rewritten.error());
      address = std::move(*rewritten);
    } else {
      address = mapper.Qualify(rcpt.recipient.empty() ? s.empty_address_recipient
                                                      : rcpt.recipient);
    }
    if (auto added = AddRecipient(mapper, map, std::move(address), std::move(model), duplicates,
                                  envelope.recipients);
        !added) {
      return std::unexpected(added.error());
    }
  }

  // 3. Content.
  HeaderRewriteContext context = RewriteContextFor(s, message.session);
  envelope.attributes.rewrite_context = std::string(ContextName(context));
  std::string input;
  input.reserve(message.content.size() + 1024);
  for (const std::string& header : message.actions.prepend_headers) {
    input.append(header).append("\r\n");
  }
  ReceivedFields received;
  received.helo = message.session.helo;
  received.client_address = message.session.client_address;
  received.protocol = ReceivedProtocol(message.session);
  received.myhostname = s.myhostname;
  received.mail_name = s.mail_name;
  received.queue_id = std::string(queue_id);
  if (message.envelope.recipients.size() == 1) {
    received.single_recipient = message.envelope.recipients[0].recipient;
  }
  if (s.tls_received_header && message.session.tls) {
    received.tls_protocol = message.session.tls->protocol;
    received.tls_cipher = message.session.tls->cipher;
    received.tls_bits = message.session.tls->cipher_bits;
  }
  if (s.sasl_authenticated_header) received.sasl_user = message.session.auth_user;
  received.date = arrival;
  input.append(BuildReceivedHeader(received));
  input.append(message.content);

  ContentCheckState checks;
  checks.log_prefix = fmt::format("{}: ", queue_id);
  checks.log_suffix = fmt::format(" from {}[{}]; from=<{}> to=<{}> proto={} helo=<{}>",
                                  envelope.attributes.client_name,
                                  message.session.client_address, sender,
                                  message.envelope.recipients.empty()
                                      ? std::string("unknown")
                                      : message.envelope.recipients[0].recipient,
                                  received.protocol, message.session.helo);
  ContentInput content_input;
  content_input.checks_enabled = !overrides.no_header_body_checks;
  content_input.rewrite = context;
  content_input.add_missing_headers =
      context != HeaderRewriteContext::kNone || s.always_add_missing_headers;
  content_input.queue_id = std::string(queue_id);
  content_input.sender = envelope.sender;
  content_input.arrival = arrival;
  auto content = ProcessContent(input, content_input, s, mapper, checks);
  if (!content) return std::unexpected(content.error());
  outcome.check_trace = checks.trace;

  // 4. Decisions.
  if (checks.rejected) {
    return core::Fail(checks.reject_temporary ? ErrorCode::kTempFail : ErrorCode::kPermFail, "{}",
                      checks.reject_reason);
  }
  if (checks.discard) {
    outcome.discarded = true;
    outcome.discard_reason = checks.discard_reason;
    return outcome;
  }
  if (s.hopcount_limit > 0 && content->received_headers >= s.hopcount_limit) {
    spdlog::warn("{}: message rejected: hopcount exceeded", queue_id);
    return core::Fail(ErrorCode::kPermFail, "5.4.0 too many hops");
  }
  if (s.message_size_limit > 0 && content->content.size() > s.message_size_limit) {
    return core::Fail(ErrorCode::kPermFail, "5.3.4 message file too big");
  }
  if (!checks.redirect.empty()) {
    std::string target = mapper.Qualify(checks.redirect);
    envelope.attributes.redirect = target;
    DuplicateFilter redirected(0, false);
    std::vector<QueueRecipient> recipients;
    for (QueueRecipient& r : envelope.recipients) {
      r.address = target;
      if (!redirected.Seen(r)) recipients.push_back(std::move(r));
    }
    envelope.recipients = std::move(recipients);
  }
  for (const std::string& bcc : checks.bcc) {
    QueueRecipient model;
    model.notify = core::dsn_notify::kNever;
    std::string address = mapper.Qualify(bcc);
    if (map) {
      auto rewritten = mapper.RewriteEnvelopeRecipient(bcc);
      if (!rewritten) return std::unexpected(rewritten.error());
      address = std::move(*rewritten);
    }
    model.original = address;
    if (auto added = AddRecipient(mapper, map, address, model, duplicates, envelope.recipients);
        !added) {
      return std::unexpected(added.error());
    }
  }
  if (!checks.filter.empty()) {
    envelope.attributes.filter = checks.filter;
  } else if (message.actions.filter) {
    envelope.attributes.filter = *message.actions.filter;
  } else {
    envelope.attributes.filter = message.content_filter;
  }
  if (!checks.redirect.empty()) envelope.attributes.filter.clear();  // REDIRECT beats FILTER
  if (message.actions.hold) {
    outcome.target = QueueName::kHold;
    envelope.attributes.hold_reason =
        message.actions.hold_reason.empty() ? "smtpd HOLD" : message.actions.hold_reason;
  } else if (checks.hold) {
    outcome.target = QueueName::kHold;
    envelope.attributes.hold_reason = checks.hold_reason;
  }
  outcome.content = std::move(content->content);
  return outcome;
}

core::Result<std::vector<QueueRecipient>> Cleanup::RemapRecipients(
    std::span<const QueueRecipient> recipients) const {
  AddressMapper mapper(*settings_);
  DuplicateFilter duplicates(settings_->duplicate_filter_limit,
                             settings_->enable_original_recipient);
  std::vector<QueueRecipient> out;
  for (const QueueRecipient& r : recipients) {
    auto rewritten = mapper.RewriteEnvelopeRecipient(r.address);
    if (!rewritten) return std::unexpected(rewritten.error());
    QueueRecipient model = r;
    model.status = RecipientStatus::kPending;
    model.offset = 0;
    if (auto added = AddRecipient(mapper, true, std::move(*rewritten), std::move(model),
                                  duplicates, out);
        !added) {
      return std::unexpected(added.error());
    }
  }
  return out;
}

}  // namespace moat::mta
