// cleanup_received.cc - Received header and mail_date in Postfix's formats.
#include "mta/cleanup_received.h"

#include <ctime>

#include <fmt/format.h>

#include "mta/cleanup_address.h"

namespace moat::mta {
namespace {

// Keeps a comment well-formed: parentheses and backslashes from the peer cannot end it early.
std::string CommentSafe(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '(' || c == ')' || c == '\\' || u < 0x20 || u == 0x7f) {
      out.push_back('_');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// HELO names are the client's words: no spaces or controls in the header.
std::string Word(std::string_view text) {
  std::string out = CommentSafe(text);
  for (char& c : out) {
    if (c == ' ' || c == ';') c = '_';
  }
  return out.empty() ? "unknown" : out;
}

}  // namespace

std::string MailDate(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&t, &local);
  char head[64];
  std::strftime(head, sizeof head, "%a, %e %b %Y %H:%M:%S ", &local);
  long offset = local.tm_gmtoff / 60;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  char zone[32];
  std::strftime(zone, sizeof zone, "%Z", &local);
  return fmt::format("{}{}{:02}{:02} ({})", head, sign, offset / 60, offset % 60, zone);
}

std::string ReceivedProtocol(const core::SmtpSessionInfo& session) {
  std::string protocol =
      session.mode == core::SmtpMode::kLmtp ? "LMTP" : session.esmtp ? "ESMTP" : "SMTP";
  if (protocol == "SMTP") return protocol;
  if (session.tls) protocol += "S";
  if (!session.auth_user.empty()) protocol += "A";
  return protocol;
}

std::string BuildReceivedHeader(const ReceivedFields& f) {
  std::string address = f.client_address;
  if (address.find(':') != std::string::npos) address = "IPv6:" + address;
  std::string name = f.client_name.empty() ? "unknown" : CommentSafe(f.client_name);
  std::string out = fmt::format("Received: from {} ({} [{}])\r\n",
                                f.helo.empty() ? name : Word(f.helo), name,
                                CommentSafe(address));
  if (!f.tls_protocol.empty()) {
    out += fmt::format("\t(using {} with cipher {} ({}/{} bits))\r\n", CommentSafe(f.tls_protocol),
                       CommentSafe(f.tls_cipher), f.tls_bits, f.tls_bits);
    out += "\t(No client certificate requested)\r\n";
  }
  if (!f.sasl_user.empty()) {
    out += fmt::format("\t(Authenticated sender: {})\r\n", CommentSafe(f.sasl_user));
  }
  if (!f.single_recipient.empty()) {
    out += fmt::format("\tby {} ({}) with {} id {}\r\n", f.myhostname, f.mail_name, f.protocol,
                       f.queue_id);
    std::string recipient = f.single_recipient;
    for (char& c : recipient) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '>') c = '_';
    }
    out += fmt::format("\tfor <{}>; {}\r\n", QuoteLocalPart(recipient), MailDate(f.date));
  } else {
    out += fmt::format("\tby {} ({}) with {} id {};\r\n", f.myhostname, f.mail_name, f.protocol,
                       f.queue_id);
    out += fmt::format("\t{}\r\n", MailDate(f.date));
  }
  return out;
}

}  // namespace moat::mta
