// dnsmasq_server.h - a real DNS server (dnsmasq) on a free loopback port, for tests.
//
// Tests that resolve names (DKIM keys, MX, PTR) start one with the records they need and point the
// resolver at address(). dnsmasq runs in the foreground, answers only from its command line
// (--no-resolv --no-hosts --conf-file=/dev/null), and is authoritative for the domains passed as
// `local_domains` (unknown names there are NXDOMAIN, known names of another type NODATA). Names
// outside every local domain are REFUSED. Local records carry a TTL of kTtl seconds.
//
// Records are dnsmasq options (no shell in between, so no quotes: commas separate TXT strings),
// e.g. "--txt-record=s._domainkey.example.test,v=DKIM1; k=rsa; p=...",
// "--mx-host=example.test,mx.example.test,10", "--host-record=h.test,192.0.2.1,2001:db8::1".
// The process is killed when the object dies. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::testing {

class DnsmasqServer {
 public:
  static constexpr int kTtl = 300;

  // Starts dnsmasq with `records`; fails the calling test (ADD_FAILURE) and returns nullptr when
  // it cannot start.
  static std::unique_ptr<DnsmasqServer> Start(const std::vector<std::string>& local_domains,
                                              const std::vector<std::string>& records);
  ~DnsmasqServer();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  DnsmasqServer() = default;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

// A dnsmasq option that publishes a TXT record, splitting `text` into strings of at most 255
// (the text must not contain commas).
std::string DnsmasqTxtRecord(const std::string& name, const std::string& text);

}  // namespace moat::testing
