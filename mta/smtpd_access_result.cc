// smtpd_access_result.cc - access(5) right-hand sides (after smtpd_check.c check_table_result()).
#include "mta/smtpd_access_result.h"

#include <cstddef>

namespace moat::mta {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// Postfix is_header(): a field name of printable characters other than ':' followed by ':'.
bool IsHeaderLine(std::string_view text) {
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == ':') break;
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return i > 0 && i < text.size();
}

// Splits an optional leading enhanced status code off `text`.
void SplitDsn(std::string_view text, AccessAction& action) {
  std::size_t length = LeadingDsnLength(text);
  if (length == 0) {
    action.text = text;
    return;
  }
  action.dsn = text.substr(0, length);
  text.remove_prefix(length);
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  action.text = text;
}

}  // namespace

std::size_t LeadingDsnLength(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return 0;
  }
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t start = i;
    while (i < text.size() && IsDigit(text[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  if (i < text.size() && !IsSpace(text[i])) return 0;
  return i;
}

AccessAction ParseAccessAction(std::string_view value) {
  while (!value.empty() && IsSpace(value.front())) value.remove_prefix(1);
  while (!value.empty() && IsSpace(value.back())) value.remove_suffix(1);
  std::size_t word_end = 0;
  while (word_end < value.size() && !IsSpace(value[word_end])) ++word_end;
  std::string_view word = value.substr(0, word_end);
  std::string_view text = value.substr(word_end);
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);

  AccessAction action;
  auto is = [&](std::string_view name) { return EqualsNoCase(word, name); };
  if (is("DUNNO")) {
    action.kind = AccessActionKind::kDunno;
  } else if (is("OK") || is("RELAY")) {
    action.kind = AccessActionKind::kOk;
  } else if (is("REJECT")) {
    action.kind = AccessActionKind::kReject;
    SplitDsn(text, action);
  } else if (is("DEFER")) {
    action.kind = AccessActionKind::kDefer;
    SplitDsn(text, action);
  } else if (is("DEFER_IF_PERMIT")) {
    action.kind = AccessActionKind::kDeferIfPermit;
    SplitDsn(text, action);
  } else if (is("DEFER_IF_REJECT")) {
    action.kind = AccessActionKind::kDeferIfReject;
    SplitDsn(text, action);
  } else if (is("WARN")) {
    action.kind = AccessActionKind::kWarn;
    action.text = text;
  } else if (is("DISCARD")) {
    action.kind = AccessActionKind::kDiscard;
    action.text = text;
  } else if (is("HOLD")) {
    action.kind = AccessActionKind::kHold;
    action.text = text;
  } else if (is("FILTER")) {
    action.kind = AccessActionKind::kFilter;
    action.text = text;
    if (text.empty() || text.find(':') == std::string_view::npos) {
      action.kind = AccessActionKind::kInvalid;
      action.text = "FILTER needs transport:destination";
    }
  } else if (is("REDIRECT")) {
    action.kind = AccessActionKind::kRedirect;
    action.text = text;
    if (text.find('@') == std::string_view::npos) {
      action.kind = AccessActionKind::kInvalid;
      action.text = "REDIRECT needs a user@domain target";
    }
  } else if (is("PREPEND")) {
    action.kind = AccessActionKind::kPrepend;
    action.text = text;
    if (!IsHeaderLine(text)) {
      action.kind = AccessActionKind::kInvalid;
      action.text = "PREPEND needs \"Header-Name: text\"";
    }
  } else if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
    action.kind = AccessActionKind::kOk;  // all digits: an out-of-band time stamp means OK
  } else if (word.size() == 3 && !text.empty() && (word[0] == '4' || word[0] == '5') &&
             IsDigit(word[1]) && IsDigit(word[2])) {
    action.kind = AccessActionKind::kReply;
    action.code = (word[0] - '0') * 100 + (word[1] - '0') * 10 + (word[2] - '0');
    SplitDsn(text, action);
  } else if (value.find(':') != std::string_view::npos) {
    action.kind = AccessActionKind::kTableInValue;
    action.text = value;
  } else {
    action.kind = AccessActionKind::kRestrictions;
    action.text = value;
  }
  return action;
}

std::string_view AccessActionName(AccessActionKind kind) {
  switch (kind) {
    case AccessActionKind::kOk:
      return "OK";
    case AccessActionKind::kDunno:
      return "DUNNO";
    case AccessActionKind::kReject:
      return "REJECT";
    case AccessActionKind::kDefer:
      return "DEFER";
    case AccessActionKind::kReply:
      return "reply";
    case AccessActionKind::kDeferIfPermit:
      return "DEFER_IF_PERMIT";
    case AccessActionKind::kDeferIfReject:
      return "DEFER_IF_REJECT";
    case AccessActionKind::kDiscard:
      return "DISCARD";
    case AccessActionKind::kHold:
      return "HOLD";
    case AccessActionKind::kFilter:
      return "FILTER";
    case AccessActionKind::kRedirect:
      return "REDIRECT";
    case AccessActionKind::kPrepend:
      return "PREPEND";
    case AccessActionKind::kWarn:
      return "WARN";
    case AccessActionKind::kRestrictions:
      return "restrictions";
    case AccessActionKind::kInvalid:
      return "invalid";
    case AccessActionKind::kTableInValue:
      return "table";
  }
  return "?";
}

}  // namespace moat::mta
