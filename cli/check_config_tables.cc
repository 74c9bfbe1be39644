// check_config_tables.cc - the one place `moat check-config` opens lookup tables.
//
// With the lookup-table module (core/lookup_table.h) linked in, a table is opened exactly as the
// daemons open it, so its syntax errors (invalid regex, unterminated if, bad CIDR) surface here
// with their file:line.
#include <fmt/format.h>

#include "cli/config_checker.h"
#include "core/lookup_table.h"

namespace moat::cli {

core::Status CheckLookupTable(std::string_view spec, const std::string& base_directory) {
  core::TableOpenOptions options;
  options.base_directory = base_directory;
  auto table = core::OpenTable(spec, options);
  if (!table) return core::Fail(table.error());
  return {};
}

}  // namespace moat::cli
