// dkim_auth_results.cc - Authentication-Results (RFC 8601) and DKIM rule names.
#include "filterd/dkim_auth_results.h"

#include <fmt/format.h>

#include "filterd/dkim_canon.h"
#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

// RFC 8601 values that are not tokens (base64 has '/', '+', '=') go in a quoted-string.
std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
  return out + "\"";
}

// Skips whitespace and (nested) comments.
size_t SkipCfws(std::string_view text, size_t at) {
  int depth = 0;
  while (at < text.size()) {
    char c = text[at];
    if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (c == '\\' && depth > 0) {
      ++at;
    } else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      break;
    }
    ++at;
  }
  return at;
}

}  // namespace

std::string DkimAuthenticationResults(std::string_view authserv_id,
                                      const std::vector<DkimSignatureResult>& results,
                                      std::string_view line_ending) {
  std::string field = fmt::format("Authentication-Results: {};", authserv_id);
  if (results.empty()) return field + fmt::format("{}\tdkim=none{}", line_ending, line_ending);
  for (size_t i = 0; i < results.size(); ++i) {
    const DkimSignatureResult& r = results[i];
    field += fmt::format("{}\tdkim={}", line_ending, DkimResultName(r.result));
    if (r.key_bits > 0) {
      field += fmt::format(" ({}-bit {} key{})", r.key_bits,
                           r.algorithm.starts_with("ed25519") ? "ed25519" : "rsa",
                           r.testing ? ", testing" : "");
    }
    if (r.result != DkimResult::kPass && !r.reason.empty()) field += " reason=" + Quoted(r.reason);
    if (!r.domain.empty()) field += " header.d=" + r.domain;
    if (!r.identity.empty() && r.identity.find_first_of(" \t;()\"") == std::string::npos) {
      field += " header.i=" + r.identity;
    }
    if (!r.selector.empty()) field += " header.s=" + r.selector;
    if (!r.algorithm.empty()) field += " header.a=" + r.algorithm;
    if (!r.signature_b64.empty()) field += " header.b=" + Quoted(r.signature_b64.substr(0, 12));
    if (i + 1 < results.size()) field += ';';
  }
  return field + std::string(line_ending);
}

std::string AuthservIdOf(std::string_view value) {
  size_t at = SkipCfws(value, 0);
  size_t end = at;
  while (end < value.size() && value[end] != ';' && value[end] != ' ' && value[end] != '\t' &&
         value[end] != '(' && value[end] != '\r' && value[end] != '\n') {
    ++end;
  }
  return std::string(value.substr(at, end - at));
}

std::string RemoveOwnAuthenticationResults(std::string_view message, std::string_view authserv_id,
                                           size_t* removed) {
  if (removed != nullptr) *removed = 0;
  auto split = SplitMessage(message);
  if (!split) return std::string(message);
  std::string out;
  out.reserve(message.size());
  size_t copied = 0;
  for (const HeaderField& field : split->headers) {
    if (!EqualsIgnoreCase(field.name, "authentication-results")) continue;
    std::string_view value = field.raw.substr(field.raw.find(':') + 1);
    if (!EqualsIgnoreCase(AuthservIdOf(value), authserv_id)) continue;
    size_t begin = static_cast<size_t>(field.raw.data() - message.data());
    size_t end = begin + field.raw.size();
    if (message.compare(end, 2, "\r\n") == 0) {
      end += 2;
    } else if (end < message.size() && message[end] == '\n') {
      end += 1;
    }
    out.append(message.substr(copied, begin - copied));
    copied = end;
    if (removed != nullptr) ++*removed;
  }
  out.append(message.substr(copied));
  return out;
}

std::string AuthorDomain(std::string_view message) {
  std::string address = AuthorAddress(message);
  return address.substr(address.rfind('@') + 1);
}

std::string AuthorAddress(std::string_view message) {
  auto split = SplitMessage(message);
  if (!split) return "";
  for (const HeaderField& field : split->headers) {
    if (!EqualsIgnoreCase(field.name, "from")) continue;
    std::string value = HeaderValue(field);
    // Drop comments and quoted display names so their '@' and '<' cannot mislead; a quoted
    // string right before '@' is a quoted local-part and stays.
    std::string plain;
    std::string quoted_text;
    int depth = 0;
    bool quoted = false;
    for (size_t i = 0; i < value.size(); ++i) {
      char c = value[i];
      if (c == '\\' && i + 1 < value.size()) {
        if (quoted) quoted_text += value.substr(i, 2);
        ++i;
        continue;
      }
      if (!quoted && c == '(') ++depth;
      if (depth == 0 && c == '"') {
        quoted_text += c;
        if (quoted && i + 1 < value.size() && value[i + 1] == '@') plain += quoted_text;
        if (quoted) quoted_text.clear();
        quoted = !quoted;
        continue;
      }
      if (quoted) {
        quoted_text += c;
        continue;
      }
      if (depth == 0) plain += c;
      if (c == ')' && depth > 0) --depth;
    }
    std::string_view address = plain;
    size_t open = address.find('<');
    if (open != std::string_view::npos) {
      size_t close = address.find('>', open);
      address = address.substr(open + 1, close == std::string_view::npos ? close : close - open - 1);
    } else {
      address = address.substr(0, address.find(','));
    }
    size_t at = address.rfind('@');
    if (at == std::string_view::npos) return "";
    std::string_view local_view = address.substr(0, at);
    while (!local_view.empty() && (local_view.front() == ' ' || local_view.front() == '\t')) {
      local_view.remove_prefix(1);
    }
    while (!local_view.empty() && (local_view.back() == ' ' || local_view.back() == '\t')) {
      local_view.remove_suffix(1);
    }
    std::string local(local_view);
    std::string domain = StripWhitespace(address.substr(at + 1));
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (local.empty() || domain.empty()) return "";
    return local + "@" + AsciiLower(domain);
  }
  return "";
}

std::vector<std::string> DkimRuleHits::Names() const {
  std::vector<std::string> names;
  if (dkim_signed) names.push_back("DKIM_SIGNED");
  if (dkim_valid) names.push_back("DKIM_VALID");
  if (dkim_valid_au) names.push_back("DKIM_VALID_AU");
  if (dkim_invalid) names.push_back("DKIM_INVALID");
  return names;
}

DkimRuleHits DkimRules(const std::vector<DkimSignatureResult>& results,
                       std::string_view author_domain) {
  DkimRuleHits hits;
  hits.dkim_signed = !results.empty();
  bool counted_failure = false;
  for (const auto& r : results) {
    if (r.result == DkimResult::kPass) {
      hits.dkim_valid = true;
      if (!author_domain.empty() && EqualsIgnoreCase(r.domain, author_domain)) {
        hits.dkim_valid_au = true;
      }
    } else if (!r.testing) {
      counted_failure = true;
    }
  }
  hits.dkim_invalid = hits.dkim_signed && !hits.dkim_valid && counted_failure;
  return hits;
}

}  // namespace moat::filterd
