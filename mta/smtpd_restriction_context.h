// smtpd_restriction_context.h - what a restriction sees while it runs, and how it answers.
//
// One RestrictionContext lives for one evaluation of one stage's lists (the client restrictions
// at RCPT, the recipient restrictions for one RCPT, ...). It points at the session (client,
// HELO, TLS, SASL user), the transaction (sender, current recipient, recipient count), the
// compiled service and the per-session policy state (SmtpdPolicyState), and it carries Postfix's
// per-evaluation state: recursion depth, warn_if_reject, defer_if_reject.
//
// Answering: Reject() builds the reply the way Postfix's smtpd_check_reject() does - "<code>
// <dsn> text", the enhanced code's class forced to the reply's, 510 bytes at most, printable;
// after warn_if_reject it only logs ("reject_warning") and answers DUNNO; after defer_if_reject a
// 5xx becomes the recorded 4xx; soft_bounce turns 5xx into 4xx - and logs one "NOQUEUE: reject"
// line. DeferIfPermit()/DeferIfReject() record a later change of mind (the first reason wins).
//
// Lazily resolved addresses (ResolvedSender/ResolvedRecipient) are computed once per evaluation
// and cached in the policy state, so several restrictions on one recipient resolve it once.
//
// Not thread-safe; used on the session's strand only. Everything pointed to outlives it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/dns_resolver.h"
#include "core/smtp_handler.h"
#include "core/smtp_reply.h"
#include "mta/address_class.h"
#include "mta/incoming_message.h"
#include "mta/policy_verdict.h"
#include "mta/smtpd_policy_services.h"
#include "mta/smtpd_restriction.h"
#include "mta/smtpd_service.h"

namespace moat::mta {

class MtaMetrics;

// Postfix SMTPD_DEFER: a decision postponed until the end of the stage.
struct DeferredReply {
  bool active = false;
  int code = 0;
  std::string dsn;
  std::string reason;

  // Keeps the first reason while active.
  void Set(int reply_code, std::string_view enhanced, std::string_view text);
};

// Session-long policy state (Postfix SMTPD_STATE fields the checks use).
struct SmtpdPolicyState {
  std::string client_name = "unknown";  // reverse-confirmed name, "unknown" without one
  std::string client_namaddr;           // "name[address]"

  DeferredReply defer_if_permit;
  bool defer_if_permit_client = false;
  bool defer_if_permit_helo = false;
  bool defer_if_permit_sender = false;

  // Transaction scope (reset by ResetTransaction()).
  bool discard = false;
  bool sender_rcptmap_checked = false;
  bool recipient_rcptmap_checked = false;
  SmtpdActions actions;
  std::optional<std::string> redirect;  // REDIRECT: recorded and logged
  MtaMetrics* metrics = nullptr;        // counts rejects by stage; null: nothing counted
  // SPF is checked once per transaction (smtpd_spf_checks or check_spf, whichever runs first);
  // later checks in the same transaction reuse the verdict. Its Received-SPF fields are in
  // `actions.prepend_headers` once.
  std::optional<PolicyVerdict> spf;
  bool greylist_header_added = false;  // one X-Greylist field per message

  // Resolution caches.
  std::string resolved_sender_key;
  ResolvedAddress resolved_sender;
  bool sender_resolved = false;
  std::string resolved_recipient_key;
  ResolvedAddress resolved_recipient;
  bool recipient_resolved = false;

  void ResetTransaction();
};

class RestrictionContext {
 public:
  RestrictionContext(const SmtpdService& service, const core::SmtpSessionInfo& session,
                     SmtpdPolicyState& state, const SmtpdPolicyServices& services)
      : service_(service), session_(session), state_(state), services_(services) {}

  // --- what is being judged (set by the stage driver) ---
  void SetStage(RestrictionStage stage, std::string_view reply_name, std::string_view command);
  void SetSender(const std::string* sender) { sender_ = sender; }
  void SetRecipient(const std::string* recipient) { recipient_ = recipient; }
  void SetRecipientCount(std::size_t count) { recipient_count_ = count; }
  void SetHelo(const std::string* helo) { helo_ = helo; }

