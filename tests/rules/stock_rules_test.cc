// stock_rules_test.cc - SpamAssassin's stock rules (Debian's spamassassin package) load in Moat.
//
// Every rule of a supported kind compiles (no per-rule error), the rest is counted as
// unsupported and nothing is fatal.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "rules/rule_set.h"

namespace moat::rules {
namespace {

constexpr const char* kStockRules = "/usr/share/spamassassin";

TEST(StockRulesTest, EverySupportedRuleCompiles) {
  if (!std::filesystem::exists(std::string(kStockRules) + "/50_scores.cf")) {
    GTEST_SKIP() << "spamassassin is not installed (cmake/debian-deps.sh test group installs it)";
  }
  LoadOptions options;
  options.directories = {kStockRules};
  auto set = RuleSet::Load(options);
  const LoadReport& report = set->report();
  std::string errors;
  for (const ConfigProblem& p : report.errors)
    errors += p.where.ToString() + ": " + p.message + "\n";
  EXPECT_TRUE(report.errors.empty()) << errors;
  std::string summary = fmt::format("{} files;", report.files.size());
  for (size_t k = 0; k < kRuleKindCount; ++k) {
    summary += fmt::format(" {} {} (+{} disabled, {} prefiltered);",
                           RuleKindName(static_cast<RuleKind>(k)), report.loaded[k],
                           report.disabled[k], report.prefiltered[k]);
  }
  size_t unsupported = 0;
  for (const auto& [kind, n] : report.unsupported_counts) unsupported += n;
  summary +=
      fmt::format(" eval rules run {}; unsupported lines {}", report.eval_rules_run, unsupported);
  std::cout << summary << "\n";
  for (const auto& [kind, n] : report.unsupported_counts)
    std::cout << "  unsupported " << kind << ": " << n << "\n";
  EXPECT_GT(report.loaded[static_cast<size_t>(RuleKind::kBody)], 400u);
  EXPECT_GT(report.loaded[static_cast<size_t>(RuleKind::kHeader)], 500u);
  EXPECT_GT(report.loaded[static_cast<size_t>(RuleKind::kMeta)], 500u);
  EXPECT_GT(report.loaded[static_cast<size_t>(RuleKind::kUri)], 50u);
  EXPECT_GT(report.loaded[static_cast<size_t>(RuleKind::kRawbody)], 20u);
  EXPECT_GT(report.unsupported_counts.at("header eval"), 50u);
  EXPECT_GE(set->Find("GTUBE"), 0);
}

}  // namespace
}  // namespace moat::rules
