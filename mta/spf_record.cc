// spf_record.cc - see spf_record.h.
#include "mta/spf_record.h"

#include <algorithm>
#include <cctype>

#include <asio/ip/address_v6.hpp>

#include "mta/spf_macro.h"

namespace moat::mta {
namespace {

using core::ErrorCode;
using core::Fail;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool IsTopLabel(std::string_view label) {
  if (label.empty()) return false;
  bool has_alpha = false, has_hyphen = false;
  for (char c : label) {
    if (c == '-') {
      has_hyphen = true;
    } else if (!IsAlnum(c)) {
      return false;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      has_alpha = true;
    }
  }
  if (!has_hyphen) return has_alpha;
  return IsAlnum(label.front()) && IsAlnum(label.back());
}

// domain-end = ( "." toplabel [ "." ] ) / macro-expand: the text after the last macro-expand
// must be empty or end in "." toplabel.
bool HasValidDomainEnd(std::string_view spec) {
  size_t tail = 0;
  for (size_t at = 0; at < spec.size();) {
    if (spec[at] != '%' || at + 1 >= spec.size()) {
      ++at;
      continue;
    }
    if (spec[at + 1] == '{') {
      size_t close = spec.find('}', at);
      if (close == std::string_view::npos) return false;
      at = close + 1;
    } else {
      at += 2;
    }
    tail = at;
  }
  std::string_view rest = spec.substr(tail);
  if (rest.empty()) return tail > 0;
  if (rest.back() == '.') rest.remove_suffix(1);
  size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos) return false;
  return IsTopLabel(rest.substr(dot + 1));
}

core::Status CheckDomainSpec(std::string_view spec, std::string_view term) {
  if (spec.empty()) return Fail(ErrorCode::kInvalid, "empty domain-spec in '{}'", term);
  if (auto valid = ValidateSpfMacroString(spec, SpfMacroMode::kDomainSpec); !valid) {
    return Fail(ErrorCode::kInvalid, "{} in '{}'", valid.error().message(), term);
  }
  if (!HasValidDomainEnd(spec)) {
    return Fail(ErrorCode::kInvalid, "invalid domain '{}' (use a fully qualified name) in '{}'",
                spec, term);
  }
  return {};
}

// "/" ("0" / %x31-39 0*NDIGIT) at the end of `text`; returns the value, or -1 when absent.
// `text` loses the suffix. A suffix that is there but malformed is an error.
core::Result<int> TakeCidr(std::string_view& text, bool dual, int max, std::string_view term) {
  size_t slash = text.rfind('/');
  if (slash == std::string_view::npos) return -1;
  if (dual && (slash == 0 || text[slash - 1] != '/')) return -1;
  if (!dual && slash > 0 && text[slash - 1] == '/') return -1;
  std::string_view digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;  // not a CIDR suffix: part of the domain-spec (which is then checked)
  }
  if (digits.size() > 1 && digits.front() == '0') {
    return Fail(ErrorCode::kInvalid, "CIDR length with a leading zero in '{}'", term);
  }
  int value = std::stoi(std::string(digits));
  if (value > max) return Fail(ErrorCode::kInvalid, "CIDR length over {} in '{}'", max, term);
  text = text.substr(0, dual ? slash - 1 : slash);
  return value;
}

