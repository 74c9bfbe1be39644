// smtpd_policy.cc - the restriction list evaluator (generic_checks()) and the stage drivers.
#include "mta/smtpd_policy.h"

#include "mta/smtpd_builtin_restrictions.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

constexpr int kMaxRecursion = 100;

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

asio::awaitable<Verdict> EvaluateRestrictions(const RestrictionList& list,
                                              RestrictionContext& context) {
  const int saved_recursion = context.recursion++;
  if (context.recursion > kMaxRecursion) {
    Verdict error = context.ServerConfigurationError(
        "restriction classes nest more than 100 deep (a class that names itself?)");
    context.recursion = saved_recursion;
    co_return error;
  }
  Verdict status = Verdict::kDunno;
  for (const RestrictionList::Item& item : list.items()) {
    if (context.state().discard) break;
    switch (item.kind) {
      case RestrictionList::Item::Kind::kWarnIfReject:
        if (context.warn_if_reject == 0) context.warn_if_reject = context.recursion;
        continue;
      case RestrictionList::Item::Kind::kClass: {
        Verdict verdict = co_await EvaluateRestrictions(*item.restriction_class, context);
        status = verdict;
        break;
      }
      case RestrictionList::Item::Kind::kRestriction:
        if (item.waits) {
          Verdict verdict = co_await item.restriction->EvaluateAsync(context);
          status = verdict;
        } else {
          status = item.restriction->Evaluate(context);
        }
        break;
    }
    if (context.warn_if_reject >= context.recursion) context.warn_if_reject = 0;
    if (status != Verdict::kDunno) break;
    if (context.state().defer_if_permit.active && context.defer_if_reject.active) break;
  }
  context.recursion = saved_recursion;
  co_return status;
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckClient(std::string_view command) {
  state_.defer_if_permit.active = false;
  RestrictionContext context(service_, session_, state_, services_);
  context.SetStage(RestrictionStage::kClient, state_.client_namaddr, command);
  context.SetHelo(&session_.helo);
  Verdict status = Verdict::kDunno;
  if (!service_.client_restrictions.empty()) {
    Verdict verdict = co_await EvaluateRestrictions(service_.client_restrictions, context);
    status = verdict;
  }
  state_.defer_if_permit_client = state_.defer_if_permit.active;
  co_return status == Verdict::kReject ? context.reply() : core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckHelo(const std::string& helo,
                                                        std::string_view command) {
  if (helo.empty()) co_return core::SmtpReply();
  state_.defer_if_permit.active = state_.defer_if_permit_client;
  RestrictionContext context(service_, session_, state_, services_);
  context.SetStage(RestrictionStage::kHelo, helo, command);
  context.SetHelo(&helo);
  Verdict status = Verdict::kDunno;
  if (!service_.helo_restrictions.empty()) {
    Verdict verdict = co_await EvaluateRestrictions(service_.helo_restrictions, context);
    status = verdict;
  }
  state_.defer_if_permit_helo = state_.defer_if_permit.active;
  co_return status == Verdict::kReject ? context.reply() : core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckMail(const std::string& sender,
                                                        std::string_view command) {
  state_.defer_if_permit.active = state_.defer_if_permit_client || state_.defer_if_permit_helo;
  state_.sender_rcptmap_checked = false;
  RestrictionContext context(service_, session_, state_, services_);
  context.SetStage(RestrictionStage::kSender, sender, command);
  context.SetHelo(&session_.helo);
  context.SetSender(&sender);
  Verdict status = Verdict::kDunno;
  if (!service_.sender_restrictions.empty()) {
    Verdict verdict = co_await EvaluateRestrictions(service_.sender_restrictions, context);
    status = verdict;
  }
  state_.defer_if_permit_sender = state_.defer_if_permit.active;
  if (service_.settings.reject_unlisted_sender && status != Verdict::kReject &&
      !state_.sender_rcptmap_checked && !state_.discard && !sender.empty()) {
    status = CheckRecipientMaps(context, true);
  }
  co_return status == Verdict::kReject ? context.reply() : core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckRcpt(const std::string& sender,
                                                        const std::string& recipient,
                                                        std::size_t accepted_recipients) {
  // RFC 5321 4.5.1: "postmaster" without a domain is always accepted.
  if (EqualsNoCase(recipient, "postmaster")) co_return core::SmtpReply();
  state_.recipient_rcptmap_checked = false;
  if (service_.settings.delay_reject) {
    core::SmtpReply client = co_await CheckClient("RCPT");
    if (!client.empty()) co_return client;
    core::SmtpReply helo = co_await CheckHelo(session_.helo, "RCPT");
    if (!helo.empty()) co_return helo;
    core::SmtpReply mail = co_await CheckMail(sender, "RCPT");
    if (!mail.empty()) co_return mail;
  }
  state_.defer_if_permit.active = state_.defer_if_permit_client || state_.defer_if_permit_helo ||
                                  state_.defer_if_permit_sender;

  RestrictionContext context(service_, session_, state_, services_);
  context.SetStage(RestrictionStage::kRecipient, recipient, "RCPT");
  context.SetHelo(&session_.helo);
  context.SetSender(&sender);
  context.SetRecipient(&recipient);
  context.SetRecipientCount(accepted_recipients);
  const RestrictionList* lists[2] = {&service_.relay_restrictions,
                                     &service_.recipient_restrictions};
  if (!service_.settings.relay_before_recipient) std::swap(lists[0], lists[1]);
  Verdict status = Verdict::kDunno;
  for (const RestrictionList* list : lists) {
    status = Verdict::kDunno;
    if (!list->empty()) {
      Verdict verdict = co_await EvaluateRestrictions(*list, context);
      status = verdict;
    }
    if (status == Verdict::kReject) break;
  }
  if (status != Verdict::kReject && state_.defer_if_permit.active) {
    DeferredReply deferred = state_.defer_if_permit;
    context.warn_if_reject = 0;
    context.defer_if_reject.active = false;
    status = context.Reject(deferred.code, deferred.dsn, deferred.reason);
  }
  if (service_.settings.reject_unlisted_recipient && status != Verdict::kReject &&
      !state_.recipient_rcptmap_checked && !state_.discard) {
    status = CheckRecipientMaps(context, false);
  }
  co_return status == Verdict::kReject ? context.reply() : core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckMessageStage(
    RestrictionStage stage, const RestrictionList& list, const std::string& sender,
    const std::vector<std::string>& recipients) {
  if (list.empty()) co_return core::SmtpReply();
  state_.defer_if_permit.active = false;
  RestrictionContext context(service_, session_, state_, services_);
  const bool data = stage == RestrictionStage::kData;
  context.SetStage(stage, data ? "DATA" : "END-OF-DATA", data ? "DATA" : "END-OF-MESSAGE");
  context.SetHelo(&session_.helo);
  context.SetSender(&sender);
  // With several recipients, recipient-based restrictions have nothing to judge (Postfix).
  if (recipients.size() == 1) context.SetRecipient(&recipients.front());
  context.SetRecipientCount(recipients.size());
  Verdict status = co_await EvaluateRestrictions(list, context);
  if (status != Verdict::kReject && state_.defer_if_permit.active) {
    DeferredReply deferred = state_.defer_if_permit;
    status = context.Reject(deferred.code, deferred.dsn, deferred.reason);
  }
  co_return status == Verdict::kReject ? context.reply() : core::SmtpReply();
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckData(const std::string& sender,
                                                        const std::vector<std::string>& recipients) {
  core::SmtpReply reply = co_await CheckMessageStage(
      RestrictionStage::kData, service_.data_restrictions, sender, recipients);
  co_return reply;
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckEndOfData(
    const std::string& sender, const std::vector<std::string>& recipients) {
  core::SmtpReply reply = co_await CheckMessageStage(
      RestrictionStage::kEndOfData, service_.end_of_data_restrictions, sender, recipients);
  co_return reply;
}

asio::awaitable<core::SmtpReply> SmtpdPolicy::CheckSpf(const std::string& sender,
                                                       const std::string* recipient) {
  RestrictionContext context(service_, session_, state_, services_);
  if (recipient != nullptr) {
    context.SetStage(RestrictionStage::kRecipient, *recipient, "RCPT");
    context.SetRecipient(recipient);
  } else {
    context.SetStage(RestrictionStage::kSender, sender, "MAIL");
  }
  context.SetHelo(&session_.helo);
  context.SetSender(&sender);
  Verdict status = co_await EvaluateSpfCheck(context);
  co_return status == Verdict::kReject ? context.reply() : core::SmtpReply();
}

}  // namespace moat::mta
