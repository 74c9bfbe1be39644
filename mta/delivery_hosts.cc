// delivery_hosts.cc - MX and address lookup for delivery (after Postfix smtp_addr.c).
// clang-format off
#include <algorithm>
#include <random>
#include <string>
#include <vector>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
// clang-format on

#include "mta/delivery_hosts.h"

#include <fmt/format.h>

#include "mta/resolve_domain_list.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

HostLookupFailure NotFound(std::string_view name, std::string_view type) {
  return {false, "5.4.4",
          fmt::format("Host or domain name not found. Name service error for name={} type={}: "
                      "Host not found",
                      name, type)};
}

HostLookupFailure NoData(std::string_view name, std::string_view type) {
  return {false, "5.4.4",
          fmt::format("Host or domain name not found. Name service error for name={} type={}: "
                      "Host found but no data record of requested type",
                      name, type)};
}

HostLookupFailure TryAgain(std::string_view name, std::string_view type,
                           const core::Error& error) {
  if (!error.temporary() && error.code() != core::ErrorCode::kTempFail) {
    return {false, "5.4.4",
            fmt::format("Host or domain name not found. Name service error for name={} type={}: "
                        "{}",
                        name, type, error.message())};
  }
  return {true, "4.4.3",
          fmt::format("Host or domain name not found. Name service error for name={} type={}: "
                      "Host not found, try again",
                      name, type)};
}

// The addresses of one host, or why there are none. `found_any` tells NXDOMAIN from NODATA.
struct AddressLookup {
  std::vector<asio::ip::address> addresses;
  std::optional<HostLookupFailure> failure;
};

asio::awaitable<AddressLookup> LookupDns(const std::string& host, const HostLookupOptions& options,
                                         core::DnsResolver& dns, std::mt19937_64& random) {
  AddressLookup out;
  std::vector<asio::ip::address> v4, v6;
  bool nxdomain = true;
  std::optional<HostLookupFailure> temp;
  if (options.ipv4) {
    auto answer = co_await dns.LookupA(host);
    if (!answer) {
      temp = TryAgain(host, "A", answer.error());
    } else {
      if (answer->outcome != core::DnsOutcome::kNxDomain) nxdomain = false;
      for (const auto& r : answer->records) v4.push_back(r.address);
    }
  }
  if (options.ipv6) {
    auto answer = co_await dns.LookupAaaa(host);
    if (!answer) {
      if (!temp) temp = TryAgain(host, "AAAA", answer.error());
    } else {
      if (answer->outcome != core::DnsOutcome::kNxDomain) nxdomain = false;
      for (const auto& r : answer->records) v6.push_back(r.address);
    }
  }
  bool v6_first = options.preference == AddressPreference::kIpv6 ||
                  (options.preference == AddressPreference::kAny && (random() & 1) != 0);
  const auto& first = v6_first ? v6 : v4;
  const auto& second = v6_first ? v4 : v6;
  out.addresses.insert(out.addresses.end(), first.begin(), first.end());
  out.addresses.insert(out.addresses.end(), second.begin(), second.end());
  if (out.addresses.empty()) {
    if (temp) {
      out.failure = temp;
    } else {
      out.failure = nxdomain ? NotFound(host, options.ipv4 ? "A" : "AAAA")
                             : NoData(host, options.ipv6 ? "AAAA" : "A");
    }
  }
  co_return out;
}

asio::awaitable<AddressLookup> LookupNative(const std::string& host,
                                            const HostLookupOptions& options,
                                            asio::any_io_executor executor) {
  AddressLookup out;
  asio::ip::tcp::resolver resolver(executor);
  auto [error, results] = co_await resolver.async_resolve(
      host, "", asio::ip::resolver_base::flags(),
      asio::experimental::as_tuple(asio::use_awaitable));
  if (error) {
    if (error == asio::error::host_not_found || error == asio::error::no_data) {
      out.failure = NotFound(host, "A");
    } else {
      out.failure = HostLookupFailure{
          true, "4.4.3",
          fmt::format("Host or domain name not found. Name service error for name={} type=A: "
                      "Host not found, try again",
                      host)};
    }
    co_return out;
  }
  std::vector<asio::ip::address> v4, v6;
  for (const auto& entry : results) {
    asio::ip::address a = entry.endpoint().address();
    auto& list = a.is_v4() ? v4 : v6;
    if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
  }
  if (!options.ipv4) v4.clear();
  if (!options.ipv6) v6.clear();
  bool v6_first = options.preference == AddressPreference::kIpv6;
  out.addresses = v6_first ? v6 : v4;
  const auto& rest = v6_first ? v4 : v6;
  out.addresses.insert(out.addresses.end(), rest.begin(), rest.end());
  if (out.addresses.empty()) out.failure = NoData(host, "A");
  co_return out;
}

