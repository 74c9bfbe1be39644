// header_query.cc - PerMsgStatus::_get() over a MessageView.
#include "rules/header_query.h"

#include <algorithm>
#include <cctype>

#include "rules/address_parser.h"
#include "rules/received_parser.h"
#include "rules/uri_extractor.h"

namespace moat::rules {

namespace {

constexpr size_t kMaxAllHeadersLength = 65536;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// get_header(name, raw=1): raw values with folds turned into spaces (\r?\n\s+ -> " ").
std::string UnfoldRaw(const std::string& raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    size_t j = i;
    if (raw[j] == '\r' && j + 1 < raw.size() && raw[j + 1] == '\n') ++j;
    if (raw[j] == '\n' && j + 1 < raw.size() &&
        std::isspace(static_cast<unsigned char>(raw[j + 1]))) {
      size_t k = j + 1;
      while (k < raw.size() && std::isspace(static_cast<unsigned char>(raw[k]))) ++k;
      out += ' ';
      i = k - 1;
      continue;
    }
    out += raw[i];
  }
  return out;
}

std::vector<std::string> FieldValues(const MessageView& view, const HeaderIndex& index,
                                     std::string_view lower_name, bool raw, bool unfold_raw) {
  std::vector<std::string> out;
  auto it = index.find(std::string(lower_name));
  if (it == index.end()) return out;
  for (size_t i : it->second) {
    const HeaderField& h = view.headers[i];
    if (raw) {
      out.push_back(unfold_raw ? UnfoldRaw(h.raw) : h.raw);
    } else {
      out.push_back(h.decoded + "\n");
    }
  }
  return out;
}

bool ReceivedBefore(const MessageView& view, std::string_view lower_name) {
  bool seen_received = false;
  for (const HeaderField& h : view.headers) {
    std::string n = Lower(h.name);
    if (n == "received") seen_received = true;
    if (n == lower_name) return seen_received;
  }
  return false;
}

std::optional<std::string> FirstAddress(const MessageView& view, const HeaderIndex& index,
                                        std::string_view lower_name) {
  auto it = index.find(std::string(lower_name));
  if (it == index.end() || it->second.empty()) return std::nullopt;
  for (const ParsedAddress& a : ParseHeaderAddresses(view.headers[it->second.front()].raw)) {
    if (a.address) return a.address;
  }
  return std::nullopt;
}

// PerMsgStatus::get_envelope_from() without relay analysis.
std::optional<std::string> GuessEnvelopeFrom(const MessageView& view, const HeaderIndex& index) {
  if (auto x_sender = FirstAddress(view, index, "x-sender");
      x_sender && x_sender->find('@') != std::string::npos) {
    auto it = index.find("received");
    if (it != index.end()) {
      for (size_t i : it->second) {
        if (view.headers[i].decoded.find("(fetchmail") != std::string::npos) return std::nullopt;
      }
    }
  }
  if (auto v = FirstAddress(view, index, "x-envelope-from")) {
    if (ReceivedBefore(view, "x-envelope-from")) return std::nullopt;
    return v;
  }
  if (auto v = FirstAddress(view, index, "envelope-sender")) {
    if (!ReceivedBefore(view, "envelope-sender")) return v;
  }
  if (auto v = FirstAddress(view, index, "return-path")) {
    if (!ReceivedBefore(view, "return-path")) return v;
  }
  return std::nullopt;
}

std::optional<std::string> FindIpv4(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '.')) continue;
    size_t j = i;
    int octets = 0;
    bool ok = true;
    while (octets < 4) {
      size_t k = j;
      while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k])) && k - j < 3) ++k;
      if (k == j || std::stoi(std::string(s.substr(j, k - j))) > 255) {
        ok = false;
        break;
      }
      ++octets;
      j = k;
      if (octets < 4) {
        if (j >= s.size() || s[j] != '.') {
          ok = false;
          break;
        }
        ++j;
      }
    }
    if (!ok) continue;
    if (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.')) continue;
    return std::string(s.substr(i, j - i));
  }
  return std::nullopt;
}

