// bounce_policy.cc - Postfix's rules for notices and postmaster copies.
#include "mta/bounce_policy.h"

#include <strings.h>

#include "core/config_error.h"
#include "core/smtp_envelope.h"

namespace moat::mta {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The NOTIFY flags of the recipient an entry is about (0: none given).
unsigned NotifyOf(const QueueEnvelope& envelope, const RecipientLogEntry& entry) {
  for (const QueueRecipient& r : envelope.recipients) {
    if (r.offset == entry.offset) return r.notify;
  }
  return 0;
}

// RFC 3461: without NOTIFY, failures and (at the MTA's discretion) delays are reported.
std::vector<RecipientLogEntry> WantedBySender(const QueueEnvelope& envelope,
                                              std::span<const RecipientLogEntry> entries,
                                              unsigned wanted) {
  std::vector<RecipientLogEntry> out;
  for (const RecipientLogEntry& entry : entries) {
    unsigned notify = NotifyOf(envelope, entry);
    if (notify == 0 || (notify & wanted) != 0) out.push_back(entry);
  }
  return out;
}

std::string Qualified(const std::string& address, const std::string& myorigin) {
  if (address.find('@') != std::string::npos || myorigin.empty()) return address;
  return address + "@" + myorigin;
}

PlannedNotice Postmaster(const NotifyPolicy& policy, const std::string& recipient,
                         std::span<const RecipientLogEntry> entries, bool headers_only,
                         bool critical) {
  PlannedNotice notice;
  notice.sender = policy.double_bounce_address;
  notice.recipient = Qualified(recipient, policy.myorigin);
  notice.postmaster = true;
  notice.headers_only = headers_only;
  notice.critical = critical;
  notice.entries.assign(entries.begin(), entries.end());
  return notice;
}

}  // namespace

core::Result<unsigned> NotifyPolicy::ParseClasses(std::string_view text) {
  unsigned classes = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find_first_of(", \t\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (EqualsIgnoreCase(word, "bounce")) {
      classes |= notify_class::kBounce;
    } else if (EqualsIgnoreCase(word, "2bounce")) {
      classes |= notify_class::kTwoBounce;
    } else if (EqualsIgnoreCase(word, "delay")) {
      classes |= notify_class::kDelay;
    } else if (EqualsIgnoreCase(word, "resource")) {
      classes |= notify_class::kResource;
    } else if (EqualsIgnoreCase(word, "software")) {
      classes |= notify_class::kSoftware;
    } else if (EqualsIgnoreCase(word, "data") || EqualsIgnoreCase(word, "policy") ||
               EqualsIgnoreCase(word, "protocol")) {
      classes |= notify_class::kOther;
    } else {
      return core::Fail(core::ErrorCode::kInvalid, "notify_classes: unknown class \"{}\"", word);
    }
  }
  return classes;
}

NotifyPolicy NotifyPolicy::FromConfig(const core::Config& main) {
  NotifyPolicy policy;
  auto classes = ParseClasses(main.GetString("notify_classes"));
  if (!classes)
    throw core::ConfigError(main.LocationOf("notify_classes"), classes.error().message());
  policy.classes = *classes;
  policy.bounce_notice_recipient = main.GetString("bounce_notice_recipient");
  policy.two_bounce_notice_recipient = main.GetString("2bounce_notice_recipient");
  policy.delay_notice_recipient = main.GetString("delay_notice_recipient");
  policy.error_notice_recipient = main.GetString("error_notice_recipient");
  policy.double_bounce_address =
      main.GetString("double_bounce_sender") + "@" + main.GetString("myhostname");
  policy.myorigin = main.GetString("myorigin");
  return policy;
}

NoticePlan PlanNotices(const NotifyPolicy& policy, NoticeEvent event, const QueueEnvelope& envelope,
                       std::span<const RecipientLogEntry> entries) {
  NoticePlan plan;
  if (entries.empty()) return plan;
  const std::string& sender = envelope.sender;
  const bool from_postmaster_notice = !policy.double_bounce_address.empty() &&
                                      EqualsIgnoreCase(sender, policy.double_bounce_address);

  switch (event) {
    case NoticeEvent::kFailure:
      if (from_postmaster_notice) {
        plan.discarded = "undeliverable postmaster notification discarded";
      } else if (sender.empty()) {
        if (policy.classes & (notify_class::kBounce | notify_class::kTwoBounce)) {
          // The last chance for this mail: all of it, to the postmaster.
          plan.notices.push_back(
              Postmaster(policy, policy.two_bounce_notice_recipient, entries, false, true));
        } else {
          plan.discarded = "undeliverable notification from <> discarded";
        }
      } else {
        PlannedNotice report;
        report.recipient = sender;
        report.critical = true;
        report.entries = WantedBySender(envelope, entries, core::dsn_notify::kFailure);
        if (!report.entries.empty()) {
          plan.notices.push_back(std::move(report));
        } else {
          plan.discarded = "sender asked for no failure notice (NOTIFY)";
        }
        if (policy.classes & notify_class::kBounce) {
          plan.notices.push_back(
              Postmaster(policy, policy.bounce_notice_recipient, entries, true, false));
        }
      }
      break;

    case NoticeEvent::kDelay:
      if (sender.empty() || from_postmaster_notice) break;
      {
        PlannedNotice warning;
        warning.recipient = sender;
        warning.headers_only = true;
        warning.critical = true;
        warning.entries = WantedBySender(envelope, entries, core::dsn_notify::kDelay);
        if (!warning.entries.empty()) {
          plan.notices.push_back(std::move(warning));
        } else {
          plan.discarded = "sender asked for no delay notice (NOTIFY)";
        }
      }
      if (policy.classes & notify_class::kDelay) {
        plan.notices.push_back(
            Postmaster(policy, policy.delay_notice_recipient, entries, true, false));
      }
      break;

    case NoticeEvent::kResource:
    case NoticeEvent::kSoftware: {
      unsigned wanted =
          event == NoticeEvent::kResource ? notify_class::kResource : notify_class::kSoftware;
      // A notice about a notice that is itself stuck would only add to the pile.
      if ((policy.classes & wanted) && !from_postmaster_notice) {
        plan.notices.push_back(
            Postmaster(policy, policy.error_notice_recipient, entries, true, false));
      }
      break;
    }
  }
  return plan;
}

}  // namespace moat::mta
