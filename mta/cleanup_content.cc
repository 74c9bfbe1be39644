// cleanup_content.cc - the content pass of cleanup: MIME-aware header and body processing (what
// it does is in the header; the MIME rules follow Postfix's mime_state.c).
#include "mta/cleanup_content.h"

#include <fmt/format.h>

#include "mta/cleanup_address.h"
#include "mta/cleanup_address_list.h"
#include "mta/cleanup_header_names.h"
#include "mta/cleanup_received.h"

namespace moat::mta {
namespace {

enum class HeaderClass { kPrimary, kMultipart, kNested };

struct ContentType {
  std::string type;  // "multipart/mixed", lower case
  std::string boundary;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Strips (comments) from a structured header value, keeping quoted strings intact.
std::string WithoutComments(std::string_view value) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() && (quoted || depth > 0)) {
      if (depth == 0) {
        out.push_back(c);
        out.push_back(value[i + 1]);
      }
      ++i;
      continue;
    }
    if (depth == 0 && c == '"') quoted = !quoted;
    if (!quoted && c == '(') {
      ++depth;
      continue;
    }
    if (!quoted && c == ')' && depth > 0) {
      --depth;
      continue;
    }
    if (depth == 0) out.push_back(c);
  }
  return out;
}

ContentType ParseContentType(std::string_view value) {
  ContentType result;
  std::string clean = WithoutComments(value);
  std::string_view v = clean;
  size_t semicolon = v.find(';');
  result.type = Lowercase(Trim(v.substr(0, semicolon)));
  while (semicolon != std::string_view::npos) {
    v.remove_prefix(semicolon + 1);
    size_t equals = v.find('=');
    if (equals == std::string_view::npos) break;
    std::string name = Lowercase(Trim(v.substr(0, equals)));
    std::string_view rest = v.substr(equals + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\n' ||
                             rest.front() == '\r')) {
      rest.remove_prefix(1);
    }
    std::string param;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        param.push_back(rest[i]);
      }
      rest.remove_prefix(std::min(rest.size(), i + 1));
      semicolon = rest.find(';');
    } else {
      semicolon = rest.find(';');
      param = std::string(Trim(rest.substr(0, semicolon)));
    }
    v = rest;
    if (name == "boundary" && result.boundary.empty()) result.boundary = param;
  }
  return result;
}

class Processor {
 public:
  Processor(const ContentInput& options, const CleanupSettings& settings,
            const AddressMapper& mapper, ContentCheckState& checks)
      : options_(options), settings_(settings), mapper_(mapper), checks_(checks) {
    bool mime_checks = options.checks_enabled && (!settings.mime_header_checks.empty() ||
                                                  !settings.nested_header_checks.empty());
    bool body_checks = options.checks_enabled && !settings.body_checks.empty();
    characters_ = options.checks_enabled && (!settings.message_reject_characters.empty() ||
                                             !settings.message_strip_characters.empty());
    copy_body_ = !mime_checks && !body_checks && !characters_;
    mime_ = !settings.disable_mime_input_processing;
  }

  core::Result<ContentOutput> Run(std::string_view input) {
    out_.content.reserve(input.size() + 512);
    size_t pos = 0;
    while (pos < input.size()) {
      size_t newline = input.find('\n', pos);
      size_t end = newline == std::string_view::npos ? input.size() : newline;
      std::string_view line = input.substr(pos, end - pos);
      if (line.ends_with('\r')) line.remove_suffix(1);
      pos = newline == std::string_view::npos ? input.size() : newline + 1;
      if (auto s = Line(line); !s) return std::unexpected(s.error());
      if (copy_rest_) {
        out_.content.append(input.substr(pos));
        break;
      }
    }
    if (in_headers_) {
      if (auto s = FlushHeader(); !s) return std::unexpected(s.error());
      if (header_class_ == HeaderClass::kPrimary) AddMissingHeaders();
    }
    return std::move(out_);
  }

 private:
  core::Status Line(std::string_view line) {
    std::string stripped;
    if (characters_ && checks_.checking) {
      const std::string& reject = settings_.message_reject_characters;
      if (!reject.empty() && line.find_first_of(reject) != std::string_view::npos) {
        ApplyAction("REJECT disallowed character", "character reject", CheckContext::kBody, line,
                    checks_);
      }
      const std::string& strip = settings_.message_strip_characters;
      if (!strip.empty() && line.find_first_of(strip) != std::string_view::npos) {
        for (char c : line) {
          if (strip.find(c) == std::string::npos) stripped.push_back(c);
        }
        line = stripped;
      }
    }
    if (in_headers_) {
      if (!pending_.empty() && !line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        pending_.emplace_back(line);
        return {};
      }
      if (auto s = FlushHeader(); !s) return s;
      if (!line.empty() && ParseHeaderName(line)) {
        pending_.emplace_back(line);
        return {};
      }
      // A blank line, or text that is not a header, ends the header block.
      EndHeaderBlock();
      if (line.empty()) {
        out_.content.append("\r\n");
        if (copy_body_ && primary_just_ended_) copy_rest_ = true;
        return {};
      }
      if (copy_body_ && primary_just_ended_) {
        Emit(line);
        copy_rest_ = true;
        return {};
      }
      if (in_headers_) {
        // The block before was a message/rfc822 part whose headers start right away.
        return Line(line);
      }
    }
    return BodyLine(line);
  }

