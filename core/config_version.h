// config_version.h - the release version every binary prints for --version.
//
// One constant so that moat-mta, moat-filterd and moat agree; keep it in step with the
// project(VERSION) of the top-level CMakeLists.txt.
#pragma once

#include <string_view>

namespace moat::core {

inline constexpr std::string_view kMoatVersion = "0.1.0";

}  // namespace moat::core
