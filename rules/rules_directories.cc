// rules_directories.cc - the rules_directories parameter.
#include "rules/rules_directories.h"

#include <cctype>
#include <filesystem>

#ifndef MOAT_DEFAULT_RULES_DIR
#define MOAT_DEFAULT_RULES_DIR "/usr/share/moat/rules"
#endif

namespace moat::rules {

std::string DefaultRulesDirectory() { return MOAT_DEFAULT_RULES_DIR; }

std::vector<std::string> ParseRulesDirectories(std::string_view value,
                                               const std::string& config_directory) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() &&
           (value[i] == ',' || std::isspace(static_cast<unsigned char>(value[i]))))
      ++i;
    size_t begin = i;
    while (i < value.size() && value[i] != ',' &&
           !std::isspace(static_cast<unsigned char>(value[i])))
      ++i;
    if (i == begin) continue;
    std::filesystem::path path(std::string(value.substr(begin, i - begin)));
    if (path.is_relative() && !config_directory.empty())
      path = std::filesystem::path(config_directory) / path;
    out.push_back(path.string());
  }
  return out;
}

std::vector<std::string> DefaultRulesDirectories(const std::string& config_directory) {
  std::vector<std::string> out{DefaultRulesDirectory()};
  std::filesystem::path local = std::filesystem::path(config_directory) / "rules";
  std::error_code ec;
  if (!config_directory.empty() && std::filesystem::is_directory(local, ec))
    out.push_back(local.string());
  return out;
}

}  // namespace moat::rules
