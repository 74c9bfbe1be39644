// hash_table.cc - flat open-addressing hash table for hash:/btree:/texthash:/inline:.
#include "core/hash_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>

#include "core/table_file.h"

namespace moat::core {
namespace {

constexpr char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

uint64_t HashKey(std::string_view folded) { return std::hash<std::string_view>{}(folded); }

}  // namespace

std::string_view FoldKey(std::string_view key, char (&stack)[256], std::string& heap) {
  char* out;
  if (key.size() <= sizeof stack) {
    out = stack;
  } else {
    heap.resize(key.size());
    out = heap.data();
  }
  for (size_t i = 0; i < key.size(); ++i) out[i] = ToLower(key[i]);
  return std::string_view(out, key.size());
}

// Appends records in file order, then builds the slot array once the count is known. Offsets
// are 32-bit to keep slots small; a table whose text passes 4 GiB is refused.
class HashTable::Builder {
 public:
  explicit Builder(std::string spec) : table_(new HashTable(std::move(spec))) {}

  void Reserve(size_t entries, size_t arena_bytes) {
    records_.reserve(entries);
    lines_.reserve(entries);
    table_->arena_.reserve(arena_bytes + entries * 2 * sizeof(uint32_t));
  }

  Status Add(std::string_view key, std::string_view value, int line) {
    std::string& arena = table_->arena_;
    if (arena.size() + 2 * sizeof(uint32_t) + key.size() + value.size() >=
        std::numeric_limits<uint32_t>::max()) {
      return Fail(ErrorCode::kInvalid, "table too large to index (over 4 GiB of keys and values)");
    }
    records_.push_back(static_cast<uint32_t>(arena.size()));
    lines_.push_back(line);
    const uint32_t lengths[2] = {static_cast<uint32_t>(key.size()),
                                 static_cast<uint32_t>(value.size())};
    arena.append(reinterpret_cast<const char*>(lengths), sizeof lengths);
    for (char c : key) arena.push_back(ToLower(c));
    arena.append(value);
    return {};
  }

  // Indexes the records; the first of equal keys stays, later ones are reported (line, key).
  std::shared_ptr<const HashTable> Finish(std::vector<std::pair<int, std::string>>* duplicates) {
    HashTable& t = *table_;
    size_t capacity = std::bit_ceil(std::max<size_t>(16, records_.size() * 2));
    t.slots_.assign(capacity, Slot{0, 0});
    t.mask_ = capacity - 1;
    for (size_t i = 0; i < records_.size(); ++i) {
      std::string_view key = t.KeyAt(records_[i]);
      uint64_t h = HashKey(key);
      uint32_t tag = static_cast<uint32_t>(h >> 32);
      size_t index = h & t.mask_;
      bool duplicate = false;
      while (t.slots_[index].record != 0) {
        const Slot& slot = t.slots_[index];
        if (slot.tag == tag && t.KeyAt(slot.record - 1) == key) {
          duplicate = true;
          break;
        }
        index = (index + 1) & t.mask_;
      }
      if (duplicate) {
        if (duplicates != nullptr) duplicates->emplace_back(lines_[i], std::string(key));
        continue;
      }
      t.slots_[index] = Slot{tag, records_[i] + 1};
      ++t.size_;
    }
    return std::move(table_);
  }

 private:
  std::shared_ptr<HashTable> table_;
  std::vector<uint32_t> records_;
  std::vector<int> lines_;
};

Result<std::shared_ptr<const HashTable>> HashTable::Compile(std::string spec, std::string_view path,
                                                            std::string_view text,
                                                            std::vector<std::string>& warnings) {
  Builder builder(std::move(spec));
  size_t newlines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  builder.Reserve(newlines + 1, text.size());
  Status status = ForEachLogicalLine(text, path, [&](std::string_view line, int number) -> Status {
    size_t key_end = 0;
    while (key_end < line.size() && !IsTableSpace(line[key_end])) ++key_end;
    std::string_view key = line.substr(0, key_end);
    size_t value_begin = key_end;
    while (value_begin < line.size() && IsTableSpace(line[value_begin])) ++value_begin;
    std::string_view value = line.substr(value_begin);
    if (value.empty()) {
      return Fail(TableSyntaxError(path, number,
                                   fmt::format("expected format: key whitespace "
                                               "value, found only the key \"{}\"",
                                               key)));
    }
    if (key.back() == ':') {
      warnings.push_back(
          fmt::format("{}:{}: record is in \"key: value\" format; is this an alias "
                      "file?",
                      path, number));
    }
    Status added = builder.Add(key, value, number);
    if (!added) return Fail(TableSyntaxError(path, number, added.error().message()));
    return {};
  });
  if (!status) return Fail(OneLine(status.error()));
  std::vector<std::pair<int, std::string>> duplicates;
  auto table = builder.Finish(&duplicates);
  for (const auto& [line, key] : duplicates) {
    warnings.push_back(Printable(
        fmt::format("{}:{}: duplicate entry: \"{}\" (the first one is used)", path, line, key)));
  }
  return table;
}

Result<std::shared_ptr<const HashTable>> HashTable::FromPairs(
    std::string spec, const std::vector<std::pair<std::string, std::string>>& pairs) {
  Builder builder(std::move(spec));
  for (const auto& [key, value] : pairs) {
    Status added = builder.Add(key, value, 0);
    if (!added) return std::unexpected(added.error());
  }
  return builder.Finish(nullptr);
}

std::string_view HashTable::KeyAt(uint32_t record) const {
  uint32_t key_length;
  std::memcpy(&key_length, arena_.data() + record, sizeof key_length);
  return std::string_view(arena_.data() + record + 2 * sizeof(uint32_t), key_length);
}

std::string_view HashTable::ValueAt(uint32_t record) const {
  uint32_t lengths[2];
  std::memcpy(lengths, arena_.data() + record, sizeof lengths);
  return std::string_view(arena_.data() + record + sizeof lengths + lengths[0], lengths[1]);
}

std::optional<uint32_t> HashTable::Find(std::string_view folded_key) const {
  uint64_t h = HashKey(folded_key);
  uint32_t tag = static_cast<uint32_t>(h >> 32);
  for (size_t index = h & mask_;; index = (index + 1) & mask_) {
    const Slot& slot = slots_[index];
    if (slot.record == 0) return std::nullopt;
    if (slot.tag == tag && KeyAt(slot.record - 1) == folded_key) return slot.record - 1;
  }
}

Result<bool> HashTable::LookupInto(std::string_view key, std::string& value) const {
  char stack[256];
  std::string heap;
  auto record = Find(FoldKey(key, stack, heap));
  if (!record) return false;
  value.assign(ValueAt(*record));
  return true;
}

Result<std::optional<std::string>> HashTable::Lookup(std::string_view key) const {
  char stack[256];
  std::string heap;
  auto record = Find(FoldKey(key, stack, heap));
  if (!record) return std::optional<std::string>();
  return std::optional<std::string>(std::in_place, ValueAt(*record));
}

}  // namespace moat::core
