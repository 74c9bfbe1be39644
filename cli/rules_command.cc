// rules_command.cc - `moat rules lint|test` (see rules_command.h).
#include "cli/rules_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rules/mime_adapter.h"
#include "rules/rule_evaluator.h"
#include "rules/rule_set.h"
#include "rules/rules_directories.h"
#include "rules/spam_headers.h"

namespace moat::cli {

namespace {

std::optional<std::string> Override(const GlobalOptions& global, std::string_view name) {
  std::optional<std::string> value;
  for (const std::string& o : global.overrides) {
    size_t eq = o.find('=');
    if (eq == std::string::npos) continue;
    std::string_view key = std::string_view(o).substr(0, eq);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key == name) {
      std::string_view v = std::string_view(o).substr(eq + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      value = std::string(v);
    }
  }
  return value;
}

// `name = value` from filterd.cf (Postfix style: a line starting with whitespace continues the
// previous one; # starts a comment line).
std::optional<std::string> FilterdSetting(const std::string& config_directory,
                                          std::string_view name) {
  std::ifstream in(config_directory + "/filterd.cf");
  if (!in) return std::nullopt;
  std::optional<std::string> value;
  std::string line;
  bool in_setting = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') continue;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (in_setting) *value += " " + line;
      continue;
    }
    in_setting = false;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    if (key == name) {
      value = line.substr(eq + 1);
      in_setting = true;
    }
  }
  return value;
}

std::optional<std::string> Setting(const GlobalOptions& global, std::string_view name) {
  if (auto v = Override(global, name)) return v;
  return FilterdSetting(global.config_directory, name);
}

double LevelSetting(const GlobalOptions& global, std::string_view name, double fallback) {
  auto v = Setting(global, name);
  if (!v) return fallback;
  try {
    return std::stod(*v);
  } catch (...) {
    throw CLI::ValidationError(std::string(name), "not a number: " + *v);
  }
}

rules::LoadOptions ConfiguredRules(const GlobalOptions& global,
                                   const std::vector<std::string>& extra) {
  rules::LoadOptions options;
  if (auto dirs = Setting(global, "rules_directories")) {
    options.directories = rules::ParseRulesDirectories(*dirs, global.config_directory);
  } else {
    options.directories = rules::DefaultRulesDirectories(global.config_directory);
  }
  options.files = extra;
  return options;
}

void PrintLoadSummary(const rules::LoadReport& report, bool verbose) {
  std::string kinds;
  size_t disabled = 0;
  for (size_t k = 0; k < rules::kRuleKindCount; ++k) {
    if (!kinds.empty()) kinds += ", ";
    kinds += fmt::format("{} {}", rules::RuleKindName(static_cast<rules::RuleKind>(k)),
                         report.loaded[k]);
    disabled += report.disabled[k];
  }
  std::cout << fmt::format(
      "{} files read; rules loaded: {} ({} scored 0 and disabled; {} eval rules run)\n",
      report.files.size(), kinds, disabled, report.eval_rules_run);
  size_t unsupported = 0;
  for (const auto& [kind, n] : report.unsupported_counts) unsupported += n;
  if (unsupported > 0) {
    std::cout << fmt::format("{} lines not run by Moat (unsupported), by kind:\n", unsupported);
    std::vector<std::pair<size_t, std::string>> sorted;
    for (const auto& [kind, n] : report.unsupported_counts) sorted.emplace_back(n, kind);
    std::sort(sorted.rbegin(), sorted.rend());
    for (const auto& [n, kind] : sorted) std::cout << fmt::format("  {:<40} {:>6}\n", kind, n);
  }
  if (verbose) {
    for (const rules::UnsupportedLine& line : report.unsupported) {
      std::cout << fmt::format("{}: unsupported {}: {}\n", line.where.ToString(), line.kind,
                               line.text);
    }
  }
}

int Lint(const GlobalOptions& global, const std::vector<std::string>& files, bool verbose) {
  rules::LoadOptions options;
  if (files.empty()) {
    options = ConfiguredRules(global, {});
  } else {
    options.files = files;
  }
  auto set = rules::RuleSet::Load(options);
  const rules::LoadReport& report = set->report();
  for (const rules::ConfigProblem& p : report.errors) {
    std::cerr << p.where.ToString() << ": " << p.message << "\n";
  }
  PrintLoadSummary(report, verbose);
  std::cout << fmt::format("{} error(s)\n", report.errors.size());
  return report.errors.empty() ? 0 : 1;
}

