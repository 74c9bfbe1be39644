// smtp_envelope.h - the envelope of one SMTP/LMTP transaction as both daemons carry it.
//
// MailParams is what MAIL FROM said, RcptParams what one RCPT TO said, XforwardAttributes what
// Postfix's XFORWARD command forwarded about the original client. The server session fills them
// from the wire (smtp_command.h parses), the MTA's queue stores them, filterd passes them on, and
// the client writes them back to the wire, so DSN parameters (RET, ENVID, NOTIFY, ORCPT) and the
// original client survive every hop. Values are decoded (no xtext, no angle brackets).
//
// Plain values; copy and move freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::core {

enum class SmtpMode { kSmtp, kLmtp };

// BODY= of RFC 6152 / RFC 3030.
enum class SmtpBodyType { kUnspecified, k7Bit, k8BitMime, kBinaryMime };
// RET= of RFC 3461.
enum class DsnRet { kUnspecified, kFull, kHeaders };

// NOTIFY= of RFC 3461, as bit flags; 0 means the client did not say.
namespace dsn_notify {
inline constexpr unsigned kNever = 1;
inline constexpr unsigned kSuccess = 2;
inline constexpr unsigned kFailure = 4;
inline constexpr unsigned kDelay = 8;
}  // namespace dsn_notify

struct MailParams {
  std::string sender;                 // empty: the null sender <>
  std::optional<std::uint64_t> size;  // SIZE=, as declared by the client
  SmtpBodyType body = SmtpBodyType::kUnspecified;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;                // ENVID=, decoded; empty when absent
  std::optional<std::string> auth;  // AUTH=, decoded; "<>" when the client said so
  bool smtputf8 = false;            // SMTPUTF8 given

  friend bool operator==(const MailParams&, const MailParams&) = default;
};

struct RcptParams {
  std::string recipient;
  unsigned notify = 0;     // dsn_notify flags; 0 when absent
  std::string orcpt_type;  // "rfc822", "utf-8"...; empty when ORCPT is absent
  std::string orcpt;       // ORCPT= address, decoded

  friend bool operator==(const RcptParams&, const RcptParams&) = default;
};

// Postfix XFORWARD attributes (XFORWARD_README). A missing attribute is nullopt. The special
// values "[UNAVAILABLE]" and "[TEMPUNAVAIL]" are kept as they came, so a filter can forward them
// unchanged; use XforwardValueAvailable() before trusting a value.
struct XforwardAttributes {
  std::optional<std::string> name;    // client host name
  std::optional<std::string> addr;    // client address (an "IPV6:" prefix is removed)
  std::optional<std::string> port;    // client port
  std::optional<std::string> proto;   // SMTP, ESMTP, ...
  std::optional<std::string> helo;    // client HELO/EHLO argument
  std::optional<std::string> ident;   // message identifier of the upstream MTA (queue id)
  std::optional<std::string> source;  // LOCAL or REMOTE

  bool empty() const { return !name && !addr && !port && !proto && !helo && !ident && !source; }
  // Overwrites the attributes that `newer` carries.
  void Merge(const XforwardAttributes& newer);

  friend bool operator==(const XforwardAttributes&, const XforwardAttributes&) = default;
};

inline constexpr std::string_view kXforwardUnavailable = "[UNAVAILABLE]";
inline constexpr std::string_view kXforwardTempUnavailable = "[TEMPUNAVAIL]";

// True when the attribute is present and not one of the "unavailable" markers.
bool XforwardValueAvailable(const std::optional<std::string>& value);

struct SmtpEnvelope {
  MailParams mail;
  std::vector<RcptParams> recipients;  // accepted recipients, in RCPT order
};

}  // namespace moat::core
