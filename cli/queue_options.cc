// queue_options.cc - main.cf's queue_directory for `moat queue`.
#include "cli/queue_options.h"

#include <sys/stat.h>

#include "cli/config_checker.h"
#include "core/config.h"
#include "core/config_error.h"
#include "core/config_file.h"
#include "core/master_cf.h"
#include "mta/mta_parameters.h"

namespace moat::cli {

core::Result<std::string> LoadQueueDirectory(const GlobalOptions& global) {
  const std::string& directory = global.config_directory;
  std::string prefix = directory.empty() || directory.ends_with('/') ? directory : directory + "/";
  std::string main_cf = prefix + "main.cf";
  struct stat st {};
  bool have_main_cf = ::stat(main_cf.c_str(), &st) == 0 && S_ISREG(st.st_mode);

  core::ConfigDiagnostics diagnostics;
  std::vector<core::ConfigEntry> overrides;
  for (const auto& [ordinal, text] : SplitOverridesByFile(global.overrides).main) {
    auto entry = core::ParseOverride(text, ordinal);
    if (!entry) return core::Fail(core::ErrorCode::kInvalid, "-o {}: {}", text,
                                  entry.error().message());
    overrides.push_back(std::move(*entry));
  }
  bool overridden = false;
  for (const core::ConfigEntry& entry : overrides) overridden |= entry.name == "queue_directory";
  if (!have_main_cf && !overridden) {
    return core::Fail(core::ErrorCode::kNotFound,
                      "no main.cf in '{}': pass -c DIR or -o queue_directory=DIR", directory);
  }
  std::vector<core::ConfigEntry> entries;
  core::ConfigBuildOptions options;
  if (have_main_cf) {
    core::ConfigFileContents contents = core::ReadConfigFile(main_cf);
    entries = std::move(contents.entries);
    core::MasterCf master = core::ReadMasterCf(prefix + "master.cf");
    options = mta::MasterCfBuildOptions(master);
  }
  try {
    auto config = core::Config::Build(mta::MtaParameterRegistry(), directory, entries, overrides,
                                      options, diagnostics);
    std::string queue_directory = config->GetPath("queue_directory");
    if (queue_directory.empty()) {
      return core::Fail(core::ErrorCode::kInvalid, "queue_directory is empty");
    }
    return queue_directory;
  } catch (const core::ConfigError& e) {
    return core::Fail(core::ErrorCode::kInvalid, "{}", e.what());
  }
}

}  // namespace moat::cli
