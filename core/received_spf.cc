// received_spf.cc - see received_spf.h.
#include "core/received_spf.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include <fmt/format.h>

namespace moat::core {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsAtext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsDotAtom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = 0;
  for (char c : text) {
    if (c == '.' && previous == '.') return false;
    if (c != '.' && !IsAtext(c)) return false;
    previous = c;
  }
  return true;
}

// Header text must not carry CR, LF or other controls from the network (a HELO argument, a
// sender address): they are dropped rather than escaped.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) out += c;
  }
  return out;
}

std::string QuoteIfNeeded(std::string_view value) {
  std::string clean = Printable(value);
  if (IsDotAtom(clean)) return clean;
  std::string quoted = "\"";
  for (char c : clean) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// Comments may nest but must balance; unbalanced parentheses from a sender become brackets.
std::string CommentText(std::string_view text) {
  std::string clean = Printable(text);
  for (char& c : clean) {
    if (c == '(') c = '[';
    if (c == ')') c = ']';
    if (c == '\\') c = '/';
  }
  return clean;
}

class ValueReader {
 public:
  explicit ValueReader(std::string_view text) : text_(text) {}

  bool done() {
    SkipCfws();
    return at_ >= text_.size();
  }

  // Skips whitespace and (nested) comments; the text of the first comment seen is kept.
  void SkipCfws() {
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++at_;
      } else if (c == '(') {
        size_t start = ++at_;
        int depth = 1;
        while (at_ < text_.size() && depth > 0) {
          if (text_[at_] == '\\') {
            at_ += 2;
            continue;
          }
          if (text_[at_] == '(') ++depth;
          if (text_[at_] == ')') --depth;
          ++at_;
        }
        at_ = std::min(at_, text_.size());
        if (!comment_.has_value()) {
          comment_ = std::string(text_.substr(start, at_ - start - (depth == 0 ? 1 : 0)));
        }
      } else {
        break;
      }
    }
  }

  // A token up to whitespace, ';', '=', '(' or the end.
  std::string_view Token() {
    SkipCfws();
    size_t start = at_;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '=' || c == '(') {
        break;
      }
      ++at_;
    }
    return text_.substr(start, at_ - start);
  }

  std::string Value() {
    SkipCfws();
    if (at_ < text_.size() && text_[at_] == '"') {
      std::string out;
      ++at_;
      while (at_ < text_.size() && text_[at_] != '"') {
        if (text_[at_] == '\\' && at_ + 1 < text_.size()) ++at_;
        out += text_[at_++];
      }
      if (at_ < text_.size()) ++at_;
      return out;
    }
    size_t start = at_;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(') break;
      ++at_;
    }
    return std::string(text_.substr(start, at_ - start));
  }

  bool Consume(char expected) {
    SkipCfws();
    if (at_ < text_.size() && text_[at_] == expected) {
      ++at_;
      return true;
    }
    return false;
  }

  // Skips to just after the next ';' (or the end): the rest of a pair we do not understand.
  void SkipPair() {
    while (at_ < text_.size() && text_[at_] != ';') ++at_;
    if (at_ < text_.size()) ++at_;
  }

  const std::optional<std::string>& comment() const { return comment_; }

 private:
  std::string_view text_;
  size_t at_ = 0;
  std::optional<std::string> comment_;
};

}  // namespace

std::string_view SpfResultName(SpfResult result) {
  switch (result) {
    case SpfResult::kNone: return "none";
    case SpfResult::kNeutral: return "neutral";
    case SpfResult::kPass: return "pass";
    case SpfResult::kFail: return "fail";
    case SpfResult::kSoftFail: return "softfail";
    case SpfResult::kTempError: return "temperror";
    case SpfResult::kPermError: return "permerror";
  }
  return "none";
}

std::optional<SpfResult> ParseSpfResult(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, SpfResult>, 9> kNames = {{
      {"none", SpfResult::kNone},
      {"neutral", SpfResult::kNeutral},
      {"pass", SpfResult::kPass},
      {"fail", SpfResult::kFail},
      {"softfail", SpfResult::kSoftFail},
      {"temperror", SpfResult::kTempError},
      {"permerror", SpfResult::kPermError},
      {"error", SpfResult::kTempError},
      {"unknown", SpfResult::kPermError},
  }};
  for (const auto& [name, result] : kNames) {
    if (EqualsIgnoreCase(text, name)) return result;
  }
  return std::nullopt;
}

std::string_view SpfIdentityName(SpfIdentity identity) {
  return identity == SpfIdentity::kHelo ? "helo" : "mailfrom";
}

std::string ReceivedSpf::Domain() const {
  if (identity == SpfIdentity::kHelo) return Lower(helo);
  size_t at = envelope_from.rfind('@');
  if (at == std::string::npos) return Lower(envelope_from);
  return Lower(std::string_view(envelope_from).substr(at + 1));
}

