// smtp_reply.cc - SMTP reply value, wire formatting and the client-side reply parser.
#include "core/smtp_reply.h"

#include <fmt/format.h>

namespace moat::core {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads up to 3 digits at `pos`; false when there are none or more than 3.
bool ReadNumber(std::string_view text, std::size_t& pos) {
  std::size_t start = pos;
  while (pos < text.size() && IsDigit(text[pos]) && pos - start < 4) ++pos;
  return pos > start && pos - start <= 3;
}

// Length of a leading enhanced status code followed by a space or the end, or 0.
std::size_t EnhancedPrefixLength(std::string_view text) {
  std::size_t end = text.find(' ');
  std::string_view candidate = text.substr(0, end);
  return IsEnhancedStatusCode(candidate) ? candidate.size() : 0;
}

int ParseCode(std::string_view line) {
  if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2])) return 0;
  if (line[0] < '2' || line[0] > '5') return 0;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

void AppendCleanLine(std::string& out, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  for (char c : line) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

}  // namespace

bool IsEnhancedStatusCode(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return false;
  }
  std::size_t pos = 2;
  if (!ReadNumber(text, pos) || pos >= text.size() || text[pos] != '.') return false;
  ++pos;
  if (!ReadNumber(text, pos)) return false;
  return pos == text.size();
}

SmtpReply::SmtpReply(int code, std::string_view enhanced, std::string_view text)
    : code_(code), enhanced_(enhanced) {
  text_.reserve(text.size());
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find('\n', start);
    AppendCleanLine(text_, text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    text_.push_back('\n');
    start = nl + 1;
  }
}

std::optional<SmtpReply> SmtpReply::FromString(std::string_view line) {
  int code = ParseCode(line);
  if (code == 0 || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) return std::nullopt;
  std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
  std::size_t enhanced_length = EnhancedPrefixLength(rest);
  std::string_view enhanced;
  if (enhanced_length > 0 && rest[0] == line[0]) {
    enhanced = rest.substr(0, enhanced_length);
    rest.remove_prefix(std::min(rest.size(), enhanced_length + 1));
  }
  return SmtpReply(code, enhanced, rest);
}

std::vector<std::string_view> SmtpReply::Lines() const {
  std::vector<std::string_view> lines;
  std::string_view text = text_;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

SmtpReply SmtpReply::WithDefaultEnhanced() const& { return SmtpReply(*this).WithDefaultEnhanced(); }

SmtpReply SmtpReply::WithDefaultEnhanced() && {
  int klass = code_ / 100;
  if (enhanced_.empty() && (klass == 2 || klass == 4 || klass == 5)) {
    enhanced_ = fmt::format("{}.0.0", klass);
  }
  return std::move(*this);
}

void SmtpReply::AppendTo(std::string& out) const {
  char code[3] = {static_cast<char>('0' + code_ / 100 % 10),
                  static_cast<char>('0' + code_ / 10 % 10), static_cast<char>('0' + code_ % 10)};
  std::string_view text = text_;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find('\n', start);
    bool last = nl == std::string_view::npos;
    out.append(code, 3);
    out.push_back(last ? ' ' : '-');
    if (!enhanced_.empty()) {
      out.append(enhanced_);
      out.push_back(' ');
    }
    out.append(text.substr(start, last ? nl : nl - start));
    out.append("\r\n");
    if (last) break;
    start = nl + 1;
  }
}

std::string SmtpReply::Format() const {
  std::string out;
  AppendTo(out);
  return out;
}

std::string SmtpReply::ToString() const {
  std::string out = fmt::format("{}", code_);
  if (!enhanced_.empty()) fmt::format_to(std::back_inserter(out), " {}", enhanced_);
  if (!text_.empty()) {
    out.push_back(' ');
    for (char c : text_) out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

Error SmtpReply::ToError() const {
  return Error(transient() ? ErrorCode::kTempFail : ErrorCode::kPermFail, ToString());
}

SmtpReplyParser::State SmtpReplyParser::Feed(std::string_view line) {
  if (done_) Reset();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  int code = ParseCode(line);
  if (code == 0 || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    error_ = fmt::format("malformed reply line: {:.100}", line);
    return State::kError;
  }
  if (lines_ > 0 && code != code_) {
    error_ = fmt::format("reply code changed from {} to {} within one reply", code_, code);
    return State::kError;
  }
  if (++lines_ > kMaxLines || text_.size() + line.size() > kMaxBytes) {
    error_ = "reply too long";
    return State::kError;
  }
  code_ = code;
  std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
  std::size_t enhanced_length = EnhancedPrefixLength(rest);
  if (enhanced_length > 0 && rest[0] == line[0]) {
    if (lines_ == 1) enhanced_.assign(rest.substr(0, enhanced_length));
    rest.remove_prefix(std::min(rest.size(), enhanced_length + 1));
  }
  if (lines_ > 1) text_.push_back('\n');
  AppendCleanLine(text_, rest);
  if (line.size() > 3 && line[3] == '-') return State::kMore;
  done_ = true;
  return State::kDone;
}

SmtpReply SmtpReplyParser::Take() {
  SmtpReply reply;
  if (done_) {
    reply = SmtpReply(code_, enhanced_, text_);
  }
  Reset();
  return reply;
}

void SmtpReplyParser::Reset() {
  code_ = 0;
  lines_ = 0;
  enhanced_.clear();
  text_.clear();
  error_.clear();
  done_ = false;
}

}  // namespace moat::core
