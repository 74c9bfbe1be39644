// mta_snapshot.cc - building moat-mta's configuration snapshot from main.cf and master.cf.
#include "mta/mta_snapshot.h"

#include <fmt/format.h>

#include "core/config_value.h"
#include "core/dns_resolver.h"
#include "core/master_cf.h"
#include "core/network_list.h"

namespace moat::mta {
namespace {

bool HasIpv6Interface() {
  auto interfaces = core::LocalInterfaces();
  if (!interfaces) return false;
  for (const auto& interface : *interfaces) {
    if (!interface.address.is_v4()) return true;
  }
  return false;
}

// The overrides smtpd runs with for a postscreen service: postscreen's own, then those of the
// "smtpd pass" service it hands connections to.
std::vector<core::ConfigEntry> PostscreenOverrides(const core::MasterService& service,
                                                   const core::MasterCf& master) {
  std::vector<core::ConfigEntry> overrides = service.overrides;
  if (const core::MasterService* pass = master.Find("smtpd", "pass")) {
    overrides.insert(overrides.end(), pass->overrides.begin(), pass->overrides.end());
  }
  return overrides;
}

}  // namespace

std::shared_ptr<const SmtpdService> MtaSnapshot::FindService(std::string_view name) const {
  for (const auto& service : smtpd_services) {
    if (service->settings.service_name == name) return service;
  }
  return nullptr;
}

core::Result<std::vector<core::SmtpEndpoint>> ServiceEndpoints(const core::MasterService& service,
                                                               const core::Config& config) {
  auto address = core::ExpandServiceName(service, config);
  if (!address) return std::unexpected(address.error());
  const std::string port = std::to_string(address->port);
  std::vector<core::SmtpEndpoint> endpoints;
  auto add = [&](std::string host) {
    core::SmtpEndpoint endpoint;
    endpoint.kind = core::SmtpEndpoint::Kind::kTcp;
    endpoint.host = std::move(host);
    endpoint.port = port;
    endpoints.push_back(std::move(endpoint));
  };
  if (!address->host.empty()) {
    add(address->host);
    return endpoints;
  }
  bool ipv4 = false;
  bool ipv6 = false;
  for (const std::string& protocol : config.GetList("inet_protocols")) {
    if (protocol == "all") {
      ipv4 = true;
      ipv6 = HasIpv6Interface();
    } else if (protocol == "ipv4") {
      ipv4 = true;
    } else if (protocol == "ipv6") {
      ipv6 = true;
    }
  }
  for (const std::string& interface : config.GetList("inet_interfaces")) {
    if (interface == "all") {
      if (ipv4 && ipv6) {
        add("");
      } else {
        add(ipv6 ? "::" : "0.0.0.0");
      }
    } else if (interface == "loopback-only") {
      if (ipv4) add("127.0.0.1");
      if (ipv6) add("::1");
    } else {
      std::string_view host = interface;
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      add(std::string(host));
    }
  }
  if (endpoints.empty()) {
    return core::Fail(core::ErrorCode::kInvalid,
                      "service {}: inet_interfaces and inet_protocols leave no address to listen on",
                      service.Key());
  }
  return endpoints;
}

core::Result<std::shared_ptr<const MtaSnapshot>> BuildMtaSnapshot(
    const MtaConfig& config, const RestrictionRegistry& registry) {
  auto snapshot = std::make_shared<MtaSnapshot>();
  snapshot->main = config.main;
  const core::Config& main = *config.main;
  if (std::string servers = main.GetString("dns_servers"); !servers.empty()) {
    auto parsed = core::ParseDnsServers(servers);
    if (!parsed) return std::unexpected(parsed.error().WithContext("dns_servers"));
    snapshot->dns_servers = std::move(*parsed);
  }
  TableSet tables(core::TableOpenOptions{main.absolute_directory()});
  for (const core::MasterService& service : config.master.services) {
    if (service.type != core::MasterServiceType::kInet) continue;
    const bool postscreen = service.command == "postscreen";
    if (service.command != "smtpd" && !postscreen) {
      if (core::ClassifyCommand(service.command) == core::CommandSupport::kImplemented) {
        snapshot->warnings.push_back(fmt::format(
            "{}: service {}: command \"{}\" on an inet service is not run by moat-mta",
            service.location.ToString(), service.Key(), service.command));
      }
      continue;
    }
    std::vector<core::ConfigEntry> overrides =
        postscreen ? PostscreenOverrides(service, config.master) : service.overrides;
    std::shared_ptr<const core::Config> service_config =
        overrides.empty() ? config.main : main.WithOverrides(overrides);
    if (postscreen && service_config->GetString("postscreen_greet_action") != "ignore") {
      // The access list and the DNSBL screen run in smtpd at connect (smtpd_handler.h); the
      // pregreet and deep protocol tests do not exist in moat-mta.
      snapshot->warnings.push_back(fmt::format(
          "{}: service {}: postscreen_greet_action: the pregreet test is not implemented; "
          "only postscreen_access_list and the DNSBL screen run",
          service.location.ToString(), service.Key()));
    }
    auto endpoints = ServiceEndpoints(service, main);
    if (!endpoints) {
      return core::Fail(endpoints.error().code(), "{}: service {}: {}",
                        service.location.ToString(), service.Key(), endpoints.error().message());
    }
    SmtpdServiceSpec spec;
    spec.name = service.name;
    if (service.name.find('$') != std::string::npos) {
      if (auto address = core::ExpandServiceName(service, main)) spec.name = address->ToString();
    }
    spec.config = std::move(service_config);
    spec.endpoints = std::move(*endpoints);
    spec.process_limit = service.process_limit;
    spec.postscreen = postscreen;
    auto built = BuildSmtpdService(spec, tables, registry);
    if (!built) {
      return core::Fail(built.error().code(), "{}: service {}: {}", service.location.ToString(),
                        spec.name, built.error().message());
    }
    for (const std::string& warning : (*built)->warnings) snapshot->warnings.push_back(warning);
    snapshot->smtpd_services.push_back(std::move(*built));
  }
  return std::shared_ptr<const MtaSnapshot>(std::move(snapshot));
}

}  // namespace moat::mta
