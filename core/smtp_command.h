// smtp_command.h - parsing SMTP/LMTP command lines (server side) and writing MAIL, RCPT and
// XFORWARD commands (client side).
//
// ParseCommandLine() splits a line into a verb (case-insensitive) and its arguments. The MAIL,
// RCPT and XFORWARD argument parsers are tolerant where Postfix is tolerant (a space after the
// colon, a bare address without angle brackets unless strict_rfc821_envelopes is set, a source
// route which is dropped) and strict where
// it matters (duplicate or malformed parameters, bad xtext, unknown ESMTP parameters). A parse
// error is returned as the exact reply to send: 501 5.5.4 / 501 5.1.7 / 501 5.1.3 for syntax,
// 555 5.5.4 for a parameter the server does not support (RFC 5321 4.1.1.11).
//
// Views returned by ParseCommandLine() point into the caller's line. Everything else owns its
// data. Pure functions, thread-safe.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp_envelope.h"
#include "core/smtp_reply.h"

namespace moat::core {

enum class SmtpVerb {
  kHelo,
  kEhlo,
  kLhlo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStartTls,
  kAuth,
  kXforward,
  kEmpty,
  kUnknown
};

std::string_view SmtpVerbName(SmtpVerb verb);

struct SmtpCommandLine {
  SmtpVerb verb = SmtpVerb::kEmpty;
  std::string_view verb_text;  // as the client wrote it
  std::string_view args;       // after the verb, leading/trailing blanks removed
};

// `line` excludes CRLF. Leading blanks are skipped, as Postfix does.
SmtpCommandLine ParseCommandLine(std::string_view line);

// True for a verb that looks like a mail header ("Subject:", "From:") or an HTTP/proxy request
// (CONNECT, GET, POST): a client that is not speaking SMTP; Postfix answers 221 and hangs up.
bool IsNonSmtpCommand(std::string_view verb_text);

// Which ESMTP parameters the server offered (parsing) or the peer offered (formatting), and (for
// parsing only) how strict the address syntax is.
struct SmtpExtensionSet {
  bool size = true;
  bool eight_bit_mime = true;
  bool dsn = true;
  bool smtputf8 = false;
  bool auth = false;
  // Postfix's strict_rfc821_envelopes (and amavisd-new, always): an address must be in angle
  // brackets; "MAIL FROM:a@b" is 501 5.1.7 / "RCPT TO:a@b" 501 5.1.3.
  bool strict_rfc821_envelopes = false;
};

// `args` is everything after "MAIL": "FROM:<a@b> SIZE=10 BODY=8BITMIME".
std::expected<MailParams, SmtpReply> ParseMailArguments(std::string_view args,
                                                        const SmtpExtensionSet& offered);
// `args` is everything after "RCPT": "TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b".
std::expected<RcptParams, SmtpReply> ParseRcptArguments(std::string_view args,
                                                        const SmtpExtensionSet& offered);
// `args` is everything after "XFORWARD": "NAME=host ADDR=192.0.2.1 ...".
std::expected<XforwardAttributes, SmtpReply> ParseXforwardArguments(std::string_view args);

// Client side: appends "MAIL FROM:<...> params\r\n" with only the parameters `offered` allows.
void AppendMailCommand(const MailParams& mail, const SmtpExtensionSet& offered, std::string& out);
// Appends "RCPT TO:<...> params\r\n"; NOTIFY/ORCPT only when offered.dsn.
void AppendRcptCommand(const RcptParams& rcpt, const SmtpExtensionSet& offered, std::string& out);
// Appends XFORWARD command lines carrying the attributes of `attrs` whose names are in
// `offered_names` (the words after XFORWARD in the EHLO reply), values xtext-encoded as Postfix
// does, each line within the 512-byte command limit. Returns the number of lines appended (0
// when nothing applies): the client reads one reply per line.
int AppendXforwardCommands(const XforwardAttributes& attrs,
                           const std::vector<std::string>& offered_names, std::string& out);

}  // namespace moat::core