std::optional<std::string> FindHost(const std::string& line, bool from_addr,
                                    const UriContext* uris) {
  if (from_addr) {
    size_t at = line.rfind('@');
    if (at == std::string::npos) return std::nullopt;
    size_t end = at + 1;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
    if (end == at + 1) return std::nullopt;
    return line.substr(at + 1, end - at - 1);
  }
  auto valid = [&](std::string_view candidate) {
    std::string c(candidate);
    while (!c.empty() && std::string_view("._-").find(c.back()) != std::string_view::npos)
      c.pop_back();
    if (c.empty() || !IsFqdnValid(c)) return std::string();
    if (uris != nullptr && !uris->IsDomainValid(c)) return std::string();
    return c;
  };
  auto split_tokens = [](std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() &&
             (std::isspace(static_cast<unsigned char>(s[i])) ||
              std::string_view("<>()[]\",;:'").find(s[i]) != std::string_view::npos)) {
        ++i;
      }
      size_t b = i;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) &&
             std::string_view("<>()[]\",;:'").find(s[i]) == std::string_view::npos) {
        ++i;
      }
      if (i > b) out.push_back(s.substr(b, i - b));
    }
    return out;
  };
  // An e-mail or message-id domain first, because the local part may look like a host.
  if (size_t at = line.rfind('@'); at != std::string::npos) {
    auto tokens = split_tokens(std::string_view(line).substr(at + 1));
    if (!tokens.empty()) {
      if (std::string h = valid(tokens.front()); !h.empty()) return h;
    }
  }
  for (std::string_view token : split_tokens(line)) {
    if (size_t at = token.rfind('@'); at != std::string_view::npos) token = token.substr(at + 1);
    if (std::string h = valid(token); !h.empty()) return h;
  }
  return std::nullopt;
}

}  // namespace

core::Result<HeaderQuery> ParseHeaderQuery(std::string_view spec) {
  HeaderQuery q;
  q.spec = std::string(spec);
  std::string_view rest = spec;
  size_t colon = rest.find(':');
  q.name = std::string(rest.substr(0, colon));
  q.lower_name = Lower(q.name);
  while (colon != std::string_view::npos) {
    rest.remove_prefix(colon + 1);
    colon = rest.find(':');
    std::string mod = Lower(rest.substr(0, colon));
    if (mod == "raw")
      q.raw = true;
    else if (mod == "addr")
      q.addr = true;
    else if (mod == "name")
      q.display_name = true;
    else if (mod == "host")
      q.host = true;
    else if (mod == "domain")
      q.host = q.domain = true;
    else if (mod == "ip")
      q.ip = true;
    else if (mod == "revip")
      q.ip = q.revip = true;
    else if (mod == "first")
      q.first = true;
    else if (mod == "last")
      q.last = true;
    else if (!mod.empty()) {
      return core::Fail(core::ErrorCode::kInvalid, "invalid header modifier ':{}'", mod);
    }
  }
  if (q.name.empty()) return core::Fail(core::ErrorCode::kInvalid, "missing header name");
  if (q.name == "ALL") {
    q.special = HeaderQuery::Special::kAll;
  } else if (q.name == "ALL-TRUSTED" || q.name == "ALL-UNTRUSTED" || q.name == "ALL-INTERNAL" ||
             q.name == "ALL-EXTERNAL") {
    q.special = HeaderQuery::Special::kAllRange;
  } else if (q.lower_name == "tocc") {
    q.special = HeaderQuery::Special::kToCc;
  } else if (q.name == "MESSAGEID") {
    q.special = HeaderQuery::Special::kMessageId;
  } else if (q.lower_name == "envelopefrom") {
    q.special = HeaderQuery::Special::kEnvelopeFrom;
  } else if (q.lower_name.starts_with("x-spam-relays-")) {
    q.special = HeaderQuery::Special::kRelays;
  }
  q.key = q.special == HeaderQuery::Special::kNone ? Lower(spec) : std::string(spec);
  return q;
}

HeaderIndex IndexHeaders(const MessageView& view) {
  HeaderIndex index;
  for (size_t i = 0; i < view.headers.size(); ++i) index[Lower(view.headers[i].name)].push_back(i);
  return index;
}

std::vector<std::string> ReceivedLines(const MessageView& view, const HeaderIndex& index) {
  std::vector<std::string> lines;
  if (auto it = index.find("received"); it != index.end()) {
    for (size_t i : it->second) lines.push_back(view.headers[i].decoded);
  }
  for (const char* name :
       {"x-yahoo-post-ip", "x-originating-ip", "x-apparently-from", "x-senderip"}) {
    auto it = index.find(name);
    if (it == index.end()) continue;
    // get_header() in scalar context: the last such field.
    if (auto ip = FindIpv4(view.headers[it->second.back()].decoded)) {
      lines.push_back("from X-Originating-IP: " + *ip);
    }
  }
  return lines;
}

