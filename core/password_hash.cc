// password_hash.cc - PBKDF2-SHA256 password strings in passlib's format (OpenSSL).
#include "core/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace moat::core {
namespace {

constexpr std::string_view kPrefix = "$pbkdf2-sha256$";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kChecksumBytes = 32;
// passlib's adapted base64: '.' replaces '+', no padding.
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./";

std::string Ab64Encode(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                      std::uint32_t{data[i + 2]};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (size - i == 1) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (size - i == 2) {
    std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

int Ab64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '.' || c == '+') return 62;  // passlib writes '.', accepts '+'
  if (c == '/') return 63;
  return -1;
}

std::optional<std::vector<unsigned char>> Ab64Decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<unsigned char> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = Ab64Value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

struct ParsedHash {
  int iterations = 0;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> checksum;
};

std::optional<ParsedHash> Parse(std::string_view text) {
  if (!text.starts_with(kPrefix)) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  std::size_t first = text.find('$');
  if (first == std::string_view::npos) return std::nullopt;
  std::size_t second = text.find('$', first + 1);
  if (second == std::string_view::npos || text.find('$', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  ParsedHash parsed;
  std::string_view rounds = text.substr(0, first);
  auto [end, ec] = std::from_chars(rounds.data(), rounds.data() + rounds.size(), parsed.iterations);
  if (ec != std::errc() || end != rounds.data() + rounds.size() || rounds.starts_with('0') ||
      parsed.iterations < kMinPbkdf2Iterations || parsed.iterations > kMaxPbkdf2Iterations) {
    return std::nullopt;
  }
  auto salt = Ab64Decode(text.substr(first + 1, second - first - 1));
  auto checksum = Ab64Decode(text.substr(second + 1));
  if (!salt || salt->empty() || salt->size() > 1024 || !checksum ||
      checksum->size() != kChecksumBytes) {
    return std::nullopt;
  }
  parsed.salt = std::move(*salt);
  parsed.checksum = std::move(*checksum);
  return parsed;
}

bool Derive(std::string_view password, const unsigned char* salt, std::size_t salt_size,
            int iterations, unsigned char (&out)[kChecksumBytes]) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt,
                           static_cast<int>(salt_size), iterations, EVP_sha256(),
                           static_cast<int>(kChecksumBytes), out) == 1;
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options) {
  if (options.iterations < kMinPbkdf2Iterations || options.iterations > kMaxPbkdf2Iterations) {
    return Fail(ErrorCode::kInvalid, "iterations must be {}..{}", kMinPbkdf2Iterations,
                kMaxPbkdf2Iterations);
  }
  std::array<unsigned char, kSaltBytes> salt;
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return Fail(ErrorCode::kIo, "the random generator failed");
  }
  unsigned char checksum[kChecksumBytes];
  if (!Derive(password, salt.data(), salt.size(), options.iterations, checksum)) {
    return Fail(ErrorCode::kIo, "PBKDF2 failed");
  }
  std::string out = fmt::format("{}{}${}${}", kPrefix, options.iterations,
                                Ab64Encode(salt.data(), salt.size()),
                                Ab64Encode(checksum, sizeof checksum));
  OPENSSL_cleanse(checksum, sizeof checksum);
  return out;
}

Result<bool> VerifyPassword(std::string_view password, std::string_view stored_hash) {
  std::optional<ParsedHash> parsed = Parse(stored_hash);
  if (!parsed) {
    return Fail(ErrorCode::kInvalid,
                "not a password hash (expected $pbkdf2-sha256$iterations$salt$checksum, as `moat "
                "passwd` prints)");
  }
  unsigned char checksum[kChecksumBytes];
  if (!Derive(password, parsed->salt.data(), parsed->salt.size(), parsed->iterations, checksum)) {
    return Fail(ErrorCode::kIo, "PBKDF2 failed");
  }
  bool match = CRYPTO_memcmp(checksum, parsed->checksum.data(), kChecksumBytes) == 0;
  OPENSSL_cleanse(checksum, sizeof checksum);
  return match;
}

bool IsPasswordHash(std::string_view text) { return Parse(text).has_value(); }

}  // namespace moat::core