  RestrictionStage stage() const { return stage_; }
  // What a reject names: "<reply_name>: <ReplyClassName(reply_class)> rejected: ...". The stage's
  // by default; check_*_access name what they looked up (the client in end-of-data
  // restrictions is still "Client host"), also for restriction lists in their table values.
  std::string_view reply_name() const { return reply_name_; }
  RestrictionStage reply_class() const { return reply_class_; }
  void SetReplyTarget(std::string_view name, RestrictionStage reply_class) {
    reply_name_ = name;
    reply_class_ = reply_class;
  }
  const SmtpdService& service() const { return service_; }
  const SmtpdServiceSettings& settings() const { return service_.settings; }
  const core::SmtpSessionInfo& session() const { return session_; }
  SmtpdPolicyState& state() { return state_; }
  core::DnsResolver* dns() const { return services_.dns; }
  const SmtpdPolicyServices& services() const { return services_; }
  // nullptr before MAIL FROM; "" for the null sender (internal form).
  const std::string* sender() const { return sender_; }
  // nullptr outside RCPT (and at DATA with more than one recipient).
  const std::string* recipient() const { return recipient_; }
  // nullptr before HELO/EHLO.
  const std::string* helo() const { return helo_; }
  std::size_t recipient_count() const { return recipient_count_; }

  // --- answers ---
  // "<code> <dsn> text" (text already formatted); see the header comment.
  Verdict Reject(int code, std::string_view dsn, std::string_view text);
  template <typename... Args>
  Verdict RejectF(int code, std::string_view dsn, fmt::format_string<Args...> format,
                  Args&&... args) {
    return Reject(code, dsn, fmt::format(format, std::forward<Args>(args)...));
  }
  // 451 4.3.5 Server configuration error (never softened by warn_if_reject), with a log line.
  Verdict ServerConfigurationError(std::string_view why);
  // 451 4.3.0 "<name>: Temporary lookup failure", for a table error.
  Verdict TemporaryLookupFailure(std::string_view name, const core::Error& error);
  void DeferIfPermit(int code, std::string_view dsn, std::string_view text);
  void DeferIfReject(int code, std::string_view dsn, std::string_view text);
  // Logs "NOQUEUE: <what>: <command> from <client>: <text>; from=<..> to=<..> proto=.. helo=<..>".
  void Log(std::string_view what, std::string_view text) const;

  // The reply of the last kReject.
  const core::SmtpReply& reply() const { return reply_; }
  void ClearReply() { reply_ = core::SmtpReply(); }

  // --- Postfix per-evaluation state ---
  int recursion = 0;
  int warn_if_reject = 0;
  DeferredReply defer_if_reject;

  // --- resolved addresses (cached); errors are table lookup errors ---
  core::Result<const ResolvedAddress*> ResolvedSender();
  core::Result<const ResolvedAddress*> ResolvedRecipient();

  // A scratch buffer for lookups (reused; contents undefined between calls).
  std::string& scratch() { return scratch_; }

 private:
  const SmtpdService& service_;
  const core::SmtpSessionInfo& session_;
  SmtpdPolicyState& state_;
  const SmtpdPolicyServices& services_;

  RestrictionStage stage_ = RestrictionStage::kClient;
  RestrictionStage reply_class_ = RestrictionStage::kClient;
  std::string_view reply_name_;
  std::string_view command_ = "CONNECT";
  const std::string* sender_ = nullptr;
  const std::string* recipient_ = nullptr;
  const std::string* helo_ = nullptr;
  std::size_t recipient_count_ = 0;

  core::SmtpReply reply_;
  std::string scratch_;
};

// Postfix generic_checks(): runs `list` in order until a restriction permits or rejects (or a
// DISCARD, or both defer_if_permit and defer_if_reject are active); classes recurse, 100 deep at
// most (deeper: 451 4.3.5). warn_if_reject applies to the one restriction after it.
asio::awaitable<Verdict> EvaluateRestrictions(const RestrictionList& list,
                                              RestrictionContext& context);

}  // namespace moat::mta