std::string FormatReceivedSpf(const ReceivedSpf& field, std::string_view line_ending) {
  std::vector<std::string> parts;
  parts.push_back(std::string(SpfResultName(field.result)));
  if (!field.comment.empty()) {
    // One part per word, so a long comment folds at its spaces (FWS is allowed in comments).
    std::string comment = "(" + CommentText(field.comment) + ")";
    size_t at = 0;
    while (at < comment.size()) {
      size_t space = comment.find(' ', at);
      if (space == std::string::npos) space = comment.size();
      if (space > at) parts.push_back(comment.substr(at, space - at));
      at = space + 1;
    }
  }
  auto add = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) parts.push_back(fmt::format("{}={};", key, QuoteIfNeeded(value)));
  };
  add("client-ip", field.client_ip);
  add("envelope-from", field.envelope_from);
  add("helo", field.helo);
  add("receiver", field.receiver);
  add("identity", std::string(SpfIdentityName(field.identity)));
  add("mechanism", field.mechanism);
  add("problem", field.problem);

  std::string out = "Received-SPF:";
  size_t column = out.size();
  for (const std::string& part : parts) {
    if (!line_ending.empty() && column + 1 + part.size() > 78) {
      out += line_ending;
      out += '\t';
      column = 8;
    } else {
      out += ' ';
      ++column;
    }
    out += part;
    column += part.size();
  }
  out += line_ending;
  return out;
}

std::optional<ReceivedSpf> ParseReceivedSpf(std::string_view value) {
  // Unfold (RFC 5322 2.2.3): drop the line breaks; a folded comment keeps the TAB as a space.
  std::string unfolded;
  unfolded.reserve(value.size());
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;
    unfolded += c == '\t' ? ' ' : c;
  }
  ValueReader reader(unfolded);
  auto result = ParseSpfResult(reader.Token());
  if (!result) return std::nullopt;
  ReceivedSpf field;
  field.result = *result;
  std::optional<SpfIdentity> identity;
  reader.SkipCfws();
  if (reader.comment()) {
    field.comment = *reader.comment();
    std::string lower = Lower(field.comment);
    if (lower == "mailfrom") identity = SpfIdentity::kMailFrom;
    if (lower == "helo") identity = SpfIdentity::kHelo;
  }
  while (!reader.done()) {
    if (reader.Consume(';')) continue;
    std::string key = Lower(reader.Token());
    if (key.empty() || !reader.Consume('=')) {
      reader.SkipPair();
      continue;
    }
    std::string value_text = reader.Value();
    if (key == "client-ip") field.client_ip = value_text;
    else if (key == "envelope-from") field.envelope_from = value_text;
    else if (key == "helo") field.helo = value_text;
    else if (key == "receiver") field.receiver = value_text;
    else if (key == "problem") field.problem = value_text;
    else if (key == "mechanism") field.mechanism = value_text;
    else if (key == "identity") {
      std::string lower = Lower(value_text);
      if (lower == "mailfrom") identity = SpfIdentity::kMailFrom;
      if (lower == "helo") identity = SpfIdentity::kHelo;
    }
  }
  if (!identity) {
    identity = field.envelope_from.empty() && !field.helo.empty() ? SpfIdentity::kHelo
                                                                    : SpfIdentity::kMailFrom;
  }
  field.identity = *identity;
  return field;
}

std::vector<ReceivedSpf> TrustedReceivedSpf(std::string_view message) {
  std::vector<ReceivedSpf> fields;
  size_t at = 0;
  while (at < message.size()) {
    size_t end = message.find('\n', at);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    // The logical field: this line plus its continuation lines.
    std::string field(line);
    size_t next = end + 1;
    while (next < message.size() && (message[next] == ' ' || message[next] == '\t')) {
      size_t more = message.find('\n', next);
      if (more == std::string_view::npos) more = message.size();
      std::string_view continuation = message.substr(next, more - next);
      if (!continuation.empty() && continuation.back() == '\r') continuation.remove_suffix(1);
      field += continuation;  // starts with the folding whitespace
      next = more + 1;
    }
    size_t colon = field.find(':');
    if (colon != std::string::npos) {
      std::string_view name(field.data(), colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (EqualsIgnoreCase(name, "Received")) break;
      if (EqualsIgnoreCase(name, "Received-SPF")) {
        if (auto parsed = ParseReceivedSpf(std::string_view(field).substr(colon + 1))) {
          fields.push_back(std::move(*parsed));
        }
      }
    }
    at = next;
  }
  return fields;
}

std::string SpfRuleName(SpfResult result, SpfIdentity identity) {
  std::string_view helo = identity == SpfIdentity::kHelo ? "HELO_" : "";
  switch (result) {
    case SpfResult::kPass: return fmt::format("SPF_{}PASS", helo);
    case SpfResult::kNeutral: return fmt::format("SPF_{}NEUTRAL", helo);
    case SpfResult::kSoftFail: return fmt::format("SPF_{}SOFTFAIL", helo);
    case SpfResult::kFail: return fmt::format("SPF_{}FAIL", helo);
    case SpfResult::kNone: return fmt::format("SPF_{}NONE", helo);
    case SpfResult::kTempError: return fmt::format("T_SPF_{}TEMPERROR", helo);
    case SpfResult::kPermError: return fmt::format("T_SPF_{}PERMERROR", helo);
  }
  return "SPF_NONE";
}

std::string SpfAuthenticationResult(const ReceivedSpf& field) {
  std::string domain = field.Domain();
  std::string out = fmt::format("spf={}", SpfResultName(field.result));
  if (!field.problem.empty() &&
      (field.result == SpfResult::kTempError || field.result == SpfResult::kPermError)) {
    std::string reason = Printable(field.problem);
    std::replace(reason.begin(), reason.end(), '"', '\'');
    out += fmt::format(" reason=\"{}\"", reason);
  }
  if (!domain.empty() && IsDotAtom(domain)) {
    out += fmt::format(" smtp.{}={}",
                       field.identity == SpfIdentity::kHelo ? "helo" : "mailfrom", domain);
  }
  return out;
}

}  // namespace moat::core
