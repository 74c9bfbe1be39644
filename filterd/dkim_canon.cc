// dkim_canon.cc - message splitting and DKIM canonicalization.
#include "filterd/dkim_canon.h"

#include <algorithm>

namespace moat::filterd {
namespace {

using core::ErrorCode;
using core::Fail;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

// Length of the line starting at `at` without its terminator, and the terminator's length.
void NextLine(std::string_view text, size_t at, size_t* length, size_t* terminator) {
  size_t nl = text.find('\n', at);
  if (nl == std::string_view::npos) {
    *length = text.size() - at;
    *terminator = 0;
    return;
  }
  *terminator = 1;
  *length = nl - at;
  if (nl > at && text[nl - 1] == '\r') {
    --*length;
    *terminator = 2;
  }
}

}  // namespace

std::string_view DkimCanonicalizationName(DkimCanonicalization c) {
  return c == DkimCanonicalization::kSimple ? "simple" : "relaxed";
}

core::Result<SplitMessageView> SplitMessage(std::string_view message) {
  SplitMessageView view;
  size_t at = 0;
  size_t field_start = std::string_view::npos;
  size_t field_end = 0;  // end of the field's last line, before its terminator
  auto close_field = [&] {
    if (field_start == std::string_view::npos) return;
    std::string_view raw = message.substr(field_start, field_end - field_start);
    std::string_view name = raw.substr(0, raw.find(':'));
    while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
    view.headers.push_back({name, raw});
    field_start = std::string_view::npos;
  };
  while (at < message.size()) {
    size_t length = 0, terminator = 0;
    NextLine(message, at, &length, &terminator);
    std::string_view line = message.substr(at, length);
    if (line.empty()) {  // the empty line: the body follows
      close_field();
      view.body = message.substr(at + terminator);
      break;
    }
    if (IsWsp(line.front())) {
      if (field_start == std::string_view::npos) {
        return Fail(ErrorCode::kInvalid, "message starts with a continuation line");
      }
    } else {
      size_t colon = line.find(':');
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
      bool good_name = colon != std::string_view::npos && !name.empty() &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return c > ' ' && c < 0x7f && c != ':';
                       });
      if (!good_name) {
        return Fail(ErrorCode::kInvalid, "malformed header line '{}'", line.substr(0, 60));
      }
      close_field();
      field_start = at;
    }
    field_end = at + length;
    at += length + terminator;
  }
  close_field();
  if (view.headers.empty()) return Fail(ErrorCode::kInvalid, "message has no header fields");
  return view;
}

std::string HeaderValue(const HeaderField& field) {
  std::string_view value = field.raw.substr(field.raw.find(':') + 1);
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  size_t begin = out.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = out.find_last_not_of(" \t");
  return out.substr(begin, end - begin + 1);
}

void CanonicalizeHeader(std::string_view raw, DkimCanonicalization c, std::string* out) {
  if (c == DkimCanonicalization::kSimple) {
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out->push_back('\r');
      out->push_back(raw[i]);
    }
    out->append("\r\n");
    return;
  }
  size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
  for (char ch : name) out->push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch);
  out->push_back(':');
  // Unfold, collapse WSP runs to one SP, drop WSP at both ends of the value.
  bool pending_space = false;
  bool started = false;
  for (size_t i = colon + 1; i < raw.size(); ++i) {
    char ch = raw[i];
    if (ch == '\r' || ch == '\n') continue;
    if (IsWsp(ch)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    started = true;
    out->push_back(ch);
  }
  out->append("\r\n");
}

std::string CanonicalSignedHeaders(const SplitMessageView& message,
                                   const std::vector<std::string>& names, DkimCanonicalization c) {
  std::string out;
  std::vector<bool> used(message.headers.size(), false);
  for (const auto& name : names) {
    for (size_t i = message.headers.size(); i-- > 0;) {
      if (used[i] || !EqualsIgnoreCaseAscii(message.headers[i].name, name)) continue;
      used[i] = true;
      CanonicalizeHeader(message.headers[i].raw, c, &out);
      break;
    }
  }
  return out;
}

std::string CanonicalizeBody(std::string_view body, DkimCanonicalization c,
                             uint64_t* full_length) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  size_t at = 0;
  size_t keep = 0;  // length of `out` up to the last non-empty line
  while (at < body.size()) {
    size_t length = 0, terminator = 0;
    NextLine(body, at, &length, &terminator);
    std::string_view line = body.substr(at, length);
    at += length + terminator;
    const size_t line_start = out.size();
    if (c == DkimCanonicalization::kRelaxed) {
      bool pending_space = false;
      for (char ch : line) {
        if (IsWsp(ch)) {
          pending_space = true;
          continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(ch);
      }
    } else {
      out.append(line);
    }
    bool empty_line = out.size() == line_start;
    out.append("\r\n");
    if (!empty_line) keep = out.size();
  }
  out.resize(keep);  // trailing empty lines are ignored in both forms
  if (c == DkimCanonicalization::kSimple && out.empty()) out = "\r\n";
  if (full_length != nullptr) *full_length = out.size();
  return out;
}

core::Result<std::string> WithoutSignatureValue(std::string_view raw) {
  size_t colon = raw.find(':');
  if (colon == std::string_view::npos) return Fail(ErrorCode::kInvalid, "not a header field");
  size_t at = colon + 1;
  while (at <= raw.size()) {
    size_t end = raw.find(';', at);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view spec = raw.substr(at, end - at);
    size_t eq = spec.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = spec.substr(0, eq);
      size_t first = name.find_first_not_of(" \t\r\n");
      size_t last = name.find_last_not_of(" \t\r\n");
      if (first != std::string_view::npos && name.substr(first, last - first + 1) == "b") {
        std::string out(raw.substr(0, at + eq + 1));
        out.append(raw.substr(end));
        return out;
      }
    }
    at = end + 1;
  }
  return Fail(ErrorCode::kInvalid, "DKIM-Signature has no b= tag");
}

}  // namespace moat::filterd
