// smtpd_restriction_context.cc - replies and deferrals as smtpd_check_reject() / defer_if() make
// them.
#include "mta/smtpd_restriction_context.h"

#include <spdlog/spdlog.h>

#include "mta/mta_metrics.h"
#include "mta/smtpd_access_result.h"

namespace moat::mta {
namespace {

constexpr std::size_t kMaxReplyLength = 510;

std::string_view ProtocolName(const core::SmtpSessionInfo& session) {
  if (session.mode == core::SmtpMode::kLmtp) return "LMTP";
  return session.esmtp ? "ESMTP" : "SMTP";
}

}  // namespace

void DeferredReply::Set(int reply_code, std::string_view enhanced, std::string_view text) {
  if (active) return;
  active = true;
  code = reply_code;
  dsn.assign(enhanced);
  reason.assign(text);
}

void SmtpdPolicyState::ResetTransaction() {
  discard = false;
  sender_rcptmap_checked = false;
  recipient_rcptmap_checked = false;
  actions = SmtpdActions();
  redirect.reset();
  spf.reset();
  greylist_header_added = false;
  sender_resolved = false;
  recipient_resolved = false;
  defer_if_permit_sender = false;
}

void RestrictionContext::SetStage(RestrictionStage stage, std::string_view reply_name,
                                  std::string_view command) {
  stage_ = stage;
  reply_class_ = stage;
  reply_name_ = reply_name;
  command_ = command;
}

Verdict RestrictionContext::Reject(int code, std::string_view dsn, std::string_view text) {
  const bool warn = warn_if_reject != 0;
  std::string line = fmt::format("{} {} {}", code, dsn, text);
  if (code < 400 || code > 599 || LeadingDsnLength(dsn) != dsn.size() || dsn.empty()) {
    spdlog::warn("SMTP reply code or DSN configuration error: {}", line);
    line = "450 4.7.1 Service unavailable";
  }
  if (line.size() > kMaxReplyLength) line.resize(kMaxReplyLength);
  for (char& c : line) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  if (!warn && defer_if_reject.active && line[0] == '5') {
    defer_if_reject.active = false;
    warn_if_reject = 0;
    DeferredReply deferred = defer_if_reject;
    return Reject(deferred.code, deferred.dsn, deferred.reason);
  }
  if (settings().soft_bounce && line[0] == '5') line[0] = '4';
  line[4] = line[0];  // the enhanced code's class follows the reply code
  Log(warn ? "reject_warning" : "reject", line);
  if (warn) return Verdict::kDunno;
  if (state_.metrics) state_.metrics->RecordReject(stage_);
  auto parsed = core::SmtpReply::FromString(line);
  reply_ = parsed ? std::move(*parsed) : core::SmtpReply(451, "4.3.0", "Error: internal error");
  return Verdict::kReject;
}

Verdict RestrictionContext::ServerConfigurationError(std::string_view why) {
  spdlog::warn("{}: {}", settings().syslog_name, why);
  int saved = warn_if_reject;
  warn_if_reject = 0;  // configuration errors are never only warnings
  DeferredReply saved_defer = defer_if_reject;
  defer_if_reject.active = false;
  Verdict verdict = Reject(451, "4.3.5", "Server configuration error");
  warn_if_reject = saved;
  defer_if_reject = saved_defer;
  return verdict;
}

Verdict RestrictionContext::TemporaryLookupFailure(std::string_view name,
                                                   const core::Error& error) {
  spdlog::warn("{}: table lookup problem for <{}>: {}", settings().syslog_name, name,
               error.message());
  int saved = warn_if_reject;
  warn_if_reject = 0;
  Verdict verdict = RejectF(451, "4.3.0", "<{}>: Temporary lookup failure", name);
  warn_if_reject = saved;
  return verdict;
}

void RestrictionContext::DeferIfPermit(int code, std::string_view dsn, std::string_view text) {
  if (warn_if_reject != 0) {
    Reject(code, dsn, text);  // logs reject_warning
    return;
  }
  state_.defer_if_permit.Set(code, dsn, text);
}

void RestrictionContext::DeferIfReject(int code, std::string_view dsn, std::string_view text) {
  defer_if_reject.Set(code, dsn, text);
}

void RestrictionContext::Log(std::string_view what, std::string_view text) const {
  std::string line = fmt::format("NOQUEUE: {}: {} from {}: {};", what, command_,
                                 state_.client_namaddr, text);
  if (sender_ != nullptr) fmt::format_to(std::back_inserter(line), " from=<{}>", *sender_);
  if (recipient_ != nullptr) fmt::format_to(std::back_inserter(line), " to=<{}>", *recipient_);
  fmt::format_to(std::back_inserter(line), " proto={}", ProtocolName(session_));
  const std::string* helo = helo_ != nullptr ? helo_ : &session_.helo;
  if (!helo->empty()) fmt::format_to(std::back_inserter(line), " helo=<{}>", *helo);
  spdlog::info("{}", line);
}

core::Result<const ResolvedAddress*> RestrictionContext::ResolvedSender() {
  if (sender_ == nullptr || sender_->empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "no sender address");
  }
  if (!state_.sender_resolved || state_.resolved_sender_key != *sender_) {
    auto status = settings().resolver.Resolve(*sender_, state_.resolved_sender);
    if (!status) return std::unexpected(status.error());
    state_.resolved_sender_key.assign(*sender_);
    state_.sender_resolved = true;
  }
  return &state_.resolved_sender;
}

core::Result<const ResolvedAddress*> RestrictionContext::ResolvedRecipient() {
  if (recipient_ == nullptr || recipient_->empty()) {
    return core::Fail(core::ErrorCode::kInvalid, "no recipient address");
  }
  if (!state_.recipient_resolved || state_.resolved_recipient_key != *recipient_) {
    auto status = settings().resolver.Resolve(*recipient_, state_.resolved_recipient);
    if (!status) return std::unexpected(status.error());
    state_.resolved_recipient_key.assign(*recipient_);
    state_.recipient_resolved = true;
  }
  return &state_.resolved_recipient;
}

}  // namespace moat::mta
