// cleanup_received.h - the headers cleanup writes itself, in Postfix's formats: our Received
// header (smtpd.c), and the Date, Message-Id and From headers added when missing
// (cleanup_message.c).
//
//   Received: from <helo> (<client name> [<client address>])
//   \t(using <protocol> with cipher <cipher> (<bits>/<bits> bits))      smtpd_tls_received_header
//   \t(No client certificate requested)                                  (same)
//   \t(Authenticated sender: <user>)                            smtpd_sasl_authenticated_header
//   \tby <myhostname> (<mail_name>) with <ESMTPSA...> id <queue id>
//   \tfor <recipient>; <date>                                            one recipient
//   \tby <myhostname> (<mail_name>) with <ESMTP...> id <queue id>;       several recipients
//   \t<date>
//
// IPv6 client addresses are written [IPv6:...]; a client without a HELO name shows its host
// name in its place. Dates are RFC 5322 local time with the zone name, as Postfix's mail_date:
// "Tue,  9 Jan 2024 10:00:00 +0100 (CET)".
//
// Thread safety: pure functions (localtime_r).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/smtp_handler.h"

namespace moat::mta {

std::string MailDate(std::chrono::system_clock::time_point when);

// SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP, LMTPS, LMTPA, LMTPSA (RFC 3848).
std::string ReceivedProtocol(const core::SmtpSessionInfo& session);

struct ReceivedFields {
  std::string helo;
  std::string client_name = "unknown";
  std::string client_address;
  std::string protocol;
  std::string myhostname;
  std::string mail_name;
  std::string queue_id;
  std::string single_recipient;  // empty: several recipients
  std::string tls_protocol;      // empty: no TLS line
  std::string tls_cipher;
  int tls_bits = 0;
  std::string sasl_user;  // empty: no "Authenticated sender" line
  std::chrono::system_clock::time_point date;
};

// The whole header, lines joined by CRLF, with the final CRLF.
std::string BuildReceivedHeader(const ReceivedFields& fields);

}  // namespace moat::mta
