// rules_directories.h - where rule files come from (the `rules_directories` parameter).
//
// filterd.cf's `rules_directories` lists folders whose *.cf files load in order (later
// definitions win), e.g. "rules_directories = /usr/share/spamassassin, local-rules". Entries
// are separated by commas and/or whitespace; relative ones are resolved against the config
// directory. The default is Moat's shipped rules (this source tree's rules/default, or the
// installed copy), then the config directory's rules/ folder for local rules when it exists.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

// The folder holding Moat's shipped .cf files.
std::string DefaultRulesDirectory();

std::vector<std::string> ParseRulesDirectories(std::string_view value,
                                               const std::string& config_directory);

std::vector<std::string> DefaultRulesDirectories(const std::string& config_directory);

}  // namespace moat::rules
