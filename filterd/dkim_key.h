// dkim_key.h - DKIM keys, signatures and digests: the one place that touches OpenSSL for DKIM.
//
// DkimPrivateKey signs (rsa-sha256, ed25519-sha256 per RFC 8463: Ed25519 over the SHA-256 hash of
// the canonical headers). DkimPublicKey verifies, built from the p= data of a key record: for RSA
// a DER SubjectPublicKeyInfo (what everyone publishes) or a bare RSAPublicKey (what RFC 6376 text
// says), for Ed25519 the raw 32-byte key. Keys load from PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8
// "PRIVATE KEY") or, for Ed25519, from a file holding the base64 32-byte seed (dkimpy's format).
//
// Both key types are immutable values sharing the underlying EVP_PKEY: cheap to copy and safe to
// use from many threads at once (OpenSSL 3 key objects are read-only once built; each operation
// makes its own context). Errors: kInvalid for key material that does not parse or has the wrong
// type or size; kIo when a key file cannot be read; kTempFail only when OpenSSL itself fails
// (out of memory). A signature that does not verify is `false`, not an error.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace moat::filterd {

enum class DkimKeyType { kRsa, kEd25519 };
enum class DkimHash { kSha1, kSha256 };

std::string_view DkimKeyTypeName(DkimKeyType type);  // "rsa", "ed25519" (the k= values)

// SHA-1 / SHA-256 of `data` (raw bytes).
std::string DkimDigest(DkimHash hash, std::string_view data);

class DkimPrivateKey {
 public:
  static core::Result<DkimPrivateKey> FromPem(std::string_view pem);
  static core::Result<DkimPrivateKey> FromEd25519Seed(std::string_view seed);  // 32 raw bytes
  // PEM, or the base64 Ed25519 seed. The file's content never appears in an error message.
  static core::Result<DkimPrivateKey> LoadFile(const std::string& path);
  // A new key: RSA with `bits` (1024..8192), or Ed25519 (bits ignored).
  static core::Result<DkimPrivateKey> Generate(DkimKeyType type, int bits);

  DkimKeyType type() const { return type_; }
  int bits() const { return bits_; }

  // The signature of `data` (the canonicalized headers): RSASSA-PKCS1-v1_5 over hash(data) for
  // RSA, Ed25519 over SHA-256(data) for Ed25519 (where `hash` must be kSha256).
  core::Result<std::string> Sign(DkimHash hash, std::string_view data) const;

  // PKCS#8 PEM of the private key (what `moat dkim keygen` writes).
  core::Result<std::string> ToPem() const;
  // The p= bytes of the matching key record (before base64).
  core::Result<std::string> PublicKeyData() const;

 private:
  DkimPrivateKey(std::shared_ptr<evp_pkey_st> key, DkimKeyType type, int bits)
      : key_(std::move(key)), type_(type), bits_(bits) {}
  static core::Result<DkimPrivateKey> Wrap(evp_pkey_st* key);
  std::shared_ptr<evp_pkey_st> key_;
  DkimKeyType type_;
  int bits_;
};

class DkimPublicKey {
 public:
  // `data` is the decoded p= value; `type` comes from the record's k= tag. A key of another type
  // than k= says is kInvalid ("wrong key type").
  static core::Result<DkimPublicKey> FromRecordData(DkimKeyType type, std::string_view data);

  DkimKeyType type() const { return type_; }
  int bits() const { return bits_; }

  bool Verify(DkimHash hash, std::string_view data, std::string_view signature) const;

 private:
  DkimPublicKey(std::shared_ptr<evp_pkey_st> key, DkimKeyType type, int bits)
      : key_(std::move(key)), type_(type), bits_(bits) {}
  std::shared_ptr<evp_pkey_st> key_;
  DkimKeyType type_;
  int bits_;
};

}  // namespace moat::filterd
