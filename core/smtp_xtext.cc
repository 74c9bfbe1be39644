// smtp_xtext.cc - RFC 3461 xtext encoding and decoding.
#include "core/smtp_xtext.h"

namespace moat::core {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

void XtextEncodeAppend(std::string_view raw, std::string& out) {
  for (char c : raw) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= '!' && byte <= '~' && byte != '+' && byte != '=') {
      out.push_back(c);
    } else {
      out.push_back('+');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
}

std::string XtextEncode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  XtextEncodeAppend(raw, out);
  return out;
}

Result<std::string> XtextDecode(std::string_view xtext) {
  std::string out;
  out.reserve(xtext.size());
  for (std::size_t i = 0; i < xtext.size(); ++i) {
    auto byte = static_cast<unsigned char>(xtext[i]);
    if (byte == '+') {
      int high = i + 1 < xtext.size() ? HexValue(xtext[i + 1]) : -1;
      int low = i + 2 < xtext.size() ? HexValue(xtext[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return Fail(ErrorCode::kInvalid, "bad xtext escape at offset {}", i);
      }
      out.push_back(static_cast<char>(high << 4 | low));
      i += 2;
    } else if (byte >= '!' && byte <= '~' && byte != '=') {
      out.push_back(static_cast<char>(byte));
    } else {
      return Fail(ErrorCode::kInvalid, "invalid xtext character 0x{:02x} at offset {}", byte, i);
    }
  }
  return out;
}

}  // namespace moat::core