asio::awaitable<AddressLookup> LookupHost(const std::string& host,
                                          const HostLookupOptions& options,
                                          core::DnsResolver* dns, asio::any_io_executor executor,
                                          std::mt19937_64& random) {
  asio::error_code ec;
  asio::ip::address literal = asio::ip::make_address(host, ec);
  if (!ec) {
    AddressLookup out;
    out.addresses.push_back(literal);
    co_return out;
  }
  if (options.use_dns && dns != nullptr) {
    AddressLookup via_dns = co_await LookupDns(host, options, *dns, random);
    if (via_dns.failure && options.native_fallback) {
      AddressLookup native = co_await LookupNative(host, options, executor);
      if (!native.failure) co_return native;
    }
    co_return via_dns;
  }
  AddressLookup native = co_await LookupNative(host, options, executor);
  co_return native;
}

}  // namespace

std::string DeliveryHost::Label() const {
  return fmt::format("{}[{}]:{}", name, address.to_string(), port);
}

asio::awaitable<HostLookupResult> FindDeliveryHosts(NexthopDestination destination,
                                                    std::uint16_t default_port,
                                                    HostLookupOptions options,
                                                    core::DnsResolver* dns,
                                                    asio::any_io_executor executor) {
  std::uint16_t port = default_port;
  if (!destination.port.empty()) {
    auto resolved = ResolvePort(destination.port);
    if (!resolved) {
      co_return std::unexpected(HostLookupFailure{true, "4.3.5", resolved.error().message()});
    }
    port = *resolved;
  }
  std::mt19937_64 random(options.random_seed != 0 ? options.random_seed
                                                  : std::random_device{}());
  std::vector<DeliveryHost> hosts;
  auto add_addresses = [&](const std::string& name, int preference,
                           const std::vector<asio::ip::address>& addresses) {
    for (const auto& a : addresses) hosts.push_back(DeliveryHost{name, a, port, preference});
  };

  const bool use_mx = destination.use_mx && options.use_dns && dns != nullptr;
  if (!use_mx) {
    AddressLookup lookup = co_await LookupHost(destination.host, options, dns, executor, random);
    if (lookup.failure) co_return std::unexpected(*lookup.failure);
    add_addresses(destination.host, 0, lookup.addresses);
  } else {
    const std::string& domain = destination.host;
    auto mx = co_await dns->LookupMx(domain);
    if (!mx) co_return std::unexpected(TryAgain(domain, "MX", mx.error()));
    if (mx->outcome == core::DnsOutcome::kNxDomain) {
      co_return std::unexpected(NotFound(domain, "MX"));
    }
    if (mx->outcome == core::DnsOutcome::kNoData) {
      // No MX: the domain's own addresses (RFC 5321 5.1).
      AddressLookup lookup = co_await LookupHost(domain, options, dns, executor, random);
      if (lookup.failure) co_return std::unexpected(*lookup.failure);
      add_addresses(domain, 0, lookup.addresses);
    } else {
      std::vector<core::MxRecord> records = mx->records;
      bool only_null = std::all_of(records.begin(), records.end(),
                                   [](const core::MxRecord& r) { return r.exchange.empty(); });
      if (only_null) {
        co_return std::unexpected(HostLookupFailure{
            false, "5.1.0", fmt::format("Domain {} does not accept mail (nullMX)", domain)});
      }
      std::erase_if(records, [](const core::MxRecord& r) { return r.exchange.empty(); });
      std::stable_sort(records.begin(), records.end(),
                       [](const core::MxRecord& a, const core::MxRecord& b) {
                         return a.preference < b.preference;
                       });
      // Shuffle hosts of equal preference (RFC 5321 5.1).
      for (std::size_t i = 0; i < records.size();) {
        std::size_t j = i;
        while (j < records.size() && records[j].preference == records[i].preference) ++j;
        std::shuffle(records.begin() + static_cast<long>(i), records.begin() + static_cast<long>(j),
                     random);
        i = j;
      }
      // Mail to a domain whose MX list includes this host goes only to better MX hosts.
      std::string me = LowerAscii(options.myhostname);
      auto self = std::find_if(records.begin(), records.end(), [&](const core::MxRecord& r) {
        return !me.empty() && LowerAscii(r.exchange) == me;
      });
      if (self != records.end()) {
        int own = self->preference;
        std::erase_if(records, [&](const core::MxRecord& r) { return r.preference >= own; });
        if (records.empty()) {
          co_return std::unexpected(HostLookupFailure{
              false, "5.4.6", fmt::format("mail for {} loops back to myself", domain)});
        }
      }
      std::optional<HostLookupFailure> last_failure;
      for (const core::MxRecord& record : records) {
        if (options.address_limit > 0 && hosts.size() >= options.address_limit) break;
        AddressLookup lookup =
            co_await LookupHost(record.exchange, options, dns, executor, random);
        if (lookup.failure) {
          if (!last_failure || (lookup.failure->temporary && !last_failure->temporary)) {
            last_failure = lookup.failure;
          }
          continue;
        }
        add_addresses(record.exchange, record.preference, lookup.addresses);
      }
      if (hosts.empty()) {
        co_return std::unexpected(last_failure ? *last_failure : NotFound(domain, "MX"));
      }
    }
  }
  if (options.address_limit > 0 && hosts.size() > options.address_limit) {
    hosts.resize(options.address_limit);
  }
  co_return hosts;
}

}  // namespace moat::mta