  void EndHeaderBlock() {
    primary_just_ended_ = header_class_ == HeaderClass::kPrimary;
    if (primary_just_ended_) AddMissingHeaders();
    segment_offset_ = 0;
    in_headers_ = false;
    if (!mime_) return;
    ContentType type = ParseContentType(block_content_type_);
    std::string encoding = Lowercase(Trim(WithoutComments(block_encoding_)));
    block_content_type_.clear();
    block_encoding_.clear();
    bool room = static_cast<int64_t>(frames_.size()) < settings_.mime_nesting_limit;
    if (type.type.starts_with("multipart/") && !type.boundary.empty() && room) {
      frames_.push_back(type.boundary);
    } else if (type.type == "message/rfc822" &&
               (encoding.empty() || encoding == "7bit" || encoding == "8bit" ||
                encoding == "binary") &&
               room) {
      frames_.emplace_back();  // a nested message: no boundary of its own
      in_headers_ = true;
      header_class_ = HeaderClass::kNested;
    }
  }

  core::Status BodyLine(std::string_view line) {
    if (mime_ && line.starts_with("--") && !frames_.empty()) {
      for (size_t i = frames_.size(); i-- > 0;) {
        const std::string& boundary = frames_[i];
        if (boundary.empty() || !line.substr(2).starts_with(boundary)) continue;
        bool closing = line.substr(2 + boundary.size()).starts_with("--");
        frames_.resize(closing ? i : i + 1);
        if (auto s = CheckedBody(line); !s) return s;
        segment_offset_ = 0;
        if (!closing) {
          in_headers_ = true;
          header_class_ = HeaderClass::kMultipart;
        }
        return {};
      }
    }
    return CheckedBody(line);
  }

  core::Status CheckedBody(std::string_view line) {
    bool check = options_.checks_enabled && checks_.checking && !settings_.body_checks.empty() &&
                 (settings_.body_checks_size_limit == 0 ||
                  segment_offset_ < settings_.body_checks_size_limit);
    segment_offset_ += line.size() + 2;
    if (!check) {
      Emit(line);
      return {};
    }
    size_t piece_size = static_cast<size_t>(std::max<int64_t>(settings_.line_length_limit, 1));
    std::string assembled;
    bool changed = false;
    for (size_t start = 0; start < line.size() || start == 0; start += piece_size) {
      std::string_view piece = line.substr(start, piece_size);
      auto result = ApplyContentCheck(settings_.body_checks, "body_checks", CheckContext::kBody,
                                      piece, checks_);
      if (!result) return std::unexpected(result.error());
      if (result->prepend) Emit(*result->prepend);
      if (result->kind == CheckResult::Kind::kKeep) {
        assembled.append(piece);
      } else {
        changed = true;
        if (result->kind == CheckResult::Kind::kReplace) assembled.append(result->replacement);
      }
      if (line.empty()) break;
    }
    if (changed && assembled.empty()) return {};  // the whole line was removed
    Emit(assembled);
    return {};
  }

