// routing_fixture.h - a main.cf + master.cf in a temp directory, loaded the way moat-mta loads
// them, with the transport catalog and resolver built on top. Shared by the resolve_*, delivery_*
// and qmgr_policy_* tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/ip_network.h"
#include "mta/mta_parameters.h"
#include "mta/resolve_address.h"
#include "mta/resolve_transport_catalog.h"
#include "tests/support/test_support.h"

namespace moat::mta::testing {

// The delivery transports of Postfix's stock master.cf plus the seeds' amavis blocks.
inline constexpr const char* kStockMasterCf = R"(smtp      inet  n       -       n       -       -       smtpd
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
        -o syslog_name=postfix/relay
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
slow      unix  -       -       n       -       1       smtp
amavisfeed unix -       -       n       -       2       lmtp
  -o lmtp_data_done_timeout=1200s
  -o lmtp_send_xforward_command=yes
  -o disable_dns_lookups=yes
smtp-amavis unix -      -       n       -       2       smtp
  -o smtp_data_done_timeout=1200s
  -o smtp_send_xforward_command=yes
  -o disable_dns_lookups=yes
  -o max_use=20
)";

class RoutingFixture {
 public:
  // `main_cf` is written as main.cf; `files` are written beside it (tables).
  RoutingFixture(const std::string& main_cf,
                 const std::vector<std::pair<std::string, std::string>>& files = {},
                 const std::string& master_cf = kStockMasterCf,
                 std::vector<std::string> overrides = {}) {
    dir_.WriteFile("main.cf", main_cf);
    dir_.WriteFile("master.cf", master_cf);
    for (const auto& [name, content] : files) dir_.WriteFile(name, content);
    config_ = LoadMtaConfig({dir_.path(), "main.cf", std::move(overrides)});
    catalog_ = TransportCatalog::Build(config_.main, config_.master);
    ResolverOptions options;
    options.interface_addresses = std::vector<core::IpAddress>{
        *core::IpAddress::Parse("127.0.0.1"), *core::IpAddress::Parse("::1"),
        *core::IpAddress::Parse("192.0.2.10")};
    resolver_ = AddressResolver::Create(catalog_, options);
  }

  const AddressResolver& resolver() const { return *resolver_; }
  std::shared_ptr<const AddressResolver> shared_resolver() const { return resolver_; }
  const TransportCatalog& catalog() const { return *catalog_; }
  std::shared_ptr<const TransportCatalog> shared_catalog() const { return catalog_; }
  const core::Config& main() const { return *config_.main; }
  const moat::testing::TempDir& dir() const { return dir_; }

 private:
  moat::testing::TempDir dir_;
  MtaConfig config_;
  std::shared_ptr<const TransportCatalog> catalog_;
  std::shared_ptr<const AddressResolver> resolver_;
};

}  // namespace moat::mta::testing
