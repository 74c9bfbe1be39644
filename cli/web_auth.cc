// web_auth.cc - users file, PBKDF2 password hashes and random tokens (OpenSSL).
#include "cli/web_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "core/config_file.h"

namespace moat::cli {
namespace {

using core::ErrorCode;

constexpr std::string_view kScheme = "$pbkdf2-sha256$";
constexpr size_t kHashBytes = 32;
constexpr int kMinIterations = 1000;
constexpr int kMaxIterations = 100'000'000;

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '.' || c == '-') return 62;  // standard, passlib, base64url
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::string EncodeBase64(std::string_view bytes, bool url) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64[(buffer << (6 - bits)) & 0x3f]);
  if (url) {
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  } else {
    while (out.size() % 4 != 0) out.push_back('=');
  }
  return out;
}

struct ParsedHash {
  int iterations = 0;
  std::string salt;
  std::string hash;
};

core::Result<ParsedHash> ParseHash(std::string_view encoded) {
  if (!encoded.starts_with(kScheme)) {
    return core::Fail(ErrorCode::kInvalid, "password hash does not start with {}", kScheme);
  }
  std::string_view rest = encoded.substr(kScheme.size());
  size_t first = rest.find('$');
  size_t second = first == std::string_view::npos ? first : rest.find('$', first + 1);
  if (second == std::string_view::npos || rest.find('$', second + 1) != std::string_view::npos) {
    return core::Fail(ErrorCode::kInvalid,
                      "password hash is not $pbkdf2-sha256$<iterations>$<salt>$<hash>");
  }
  ParsedHash parsed;
  std::string_view digits = rest.substr(0, first);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed.iterations);
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      parsed.iterations < kMinIterations || parsed.iterations > kMaxIterations) {
    return core::Fail(ErrorCode::kInvalid, "password hash iterations must be {}..{}",
                      kMinIterations, kMaxIterations);
  }
  auto salt = DecodeBase64(rest.substr(first + 1, second - first - 1));
  if (!salt || salt->size() < 8 || salt->size() > 64) {
    return core::Fail(ErrorCode::kInvalid, "password hash salt must be 8..64 bytes of base64");
  }
  auto hash = DecodeBase64(rest.substr(second + 1));
  if (!hash || hash->size() != kHashBytes) {
    return core::Fail(ErrorCode::kInvalid, "password hash must be 32 bytes of base64");
  }
  parsed.salt = std::move(*salt);
  parsed.hash = std::move(*hash);
  return parsed;
}

std::string Pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kHashBytes, '\0');
  int ok =
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  if (ok != 1) throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");  // allocation failure only
  return out;
}

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

}  // namespace

std::string_view WebRoleName(WebRole role) {
  return role == WebRole::kAdmin ? "admin" : "reviewer";
}

std::optional<WebRole> ParseWebRole(std::string_view name) {
  if (name == "admin") return WebRole::kAdmin;
  if (name == "reviewer") return WebRole::kReviewer;
  return std::nullopt;
}

core::Status CheckPasswordHash(std::string_view encoded) {
  auto parsed = ParseHash(encoded);
  if (!parsed) return core::Fail(parsed.error());
  return {};
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  auto parsed = ParseHash(encoded);
  if (!parsed) return false;
  std::string computed = Pbkdf2(password, parsed->salt, parsed->iterations);
  return CRYPTO_memcmp(computed.data(), parsed->hash.data(), kHashBytes) == 0;
}

std::string HashPassword(std::string_view password, int iterations) {
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string hash = Pbkdf2(password, salt, iterations);
  return fmt::format("{}{}${}${}", kScheme, iterations, EncodeBase64(salt, false),
                     EncodeBase64(hash, false));
}

void BurnPasswordCheck(std::string_view password, int iterations) {
  static constexpr std::string_view kSalt = "moat-web-no-such-user";
  (void)Pbkdf2(password, kSalt, std::clamp(iterations, kMinIterations, kMaxIterations));
}

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");  // no entropy: nothing safe can continue
  }
  return EncodeBase64(raw, true);
}

bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

core::Result<std::vector<WebUser>> ParseUsersFile(std::string_view text,
                                                  std::string_view file_name) {
  std::vector<WebUser> users;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fields = Fields(line);
    if (fields.empty() || fields[0].starts_with('#')) continue;
    if (fields.size() != 3) {
      return core::Fail(ErrorCode::kInvalid, "{}:{}: expected `name role hash`", file_name,
                        line_number);
    }
    if (!ValidUserName(fields[0])) {
      return core::Fail(ErrorCode::kInvalid, "{}:{}: user name must be 1-64 of [A-Za-z0-9._@+-]",
                        file_name, line_number);
    }
    auto role = ParseWebRole(fields[1]);
    if (!role) {
      return core::Fail(ErrorCode::kInvalid, "{}:{}: role must be admin or reviewer", file_name,
                        line_number);
    }
    if (auto checked = CheckPasswordHash(fields[2]); !checked) {
      return core::Fail(ErrorCode::kInvalid, "{}:{}: {}", file_name, line_number,
                        checked.error().message());
    }
    for (const WebUser& user : users) {
      if (user.name == fields[0]) {
        return core::Fail(ErrorCode::kInvalid, "{}:{}: user '{}' is listed twice", file_name,
                          line_number, fields[0]);
      }
    }
    users.push_back({std::string(fields[0]), *role, std::string(fields[2])});
  }
  return users;
}

core::Status WebUserDirectory::Load() {
  std::lock_guard lock(mutex_);
  return LoadLocked();
}

core::Status WebUserDirectory::LoadLocked() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return core::Fail(core::ErrnoError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                                       "web users file " + path_, errno));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return core::Fail(ErrorCode::kInvalid,
                      "{}: writable by group or others; whoever can write it can add an admin "
                      "(chmod 600)",
                      path_);
  }
  auto text = core::ReadSmallFile(path_, 1u << 20);
  if (!text) return core::Fail(text.error().WithContext("web users file " + path_));
  auto users = ParseUsersFile(*text, path_);
  if (!users) return core::Fail(users.error());
  users_ = std::move(*users);
  mtime_ = st.st_mtim;
  size_ = st.st_size;
  return {};
}

std::optional<WebUser> WebUserDirectory::Find(std::string_view name) {
  std::lock_guard lock(mutex_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 &&
      (st.st_mtim.tv_sec != mtime_.tv_sec || st.st_mtim.tv_nsec != mtime_.tv_nsec ||
       st.st_size != size_)) {
    if (auto loaded = LoadLocked(); !loaded) {
      spdlog::error("moat web: keeping the previous users: {}", loaded.error().message());
      mtime_ = st.st_mtim;  // report once per change, not once per login
      size_ = st.st_size;
    }
  }
  for (const WebUser& user : users_) {
    if (user.name == name) return user;
  }
  return std::nullopt;
}

}  // namespace moat::cli
