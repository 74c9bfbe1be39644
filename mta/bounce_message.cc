// bounce_message.cc - composing the RFC 3464 non-delivery report.
#include "mta/bounce_message.h"

#include <ctime>

#include <fmt/format.h>

namespace moat::mta {
namespace {

// Header fields of the original (up to and including the empty line, or all of it).
std::string_view HeaderSection(std::string_view content) {
  std::size_t end = content.find("\r\n\r\n");
  if (end != std::string_view::npos) return content.substr(0, end + 2);
  end = content.find("\n\n");
  if (end != std::string_view::npos) return content.substr(0, end + 1);
  return content;
}

// Queue files hold CRLF, but be safe with LF-only content: the report must be CRLF throughout.
std::string Crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

// A diagnostic with a remote reply reads "host mx[192.0.2.1] said: 550 5.1.1 ... (in reply to
// RCPT TO command)": the remote host and its reply become Remote-MTA and an smtp Diagnostic-Code.
struct Diagnostic {
  std::string remote_mta;
  std::string code;
};

Diagnostic Diagnose(std::string_view reason) {
  Diagnostic d;
  constexpr std::string_view kHost = "host ";
  constexpr std::string_view kSaid = " said: ";
  std::size_t said = reason.find(kSaid);
  if (reason.starts_with(kHost) && said != std::string_view::npos) {
    std::string_view host = reason.substr(kHost.size(), said - kHost.size());
    std::size_t bracket = host.find('[');
    d.remote_mta = std::string(host.substr(0, bracket));
    std::string_view reply = reason.substr(said + kSaid.size());
    std::size_t in_reply = reply.rfind(" (in reply to ");
    if (in_reply != std::string_view::npos) reply = reply.substr(0, in_reply);
    d.code = fmt::format("smtp; {}", reply);
  } else {
    d.code = fmt::format("X-Postfix; {}", reason);
  }
  return d;
}

// No CR or LF may reach a header field from a remote reply.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

std::string Rfc5322Date(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buffer;
}

std::string DescribeDuration(std::chrono::seconds duration) {
  long long seconds = duration.count();
  if (seconds < 120) return fmt::format("{} second(s)", seconds);
  if (seconds < 7200) return fmt::format("{} minute(s)", seconds / 60);
  if (seconds < 2 * 86400) return fmt::format("{:.1f} hour(s)", seconds / 3600.0);
  return fmt::format("{:.1f} day(s)", seconds / 86400.0);
}

std::string ComposeBounce(const QueuedMessage& original,
                          std::span<const RecipientLogEntry> entries,
                          const BounceOptions& options) {
  const QueueEnvelope& envelope = original.envelope;
  const bool delay = options.kind == ReportKind::kDelay;
  const bool problem = options.kind == ReportKind::kProblem;
  std::string subject;
  switch (options.kind) {
    case ReportKind::kFailure:
      subject = options.postmaster_copy ? "Postmaster Copy: Undelivered Mail"
                                        : "Undelivered Mail Returned to Sender";
      break;
    case ReportKind::kDelay:
      subject = options.postmaster_copy ? "Postmaster Warning: Delayed Mail"
                                        : "Delayed Mail (still being retried)";
      break;
    case ReportKind::kProblem:
      subject = fmt::format("Postmaster Warning: Delivery Problem ({})", options.problem);
      break;
  }
  std::string boundary = fmt::format("{}/{}", options.bounce_id, options.myhostname);
  std::string out;
  out += fmt::format("Date: {}\r\n", Rfc5322Date(options.now));
  out += fmt::format("From: MAILER-DAEMON@{} (Mail Delivery System)\r\n", options.myhostname);
  out += fmt::format("To: {}\r\n", options.to.empty() ? envelope.sender : options.to);
  out += fmt::format("Subject: {}\r\n", subject);
  out += fmt::format("Message-ID: <{}@{}>\r\n", options.bounce_id, options.myhostname);
  out += "Auto-Submitted: auto-replied\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += fmt::format(
      "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n",
      boundary);
  out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
  out += "This is a MIME-encapsulated message.\r\n\r\n";

