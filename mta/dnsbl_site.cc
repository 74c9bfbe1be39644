// dnsbl_site.cc - see dnsbl_site.h.
#include "mta/dnsbl_site.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <asio/ip/address.hpp>
#include <fmt/format.h>

#include "core/config_value.h"
#include "core/dns_resolver.h"

namespace moat::mta {
namespace {

using core::ErrorCode;
using core::Fail;

std::optional<uint8_t> ParseOctet(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 255) return std::nullopt;
  return static_cast<uint8_t>(value);
}

bool IsDomainChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

core::Result<DnsblReplyFilter> DnsblReplyFilter::Parse(std::string_view text) {
  DnsblReplyFilter filter;
  filter.text_ = std::string(text);
  auto bad = [&] { return Fail(ErrorCode::kInvalid, "bad DNSBL reply filter '{}'", text); };
  size_t at = 0;
  while (at <= text.size()) {
    // One whole pattern d.d.d.d; ';' outside brackets separates patterns.
    std::array<Octet, 4> pattern;
    for (int octet = 0; octet < 4; ++octet) {
      if (octet > 0) {
        if (at >= text.size() || text[at] != '.') return bad();
        ++at;
      }
      if (at < text.size() && text[at] == '[') {
        size_t close = text.find(']', at);
        if (close == std::string_view::npos) return bad();
        std::string_view inside = text.substr(at + 1, close - at - 1);
        at = close + 1;
        if (inside.empty()) return bad();
        size_t pos = 0;
        while (pos <= inside.size()) {
          size_t end = inside.find(';', pos);
          if (end == std::string_view::npos) end = inside.size();
          std::string_view item = inside.substr(pos, end - pos);
          size_t dots = item.find("..");
          std::optional<uint8_t> low, high;
          if (dots == std::string_view::npos) {
            low = high = ParseOctet(item);
          } else {
            low = ParseOctet(item.substr(0, dots));
            high = ParseOctet(item.substr(dots + 2));
          }
          if (!low || !high || *low > *high) return bad();
          pattern[octet].push_back({*low, *high});
          pos = end + 1;
        }
      } else {
        size_t end = at;
        while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
        auto value = ParseOctet(text.substr(at, end - at));
        if (!value) return bad();
        pattern[octet].push_back({*value, *value});
        at = end;
      }
    }
    filter.patterns_.push_back(std::move(pattern));
    if (at == text.size()) break;
    if (text[at] != ';') return bad();
    ++at;
  }
  return filter;
}

bool DnsblReplyFilter::Matches(const asio::ip::address_v4& answer) const {
  if (!IsDnsblAnswer(answer)) return false;
  if (patterns_.empty()) return true;
  auto bytes = answer.to_bytes();
  for (const auto& pattern : patterns_) {
    bool all = true;
    for (int i = 0; i < 4 && all; ++i) {
      all = std::any_of(pattern[i].begin(), pattern[i].end(), [&](const Range& r) {
        return bytes[i] >= r.low && bytes[i] <= r.high;
      });
    }
    if (all) return true;
  }
  return false;
}

bool IsDnsblAnswer(const asio::ip::address_v4& answer) { return answer.to_bytes()[0] == 127; }

core::Result<DnsblSite> ParseDnsblSite(std::string_view entry, bool allow_weight) {
  DnsblSite site;
  site.text = std::string(entry);
  std::string_view rest = entry;
  size_t star = rest.rfind('*');
  if (star != std::string_view::npos) {
    if (!allow_weight) {
      return Fail(ErrorCode::kInvalid, "'{}': a weight (*n) is only for postscreen_dnsbl_sites",
                  entry);
    }
    std::string_view weight = rest.substr(star + 1);
    int value = 0;
    auto [end, ec] = std::from_chars(weight.data(), weight.data() + weight.size(), value);
    if (weight.empty() || ec != std::errc() || end != weight.data() + weight.size()) {
      return Fail(ErrorCode::kInvalid, "bad DNSBL weight in '{}'", entry);
    }
    site.weight = value;
    rest = rest.substr(0, star);
  }
  size_t equals = rest.find('=');
  std::string_view domain = rest.substr(0, equals);
  if (equals != std::string_view::npos) {
    auto filter = DnsblReplyFilter::Parse(rest.substr(equals + 1));
    if (!filter) return Fail(filter.error().WithContext(std::string(entry)));
    site.filter = std::move(*filter);
  }
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.front() == '.' || domain.size() > 200 ||
      domain.find("..") != std::string_view::npos ||
      !std::all_of(domain.begin(), domain.end(), IsDomainChar)) {
    return Fail(ErrorCode::kInvalid, "bad DNSBL domain in '{}'", entry);
  }
  site.domain = std::string(domain);
  for (char& c : site.domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return site;
}

core::Result<std::vector<DnsblSite>> ParseDnsblSites(const std::vector<std::string>& entries) {
  std::vector<DnsblSite> sites;
  for (const std::string& entry : entries) {
    auto site = ParseDnsblSite(entry);
    if (!site) return Fail(site.error());
    sites.push_back(std::move(*site));
  }
  return sites;
}

std::string DnsblQueryName(const asio::ip::address& client, std::string_view domain) {
  asio::ip::address address = client;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  std::string reverse = core::ReverseLookupName(address);
  // Drop ".in-addr.arpa" / ".ip6.arpa".
  reverse.resize(reverse.size() - (address.is_v4() ? 13 : 9));
  return reverse + "." + std::string(domain);
}

void CheckDnsblSites(std::string_view value, const core::ParameterContext& /*context*/,
                     std::vector<core::ValueProblem>& problems) {
  for (const std::string& entry : core::SplitList(value)) {
    auto site = ParseDnsblSite(entry);
    if (!site) problems.push_back({core::Severity::kError, site.error().message()});
  }
}

}  // namespace moat::mta
