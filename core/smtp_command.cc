// smtp_command.cc - SMTP command line, MAIL/RCPT/XFORWARD argument parsing and formatting.
#include "core/smtp_command.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <optional>

#include "core/smtp_xtext.h"

namespace moat::core {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsNoCase(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiUpper(a[i]) != upper[i]) return false;
  }
  return true;
}

bool StartsWithNoCase(std::string_view text, std::string_view upper_prefix) {
  return text.size() >= upper_prefix.size() &&
         EqualsNoCase(text.substr(0, upper_prefix.size()), upper_prefix);
}

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
  return text;
}

// Splits off the next blank-separated word.
std::string_view NextWord(std::string_view& text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  std::size_t end = 0;
  while (end < text.size() && !IsBlank(text[end])) ++end;
  std::string_view word = text.substr(0, end);
  text.remove_prefix(end);
  return word;
}

struct VerbEntry {
  std::string_view name;
  SmtpVerb verb;
};

constexpr std::array<VerbEntry, 16> kVerbs = {{
    {"HELO", SmtpVerb::kHelo},
    {"EHLO", SmtpVerb::kEhlo},
    {"LHLO", SmtpVerb::kLhlo},
    {"MAIL", SmtpVerb::kMail},
    {"RCPT", SmtpVerb::kRcpt},
    {"DATA", SmtpVerb::kData},
    {"BDAT", SmtpVerb::kBdat},
    {"RSET", SmtpVerb::kRset},
    {"NOOP", SmtpVerb::kNoop},
    {"QUIT", SmtpVerb::kQuit},
    {"VRFY", SmtpVerb::kVrfy},
    {"EXPN", SmtpVerb::kExpn},
    {"HELP", SmtpVerb::kHelp},
    {"STARTTLS", SmtpVerb::kStartTls},
    {"AUTH", SmtpVerb::kAuth},
    {"XFORWARD", SmtpVerb::kXforward},
}};

SmtpReply SyntaxReply(std::string_view text) { return SmtpReply(501, "5.5.4", text); }
SmtpReply UnsupportedReply(std::string_view keyword) {
  return SmtpReply(555, "5.5.4", fmt::format("Unsupported option: {:.64}", keyword));
}

struct ParsedPath {
  std::string address;
  std::string_view rest;
};

bool ValidAddressBytes(std::string_view address) {
  bool in_quote = false;
  for (std::size_t i = 0; i < address.size(); ++i) {
    auto c = static_cast<unsigned char>(address[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (in_quote) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quote = false;
      }
    } else if (c == '"') {
      in_quote = true;
    } else if (c == ' ' || c == '<' || c == '>') {
      return false;
    }
  }
  return !in_quote;
}

// RFC 5321 4.1.1.3 and Appendix C: a source route "@a,@b:user@d" is accepted and ignored.
std::optional<std::string_view> StripSourceRoute(std::string_view address) {
  if (address.empty() || address.front() != '@') return address;
  std::size_t colon = address.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return address.substr(colon + 1);
}

// `text` follows "FROM:" / "TO:" (blanks after the colon already skipped).
std::optional<ParsedPath> ParsePath(std::string_view text, bool strict) {
  std::string_view address;
  std::string_view rest;
  if (!text.empty() && text.front() == '<') {
    bool in_quote = false;
    std::size_t i = 1;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (in_quote) {
        if (c == '\\' && i + 1 < text.size()) {
          ++i;
        } else if (c == '"') {
          in_quote = false;
        }
      } else if (c == '"') {
        in_quote = true;
      } else if (c == '>') {
        break;
      } else if (c == '<') {
        return std::nullopt;
      }
    }
    if (i >= text.size()) return std::nullopt;
    address = text.substr(1, i - 1);
    rest = text.substr(i + 1);
    if (!rest.empty() && !IsBlank(rest.front())) return std::nullopt;
  } else if (strict) {
    return std::nullopt;
  } else {
    // Postfix (strict_rfc821_envelopes = no) accepts an address without angle brackets.
    std::size_t end = 0;
    while (end < text.size() && !IsBlank(text[end])) ++end;
    address = text.substr(0, end);
    rest = text.substr(end);
    if (address.empty()) return std::nullopt;
  }
  if (!ValidAddressBytes(address)) return std::nullopt;
  auto stripped = StripSourceRoute(address);
  if (!stripped) return std::nullopt;
  return ParsedPath{std::string(*stripped), rest};
}

