// content_test_util.h - the content pipeline as the tests run it.
//
// ContentEnv (one per test process, built on first use) holds a ClamAV database made by
// sigtool from EICAR and clam.exe (tests/scanners/fixtures.h), the shipped default rules, and
// the ContentResources loaded from them. Config() reads the sample configuration conf/filterd.cf
// with the test's -o overrides on top of the environment's own (that database, a temp data
// directory, DNS pointed at a closed local port so no lookup leaves the machine); Scan() builds
// the bank's pipeline from it and runs RunScan() - exactly what `moat scan` does.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "filterd/content_factory.h"
#include "filterd/content_resources.h"
#include "filterd/filterd_parameters.h"
#include "filterd/scan_report.h"
#include "filterd/scan_runner.h"
#include "tests/scanners/fixtures.h"
#include "tests/support/test_support.h"

namespace moat::filterd::testing {

class ContentEnv {
 public:
  static ContentEnv& Get() {
    static ContentEnv* env = new ContentEnv();
    return *env;
  }

  const std::string& database() const { return database_; }
  const moat::testing::TempDir& dir() const { return dir_; }

  std::vector<std::string> BaseOverrides() const {
    return {"clamav_database_directory=" + database_,
            "clamav_reload_check_interval=0",
            "data_directory=" + dir_.Path("data"),
            "dns_servers=127.0.0.1:" + std::to_string(closed_port_),
            "myhostname=mx.moat.test",
            "banned_rules=" + moat::testing::SourcePath("conf/banned_rules")};
  }

  std::shared_ptr<const core::Config> Config(const std::vector<std::string>& overrides = {}) const {
    std::vector<std::string> all = BaseOverrides();
    all.insert(all.end(), overrides.begin(), overrides.end());
    return LoadFilterdConfig({moat::testing::SourcePath("conf"), "filterd.cf", all});
  }

  const ContentResources& resources() const { return resources_; }

  // The shared resources (ClamAV, rules) are loaded once from the base configuration; the DNS
  // resolvers follow `overrides` (dns_servers), as they would after a daemon reload.
  ContentPipeline Pipeline(const std::vector<std::string>& overrides = {},
                           const std::string& bank = "inbound") const {
    std::shared_ptr<const core::Config> config = Config(overrides);
    ContentResources resources = resources_;
    resources.dns = NewDnsResolverProvider(*config);
    return BuildContent(*config, bank, resources);
  }

  ScanResult Scan(const std::string& message, const std::vector<std::string>& overrides = {},
                  const std::string& bank = "inbound",
                  std::vector<std::string> recipients = {}) const {
    ContentPipeline pipeline = Pipeline(overrides, bank);
    WorkerResources worker;
    ScanRequest request;
    request.message = message;
    request.recipients = std::move(recipients);
    return RunScan(std::move(request), pipeline, worker);
  }

 private:
  ContentEnv() {
    database_ = scanners::testing::BuildTestDatabase(dir_);
    closed_port_ = moat::testing::FreeTcpPort();
    auto loaded = LoadContentResources(*Config());
    if (!loaded) {
      ADD_FAILURE() << loaded.error().ToString();
    } else {
      resources_ = std::move(*loaded);
    }
  }

  moat::testing::TempDir dir_;
  std::string database_;
  int closed_port_ = 0;
  ContentResources resources_;
};

// Helpers over a ScanResult.
inline bool HasFinding(const ScanResult& r, std::string_view stage, std::string_view name_prefix,
                       std::string_view part_prefix = "") {
  for (const Finding& f : r.context.findings) {
    if (f.stage == stage && f.name.starts_with(name_prefix) && f.part.starts_with(part_prefix)) {
      return true;
    }
  }
  return false;
}

inline bool HasClass(const ScanResult& r, ContentClass c, std::string_view subclass_prefix = "") {
  for (const Finding& f : r.context.findings) {
    if (f.content_class == c && f.subclass.starts_with(subclass_prefix)) return true;
  }
  return false;
}

inline std::string Describe(const ScanResult& r) { return ScanReportText(r); }

}  // namespace moat::filterd::testing
