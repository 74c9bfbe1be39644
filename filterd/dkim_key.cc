// dkim_key.cc - OpenSSL 3 behind DkimPrivateKey / DkimPublicKey / DkimDigest.
#include "filterd/dkim_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

using core::ErrorCode;
using core::Fail;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

// The last OpenSSL error as text, clearing the (thread-local) queue so it cannot leak into a later
// unrelated call.
std::string OpensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

const EVP_MD* Md(DkimHash hash) { return hash == DkimHash::kSha1 ? EVP_sha1() : EVP_sha256(); }

// Never prompt for a passphrase on a terminal: an encrypted key is simply not usable.
int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace

std::string_view DkimKeyTypeName(DkimKeyType type) {
  return type == DkimKeyType::kRsa ? "rsa" : "ed25519";
}

std::string DkimDigest(DkimHash hash, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out, &length, Md(hash), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), length);
}

core::Result<DkimPrivateKey> DkimPrivateKey::Wrap(EVP_PKEY* raw) {
  auto key = Share(raw);
  switch (EVP_PKEY_get_base_id(raw)) {
    case EVP_PKEY_RSA:
      return DkimPrivateKey(std::move(key), DkimKeyType::kRsa, EVP_PKEY_get_bits(raw));
    case EVP_PKEY_ED25519:
      return DkimPrivateKey(std::move(key), DkimKeyType::kEd25519, 256);
    default:
      return Fail(ErrorCode::kInvalid, "private key is neither RSA nor Ed25519");
  }
}

core::Result<DkimPrivateKey> DkimPrivateKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Fail(ErrorCode::kTempFail, "BIO_new_mem_buf: {}", OpensslError());
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (key == nullptr) {
    return Fail(ErrorCode::kInvalid, "not a usable PEM private key ({})", OpensslError());
  }
  return Wrap(key);
}

core::Result<DkimPrivateKey> DkimPrivateKey::FromEd25519Seed(std::string_view seed) {
  if (seed.size() != 32) {
    return Fail(ErrorCode::kInvalid, "an Ed25519 seed is 32 bytes, not {}", seed.size());
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (key == nullptr) return Fail(ErrorCode::kInvalid, "Ed25519 seed: {}", OpensslError());
  return Wrap(key);
}

core::Result<DkimPrivateKey> DkimPrivateKey::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(core::ErrnoError(ErrorCode::kIo, "open " + path, errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string content = buffer.str();
  if (content.find("-----BEGIN") != std::string::npos) {
    auto key = FromPem(content);
    if (!key) return Fail(key.error().WithContext(path));
    return key;
  }
  auto seed = DecodeBase64(content);
  if (!seed || seed->size() != 32) {
    return Fail(ErrorCode::kInvalid, "{}: neither a PEM private key nor a base64 Ed25519 seed",
                path);
  }
  return FromEd25519Seed(*seed);
}

core::Result<DkimPrivateKey> DkimPrivateKey::Generate(DkimKeyType type, int bits) {
  EVP_PKEY* key = nullptr;
  if (type == DkimKeyType::kRsa) {
    if (bits < 1024 || bits > 8192) {
      return Fail(ErrorCode::kInvalid, "RSA key size {} outside 1024..8192", bits);
    }
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (key == nullptr) return Fail(ErrorCode::kTempFail, "key generation: {}", OpensslError());
  return Wrap(key);
}

core::Result<std::string> DkimPrivateKey::Sign(DkimHash hash, std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Fail(ErrorCode::kTempFail, "EVP_MD_CTX_new: {}", OpensslError());
  std::string digest;
  const EVP_MD* md = Md(hash);
  if (type_ == DkimKeyType::kEd25519) {
    if (hash != DkimHash::kSha256) return Fail(ErrorCode::kInvalid, "ed25519 needs sha256");
    digest = DkimDigest(DkimHash::kSha256, data);
    data = digest;
    md = nullptr;  // pure Ed25519 over the digest (RFC 8463 section 3)
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) {
    return Fail(ErrorCode::kTempFail, "EVP_DigestSignInit: {}", OpensslError());
  }
  size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, bytes, data.size()) != 1) {
    return Fail(ErrorCode::kTempFail, "EVP_DigestSign: {}", OpensslError());
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes,
                     data.size()) != 1) {
    return Fail(ErrorCode::kTempFail, "EVP_DigestSign: {}", OpensslError());
  }
  signature.resize(length);
  return signature;
}

core::Result<std::string> DkimPrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Fail(ErrorCode::kTempFail, "PEM_write_bio_PrivateKey: {}", OpensslError());
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

core::Result<std::string> DkimPrivateKey::PublicKeyData() const {
  if (type_ == DkimKeyType::kEd25519) {
    unsigned char raw[32];
    size_t length = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &length) != 1) {
      return Fail(ErrorCode::kTempFail, "EVP_PKEY_get_raw_public_key: {}", OpensslError());
    }
    return std::string(reinterpret_cast<char*>(raw), length);
  }
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key_.get(), &der);
  if (length <= 0) return Fail(ErrorCode::kTempFail, "i2d_PUBKEY: {}", OpensslError());
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

core::Result<DkimPublicKey> DkimPublicKey::FromRecordData(DkimKeyType type, std::string_view data) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (type == DkimKeyType::kEd25519) {
    if (data.size() != 32) {
      return Fail(ErrorCode::kInvalid, "wrong key type: k=ed25519 but p= is {} bytes, not 32",
                  data.size());
    }
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes, data.size());
    if (key == nullptr) return Fail(ErrorCode::kInvalid, "bad Ed25519 key: {}", OpensslError());
    return DkimPublicKey(Share(key), type, 256);
  }
  const unsigned char* cursor = bytes;
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &cursor, static_cast<long>(data.size()));
  if (key == nullptr) {  // RFC 6376 3.6.1 literally says RSAPublicKey; accept that form too
    ERR_clear_error();
    cursor = bytes;
    key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, static_cast<long>(data.size()));
  }
  if (key == nullptr) {
    ERR_clear_error();
    return Fail(ErrorCode::kInvalid, "p= is not a DER RSA public key");
  }
  auto shared = Share(key);
  if (cursor != bytes + data.size()) {
    return Fail(ErrorCode::kInvalid, "p= has bytes after the public key");
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return Fail(ErrorCode::kInvalid, "wrong key type: k=rsa but p= holds another kind of key");
  }
  return DkimPublicKey(std::move(shared), type, EVP_PKEY_get_bits(key));
}

bool DkimPublicKey::Verify(DkimHash hash, std::string_view data,
                           std::string_view signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  std::string digest;
  const EVP_MD* md = Md(hash);
  if (type_ == DkimKeyType::kEd25519) {
    if (hash != DkimHash::kSha256) return false;
    digest = DkimDigest(DkimHash::kSha256, data);
    data = digest;
    md = nullptr;
  }
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace moat::filterd