// qnum = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35
bool IsIp4Network(std::string_view text) {
  int parts = 0;
  size_t at = 0;
  while (true) {
    size_t end = text.find('.', at);
    std::string_view part = text.substr(at, end == std::string_view::npos ? end : end - at);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    if (part.size() > 1 && part.front() == '0') return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return parts == 4;
}

core::Result<SpfMechanism> ParseDirective(std::string_view term) {
  SpfMechanism mechanism;
  mechanism.text = std::string(term);
  std::string_view rest = term;
  switch (rest.front()) {
    case '+': mechanism.qualifier = core::SpfResult::kPass; rest.remove_prefix(1); break;
    case '-': mechanism.qualifier = core::SpfResult::kFail; rest.remove_prefix(1); break;
    case '~': mechanism.qualifier = core::SpfResult::kSoftFail; rest.remove_prefix(1); break;
    case '?': mechanism.qualifier = core::SpfResult::kNeutral; rest.remove_prefix(1); break;
    default: break;
  }
  size_t name_end = rest.find_first_of(":/");
  std::string_view name = rest.substr(0, name_end);
  std::string_view args = name_end == std::string_view::npos ? "" : rest.substr(name_end);

  auto domain_and_cidr = [&](bool allow_cidr) -> core::Status {
    std::string_view spec = args;
    if (allow_cidr) {
      auto cidr6 = TakeCidr(spec, true, 128, term);
      if (!cidr6) return Fail(cidr6.error());
      auto cidr4 = TakeCidr(spec, false, 32, term);
      if (!cidr4) return Fail(cidr4.error());
      if (*cidr6 >= 0) mechanism.cidr6 = *cidr6;
      if (*cidr4 >= 0) mechanism.cidr4 = *cidr4;
    }
    if (spec.empty()) return {};
    if (spec.front() != ':') return Fail(ErrorCode::kInvalid, "malformed mechanism '{}'", term);
    spec.remove_prefix(1);
    if (auto checked = CheckDomainSpec(spec, term); !checked) return checked;
    mechanism.domain_spec = std::string(spec);
    return {};
  };

  if (EqualsIgnoreCase(name, "all")) {
    mechanism.kind = SpfMechanismKind::kAll;
    if (!args.empty()) {
      return Fail(ErrorCode::kInvalid, "'all' takes no arguments: '{}'", term);
    }
  } else if (EqualsIgnoreCase(name, "include") || EqualsIgnoreCase(name, "exists")) {
    mechanism.kind = EqualsIgnoreCase(name, "include") ? SpfMechanismKind::kInclude
                                                       : SpfMechanismKind::kExists;
    if (args.empty() || args.front() != ':') {
      return Fail(ErrorCode::kInvalid, "'{}' needs a domain: '{}'", name, term);
    }
    if (auto s = domain_and_cidr(false); !s) return Fail(s.error());
  } else if (EqualsIgnoreCase(name, "a") || EqualsIgnoreCase(name, "mx")) {
    mechanism.kind = EqualsIgnoreCase(name, "a") ? SpfMechanismKind::kA : SpfMechanismKind::kMx;
    if (auto s = domain_and_cidr(true); !s) return Fail(s.error());
  } else if (EqualsIgnoreCase(name, "ptr")) {
    mechanism.kind = SpfMechanismKind::kPtr;
    if (auto s = domain_and_cidr(false); !s) return Fail(s.error());
  } else if (EqualsIgnoreCase(name, "ip4") || EqualsIgnoreCase(name, "ip6")) {
    bool v4 = EqualsIgnoreCase(name, "ip4");
    mechanism.kind = v4 ? SpfMechanismKind::kIp4 : SpfMechanismKind::kIp6;
    if (args.empty() || args.front() != ':') {
      return Fail(ErrorCode::kInvalid, "'{}' needs an address: '{}'", name, term);
    }
    std::string_view network = args.substr(1);
    auto cidr = TakeCidr(network, false, v4 ? 32 : 128, term);
    if (!cidr) return Fail(cidr.error());
    if (network.find('/') != std::string_view::npos) {
      return Fail(ErrorCode::kInvalid, "malformed CIDR length in '{}'", term);
    }
    std::optional<core::IpAddress> address;
    if (v4) {
      if (IsIp4Network(network)) address = core::IpAddress::Parse(network);
    } else {
      std::error_code ec;
      auto v6 = asio::ip::make_address_v6(std::string(network), ec);
      if (!ec && network.find('%') == std::string_view::npos) {
        uint8_t bytes[16];
        auto raw = v6.to_bytes();
        std::copy(raw.begin(), raw.end(), bytes);
        address = core::IpAddress::V6(bytes);
      }
    }
    if (!address) return Fail(ErrorCode::kInvalid, "invalid {} address in '{}'", name, term);
    int length = *cidr >= 0 ? *cidr : (v4 ? 32 : 128);
    // An ip6: with an IPv4-mapped address is an IPv4 network (the prefix loses the 96 bits).
    if (!v4 && address->is_v4()) length = std::max(0, length - 96);
    // RFC 7208 5.6: the bits past the prefix are simply ignored (no "host bits set" error).
    mechanism.network.emplace(*address, length);
    if (v4) mechanism.cidr4 = length;
    else mechanism.cidr6 = length;
  } else {
    return Fail(ErrorCode::kInvalid, "unknown mechanism '{}'", term);
  }
  return mechanism;
}

bool IsModifierName(std::string_view term, size_t* equals) {
  if (term.empty() || !std::isalpha(static_cast<unsigned char>(term.front()))) return false;
  for (size_t i = 1; i < term.size(); ++i) {
    char c = term[i];
    if (c == '=') {
      *equals = i;
      return true;
    }
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return false;
}

}  // namespace

std::string_view SpfMechanismName(SpfMechanismKind kind) {
  switch (kind) {
    case SpfMechanismKind::kAll: return "all";
    case SpfMechanismKind::kInclude: return "include";
    case SpfMechanismKind::kA: return "a";
    case SpfMechanismKind::kMx: return "mx";
    case SpfMechanismKind::kPtr: return "ptr";
    case SpfMechanismKind::kIp4: return "ip4";
    case SpfMechanismKind::kIp6: return "ip6";
    case SpfMechanismKind::kExists: return "exists";
  }
  return "?";
}

bool IsSpfRecord(std::string_view text) {
  if (text.size() < 6 || !EqualsIgnoreCase(text.substr(0, 6), "v=spf1")) return false;
  return text.size() == 6 || text[6] == ' ';
}

core::Result<SpfRecord> ParseSpfRecord(std::string_view text) {
  if (!IsSpfRecord(text)) return Fail(ErrorCode::kInvalid, "not an SPF record");
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Fail(ErrorCode::kInvalid, "SPF record with characters outside US-ASCII");
    }
  }
  SpfRecord record;
  size_t at = 6;
  while (at < text.size()) {
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view term = text.substr(at, end - at);
    at = end;
    for (char c : term) {
      if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
        return Fail(ErrorCode::kInvalid, "control character in SPF term");
      }
    }
    size_t equals = 0;
    if (IsModifierName(term, &equals)) {
      std::string_view name = term.substr(0, equals);
      std::string_view value = term.substr(equals + 1);
      if (EqualsIgnoreCase(name, "redirect") || EqualsIgnoreCase(name, "exp")) {
        bool redirect = EqualsIgnoreCase(name, "redirect");
        std::optional<std::string>& slot = redirect ? record.redirect : record.exp;
        if (slot.has_value()) {
          return Fail(ErrorCode::kInvalid, "more than one '{}=' modifier", redirect ? "redirect"
                                                                                    : "exp");
        }
        if (auto checked = CheckDomainSpec(value, term); !checked) return Fail(checked.error());
        slot = std::string(value);
      } else if (auto valid = ValidateSpfMacroString(value, SpfMacroMode::kExplanation); !valid) {
        return Fail(ErrorCode::kInvalid, "{} in modifier '{}'", valid.error().message(), term);
      }
      continue;
    }
    auto mechanism = ParseDirective(term);
    if (!mechanism) return Fail(mechanism.error());
    if (mechanism->kind == SpfMechanismKind::kAll) record.has_all = true;
    record.mechanisms.push_back(std::move(*mechanism));
  }
  return record;
}

}  // namespace moat::mta