  core::Status FlushHeader() {
    if (pending_.empty()) return {};
    std::vector<std::string> lines = std::move(pending_);
    pending_.clear();
    std::string logical;
    std::string raw;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) logical.push_back('\n');
      logical.append(lines[i]);
      raw.append(lines[i]).append("\r\n");
    }
    std::string_view name;
    ParseHeaderName(lines[0], &name);
    HeaderInfo info = FindHeaderInfo(name);
    // The MIME structure follows the headers as received, whatever checks do to them.
    size_t colon = 0;
    ParseHeaderName(logical, nullptr, &colon);
    if (info.type == KnownHeader::kContentType) {
      block_content_type_ = logical.substr(colon + 1);
    } else if (info.type == KnownHeader::kContentTransferEncoding) {
      block_encoding_ = logical.substr(colon + 1);
    }

    HeaderClass check_class = header_class_;
    if (info.flags & header_flag::kMime) check_class = HeaderClass::kMultipart;
    if (header_class_ == HeaderClass::kPrimary && info.type == KnownHeader::kReceived) {
      ++out_.received_headers;
    }
    if (options_.checks_enabled && checks_.checking) {
      const core::TableList& table = check_class == HeaderClass::kPrimary
                                         ? settings_.header_checks
                                     : check_class == HeaderClass::kMultipart
                                         ? settings_.mime_header_checks
                                         : settings_.nested_header_checks;
      std::string_view map_name = check_class == HeaderClass::kPrimary     ? "header_checks"
                                  : check_class == HeaderClass::kMultipart ? "mime_header_checks"
                                                                           : "nested_header_checks";
      std::string_view text = logical;
      if (settings_.header_size_limit > 0 && text.size() > settings_.header_size_limit) {
        text = text.substr(0, settings_.header_size_limit);
      }
      auto result = ApplyContentCheck(table, map_name, CheckContext::kHeader, text, checks_);
      if (!result) return std::unexpected(result.error());
      if (result->prepend) Emit(*result->prepend);
      if (result->kind == CheckResult::Kind::kDrop) return {};
      if (result->kind == CheckResult::Kind::kReplace) {
        logical = result->replacement;
        raw = result->replacement + "\r\n";
        ParseHeaderName(logical, &name, &colon);
        info = FindHeaderInfo(name);
      }
    }
    if (check_class != HeaderClass::kPrimary) {
      out_.content.append(raw);
      return {};
    }
    seen_[static_cast<size_t>(info.type)] = true;
    if (info.flags & header_flag::kResent) resent_ = true;
    bool addresses =
        info.flags & (header_flag::kSenderAddresses | header_flag::kRecipientAddresses);
    if (addresses && options_.rewrite != HeaderRewriteContext::kNone) {
      if (auto s = RewriteHeader(raw, colon, info); !s) return s;
    }
    if (settings_.message_drop_headers.count(Lowercase(name))) return {};
    out_.content.append(raw);
    return {};
  }

  core::Status RewriteHeader(std::string& raw, size_t colon, HeaderInfo info) {
    bool sender = info.flags & header_flag::kSenderAddresses;
    std::string_view qualify = options_.rewrite == HeaderRewriteContext::kLocal
                                   ? std::string_view(settings_.myorigin)
                                   : std::string_view(settings_.remote_header_rewrite_domain);
    std::optional<core::Error> error;
    std::string_view value = std::string_view(raw).substr(colon + 1);
    value.remove_suffix(2);  // the final CRLF
    std::string rewritten = RewriteAddresses(
        value,
        [&](const std::string& address) -> std::optional<std::string> {
          auto mapped = mapper_.RewriteHeaderAddress(address, sender, qualify);
          if (!mapped) {
            if (!error) error = mapped.error();
            return std::nullopt;
          }
          return *mapped;
        },
        static_cast<size_t>(std::max<int64_t>(settings_.header_address_token_limit, 1)));
    if (error) return std::unexpected(*error);
    if (rewritten != value) raw = raw.substr(0, colon + 1) + rewritten + "\r\n";
    return {};
  }

  void AddMissingHeaders() {
    if (missing_done_) return;
    missing_done_ = true;
    if (!options_.add_missing_headers) return;
    auto seen = [&](KnownHeader h) { return seen_[static_cast<size_t>(h)]; };
    std::string_view resent = resent_ ? "Resent-" : "";
    if (!seen(resent_ ? KnownHeader::kResentMessageId : KnownHeader::kMessageId)) {
      Emit(fmt::format("{}Message-Id: <{}@{}>", resent, options_.queue_id, settings_.myhostname));
    }
    if (!seen(resent_ ? KnownHeader::kResentDate : KnownHeader::kDate)) {
      Emit(fmt::format("{}Date: {}", resent, MailDate(options_.arrival)));
    }
    if (!seen(resent_ ? KnownHeader::kResentFrom : KnownHeader::kFrom)) {
      std::string from = options_.sender.empty() ? "MAILER-DAEMON"
                                                 : QuoteLocalPart(options_.sender);
      for (char& c : from) {
        if (static_cast<unsigned char>(c) < 0x20) c = '_';
      }
      Emit(fmt::format("{}From: {}", resent, from));
    }
    bool visible = seen(KnownHeader::kTo) || seen(KnownHeader::kResentTo) ||
                   seen(KnownHeader::kCc) || seen(KnownHeader::kResentCc);
    const std::string& undisclosed = settings_.undisclosed_recipients_header;
    if (!visible && !undisclosed.empty() && ParseHeaderName(undisclosed)) Emit(undisclosed);
  }

  void Emit(std::string_view line) {
    out_.content.append(line);
    out_.content.append("\r\n");
  }

  const ContentInput& options_;
  const CleanupSettings& settings_;
  const AddressMapper& mapper_;
  ContentCheckState& checks_;
  ContentOutput out_;

  bool mime_ = true;
  bool characters_ = false;
  bool copy_body_ = false;           // nothing looks at the body: copy it as it is
  bool copy_rest_ = false;
  bool primary_just_ended_ = false;
  bool in_headers_ = true;
  HeaderClass header_class_ = HeaderClass::kPrimary;
  std::vector<std::string> pending_;  // physical lines of the header being collected
  std::string block_content_type_;
  std::string block_encoding_;
  std::vector<std::string> frames_;  // open multiparts (their boundary) and nested messages ("")
  uint64_t segment_offset_ = 0;
  bool seen_[64] = {};
  bool resent_ = false;
  bool missing_done_ = false;
};

}  // namespace

core::Result<ContentOutput> ProcessContent(std::string_view input, const ContentInput& options,
                                           const CleanupSettings& settings,
                                           const AddressMapper& mapper,
                                           ContentCheckState& checks) {
  Processor processor(options, settings, mapper, checks);
  return processor.Run(input);
}

}  // namespace moat::mta