bool ParseDecimal(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value;
};

Param SplitParam(std::string_view word) {
  std::size_t eq = word.find('=');
  if (eq == std::string_view::npos) return {word, {}, false};
  return {word.substr(0, eq), word.substr(eq + 1), true};
}

std::optional<unsigned> ParseNotify(std::string_view value) {
  unsigned flags = 0;
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (EqualsNoCase(item, "NEVER")) {
      flags |= dsn_notify::kNever;
    } else if (EqualsNoCase(item, "SUCCESS")) {
      flags |= dsn_notify::kSuccess;
    } else if (EqualsNoCase(item, "FAILURE")) {
      flags |= dsn_notify::kFailure;
    } else if (EqualsNoCase(item, "DELAY")) {
      flags |= dsn_notify::kDelay;
    } else {
      return std::nullopt;
    }
    if (comma != std::string_view::npos && value.empty()) return std::nullopt;
  }
  if (flags == 0 || ((flags & dsn_notify::kNever) && flags != dsn_notify::kNever)) {
    return std::nullopt;
  }
  return flags;
}

bool IsAtom(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Postfix's printable(): control characters in forwarded attributes become '?', so they cannot
// break a Received: header or a log line.
std::string Printable(std::string value) {
  for (char& c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return value;
}

void AppendPath(std::string_view address, std::string& out) {
  out.push_back('<');
  out.append(address);
  out.push_back('>');
}

}  // namespace

std::string_view SmtpVerbName(SmtpVerb verb) {
  for (const auto& entry : kVerbs) {
    if (entry.verb == verb) return entry.name;
  }
  return verb == SmtpVerb::kEmpty ? "(empty)" : "(unknown)";
}

SmtpCommandLine ParseCommandLine(std::string_view line) {
  SmtpCommandLine command;
  std::string_view rest = line;
  command.verb_text = NextWord(rest);
  command.args = TrimBlanks(rest);
  if (command.verb_text.empty()) {
    command.verb = SmtpVerb::kEmpty;
    return command;
  }
  command.verb = SmtpVerb::kUnknown;
  for (const auto& entry : kVerbs) {
    if (EqualsNoCase(command.verb_text, entry.name)) {
      command.verb = entry.verb;
      break;
    }
  }
  return command;
}

bool IsNonSmtpCommand(std::string_view verb_text) {
  if (EqualsNoCase(verb_text, "CONNECT") || EqualsNoCase(verb_text, "GET") ||
      EqualsNoCase(verb_text, "POST")) {
    return true;
  }
  if (verb_text.size() < 2 || verb_text.back() != ':') return false;
  for (std::size_t i = 0; i + 1 < verb_text.size(); ++i) {
    auto c = static_cast<unsigned char>(verb_text[i]);
    if (c <= ' ' || c >= 0x7f || c == ':') return false;
  }
  return true;
}

std::expected<MailParams, SmtpReply> ParseMailArguments(std::string_view args,
                                                        const SmtpExtensionSet& offered) {
  args = TrimBlanks(args);
  if (!StartsWithNoCase(args, "FROM:")) {
    return std::unexpected(SyntaxReply("Syntax: MAIL FROM:<address>"));
  }
  args.remove_prefix(5);
  while (!args.empty() && IsBlank(args.front())) args.remove_prefix(1);
  auto path = ParsePath(args, offered.strict_rfc821_envelopes);
  if (!path) return std::unexpected(SmtpReply(501, "5.1.7", "Bad sender address syntax"));

  MailParams mail;
  mail.sender = std::move(path->address);
  std::string_view rest = path->rest;
  bool seen_body = false;
  while (true) {
    std::string_view word = NextWord(rest);
    if (word.empty()) break;
    Param param = SplitParam(word);
    if (EqualsNoCase(param.keyword, "SIZE") && offered.size) {
      std::uint64_t size = 0;
      if (mail.size || !param.has_value || !ParseDecimal(param.value, size)) {
        return std::unexpected(SyntaxReply("Bad message size syntax"));
      }
      mail.size = size;
    } else if (EqualsNoCase(param.keyword, "BODY") && offered.eight_bit_mime) {
      if (seen_body) return std::unexpected(SyntaxReply("Duplicate BODY parameter"));
      seen_body = true;
      if (EqualsNoCase(param.value, "7BIT")) {
        mail.body = SmtpBodyType::k7Bit;
      } else if (EqualsNoCase(param.value, "8BITMIME")) {
        mail.body = SmtpBodyType::k8BitMime;
      } else {
        // BINARYMIME needs CHUNKING (RFC 3030), which is not offered.
        return std::unexpected(SyntaxReply("Unsupported BODY keyword value"));
      }
    } else if (EqualsNoCase(param.keyword, "RET") && offered.dsn) {
      if (mail.ret != DsnRet::kUnspecified) {
        return std::unexpected(SyntaxReply("Duplicate RET parameter"));
      }
      if (EqualsNoCase(param.value, "FULL")) {
        mail.ret = DsnRet::kFull;
      } else if (EqualsNoCase(param.value, "HDRS")) {
        mail.ret = DsnRet::kHeaders;
      } else {
        return std::unexpected(SyntaxReply("Bad RET parameter syntax"));
      }
    } else if (EqualsNoCase(param.keyword, "ENVID") && offered.dsn) {
      auto envid = XtextDecode(param.value);
      if (!mail.envid.empty() || !param.has_value || !envid || envid->empty() ||
          envid->size() > 100) {
        return std::unexpected(SyntaxReply("Bad ENVID parameter syntax"));
      }
      mail.envid = Printable(std::move(*envid));
    } else if (EqualsNoCase(param.keyword, "AUTH") && offered.auth) {
      auto auth = XtextDecode(param.value);
      if (mail.auth || !param.has_value || !auth || auth->empty()) {
        return std::unexpected(SyntaxReply("Bad AUTH parameter syntax"));
      }
      mail.auth = Printable(std::move(*auth));
    } else if (EqualsNoCase(param.keyword, "SMTPUTF8") && offered.smtputf8) {
      if (param.has_value) return std::unexpected(SyntaxReply("Bad SMTPUTF8 parameter syntax"));
      mail.smtputf8 = true;
    } else {
      return std::unexpected(UnsupportedReply(param.keyword));
    }
  }
  return mail;
}

std::expected<RcptParams, SmtpReply> ParseRcptArguments(std::string_view args,
                                                        const SmtpExtensionSet& offered) {
  args = TrimBlanks(args);
  if (!StartsWithNoCase(args, "TO:")) {
    return std::unexpected(SyntaxReply("Syntax: RCPT TO:<address>"));
  }
  args.remove_prefix(3);
  while (!args.empty() && IsBlank(args.front())) args.remove_prefix(1);
  auto path = ParsePath(args, offered.strict_rfc821_envelopes);
  if (!path || path->address.empty()) {
    return std::unexpected(SmtpReply(501, "5.1.3", "Bad recipient address syntax"));
  }
  RcptParams rcpt;
  rcpt.recipient = std::move(path->address);
  std::string_view rest = path->rest;
  while (true) {
    std::string_view word = NextWord(rest);
    if (word.empty()) break;
    Param param = SplitParam(word);
    if (EqualsNoCase(param.keyword, "NOTIFY") && offered.dsn) {
      auto flags = param.has_value ? ParseNotify(param.value) : std::nullopt;
      if (rcpt.notify != 0 || !flags) {
        return std::unexpected(SyntaxReply("Bad NOTIFY parameter syntax"));
      }
      rcpt.notify = *flags;
    } else if (EqualsNoCase(param.keyword, "ORCPT") && offered.dsn) {
      std::size_t semicolon = param.value.find(';');
      if (!rcpt.orcpt_type.empty() || semicolon == std::string_view::npos ||
          !IsAtom(param.value.substr(0, semicolon))) {
        return std::unexpected(SyntaxReply("Bad ORCPT parameter syntax"));
      }
      auto address = XtextDecode(param.value.substr(semicolon + 1));
      if (!address || address->empty() || address->size() > 500) {
        return std::unexpected(SyntaxReply("Bad ORCPT parameter syntax"));
      }
      rcpt.orcpt_type.assign(param.value.substr(0, semicolon));
      rcpt.orcpt = Printable(std::move(*address));
    } else {
      return std::unexpected(UnsupportedReply(param.keyword));
    }
  }
  return rcpt;
}

std::expected<XforwardAttributes, SmtpReply> ParseXforwardArguments(std::string_view args) {
  XforwardAttributes attrs;
  std::string_view rest = args;
  int count = 0;
  while (true) {
    std::string_view word = NextWord(rest);
    if (word.empty()) break;
    ++count;
    Param param = SplitParam(word);
    if (!param.has_value || param.value.empty()) {
      return std::unexpected(SyntaxReply("Error: attribute=value expected"));
    }
    auto decoded = XtextDecode(param.value);
    if (!decoded) {
      return std::unexpected(
          SyntaxReply(fmt::format("Error: bad xtext in {:.16} value", param.keyword)));
    }
    if (decoded->size() > 255) {
      return std::unexpected(SyntaxReply("Error: attribute value too long"));
    }
    std::string value = Printable(std::move(*decoded));
    std::optional<std::string>* slot = nullptr;
    if (EqualsNoCase(param.keyword, "NAME")) {
      slot = &attrs.name;
    } else if (EqualsNoCase(param.keyword, "ADDR")) {
      if (StartsWithNoCase(value, "IPV6:")) value.erase(0, 5);
      slot = &attrs.addr;
    } else if (EqualsNoCase(param.keyword, "PORT")) {
      std::uint64_t port = 0;
      if (value != kXforwardUnavailable && (!ParseDecimal(value, port) || port > 65535)) {
        return std::unexpected(SyntaxReply(fmt::format("Bad XFORWARD PORT syntax: {:.32}", value)));
      }
      slot = &attrs.port;
    } else if (EqualsNoCase(param.keyword, "PROTO")) {
      if (value.size() > 64) {
        return std::unexpected(
            SyntaxReply(fmt::format("Bad XFORWARD PROTO syntax: {:.32}", value)));
      }
      slot = &attrs.proto;
    } else if (EqualsNoCase(param.keyword, "HELO")) {
      slot = &attrs.helo;
    } else if (EqualsNoCase(param.keyword, "IDENT")) {
      slot = &attrs.ident;
    } else if (EqualsNoCase(param.keyword, "SOURCE")) {
      if (EqualsNoCase(value, "LOCAL")) {
        value = "LOCAL";
      } else if (EqualsNoCase(value, "REMOTE")) {
        value = "REMOTE";
      } else if (value != kXforwardUnavailable) {
        return std::unexpected(
            SyntaxReply(fmt::format("Bad XFORWARD SOURCE syntax: {:.32}", value)));
      }
      slot = &attrs.source;
    } else {
      return std::unexpected(
          SyntaxReply(fmt::format("Bad XFORWARD attribute name: {:.32}", param.keyword)));
    }
    *slot = std::move(value);
  }
  if (count == 0) return std::unexpected(SyntaxReply("Syntax: XFORWARD attribute=value..."));
  return attrs;
}

void AppendMailCommand(const MailParams& mail, const SmtpExtensionSet& offered, std::string& out) {
  out.append("MAIL FROM:");
  AppendPath(mail.sender, out);
  if (offered.size && mail.size) fmt::format_to(std::back_inserter(out), " SIZE={}", *mail.size);
  if (offered.eight_bit_mime) {
    if (mail.body == SmtpBodyType::k7Bit) out.append(" BODY=7BIT");
    if (mail.body == SmtpBodyType::k8BitMime) out.append(" BODY=8BITMIME");
  }
  if (offered.dsn) {
    if (mail.ret == DsnRet::kFull) out.append(" RET=FULL");
    if (mail.ret == DsnRet::kHeaders) out.append(" RET=HDRS");
    if (!mail.envid.empty()) {
      out.append(" ENVID=");
      XtextEncodeAppend(mail.envid, out);
    }
  }
  if (offered.auth && mail.auth) {
    out.append(" AUTH=");
    if (*mail.auth == "<>") {
      out.append("<>");
    } else {
      XtextEncodeAppend(*mail.auth, out);
    }
  }
  if (offered.smtputf8 && mail.smtputf8) out.append(" SMTPUTF8");
  out.append("\r\n");
}

void AppendRcptCommand(const RcptParams& rcpt, const SmtpExtensionSet& offered, std::string& out) {
  out.append("RCPT TO:");
  AppendPath(rcpt.recipient, out);
  if (offered.dsn) {
    if (rcpt.notify != 0) {
      out.append(" NOTIFY=");
      if (rcpt.notify & dsn_notify::kNever) {
        out.append("NEVER");
      } else {
        bool first = true;
        auto add = [&](unsigned flag, std::string_view name) {
          if (!(rcpt.notify & flag)) return;
          if (!first) out.push_back(',');
          out.append(name);
          first = false;
        };
        add(dsn_notify::kSuccess, "SUCCESS");
        add(dsn_notify::kFailure, "FAILURE");
        add(dsn_notify::kDelay, "DELAY");
      }
    }
    if (!rcpt.orcpt_type.empty()) {
      out.append(" ORCPT=");
      out.append(rcpt.orcpt_type);
      out.push_back(';');
      XtextEncodeAppend(rcpt.orcpt, out);
    }
  }
  out.append("\r\n");
}

int AppendXforwardCommands(const XforwardAttributes& attrs,
                           const std::vector<std::string>& offered_names, std::string& out) {
  // 512 bytes per command line including CRLF (RFC 5321 4.5.3.1.4).
  constexpr std::size_t kMaxLine = 510;
  auto offered = [&](std::string_view name) {
    for (const auto& word : offered_names) {
      if (EqualsNoCase(word, name)) return true;
    }
    return false;
  };
  const std::pair<std::string_view, const std::optional<std::string>*> fields[] = {
      {"NAME", &attrs.name},     {"ADDR", &attrs.addr}, {"PORT", &attrs.port},
      {"PROTO", &attrs.proto},   {"HELO", &attrs.helo}, {"IDENT", &attrs.ident},
      {"SOURCE", &attrs.source},
  };
  int lines = 0;
  std::string line;
  std::string item;
  for (const auto& [name, value] : fields) {
    if (!*value || !offered(name)) continue;
    item.clear();
    item.push_back(' ');
    item.append(name);
    item.push_back('=');
    XtextEncodeAppend(**value, item);
    if (item.size() + 8 > kMaxLine) continue;  // cannot fit even alone; Postfix drops it too
    if (!line.empty() && line.size() + item.size() > kMaxLine) {
      out.append(line);
      out.append("\r\n");
      ++lines;
      line.clear();
    }
    if (line.empty()) line = "XFORWARD";
    line.append(item);
  }
  if (!line.empty()) {
    out.append(line);
    out.append("\r\n");
    ++lines;
  }
  return lines;
}

}  // namespace moat::core
