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
//
// File formats (as Postfix reads them, see readlline(3)): a logical line starts with
// non-whitespace text; a line that starts with whitespace continues it (joined without the
// newline); lines whose first non-whitespace character is `#` and blank lines are ignored, also
// between continuation lines. `#` elsewhere is text. hash/btree/texthash split a logical line at
// the first whitespace into key and value (the value may contain spaces); the first of duplicate
// keys wins, with a warning. lmdb:, cdb:, dbm: and sdbm: (other postmap-indexed types) and
// proxy:type:name (Moat has no proxymap; the table is read directly) are accepted as well.
//
// Reloading: every file-backed table (hash, btree, texthash, pcre, regexp, cidr) checks its file
// at most once per reload_check_interval, on a lookup, with one stat(); when the inode, size or
// mtime changed it reads and compiles the file again on that lookup's thread and swaps the new
// contents in. Other lookups keep using the old contents meanwhile. A file that fails to load
// (syntax error, unreadable, deleted) keeps the old contents, logs the error once per change of
// the file, and is retried when the file changes again.
//
// Errors: anything Postfix would skip with a warning ("skipping this rule", "ignoring this
// line") is an error here, because a silently dropped rule changes mail routing; things Postfix
// accepts with a warning (duplicate key, empty pcre result, text after endif) are warnings:
// collected in TableOpenOptions::warnings when given, logged otherwise.
#pragma once

#include <chrono>
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

  // Same three outcomes without allocating a new string per call: true with `value` set when
  // found, false (value unspecified) when not. Hot paths keep one `value` buffer and reuse it.
  virtual Result<bool> LookupInto(std::string_view key, std::string& value) const {
    auto result = Lookup(key);
    if (!result) return std::unexpected(result.error());
    if (!result->has_value()) return false;
    value = std::move(**result);
    return true;
  }

  // File-backed tables: checks the file now (ignoring the check interval) and reloads it when it
  // changed. Returns the reload error, if any (the previous contents stay in use). Others: no-op.
  virtual Status ReloadIfChanged() const { return {}; }

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
  // How often a lookup may stat() the file of a file-backed table to see whether it changed.
  std::chrono::milliseconds reload_check_interval{1000};
  // When set, warnings found while opening (duplicate keys, ...) are appended here as
  // "file:line: message" instead of being logged. Warnings of later reloads are always logged.
  std::vector<std::string>* warnings = nullptr;
};

// The table types OpenTable() accepts ("hash", "pcre", ...), for messages and `moat map`.
const std::vector<std::string>& SupportedTableTypes();

// Splits a table list ("hash:/a, pcre:/b inline:{ a=b, c=d }") on commas and whitespace, keeping
// {...} groups whole. Unbalanced braces are kInvalid.
Result<std::vector<std::string>> SplitTableList(std::string_view specs);

// Opens one "type:name" table. Errors are one line that starts with the file, and the line when
// there is one ("/etc/moat/virtual.pcre:3: invalid regular expression ...",
// "/etc/moat/transport: cannot open table: No such file or directory"); they are kInvalid for
// syntax (bad regex, bad CIDR, unterminated if), kNotFound for a missing file, kIo for other
// unreadable files, and kInvalid for an unknown or unsupported type.
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
  Result<bool> LookupInto(std::string_view key, std::string& value) const;
  const std::vector<std::shared_ptr<const LookupTable>>& tables() const { return tables_; }
  bool empty() const { return tables_.empty(); }

 private:
  std::vector<std::shared_ptr<const LookupTable>> tables_;
};

}  // namespace moat::core