std::optional<std::string> HeaderValue(const MessageView& view, const HeaderIndex& index,
                                       const HeaderQuery& q, const UriContext* uris,
                                       const RelayPath* relays) {
  std::vector<std::string> results;
  bool need_raw = q.addr || q.display_name;
  switch (q.special) {
    case HeaderQuery::Special::kAll: {
      std::string all;
      if (q.raw) {
        size_t pos = 0;
        const std::string& block = view.header_block;
        while (pos < block.size()) {
          size_t nl = block.find('\n', pos);
          size_t end = nl == std::string::npos ? block.size() : nl + 1;
          std::string_view line(block.data() + pos, end - pos);
          pos = end;
          if (line == "\n" || line == "\r\n") continue;
          all.append(line);
        }
      } else {
        for (const HeaderField& h : view.headers) {
          if (all.size() + h.name.size() + h.decoded.size() + 3 > kMaxAllHeadersLength) break;
          all += h.name + ": " + h.decoded + "\n";
        }
      }
      if (all.empty()) return std::nullopt;
      return all;
    }
    case HeaderQuery::Special::kAllRange: {
      if (relays == nullptr) return std::nullopt;
      std::vector<std::string> fields;
      if (q.raw) {
        const std::string& block = view.header_block;
        size_t pos = 0;
        while (pos < block.size()) {
          size_t nl = block.find('\n', pos);
          size_t end = nl == std::string::npos ? block.size() : nl + 1;
          std::string_view line(block.data() + pos, end - pos);
          pos = end;
          if (line == "\n" || line == "\r\n") continue;
          if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
            fields.back().append(line);
          } else {
            fields.emplace_back(line);
          }
        }
      } else {
        for (const HeaderField& h : view.headers)
          fields.push_back(h.name + ": " + h.decoded + "\n");
      }
      std::optional<int> start, end;
      if (q.name == "ALL-TRUSTED") end = relays->last_trusted_index + 1;
      if (q.name == "ALL-INTERNAL") end = relays->last_internal_index + 1;
      if (q.name == "ALL-UNTRUSTED") start = relays->last_trusted_index + 1;
      if (q.name == "ALL-EXTERNAL") start = relays->last_internal_index + 1;
      std::string joined;
      int current = -1;
      for (const std::string& field : fields) {
        if (field.size() >= 9 && Lower(std::string_view(field).substr(0, 9)) == "received:")
          ++current;
        if ((!start || *start <= current) && (!end || current < *end)) {
          joined += field;
        } else if (end && current == *end) {
          joined += field;
          break;
        }
      }
      if (joined.empty()) return std::nullopt;
      return joined;
    }
    case HeaderQuery::Special::kEnvelopeFrom: {
      auto envelope = view.envelope_from ? view.envelope_from : GuessEnvelopeFrom(view, index);
      if (envelope) results.push_back(*envelope);
      break;
    }
    case HeaderQuery::Special::kRelays: {
      if (relays == nullptr) return std::nullopt;
      std::string_view which = std::string_view(q.lower_name).substr(14);
      if (which == "trusted") return relays->trusted_text;
      if (which == "untrusted") return relays->untrusted_text;
      if (which == "internal") return relays->internal_text;
      if (which == "external") return relays->external_text;
      return std::nullopt;
    }
    case HeaderQuery::Special::kToCc:
      for (const char* name : {"to", "cc"}) {
        for (auto& v : FieldValues(view, index, name, q.raw, true)) results.push_back(std::move(v));
      }
      break;
    case HeaderQuery::Special::kMessageId:
      for (const char* name :
           {"x-message-id", "resent-message-id", "x-original-message-id", "message-id"}) {
        for (auto& v : FieldValues(view, index, name, q.raw, true)) {
          if (!v.empty()) results.push_back(std::move(v));
        }
      }
      break;
    case HeaderQuery::Special::kNone:
      results = FieldValues(view, index, q.lower_name, q.raw || need_raw, false);
      break;
  }
  if (results.empty()) return std::nullopt;
  if (q.first) {
    results.resize(1);
  } else if (q.last) {
    results.erase(results.begin(), results.end() - 1);
  }
  if (need_raw) {
    std::vector<std::string> parsed;
    for (const std::string& line : results) {
      for (ParsedAddress& a : ParseHeaderAddresses(line)) {
        if (q.addr) {
          if (a.address) parsed.push_back(std::move(*a.address));
        } else if (a.phrase) {
          parsed.push_back(q.raw ? *a.phrase : DisplayName(*a.phrase));
        }
      }
    }
    results = std::move(parsed);
  }
  if (!results.empty() && (q.host || q.ip)) {
    std::vector<std::string> hosts;
    for (const std::string& line : results) {
      if (q.host) {
        if (auto h = FindHost(line, q.addr, uris)) {
          hosts.push_back(q.domain && uris != nullptr ? uris->TrimDomain(*h) : Lower(*h));
        }
      } else if (auto ip = FindIpv4(line)) {
        if (q.revip) {
          std::vector<std::string> parts;
          size_t p = 0;
          while (true) {
            size_t dot = ip->find('.', p);
            parts.push_back(ip->substr(p, dot == std::string::npos ? std::string::npos : dot - p));
            if (dot == std::string::npos) break;
            p = dot + 1;
          }
          std::string reversed;
          for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            if (!reversed.empty()) reversed += '.';
            reversed += *it;
          }
          hosts.push_back(reversed);
        } else {
          hosts.push_back(*ip);
        }
      }
    }
    results = std::move(hosts);
  }
  if (results.empty()) return std::nullopt;
  bool ends_with_newline = results.front().ends_with('\n');
  std::string joined;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0 && !ends_with_newline) joined += '\n';
    joined += results[i];
  }
  return joined;
}

}  // namespace moat::rules
