// smtp_tls.h - OpenSSL set-up for SMTP STARTTLS, server and client side (through asio::ssl).
//
// MakeTlsServerContext() builds the context a server session hands out when a client sends
// STARTTLS (cert + key, TLS 1.2 or newer by default, safe ciphers, a session cache);
// MakeTlsClientContext() builds the context of the delivery/reinjection client (system or given
// CA certificates for verification on demand). Contexts are immutable once built and shared by
// many connections through std::shared_ptr (a SIGHUP builds a new one; connections in flight keep
// theirs). Errors are kInvalid (bad setting) or kIo (unreadable file), with OpenSSL's reason.
//
// The functions taking `ssl_st*` are for smtp_stream.cc, which owns the connections; they keep
// every direct OpenSSL call in this one file.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"

namespace asio::ssl {
class context;
}  // namespace asio::ssl

struct ssl_st;

namespace moat::core {

struct TlsServerSettings {
  std::string cert_file;                 // PEM, may hold the chain after the certificate
  std::string key_file;                  // PEM; empty: the key is in cert_file
  std::string min_protocol = "TLSv1.2";  // TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3
  std::string ciphers;  // OpenSSL cipher list for TLS <= 1.2; empty: OpenSSL default
};

struct TlsClientSettings {
  std::string ca_file;        // PEM bundle of trusted CAs; empty: see use_system_ca
  std::string ca_path;        // hashed directory of CAs
  bool use_system_ca = true;  // also trust the system's default CA store
  std::string cert_file;      // optional client certificate
  std::string key_file;
  std::string min_protocol = "TLSv1.2";
};

Result<std::shared_ptr<asio::ssl::context>> MakeTlsServerContext(const TlsServerSettings& settings);
Result<std::shared_ptr<asio::ssl::context>> MakeTlsClientContext(const TlsClientSettings& settings);

// What a TLS session negotiated, for Received: headers and logs.
struct SmtpTlsInfo {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int cipher_bits = 0;
  bool peer_verified = false;  // the peer presented a certificate that verified
  std::string peer_subject;    // the peer certificate's subject, one line; empty when none
};

SmtpTlsInfo DescribeTlsSession(ssl_st* ssl);
// Client side, before the handshake: SNI and, when `verify_name`, host name verification of
// the server certificate (the context decides whether a failed verification aborts).
Status PrepareTlsClientSession(ssl_st* ssl, const std::string& server_name, bool verify_name);
// Makes the next SSL_shutdown send close_notify without waiting for the peer's (the SMTP
// conversation is over; a peer that never answers must not hold the connection).
void PrepareUnidirectionalShutdown(ssl_st* ssl);
// Why the certificate did not verify (after a handshake), "" when it did.
std::string TlsVerifyError(ssl_st* ssl);

}  // namespace moat::core
