// lookup_table.cc - "type:name" dispatch, table lists.
#include "core/lookup_table.h"

#include <algorithm>
#include <array>

#include "core/cidr_table.h"
#include "core/hash_table.h"
#include "core/inline_table.h"
#include "core/regexp_table.h"
#include "core/reloading_table.h"
#include "core/table_file.h"

namespace moat::core {
namespace {

// Postfix types that postmap compiles from the same `key value` text source.
constexpr std::array<std::string_view, 7> kIndexedTypes = {"hash", "btree", "texthash", "lmdb",
                                                           "cdb",  "dbm",   "sdbm"};

// Postfix types that need a server, a daemon or an OS service Moat does not provide.
constexpr std::array<std::string_view, 16> kUnsupportedTypes = {
    "mysql", "pgsql",   "ldap",    "sqlite",  "memcache", "tcp",     "socketmap", "unix",
    "nis",   "nisplus", "netinfo", "environ", "fail",     "pipemap", "unionmap",  "randmap"};

bool Contains(const auto& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string ResolvePath(std::string_view name, const std::string& base) {
  if (name.starts_with('/') || base.empty() || base == ".") return std::string(name);
  std::string path = base;
  if (!path.ends_with('/')) path += '/';
  path.append(name);
  return path;
}

std::string_view TrimBlanks(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string SupportedList() {
  std::string list;
  for (const auto& type : SupportedTableTypes()) {
    if (!list.empty()) list += ", ";
    list += type;
  }
  return list;
}

Result<std::shared_ptr<const LookupTable>> Open(std::string_view written, std::string_view spec,
                                                const TableOpenOptions& options, int depth) {
  size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Fail(ErrorCode::kInvalid,
                "\"{}\": a table is written type:name, for example hash:/etc/moat/transport",
                written);
  }
  std::string_view type = spec.substr(0, colon);
  std::string_view name = spec.substr(colon + 1);
  std::string spec_text(written);

  if (type == "static") return OpenStaticTable(std::move(spec_text), name);
  if (type == "inline") return OpenInlineTable(std::move(spec_text), name);
  if (name.empty()) return Fail(ErrorCode::kInvalid, "\"{}\": the table has no name", written);
  if (type == "proxy") {
    // Postfix's proxymap only shares open tables between processes; reading directly is the same.
    if (depth > 0) return Fail(ErrorCode::kInvalid, "\"{}\": proxy:proxy: is not a table", written);
    return Open(written, name, options, depth + 1);
  }

  std::string path = ResolvePath(name, options.base_directory);
  ReloadingTable::Compiler compiler;
  if (Contains(kIndexedTypes, type)) {
    compiler = [spec_text, path](std::string_view text, std::vector<std::string>& warnings)
        -> Result<std::shared_ptr<const LookupTable>> {
      auto table = HashTable::Compile(spec_text, path, text, warnings);
      if (!table) return std::unexpected(table.error());
      return std::shared_ptr<const LookupTable>(std::move(*table));
    };
  } else if (type == "pcre" || type == "regexp") {
    RegexpDialect dialect = type == "pcre" ? RegexpDialect::kPcre : RegexpDialect::kPosix;
    compiler = [spec_text, path, dialect](std::string_view text, std::vector<std::string>& warnings)
        -> Result<std::shared_ptr<const LookupTable>> {
      auto table = RegexpTable::Compile(spec_text, dialect, path, text, warnings);
      if (!table) return std::unexpected(table.error());
      return std::shared_ptr<const LookupTable>(std::move(*table));
    };
  } else if (type == "cidr") {
    compiler = [spec_text, path](std::string_view text, std::vector<std::string>& warnings)
        -> Result<std::shared_ptr<const LookupTable>> {
      auto table = CidrTable::Compile(spec_text, path, text, warnings);
      if (!table) return std::unexpected(table.error());
      return std::shared_ptr<const LookupTable>(std::move(*table));
    };
  } else if (Contains(kUnsupportedTypes, type)) {
    return Fail(ErrorCode::kInvalid,
                "\"{}\": table type \"{}\" is not supported by Moat (supported: {})", written, type,
                SupportedList());
  } else {
    return Fail(ErrorCode::kInvalid, "\"{}\": unknown table type \"{}\" (supported: {})", written,
                type, SupportedList());
  }
  auto table =
      ReloadingTable::Open(std::move(spec_text), std::move(path), std::move(compiler), options);
  if (!table) return std::unexpected(table.error());
  return std::shared_ptr<const LookupTable>(std::move(*table));
}

}  // namespace

const std::vector<std::string>& SupportedTableTypes() {
  static const std::vector<std::string> types = {"hash",   "btree",  "texthash", "lmdb",   "cdb",
                                                 "dbm",    "sdbm",   "pcre",     "regexp", "cidr",
                                                 "static", "inline", "proxy"};
  return types;
}

Result<std::vector<std::string>> SplitTableList(std::string_view specs) {
  auto tokens = SplitOutsideBraces(specs);
  if (!tokens) return Fail(OneLine(tokens.error()));
  return std::vector<std::string>(tokens->begin(), tokens->end());
}

Result<std::shared_ptr<const LookupTable>> OpenTable(std::string_view spec,
                                                     const TableOpenOptions& options) {
  spec = TrimBlanks(spec);
  auto table = Open(spec, spec, options, 0);
  if (!table) return Fail(OneLine(table.error()));
  return table;
}

Result<TableList> TableList::Open(std::string_view specs, const TableOpenOptions& options) {
  auto names = SplitOutsideBraces(specs);
  if (!names) return Fail(OneLine(names.error()));
  std::vector<std::shared_ptr<const LookupTable>> tables;
  tables.reserve(names->size());
  for (std::string_view name : *names) {
    auto table = OpenTable(name, options);
    if (!table) return std::unexpected(table.error());
    tables.push_back(std::move(*table));
  }
  return TableList(std::move(tables));
}

Result<bool> TableList::LookupInto(std::string_view key, std::string& value) const {
  for (const auto& table : tables_) {
    auto found = table->LookupInto(key, value);
    if (!found || *found) return found;
  }
  return false;
}

Result<std::optional<std::string>> TableList::Lookup(std::string_view key) const {
  for (const auto& table : tables_) {
    auto found = table->Lookup(key);
    if (!found || found->has_value()) return found;
  }
  return std::optional<std::string>();
}

}  // namespace moat::core
