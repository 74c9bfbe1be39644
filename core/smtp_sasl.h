// smtp_sasl.h - the SASL pieces of SMTP AUTH (RFC 4954) for PLAIN (RFC 4616) and LOGIN: base64
// and the credential formats, used by the server session to decode and by the client to encode.
//
// Base64Decode is strict (RFC 4648 alphabet, padding required, no whitespace), as a 334 response
// is one line; any malformation is kInvalid. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

struct SaslCredentials {
  std::string mechanism;  // "PLAIN" or "LOGIN"
  std::string authzid;    // PLAIN authorization identity; usually empty
  std::string username;   // authentication identity
  std::string password;
};

std::string Base64Encode(std::string_view raw);
Result<std::string> Base64Decode(std::string_view text);

// PLAIN message "authzid NUL authcid NUL passwd" (already base64-decoded).
Result<SaslCredentials> ParseSaslPlain(std::string_view message);
// The base64 initial response a client sends with "AUTH PLAIN".
std::string EncodeSaslPlain(std::string_view authzid, std::string_view username,
                            std::string_view password);

}  // namespace moat::core
