// hash_table.h - the compiled contents of hash:, btree:, texthash: (and inline:) tables.
//
// Postfix compiles hash/btree tables with postmap into a .db file; Moat reads the text source
// instead (`key whitespace value` logical lines, see core/table_file.h) into one flat, read-only
// open-addressing hash table: all keys and values in one arena, a slot array of (hash tag, record)
// pairs, so a lookup is one hash, a probe or two and one memcmp, with no allocation for keys up to
// 256 bytes. Keys are folded to lower case (ASCII) at load and at lookup; values are kept as
// written. The first of duplicate keys wins and the others are warnings ("duplicate entry").
//
// btree: differs from hash: only in on-disk order, which no lookup can see, so both are this.
//
// Ownership and thread safety: immutable after Compile(); share it freely between threads.
// Reloading is not done here but by core/reloading_table.h, which swaps whole HashTables.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/lookup_table.h"

namespace moat::core {

class HashTable final : public LookupTable {
 public:
  // Compiles the text of a table file. `path` is used in messages ("path:line: ..."); warnings
  // are appended to `warnings`. Errors: a line without a value, a file too large to index.
  static Result<std::shared_ptr<const HashTable>> Compile(std::string spec, std::string_view path,
                                                          std::string_view text,
                                                          std::vector<std::string>& warnings);

  // An in-memory table from (key, value) pairs, keys folded; the first duplicate wins.
  static Result<std::shared_ptr<const HashTable>> FromPairs(
      std::string spec, const std::vector<std::pair<std::string, std::string>>& pairs);

  Result<std::optional<std::string>> Lookup(std::string_view key) const override;
  Result<bool> LookupInto(std::string_view key, std::string& value) const override;
  const std::string& spec() const override { return spec_; }

  size_t size() const { return size_; }

  // Slot array entry: the high half of the key's hash and the offset + 1 of the record in the
  // arena (0 = empty). A record is [u32 key length][u32 value length][key][value], so a hit
  // touches one slot and one record, usually two cache lines.
  struct Slot {
    uint32_t tag;
    uint32_t record;
  };

 private:
  class Builder;
  explicit HashTable(std::string spec) : spec_(std::move(spec)) {}
  // The record offset for `folded_key`, if present.
  std::optional<uint32_t> Find(std::string_view folded_key) const;
  std::string_view KeyAt(uint32_t record) const;
  std::string_view ValueAt(uint32_t record) const;

  std::string spec_;
  std::string arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Lower-cases ASCII letters of `key` into `stack` when it fits, else into `heap`; returns the
// folded view. Shared by every table that folds keys.
std::string_view FoldKey(std::string_view key, char (&stack)[256], std::string& heap);

}  // namespace moat::core
