// content_factory.cc - stages and policy of a bank from filterd.cf (see content_factory.h).
#include "filterd/content_factory.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/config_error.h"
#include "filterd/bank_policy.h"
#include "filterd/filterd_parameters.h"
#include "filterd/stage_banned.h"
#include "filterd/stage_decompose.h"
#include "filterd/stage_dmarc.h"
#include "filterd/stage_header_checks.h"
#include "filterd/stage_spam.h"
#include "filterd/stage_virus.h"
#include "rules/banned_rules.h"

namespace moat::filterd {
namespace {

std::string Per(std::string_view bank, std::string_view name) {
  return fmt::format("{}_{}", bank, name);
}

Destiny DestinyParameter(const core::Config& config, const std::string& name) {
  auto destiny = ParseDestiny(config.GetString(name));
  if (!destiny) {
    throw core::ConfigError(config.LocationOf(name),
                            fmt::format("{}: not a destiny: {}", name, config.GetString(name)));
  }
  return *destiny;
}

std::string Tag(std::string text) {
  if (!text.empty() && text.back() != ' ') text += ' ';
  return text;
}

std::shared_ptr<const rules::BannedRules> LoadBannedRules(const core::Config& config,
                                                          const std::string& parameter) {
  std::string path = config.GetPath(parameter);
  if (path.empty()) return nullptr;
  rules::BannedRules::Loaded loaded = rules::BannedRules::Load(path);
  for (const core::ConfigDiagnostic& problem : loaded.problems) {
    if (problem.severity == core::Severity::kError) throw core::ConfigError(problem);
  }
  for (const rules::BannedRule& rule : loaded.rules->rules()) {
    for (const std::string& bank : rule.banks) {
      if (std::find(kPolicyBanks.begin(), kPolicyBanks.end(), bank) == kPolicyBanks.end()) {
        throw core::ConfigError(rule.where,
                                fmt::format("unknown policy bank \"{}\" (known: {})", bank,
                                            fmt::join(kPolicyBanks, ", ")));
      }
    }
  }
  return loaded.rules;
}

rules::SpamLevels LevelsOf(const core::Config& config, std::string_view bank) {
  rules::SpamLevels levels;
  levels.tag_level = config.GetNumber(Per(bank, "spam_tag_level"));
  levels.tag2_level = config.GetNumber(Per(bank, "spam_tag2_level"));
  levels.kill_level = config.GetNumber(Per(bank, "spam_kill_level"));
  levels.subject_tag = Tag(config.GetString("spam_subject_tag"));
  return levels;
}

BankPolicySettings PolicySettings(const core::Config& config, std::string_view bank) {
  BankPolicySettings s;
  s.bank = std::string(bank);
  s.virus_destiny = DestinyParameter(config, Per(bank, "final_virus_destiny"));
  s.banned_destiny = DestinyParameter(config, Per(bank, "final_banned_destiny"));
  s.unchecked_destiny = DestinyParameter(config, Per(bank, "final_unchecked_destiny"));
  s.spam_destiny = DestinyParameter(config, Per(bank, "final_spam_destiny"));
  s.bad_header_destiny = DestinyParameter(config, Per(bank, "final_bad_header_destiny"));
  s.quarantine_classes.clear();
  for (const std::string& name : config.GetList("quarantine_classes")) {
    auto c = ParseContentClass(name);
    if (!c) {
      throw core::ConfigError(config.LocationOf("quarantine_classes"),
                              "quarantine_classes: unknown class " + name);
    }
    s.quarantine_classes.insert(*c);
  }
  s.levels = LevelsOf(config, bank);
  s.spam_dsn_cutoff_level = config.GetNumber("spam_dsn_cutoff_level");
  s.virus_scanned_header = config.GetString("virus_scanned_header");
  s.unchecked_subject_tag = Tag(config.GetString("unchecked_subject_tag"));
  return s;
}

}  // namespace

scanners::DecodeLimits DecodeLimitsFrom(const core::Config& config) {
  scanners::DecodeLimits limits;
  limits.max_depth = static_cast<int>(config.GetInt("max_decode_depth"));
  size_t parts = static_cast<size_t>(config.GetInt("max_decode_parts"));
  limits.max_mime_parts = parts;
  limits.max_members = parts;
  limits.max_total_bytes = config.GetSize("max_unpacked_bytes");
  limits.max_member_bytes = config.GetSize("max_member_bytes");
  limits.max_compression_ratio = static_cast<uint64_t>(config.GetInt("max_compression_ratio"));
  limits.max_time = std::chrono::duration_cast<std::chrono::milliseconds>(
      config.GetTime("decode_time_limit"));
  return limits;
}

ContentPipeline BuildContent(const core::Config& config, std::string_view bank,
                             const ContentResources& resources) {
  if (std::find(kPolicyBanks.begin(), kPolicyBanks.end(), bank) == kPolicyBanks.end()) {
    throw core::ConfigError(core::SourceLocation{},
                            fmt::format("unknown policy bank \"{}\" (known: {})", bank,
                                        fmt::join(kPolicyBanks, ", ")));
  }
  ContentPipeline pipeline;
  pipeline.bank = std::string(bank);

  if (bank == "inbound" && config.GetBool("dkim_verify")) {
    DkimVerifyStageOptions options;
    options.authserv_id = config.GetString("authserv_id");
    options.verify.min_rsa_bits = static_cast<int>(config.GetInt("dkim_min_key_bits"));
    pipeline.stages.push_back(std::make_shared<DkimVerifyStage>(resources.dns, options));
  }
  // DMARC needs the DKIM results: without DKIM verification it would fail mail DKIM aligns.
  const bool dmarc =
      bank == "inbound" && config.GetBool("dkim_verify") && config.GetBool("dmarc_verify");
  if (dmarc) pipeline.stages.push_back(BuildDmarcStage(config, resources));

  pipeline.stages.push_back(std::make_shared<DecomposeStage>(DecodeLimitsFrom(config)));

  if (!config.GetBool(Per(bank, "bypass_header_checks"))) {
    pipeline.stages.push_back(std::make_shared<HeaderChecksStage>());
  }

  if (!config.GetBool(Per(bank, "bypass_virus_checks"))) {
    if (!resources.clamav) {
      throw core::ConfigError(config.LocationOf("clamav_database_directory"),
                              fmt::format("policy bank {} runs virus checks but no ClamAV "
                                          "engine is loaded",
                                          bank));
    }
    auto raw = ParseRawMessageScan(config.GetString("clamav_raw_message_scan"));
    auto failure = ParseScannerFailureAction(config.GetString("scanner_failure_action"));
    if (!raw || !failure) {
      throw core::ConfigError(config.LocationOf(!raw ? "clamav_raw_message_scan"
                                                     : "scanner_failure_action"),
                              "bad value");
    }
    pipeline.stages.push_back(std::make_shared<VirusStage>(resources.clamav, *raw, *failure));
  }

  if (!config.GetBool(Per(bank, "bypass_banned_checks"))) {
    if (auto banned = LoadBannedRules(config, Per(bank, "banned_rules"))) {
      pipeline.stages.push_back(std::make_shared<BannedStage>(banned, std::string(bank)));
    }
  }

  if (!config.GetBool(Per(bank, "bypass_spam_checks"))) {
    if (!resources.rules) {
      throw core::ConfigError(config.LocationOf("rules_directories"),
                              fmt::format("policy bank {} runs spam checks but no rules are "
                                          "loaded",
                                          bank));
    }
    SpamStageOptions options;
    options.levels = LevelsOf(config, bank);
    options.size_limit = config.GetSize("spam_scan_size_limit");
    std::string maps = config.GetString(Per(bank, "spam_levels_maps"));
    if (!maps.empty()) {
      core::TableOpenOptions open;
      open.base_directory = config.absolute_directory();
      auto tables = core::TableList::Open(maps, open);
      if (!tables) {
        throw core::ConfigError(config.LocationOf(Per(bank, "spam_levels_maps")),
                                "spam_levels_maps: " + tables.error().message());
      }
      options.level_maps = std::move(*tables);
    }
    pipeline.stages.push_back(std::make_shared<SpamStage>(resources.rules, std::move(options)));
  }

  pipeline.policy = std::make_shared<BankPolicy>(PolicySettings(config, bank));
  if (dmarc) {
    pipeline.policy =
        std::make_shared<DmarcEnforcement>(std::move(pipeline.policy), DmarcDestiniesFrom(config));
  }
  return pipeline;
}

}  // namespace moat::filterd
