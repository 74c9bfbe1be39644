// smtp_tls.cc - the one place the wire protocol talks to OpenSSL directly.
#include "core/smtp_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/ssl/context.hpp>

namespace moat::core {
namespace {

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text.append("; ");
    text.append(buffer);
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

Result<int> ProtocolVersion(const std::string& name) {
  if (name == "TLSv1") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2" || name.empty()) return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return Fail(ErrorCode::kInvalid, "unknown TLS protocol version '{}'", name);
}

Status ApplyCommon(SSL_CTX* ctx, const std::string& min_protocol) {
  auto version = ProtocolVersion(min_protocol);
  if (!version) return Fail(version.error());
  if (SSL_CTX_set_min_proto_version(ctx, *version) != 1) {
    return Fail(ErrorCode::kInvalid, "setting minimum TLS version: {}", OpenSslErrors());
  }
  // No compression (CRIME), no renegotiation by the peer.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return {};
}

Status LoadKeyPair(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return Fail(ErrorCode::kIo, "loading certificate {}: {}", cert_file, OpenSslErrors());
  }
  const std::string& key = key_file.empty() ? cert_file : key_file;
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Fail(ErrorCode::kIo, "loading private key {}: {}", key, OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Fail(ErrorCode::kInvalid, "private key {} does not match certificate {}", key,
                cert_file);
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> MakeTlsServerContext(
    const TlsServerSettings& settings) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  if (auto status = ApplyCommon(ctx, settings.min_protocol); !status) return Fail(status.error());
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!settings.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, settings.ciphers.c_str()) != 1) {
    return Fail(ErrorCode::kInvalid, "cipher list '{}': {}", settings.ciphers, OpenSslErrors());
  }
  if (settings.cert_file.empty())
    return Fail(ErrorCode::kInvalid, "TLS server needs a certificate");
  if (auto status = LoadKeyPair(ctx, settings.cert_file, settings.key_file); !status) {
    return Fail(status.error());
  }
  static const unsigned char kSessionContext[] = "moat-smtp";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return context;
}

Result<std::shared_ptr<asio::ssl::context>> MakeTlsClientContext(
    const TlsClientSettings& settings) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  if (auto status = ApplyCommon(ctx, settings.min_protocol); !status) return Fail(status.error());
  ERR_clear_error();
  if (settings.use_system_ca && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Fail(ErrorCode::kIo, "loading the system CA store: {}", OpenSslErrors());
  }
  if (!settings.ca_file.empty() || !settings.ca_path.empty()) {
    const char* file = settings.ca_file.empty() ? nullptr : settings.ca_file.c_str();
    const char* path = settings.ca_path.empty() ? nullptr : settings.ca_path.c_str();
    if (SSL_CTX_load_verify_locations(ctx, file, path) != 1) {
      return Fail(ErrorCode::kIo, "loading CA {}{}: {}", settings.ca_file, settings.ca_path,
                  OpenSslErrors());
    }
  }
  if (!settings.cert_file.empty()) {
    if (auto status = LoadKeyPair(ctx, settings.cert_file, settings.key_file); !status) {
      return Fail(status.error());
    }
  }
  // Verification is decided per connection (PrepareTlsClientSession / SSL_set_verify).
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return context;
}

SmtpTlsInfo DescribeTlsSession(ssl_st* ssl) {
  SmtpTlsInfo info;
  if (ssl == nullptr) return info;
  info.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
    info.cipher = SSL_CIPHER_get_name(cipher);
    info.cipher_bits = SSL_CIPHER_get_bits(cipher, nullptr);
  }
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    info.peer_verified = SSL_get_verify_result(ssl) == X509_V_OK;
    char subject[512];
    X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
    info.peer_subject = subject;
  }
  return info;
}

Status PrepareTlsClientSession(ssl_st* ssl, const std::string& server_name, bool verify_name) {
  ERR_clear_error();
  bool is_literal = server_name.empty() || server_name.find(':') != std::string::npos ||
                    server_name.find_first_not_of("0123456789.") == std::string::npos;
  if (!is_literal && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
    return Fail(ErrorCode::kInvalid, "SNI name '{}': {}", server_name, OpenSslErrors());
  }
  if (verify_name) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str())
                        : SSL_set1_host(ssl, server_name.c_str());
    if (ok != 1)
      return Fail(ErrorCode::kInvalid, "verify name '{}': {}", server_name, OpenSslErrors());
  }
  return {};
}

void PrepareUnidirectionalShutdown(ssl_st* ssl) {
  SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
}

std::string TlsVerifyError(ssl_st* ssl) {
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  return X509_verify_cert_error_string(result);
}

}  // namespace moat::core
