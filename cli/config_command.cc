// config_command.cc - `moat config show`: parameter values, like postconf.
//
//   moat [-c DIR] [-o name=value]... config show [-n | -d] [-x] [--doc] [--filterd] [NAME...]
//
//   (none)     every parameter moat implements, plus the ones set in the file, with the
//              effective (unexpanded) value                                  (postconf)
//   -n         only the parameters set in the file or with -o                (postconf -n)
//   -d         the default values                                            (postconf -d)
//   -x         expand $name in values                                        (postconf -x)
//   --doc      a comment line with each parameter's one-line doc and type, so that
//              `moat config show -d --doc` is the configuration reference
//   --filterd  filterd.cf and moat-filterd's parameters instead of main.cf
//
// Output is "name = value" lines (a valid main.cf), whitespace runs shown as one space as postconf
// shows them. Problems with the configuration go to stderr
// as warnings; asking for an unknown NAME is an error (exit 1).
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/config_checker.h"
#include "core/config.h"
#include "core/config_file.h"
#include "core/config_version.h"
#include "core/master_cf.h"
#include "filterd/filterd_parameters.h"
#include "mta/mta_parameters.h"
#include "mta/postfix_parameters.inc"

namespace moat::cli {
namespace {

struct ShowOptions {
  bool non_default = false;
  bool defaults = false;
  bool expand = false;
  bool doc = false;
  bool filterd = false;
  std::vector<std::string> names;
};

std::string JoinPath(const std::string& directory, std::string_view name) {
  if (directory.empty()) return std::string(name);
  return directory.back() == '/' ? directory + std::string(name)
                                 : fmt::format("{}/{}", directory, name);
}

// Runs of whitespace print as one space, as postconf prints them (continuation lines included).
std::string CollapseWhitespace(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

int Show(const GlobalOptions& global, const ShowOptions& show) {
  const core::ParameterRegistry& registry =
      show.filterd ? filterd::FilterdParameterRegistry() : mta::MtaParameterRegistry();
  core::ConfigBuildOptions build_options;
  core::ConfigDiagnostics diagnostics;
  std::string file = show.filterd ? "filterd.cf" : "main.cf";
  if (!show.filterd) {
    std::string master_path = JoinPath(global.config_directory, "master.cf");
    core::MasterCf master = core::ReadMasterCf(master_path);
    build_options = mta::MasterCfBuildOptions(master);
  }
  core::ConfigFileContents contents = core::ReadConfigFile(JoinPath(global.config_directory, file));
  diagnostics.insert(diagnostics.end(), contents.diagnostics.begin(), contents.diagnostics.end());
  SplitOverrides split = SplitOverridesByFile(global.overrides);
  std::vector<core::ConfigEntry> overrides;
  for (const auto& [ordinal, text] : show.filterd ? split.filterd : split.main) {
    auto entry = core::ParseOverride(text, ordinal);
    if (!entry) {
      diagnostics.push_back({core::Severity::kError, {core::SourceLocation::kCommandLine, ordinal},
                             entry.error().message()});
      continue;
    }
    overrides.push_back(std::move(*entry));
  }
  auto config = core::Config::Build(registry, global.config_directory, contents.entries, overrides,
                                    build_options, diagnostics);
  core::ConfigDiagnostics ignored;
  auto defaults =
      core::Config::Build(registry, global.config_directory, {}, {}, build_options, ignored);
  for (const core::ConfigDiagnostic& d : diagnostics) fmt::print(stderr, "{}\n", d.ToString());

  std::vector<std::string> names = show.names;
  if (names.empty()) {
    std::set<std::string> all;
    for (const core::Setting* s : config->ExplicitSettings()) all.insert(s->name);
    if (!show.non_default) {
      for (const core::ParameterDefinition* d : config->registry().Definitions()) {
        if (d->supported()) all.insert(d->name);
      }
    }
    names.assign(all.begin(), all.end());
    if (show.doc) {
      fmt::print("# {} parameters ({}), moat {}; Postfix {} syntax. Types: see `moat config "
                 "show --doc`.\n\n",
                 registry.program(), file, core::kMoatVersion, mta::kPostfixVersion);
    }
  }

  int status = 0;
  for (const std::string& name : names) {
    const core::ParameterDefinition* d = config->registry().Find(name);
    if (d == nullptr && !config->IsSet(name)) {
      auto suggestion = config->registry().Suggest(name);
      fmt::print(stderr, "moat: error: unknown parameter \"{}\"{}\n", name,
                 suggestion ? fmt::format(" (did you mean \"{}\"?)", *suggestion) : "");
      status = 1;
      continue;
    }
    std::string value;
    if (show.defaults) {
      if (d == nullptr) {
        fmt::print(stderr, "moat: warning: {} is user-defined and has no default\n", name);
        continue;
      }
      value = show.expand ? defaults->Find(name).value_or("") : defaults->RawValue(name).value_or("");
    } else if (show.expand) {
      try {
        value = config->Find(name).value_or("");
      } catch (const core::ConfigError& e) {
        fmt::print(stderr, "{}: error: {}\n", e.location().ToString(), e.message());
        value = config->RawValue(name).value_or("");
        status = 1;
      }
    } else {
      value = config->RawValue(name).value_or("");
    }
    if (show.doc) {
      if (d == nullptr) {
        fmt::print("# user-defined parameter\n");
      } else if (d->supported()) {
        fmt::print("# {} [{}]\n", d->doc, d->TypeDescription());
      } else {
        fmt::print("# {}\n", d->doc);
      }
    }
    value = CollapseWhitespace(value);
    fmt::print("{} ={}{}\n", name, value.empty() ? "" : " ", value);
    if (show.doc && show.names.empty()) fmt::print("\n");
  }
  return status;
}

}  // namespace

void RegisterConfigCommand(CLI::App& app, const GlobalOptions& global) {
  CLI::App* config = app.add_subcommand("config", "Show the configuration");
  config->require_subcommand(1);
  CLI::App* show_command = config->add_subcommand(
      "show", "Print parameters as name = value (like postconf, postconf -n, postconf -d)");
  auto show = std::make_shared<ShowOptions>();
  CLI::Option* n = show_command->add_flag("-n", show->non_default,
                                          "Only parameters set in the file or with -o");
  CLI::Option* d = show_command->add_flag("-d", show->defaults, "Default values");
  n->excludes(d);
  show_command->add_flag("-x", show->expand, "Expand $name in values");
  show_command->add_flag("--doc", show->doc,
                         "Precede each parameter with its one-line doc and type");
  show_command->add_flag("--filterd", show->filterd,
                         "filterd.cf (moat-filterd) instead of main.cf (moat-mta)");
  show_command->add_option("NAME", show->names, "Parameters to show (default: all)");
  show_command->callback([&global, show] { throw CommandExit{Show(global, *show)}; });
}

}  // namespace moat::cli
