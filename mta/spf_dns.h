// spf_dns.h - the DNS queries an SPF evaluation makes, behind a small interface.
//
// The evaluator (spf_evaluator.h) asks for TXT, A, AAAA, MX and PTR records. In moat-mta the
// answers come from core::DnsResolver (c-ares, `dns_servers`) through ResolverSpfDns; tests can
// also serve a whole zone from memory (the openspf.org RFC 7208 test suite does, with timeouts
// and oddities dnsmasq cannot serve).
//
// The contract is core::DnsResolver's: an answer with records, kNxDomain, kNoData, or an Error
// (kTempFail for conditions that may clear: timeout, SERVFAIL; kPermFail for a malformed name).
// The evaluator maps errors to temperror, a malformed name to "no match"/none as RFC 7208 says.
//
// Thread safety: an SpfDns is used by one evaluation at a time on one executor; ResolverSpfDns
// adds nothing to the resolver's own rules (the resolver must outlive it).
#pragma once

// clang-format off
#include <chrono>
#include <optional>
#include <string>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
// clang-format on

#include "core/dns_resolver.h"

namespace moat::mta {

class SpfDns {
 public:
  virtual ~SpfDns() = default;
  virtual asio::awaitable<core::Result<core::DnsAnswer<core::TxtRecord>>> Txt(std::string name) = 0;
  virtual asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> A(
      std::string name) = 0;
  virtual asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> Aaaa(
      std::string name) = 0;
  virtual asio::awaitable<core::Result<core::DnsAnswer<core::MxRecord>>> Mx(std::string name) = 0;
  virtual asio::awaitable<core::Result<core::DnsAnswer<core::PtrRecord>>> Ptr(
      asio::ip::address address) = 0;
};

// SpfDns over core::DnsResolver, each query with `timeout` (nullopt: the resolver's default).
class ResolverSpfDns : public SpfDns {
 public:
  explicit ResolverSpfDns(core::DnsResolver& resolver,
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt)
      : resolver_(resolver), timeout_(timeout) {}

  asio::awaitable<core::Result<core::DnsAnswer<core::TxtRecord>>> Txt(std::string name) override;
  asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> A(
      std::string name) override;
  asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> Aaaa(
      std::string name) override;
  asio::awaitable<core::Result<core::DnsAnswer<core::MxRecord>>> Mx(std::string name) override;
  asio::awaitable<core::Result<core::DnsAnswer<core::PtrRecord>>> Ptr(
      asio::ip::address address) override;

 private:
  core::DnsResolver& resolver_;
  std::optional<std::chrono::milliseconds> timeout_;
};

}  // namespace moat::mta
