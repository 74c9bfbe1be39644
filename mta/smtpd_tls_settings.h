// smtpd_tls_settings.h - the STARTTLS server context of an smtpd service, from Postfix's
// smtpd_tls_* parameters.
//
//   smtpd_tls_security_level   none (no STARTTLS), may (offered), encrypt (required: commands
//                              other than EHLO/HELO/STARTTLS/NOOP/RSET/QUIT get 530 5.7.0
//                              before it); empty: the legacy smtpd_use_tls / smtpd_enforce_tls
//   smtpd_tls_cert_file, smtpd_tls_key_file (default: the cert file), smtpd_tls_chain_files
//   smtpd_tls_protocols (may) / smtpd_tls_mandatory_protocols (encrypt)
//                              ">=TLSv1.2", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1" or
//                              "TLSv1.2, TLSv1.3": Moat takes the lowest version allowed; SSLv2
//                              and SSLv3 are never offered; below TLSv1.2 is a warning
//   smtpd_tls_ciphers (may) / smtpd_tls_mandatory_ciphers (encrypt)
//                              high or medium (default): OpenSSL's HIGH (and MEDIUM) minus
//                              anonymous, null, MD5, RC4, DES, 3DES, IDEA and SEED suites;
//                              low/export/null are refused (medium is used, with a warning)
//   smtpd_tls_exclude_ciphers  further suites to remove
//
// Safe defaults: TLS 1.2 or newer, no compression, no client renegotiation, server cipher
// preference (core/smtp_tls.cc). Errors: kInvalid for a bad value or encrypt without a
// certificate, kIo for an unreadable certificate or key (with OpenSSL's reason).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace moat::mta {

struct SmtpdTls {
  std::shared_ptr<asio::ssl::context> context;  // null: STARTTLS not offered
  bool required = false;
  std::vector<std::string> warnings;
};

core::Result<SmtpdTls> BuildSmtpdTls(const core::Config& config);

// The lowest protocol a Postfix protocol list allows ("TLSv1.2"); kInvalid when it allows none.
core::Result<std::string> MinimumTlsProtocol(std::string_view protocols);
// The OpenSSL cipher list for a Postfix cipher grade and exclusion list.
std::string CipherList(std::string_view grade, const std::vector<std::string>& exclude,
                       std::vector<std::string>& warnings);

}  // namespace moat::mta