  // Part 1: for people.
  out += fmt::format("--{}\r\n", boundary);
  out += "Content-Description: Notification\r\n";
  out += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  out += fmt::format("This is the mail system at host {}.\r\n\r\n", options.myhostname);
  if (delay && !options.postmaster_copy) {
    out += "####################################################################\r\n";
    out += "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n";
    out += "####################################################################\r\n\r\n";
  }
  if (delay) {
    out += fmt::format("Your message could not be delivered for {}.\r\n",
                       DescribeDuration(options.delayed_for));
    out += fmt::format("It will be retried until it is {} old.\r\n\r\n",
                       DescribeDuration(options.lifetime));
  } else if (problem) {
    out += fmt::format("Delivery of the message below is held up by a local {} problem.\r\n",
                       options.problem);
    out += "It stays in the queue and is retried; please look at the mail system's log.\r\n\r\n";
  } else if (options.postmaster_copy) {
    out += fmt::format("The message from <{}> could not be delivered to one or more\r\n",
                       envelope.sender);
    out += "recipients. This is the postmaster's copy of the report.\r\n\r\n";
  } else {
    out += "I'm sorry to have to inform you that your message could not\r\n";
    out += "be delivered to one or more recipients. It's attached below.\r\n\r\n";
    out += "For further assistance, please send mail to postmaster.\r\n\r\n";
    out += "If you do so, please include this problem report. You can\r\n";
    out += "delete your own text from the attached returned message.\r\n\r\n";
  }
  out += "                   The mail system\r\n\r\n";
  for (const RecipientLogEntry& entry : entries) {
    out += fmt::format("<{}>: {}\r\n", entry.address, OneLine(entry.reason));
  }
  out += "\r\n";

  // Part 2: for programs (RFC 3464).
  out += fmt::format("--{}\r\n", boundary);
  out += "Content-Description: Delivery report\r\n";
  out += "Content-Type: message/delivery-status\r\n\r\n";
  out += fmt::format("Reporting-MTA: dns; {}\r\n", options.myhostname);
  out += fmt::format("X-Postfix-Queue-ID: {}\r\n", options.queue_id);
  out += fmt::format("X-Postfix-Sender: rfc822; {}\r\n", envelope.sender);
  if (!envelope.attributes.envid.empty()) {
    out += fmt::format("Original-Envelope-Id: {}\r\n", OneLine(envelope.attributes.envid));
  }
  auto arrival =
      std::chrono::system_clock::time_point(std::chrono::microseconds(envelope.arrival_us));
  out += fmt::format("Arrival-Date: {}\r\n", Rfc5322Date(arrival));
  const char* default_action = delay || problem ? "delayed" : "failed";
  for (const RecipientLogEntry& entry : entries) {
    out += "\r\n";
    out += fmt::format("Final-Recipient: rfc822; {}\r\n", entry.address);
    for (const QueueRecipient& r : envelope.recipients) {
      if (r.offset != entry.offset) continue;
      if (!r.orcpt.empty()) {
        out += fmt::format("Original-Recipient: {}; {}\r\n",
                           r.orcpt_type.empty() ? "rfc822" : r.orcpt_type, OneLine(r.orcpt));
      } else if (!r.original.empty() && r.original != entry.address) {
        out += fmt::format("Original-Recipient: rfc822; {}\r\n", r.original);
      }
    }
    bool delayed = entry.action.empty() ? delay || problem : entry.action == "delayed";
    out += fmt::format("Action: {}\r\n", entry.action.empty() ? default_action : entry.action);
    out += fmt::format("Status: {}\r\n",
                       entry.status.empty() ? (delayed ? "4.0.0" : "5.0.0") : entry.status);
    Diagnostic d = Diagnose(entry.reason);
    if (!d.remote_mta.empty()) out += fmt::format("Remote-MTA: dns; {}\r\n", d.remote_mta);
    out += fmt::format("Diagnostic-Code: {}\r\n", OneLine(d.code));
    if (delayed) {
      if (entry.time > 0) {
        out += fmt::format("Last-Attempt-Date: {}\r\n",
                           Rfc5322Date(std::chrono::system_clock::time_point(
                               std::chrono::seconds(entry.time))));
      }
      if (delay) out += fmt::format("Will-Retry-Until: {}\r\n", Rfc5322Date(options.retry_until));
    }
  }
  out += "\r\n";

  // Part 3: the original, or its header when asked (RET=HDRS), too large, or a notice.
  out += fmt::format("--{}\r\n", boundary);
  bool headers_only = options.headers_only ||
                      envelope.attributes.ret == core::DsnRet::kHeaders ||
                      original.content.size() > options.bounce_size_limit;
  if (headers_only) {
    out += "Content-Description: Undelivered Message Headers\r\n";
    out += "Content-Type: text/rfc822-headers\r\n\r\n";
    out += Crlf(HeaderSection(original.content));
  } else {
    out += "Content-Description: Undelivered Message\r\n";
    out += "Content-Type: message/rfc822\r\n\r\n";
    out += Crlf(original.content);
  }
  out += "\r\n";
  out += fmt::format("--{}--\r\n", boundary);
  return out;
}

}  // namespace moat::mta
