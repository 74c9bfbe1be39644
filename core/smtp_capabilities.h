// smtp_capabilities.h - what an SMTP/LMTP server said it supports in its EHLO/LHLO reply
// (RFC 5321 4.1.1.1 and the extension RFCs), as the client needs it.
//
// Keywords are matched case-insensitively; unknown ones are ignored. "AUTH=..." (the pre-RFC
// form some servers still send) counts as AUTH. Plain value, thread-safe to copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/smtp_reply.h"

namespace moat::core {

struct SmtpCapabilities {
  bool esmtp = false;  // the server answered EHLO/LHLO (not only HELO)
  bool pipelining = false;
  bool size = false;
  std::uint64_t size_limit = 0;  // 0: SIZE without a limit
  bool starttls = false;
  bool eight_bit_mime = false;
  bool dsn = false;
  bool smtputf8 = false;
  bool enhanced_status_codes = false;
  bool chunking = false;
  std::vector<std::string> auth_mechanisms;      // upper case
  std::vector<std::string> xforward_attributes;  // upper case; empty: no XFORWARD

  bool HasAuth(std::string_view mechanism) const;
};

// Parses a 250 EHLO/LHLO reply (the first line is the server's name and is skipped).
SmtpCapabilities ParseEhloReply(const SmtpReply& reply);

}  // namespace moat::core
