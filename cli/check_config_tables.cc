// check_config_tables.cc - the one place `moat check-config` opens lookup tables.
//
// With the lookup-table module (core/lookup_table.h) linked in, a table is opened exactly as the
// daemons open it, so its syntax errors (invalid regex, unterminated if, bad CIDR) surface here
// with their file:line. The build defines MOAT_HAVE_LOOKUP_TABLES once core::OpenTable exists;
// until then only what can be known without parsing is checked: the table type and that a
// table file can be read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "cli/config_checker.h"
#include "core/lookup_table.h"

namespace moat::cli {

#ifdef MOAT_HAVE_LOOKUP_TABLES

core::Status CheckLookupTable(std::string_view spec, const std::string& base_directory) {
  core::TableOpenOptions options;
  options.base_directory = base_directory;
  auto table = core::OpenTable(spec, options);
  if (!table) return core::Fail(table.error());
  return {};
}

#else

core::Status CheckLookupTable(std::string_view spec, const std::string& base_directory) {
  static constexpr std::array<std::string_view, 8> kTypes = {
      "hash", "btree", "texthash", "pcre", "regexp", "cidr", "static", "inline"};
  size_t colon = spec.find(':');
  std::string type(spec.substr(0, colon));
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  if (colon == std::string_view::npos ||
      std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
    return core::Fail(core::ErrorCode::kInvalid,
                      "unsupported lookup table type \"{}\" (moat supports hash, btree, texthash, "
                      "pcre, regexp, cidr, static and inline)",
                      type);
  }
  std::string_view name = spec.substr(colon + 1);
  if (type == "static") return {};
  if (type == "inline") {
    if (!name.starts_with('{') || !name.ends_with('}')) {
      return core::Fail(core::ErrorCode::kInvalid, "inline table must be inline:{{ key=value, ... }}");
    }
    return {};
  }
  std::filesystem::path path(name);
  if (path.is_relative()) path = std::filesystem::path(base_directory) / path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::Fail(core::ErrnoError(core::ErrorCode::kIo, "open " + path.string(), errno));
  struct stat st {};
  bool directory = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  ::close(fd);
  if (directory) return core::Fail(core::ErrorCode::kIo, "open {}: is a directory", path.string());
  return {};
}

#endif

}  // namespace moat::cli
