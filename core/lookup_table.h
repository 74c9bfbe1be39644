// lookup_table.h - Postfix lookup tables (postmap/postconf "type:name") behind one small interface.
//
// A table answers a key with a value, "not found", or an error — three outcomes that must never be
// confused: an error (unreadable file, regex match limit, ...) defers mail; it never falls back to
// "not found". Types (see the Postfix manuals of the same names):
//
//   hash:/path, btree:/path, texthash:/path   the text source file `key value` lines (no postmap
//                                              step); reloaded when the file changes on disk
//   pcre:/path, regexp:/path                  /re/flags result, !/re/, if /re/ ... endif, $1..$9
//   cidr:/path                                address/prefix result, IPv4 and IPv6, ! negation
//   static:value                              always `value`
//   inline:{ key=value, key2=value2 }         in-line table
//
// Keys are matched case-insensitively (keys are folded to lower case, as Postfix does for
// hash/btree/texthash/inline; pcre/regexp honour their own `i` flag, default on).
//
// Search order (Postfix address and domain lookups) is not part of a table: see
// core/address_lookup.h, which queries a TableList with the partial keys Postfix would use,
// and queries pattern tables (IsPattern()) with the full key only.
//
// Thread safety: Lookup() is const and safe to call from many threads at once; a table that
// reloads its file swaps its contents atomically. Tables are shared as
// std::shared_ptr<const LookupTable> inside a configuration snapshot.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::core {

class LookupTable {
 public:
  virtual ~LookupTable() = default;

  // The value for `key`, std::nullopt when there is none, or an error.
  virtual Result<std::optional<std::string>> Lookup(std::string_view key) const = 0;

  // "type:name" as written in the configuration.
  virtual const std::string& spec() const = 0;

  // True for pcre:/regexp: (and other tables matched by pattern): address and domain searches
  // query them with the whole key only, never with partial keys.
  virtual bool IsPattern() const { return false; }

  // True for cidr: — queried with IP addresses.
  virtual bool IsCidr() const { return false; }
};

struct TableOpenOptions {
  // Relative paths in "type:path" are resolved against this directory (the -c config directory).
  std::string base_directory = ".";
  // Largest table source file accepted (bytes).
  size_t max_file_bytes = 512u << 20;
};

// Opens one "type:name" table. Errors name the file and line ("transport:7: ...") and are kInvalid
// for syntax (bad regex, bad CIDR, unterminated if), kIo/kNotFound for unreadable files, and
// kInvalid for an unknown type.
Result<std::shared_ptr<const LookupTable>> OpenTable(std::string_view spec,
                                                     const TableOpenOptions& options = {});

// A comma/whitespace-separated list of tables searched in order ("hash:/a, pcre:/b"): the first
// table that has the key wins. An error from an earlier table stops the search (it is returned).
class TableList {
 public:
  TableList() = default;
  explicit TableList(std::vector<std::shared_ptr<const LookupTable>> tables)
      : tables_(std::move(tables)) {}

  static Result<TableList> Open(std::string_view specs, const TableOpenOptions& options = {});

  Result<std::optional<std::string>> Lookup(std::string_view key) const;
  const std::vector<std::shared_ptr<const LookupTable>>& tables() const { return tables_; }
  bool empty() const { return tables_.empty(); }

 private:
  std::vector<std::shared_ptr<const LookupTable>> tables_;
};

}  // namespace moat::core
