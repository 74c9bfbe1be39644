// smtp_sasl.cc - base64 and SASL PLAIN encoding.
#include "core/smtp_sasl.h"

#include <array>

namespace moat::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> MakeDecodeTable() {
  std::array<signed char, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  return table;
}

constexpr auto kDecode = MakeDecodeTable();

}  // namespace

std::string Base64Encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(raw[i]) << 16 |
                 static_cast<unsigned char>(raw[i + 1]) << 8 |
                 static_cast<unsigned char>(raw[i + 2]);
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < raw.size()) {
    unsigned v = static_cast<unsigned char>(raw[i]) << 16;
    if (i + 1 < raw.size()) v |= static_cast<unsigned char>(raw[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(i + 1 < raw.size() ? kAlphabet[v >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Fail(ErrorCode::kInvalid, "base64 length not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    unsigned v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = kDecode[static_cast<unsigned char>(c)];
      if (d < 0 || pad > 0) return Fail(ErrorCode::kInvalid, "invalid base64 at offset {}", i + j);
      v = v << 6 | static_cast<unsigned>(d);
    }
    out.push_back(static_cast<char>(v >> 16 & 0xff));
    if (pad < 2) out.push_back(static_cast<char>(v >> 8 & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

Result<SaslCredentials> ParseSaslPlain(std::string_view message) {
  std::size_t first = message.find('\0');
  std::size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos ||
      message.find('\0', second + 1) != std::string_view::npos) {
    return Fail(ErrorCode::kInvalid, "PLAIN response is not authzid NUL authcid NUL passwd");
  }
  SaslCredentials credentials;
  credentials.mechanism = "PLAIN";
  credentials.authzid.assign(message.substr(0, first));
  credentials.username.assign(message.substr(first + 1, second - first - 1));
  credentials.password.assign(message.substr(second + 1));
  if (credentials.username.empty()) return Fail(ErrorCode::kInvalid, "PLAIN response without user");
  return credentials;
}

std::string EncodeSaslPlain(std::string_view authzid, std::string_view username,
                            std::string_view password) {
  std::string message;
  message.append(authzid);
  message.push_back('\0');
  message.append(username);
  message.push_back('\0');
  message.append(password);
  return Base64Encode(message);
}

}  // namespace moat::core
