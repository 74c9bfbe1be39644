// content_resources.cc - ClamAV, rules and DNS from filterd.cf (see content_resources.h).
#include "filterd/content_resources.h"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/config_error.h"
#include "filterd/filterd_parameters.h"
#include "rules/rules_directories.h"

namespace moat::filterd {

core::Result<std::shared_ptr<scanners::ClamavService>> StartClamav(const core::Config& config) {
  scanners::ClamavServiceOptions options;
  options.engine.database_directory = config.GetPath("clamav_database_directory");
  // libclamav makes (and removes) a scratch directory for every scan, even of a 20-byte part:
  // ~3 ms each on an ext4 /tmp against ~20 us on tmpfs, the largest fixed cost per MIME part.
  std::string temp = config.GetPath("clamav_temp_directory");
  std::error_code ec;
  if (!temp.empty() && std::filesystem::is_directory(temp, ec)) {
    options.engine.temp_directory = temp;
  } else if (!temp.empty()) {
    spdlog::warn("clamav_temp_directory {} is not a directory; libclamav uses $TMPDIR or /tmp",
                 temp);
  }
  options.watch_interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          config.GetTime("clamav_reload_check_interval"));
  auto service = scanners::ClamavService::Start(options);
  if (!service) {
    return core::Fail(service.error().WithContext(
        fmt::format("ClamAV database {}", options.engine.database_directory)));
  }
  return std::shared_ptr<scanners::ClamavService>(std::move(*service));
}

std::shared_ptr<const rules::RuleSet> LoadRuleSet(const core::Config& config) {
  rules::LoadOptions options;
  // Unset, the shipped rules come from where this build finds them (the source tree's
  // rules/default before an install), not from the registry's install path.
  options.directories =
      config.IsSet("rules_directories")
          ? rules::ParseRulesDirectories(config.GetString("rules_directories"),
                                         config.absolute_directory())
          : rules::DefaultRulesDirectories(config.absolute_directory());
  auto set = rules::RuleSet::Load(options);
  for (const rules::ConfigProblem& p : set->report().errors) {
    spdlog::warn("rules: {}: {}", p.where.ToString(), p.message);
  }
  return set;
}

DnsResolverProvider NewDnsResolverProvider(const core::Config& config) {
  core::DnsResolverOptions options;
  std::string servers = config.GetString("dns_servers");
  if (!servers.empty()) {
    auto parsed = core::ParseDnsServers(servers);
    if (!parsed) {
      throw core::ConfigError(config.LocationOf("dns_servers"),
                              "dns_servers: " + parsed.error().message());
    }
    options.servers = std::move(*parsed);
  }
  return [options](const asio::any_io_executor& executor)
             -> core::Result<std::shared_ptr<core::DnsResolver>> {
    auto resolver = core::DnsResolver::Create(executor, options);
    if (!resolver) return core::Fail(resolver.error());
    return std::shared_ptr<core::DnsResolver>(std::move(*resolver));
  };
}

bool AnyBankChecks(const core::Config& config, std::string_view check) {
  for (std::string_view bank : kPolicyBanks) {
    if (!config.GetBool(fmt::format("{}_bypass_{}_checks", bank, check))) return true;
  }
  return false;
}

core::Result<ContentResources> LoadContentResources(const core::Config& config) {
  ContentResources resources;
  if (AnyBankChecks(config, "virus")) {
    auto clamav = StartClamav(config);
    if (!clamav) return core::Fail(clamav.error());
    resources.clamav = std::move(*clamav);
  }
  if (AnyBankChecks(config, "spam")) resources.rules = LoadRuleSet(config);
  resources.dns = NewDnsResolverProvider(config);
  if (config.GetBool("dmarc_verify") && config.GetBool("dkim_verify")) {
    auto suffixes = PublicSuffixList::Load(config.GetPath("public_suffix_list"));
    if (!suffixes) return core::Fail(suffixes.error());
    resources.public_suffixes = std::move(*suffixes);
  }
  return resources;
}

}  // namespace moat::filterd
