// release_message.h - what a release sends and through what.
//
// A release reinjects a held message through the MTA's return listener (which bypasses the filter)
// to its original recipients or to addresses the operator chose. The message goes out byte for
// byte as it was received, with one header added at the very top:
//
//   X-Quarantine-Released: id <ID>
//   	by <actor>; <RFC 5322 date>
//
// (the date folded onto a line of its own when a long actor name would pass 78 characters).
// At the top it sits above every DKIM-Signature; DKIM signs only the header fields its h= tag
// lists and the body, so adding an unlisted field anywhere leaves the signatures valid. The line
// ending (CRLF or LF) follows the message's own.
//
// MessageSender is the transport, injected: moat-filterd and the admin command plug in the core
// SMTP client aimed at the return listener; tests plug in a fake. Send() is called with the
// envelope sender (the original one, so bounces go where they would have), the recipients and the
// bytes. It returns an error when nothing was accepted (connection refused, 4xx/5xx to MAIL FROM or
// DATA, timeout) — temporary (kTempFail/kIo) or permanent (kPermFail) as the reply said — and a
// SendOutcome when the message was accepted for at least one recipient, naming those refused.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "quarantine/quarantine_entry.h"

namespace moat::quarantine {

struct RejectedRecipient {
  std::string address;
  std::string reply;  // the server's reply, "550 5.1.1 no such user"
  bool temporary = false;
};

struct SendOutcome {
  std::vector<std::string> accepted;
  std::vector<RejectedRecipient> rejected;
};

class MessageSender {
 public:
  virtual ~MessageSender() = default;
  // May be called from several threads at once if the caller shares one sender.
  virtual core::Result<SendOutcome> Send(std::string_view envelope_sender,
                                         std::span<const std::string> recipients,
                                         std::string_view message) = 0;
};

// `actor` with everything but [A-Za-z0-9._@+:-] replaced by '_', at most 64 bytes: it goes into
// a header and a log line, and names come from web logins and Unix accounts.
std::string SanitizeActor(std::string_view actor);

// The header block to prepend (ending with the message's line ending).
std::string ReleasedHeader(std::string_view id, std::string_view actor, TimePoint time,
                           std::string_view line_ending);

// `message` with ReleasedHeader() in front.
std::string BuildReleasedMessage(std::string_view message, std::string_view id,
                                 std::string_view actor, TimePoint time);

}  // namespace moat::quarantine
