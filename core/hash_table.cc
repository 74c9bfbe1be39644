// hash_table.cc - flat open-addressing hash table for hash:/btree:/texthash:/inline:.
#include "core/hash_table.h"

#include <bit>
#include <cstring>
#include <functional>
#include <limits>

#include "core/table_file.h"

namespace moat::core {
namespace {

constexpr char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

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

// Collects entries in file order, then builds the slot array once the count is known. Offsets
// are 32-bit to keep entries small; a table whose text passes 4 GiB is refused.
class HashTable::Builder {
 public:
  explicit Builder(std::string spec) : table_(new HashTable(std::move(spec))) {}

  void Reserve(size_t entries, size_t arena_bytes) {
    table_->entries_.reserve(entries);
    lines_.reserve(entries);
    table_->arena_.reserve(arena_bytes);
  }

  Status Add(std::string_view key, std::string_view value, int line) {
    std::string& arena = table_->arena_;
    if (arena.size() + key.size() + value.size() > std::numeric_limits<uint32_t>::max()) {
      return Fail(ErrorCode::kInvalid, "table too large to index (over 4 GiB of keys and values)");
    }
    Entry e;
    e.key_offset = static_cast<uint32_t>(arena.size());
    e.key_length = static_cast<uint32_t>(key.size());
    for (char c : key) arena.push_back(ToLower(c));
    e.value_offset = static_cast<uint32_t>(arena.size());
    e.value_length = static_cast<uint32_t>(value.size());
    arena.append(value);
    table_->entries_.push_back(e);
    lines_.push_back(line);
    return {};
  }

  // Indexes the entries; the first of equal keys stays, later ones are reported (line, key).
  std::shared_ptr<const HashTable> Finish(std::vector<std::pair<int, std::string>>* duplicates) {
    HashTable& t = *table_;
    size_t capacity = std::bit_ceil(std::max<size_t>(16, t.entries_.size() * 2));
    t.slots_.assign(capacity, Slot{0, 0});
    t.mask_ = capacity - 1;
    std::vector<Entry> kept;
    kept.reserve(t.entries_.size());
    for (size_t i = 0; i < t.entries_.size(); ++i) {
      const Entry& e = t.entries_[i];
      std::string_view key(t.arena_.data() + e.key_offset, e.key_length);
      uint64_t h = HashKey(key);
      uint32_t tag = static_cast<uint32_t>(h >> 32);
      size_t index = h & t.mask_;
      bool duplicate = false;
      while (t.slots_[index].entry != 0) {
        const Slot& slot = t.slots_[index];
        if (slot.tag == tag) {
          const Entry& other = kept[slot.entry - 1];
          if (other.key_length == e.key_length &&
              std::memcmp(t.arena_.data() + other.key_offset, key.data(), key.size()) == 0) {
            duplicate = true;
            break;
          }
        }
        index = (index + 1) & t.mask_;
      }
      if (duplicate) {
        if (duplicates != nullptr) duplicates->emplace_back(lines_[i], std::string(key));
        continue;
      }
      kept.push_back(e);
      t.slots_[index] = Slot{tag, static_cast<uint32_t>(kept.size())};
    }
    t.entries_ = std::move(kept);
    return std::move(table_);
  }

 private:
  std::shared_ptr<HashTable> table_;
  std::vector<int> lines_;
};

Result<std::shared_ptr<const HashTable>> HashTable::Compile(std::string spec,
                                                            std::string_view path,
                                                            std::string_view text,
                                                            std::vector<std::string>& warnings) {
  Builder builder(std::move(spec));
  size_t newlines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  builder.Reserve(newlines + 1, text.size());
  Status status = ForEachLogicalLine(text, path, [&](std::string_view line, int number) -> Status {
    size_t key_end = 0;
    while (key_end < line.size() && !IsBlank(line[key_end])) ++key_end;
    std::string_view key = line.substr(0, key_end);
    size_t value_begin = key_end;
    while (value_begin < line.size() && IsBlank(line[value_begin])) ++value_begin;
    std::string_view value = line.substr(value_begin);
    if (value.empty()) {
      return Fail(TableSyntaxError(path, number, fmt::format("expected format: key whitespace "
                                                             "value, found only the key \"{}\"",
                                                             key)));
    }
    if (key.back() == ':') {
      warnings.push_back(fmt::format("{}:{}: record is in \"key: value\" format; is this an alias "
                                     "file?",
                                     path, number));
    }
    Status added = builder.Add(key, value, number);
    if (!added) return Fail(TableSyntaxError(path, number, added.error().message()));
    return {};
  });
  if (!status) return std::unexpected(status.error());
  std::vector<std::pair<int, std::string>> duplicates;
  auto table = builder.Finish(&duplicates);
  for (const auto& [line, key] : duplicates) {
    warnings.push_back(fmt::format("{}:{}: duplicate entry: \"{}\" (the first one is used)", path,
                                   line, key));
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

const HashTable::Entry* HashTable::Find(std::string_view folded_key) const {
  uint64_t h = HashKey(folded_key);
  uint32_t tag = static_cast<uint32_t>(h >> 32);
  for (size_t index = h & mask_;; index = (index + 1) & mask_) {
    const Slot& slot = slots_[index];
    if (slot.entry == 0) return nullptr;
    if (slot.tag != tag) continue;
    const Entry& e = entries_[slot.entry - 1];
    if (e.key_length == folded_key.size() &&
        std::memcmp(arena_.data() + e.key_offset, folded_key.data(), folded_key.size()) == 0) {
      return &e;
    }
  }
}

Result<bool> HashTable::LookupInto(std::string_view key, std::string& value) const {
  char stack[256];
  std::string heap;
  const Entry* e = Find(FoldKey(key, stack, heap));
  if (e == nullptr) return false;
  value.assign(arena_.data() + e->value_offset, e->value_length);
  return true;
}

Result<std::optional<std::string>> HashTable::Lookup(std::string_view key) const {
  char stack[256];
  std::string heap;
  const Entry* e = Find(FoldKey(key, stack, heap));
  if (e == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(std::in_place, arena_.data() + e->value_offset,
                                    e->value_length);
}

}  // namespace moat::core