int Test(const GlobalOptions& global, const MessageAdapter& adapter, const std::string& file,
         const std::vector<std::string>& extra, bool json) {
  std::string raw;
  if (file == "-") {
    raw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "moat rules test: cannot read " << file << "\n";
      return 1;
    }
    raw.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto set = rules::RuleSet::Load(ConfiguredRules(global, extra));
  for (const rules::ConfigProblem& p : set->report().errors) {
    std::cerr << "warning: " << p.where.ToString() << ": " << p.message << "\n";
  }
  rules::ParsedMessage parsed;
  if (auto status = adapter(raw, parsed); !status) {
    std::cerr << "moat rules test: " << status.error().message() << "\n";
    return 1;
  }
  parsed.raw = raw;
  rules::ViewOptions view_options;
  view_options.uri_context = set->uri_context();
  rules::Evaluation evaluation =
      rules::Evaluate(*set, rules::BuildMessageView(parsed, view_options));

  rules::SpamLevels levels;
  levels.tag_level = LevelSetting(global, "spam_tag_level", *levels.tag_level);
  levels.tag2_level = LevelSetting(global, "spam_tag2_level", levels.tag2_level);
  levels.kill_level = LevelSetting(global, "spam_kill_level", levels.kill_level);
  rules::SpamDecision decision = rules::DecideSpam(evaluation, levels);

  if (json) {
    nlohmann::json out;
    out["score"] = decision.score;
    out["verdict"] = std::string(rules::SpamClassName(decision.content_class));
    out["spam"] = decision.spam;
    out["levels"] = {
        {"tag", *levels.tag_level}, {"tag2", levels.tag2_level}, {"kill", levels.kill_level}};
    out["hits"] = nlohmann::json::array();
    for (const rules::RuleHit& h : evaluation.hits) {
      out["hits"].push_back({{"name", h.name},
                             {"kind", std::string(rules::RuleKindName(h.kind))},
                             {"score", h.score},
                             {"count", h.count},
                             {"area", h.area},
                             {"match", h.excerpt},
                             {"description", h.description}});
    }
    out["subrules"] = evaluation.subrule_hits;
    out["limit_exceeded"] = evaluation.limit_exceeded;
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : decision.headers) headers[name] = value;
    out["headers"] = headers;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("Content analysis details:   ({} points, {} required)\n\n",
                           rules::FormatLevel(decision.score),
                           rules::FormatLevel(levels.tag2_level));
  std::cout << " pts rule name                  description\n";
  std::cout
      << "---- -------------------------- --------------------------------------------------\n";
  for (const rules::RuleHit& h : evaluation.hits) {
    std::cout << fmt::format("{:>4.1f} {:<26} {}\n", h.score, h.name,
                             h.description.empty() ? "(no description)" : h.description);
    std::cout << fmt::format("{:>32}[{}: {}]\n", "", h.area, h.excerpt);
  }
  for (const std::string& name : evaluation.limit_exceeded) {
    std::cout << fmt::format("     {:<26} match limit exceeded: treated as not hit\n", name);
  }
  std::cout << fmt::format(
      "\nTotal: {} points. Verdict: {} (tag {}, tag2 {}, kill {})\n",
      rules::FormatLevel(decision.score), rules::SpamClassName(decision.content_class),
      rules::FormatLevel(*levels.tag_level), rules::FormatLevel(levels.tag2_level),
      rules::FormatLevel(levels.kill_level));
  return 0;
}

}  // namespace

core::Status ParseMessageForRules(std::string_view raw, rules::ParsedMessage& out) {
  return rules::ParseForRules(raw, out);
}

void RegisterRulesCommand(CLI::App& app, const GlobalOptions& global, MessageAdapter adapter) {
  CLI::App* rules = app.add_subcommand("rules", "Check and try SpamAssassin-syntax rule files");
  rules->require_subcommand(1);

  struct LintArgs {
    std::vector<std::string> files;
    bool verbose = false;
  };
  auto lint_args = std::make_shared<LintArgs>();
  CLI::App* lint =
      rules->add_subcommand("lint", "Report syntax errors (file:line) and unsupported directives");
  lint->add_option("files", lint_args->files,
                   "Rule files (default: every *.cf of rules_directories)");
  lint->add_flag("-v,--verbose", lint_args->verbose, "List every unsupported line with file:line");
  lint->callback([&global, lint_args] {
    throw CommandExit{Lint(global, lint_args->files, lint_args->verbose)};
  });

  struct TestArgs {
    std::string file;
    std::vector<std::string> extra;
    bool json = false;
  };
  auto test_args = std::make_shared<TestArgs>();
  CLI::App* test =
      rules->add_subcommand("test", "Check one message against the rules, like spamassassin -t");
  test->add_option("file", test_args->file, "Message file, or - for standard input")->required();
  test->add_option("--rules", test_args->extra, "Extra rule file, read after rules_directories");
  test->add_flag("--json", test_args->json, "Print one JSON object");
  test->callback([&global, test_args, adapter] {
    throw CommandExit{Test(global, adapter, test_args->file, test_args->extra, test_args->json)};
  });
}

void RegisterRulesCommand(CLI::App& app, const GlobalOptions& global) {
  RegisterRulesCommand(app, global, ParseMessageForRules);
}

}  // namespace moat::cli
