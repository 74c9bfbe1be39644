// dkim_key_table.cc - KeyTable / SigningTable parsing and the signing-key lookup.
#include "filterd/dkim_key_table.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

using core::ErrorCode;
using core::Fail;

struct TableLine {
  size_t number;
  std::string key;
  std::string value;
};

// "key<whitespace>value" lines; '#' starts a comment.
core::Result<std::vector<TableLine>> ReadLines(std::string_view text, const std::string& name) {
  std::vector<TableLine> lines;
  std::istringstream in{std::string(text)};
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    size_t key_end = line.find_first_of(" \t", begin);
    if (key_end == std::string::npos) {
      return Fail(ErrorCode::kInvalid, "{}:{}: expected 'key value'", name, number);
    }
    size_t value_begin = line.find_first_not_of(" \t", key_end);
    size_t value_end = line.find_last_not_of(" \t\r");
    if (value_begin == std::string::npos) {
      return Fail(ErrorCode::kInvalid, "{}:{}: expected 'key value'", name, number);
    }
    lines.push_back({number, line.substr(begin, key_end - begin),
                     line.substr(value_begin, value_end - value_begin + 1)});
  }
  return lines;
}

core::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(core::ErrnoError(ErrorCode::kIo, "open " + path, errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string StripTablePrefix(const std::string& path) {
  for (const char* prefix : {"refile:", "file:"}) {
    if (path.starts_with(prefix)) return path.substr(std::string_view(prefix).size());
  }
  return path;
}

}  // namespace

bool DkimPatternMatches(std::string_view pattern, std::string_view text) {
  // Iterative glob with backtracking to the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && lower(pattern[p]) == lower(text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

core::Result<std::shared_ptr<const DkimKeyStore>> DkimKeyStore::Load(
    const std::string& key_table_path, const std::string& signing_table_path) {
  std::string key_path = StripTablePrefix(key_table_path);
  std::string signing_path = StripTablePrefix(signing_table_path);
  auto key_table = ReadFile(key_path);
  if (!key_table) return Fail(key_table.error());
  auto signing_table = ReadFile(signing_path);
  if (!signing_table) return Fail(signing_table.error());
  std::string base = std::filesystem::path(key_path).parent_path().string();
  return FromText(*key_table, *signing_table, base.empty() ? "." : base, key_path, signing_path);
}

core::Result<std::shared_ptr<const DkimKeyStore>> DkimKeyStore::FromText(
    std::string_view key_table, std::string_view signing_table, const std::string& base_directory,
    const std::string& key_table_name, const std::string& signing_table_name) {
  std::shared_ptr<DkimKeyStore> store(new DkimKeyStore());
  auto key_lines = ReadLines(key_table, key_table_name);
  if (!key_lines) return Fail(key_lines.error());
  for (const auto& line : *key_lines) {
    size_t first = line.value.find(':');
    size_t second = first == std::string::npos ? first : line.value.find(':', first + 1);
    if (second == std::string::npos) {
      return Fail(ErrorCode::kInvalid, "{}:{}: expected 'keyname domain:selector:keyfile'",
                  key_table_name, line.number);
    }
    std::string domain = AsciiLower(line.value.substr(0, first));
    std::string selector = line.value.substr(first + 1, second - first - 1);
    std::filesystem::path file = line.value.substr(second + 1);
    if (domain.empty() || selector.empty() || file.empty()) {
      return Fail(ErrorCode::kInvalid, "{}:{}: empty domain, selector or key file",
                  key_table_name, line.number);
    }
    for (const auto& key : store->keys_) {
      if (key.name == line.key) {
        return Fail(ErrorCode::kInvalid, "{}:{}: key name '{}' defined twice", key_table_name,
                    line.number, line.key);
      }
    }
    if (file.is_relative()) file = std::filesystem::path(base_directory) / file;
    auto key = DkimPrivateKey::LoadFile(file.string());
    if (!key) {
      return Fail(key.error().WithContext(fmt::format("{}:{}", key_table_name, line.number)));
    }
    store->keys_.push_back({line.key, domain, selector, std::move(*key)});
  }
  auto signing_lines = ReadLines(signing_table, signing_table_name);
  if (!signing_lines) return Fail(signing_lines.error());
  for (const auto& line : *signing_lines) {
    size_t index = store->keys_.size();
    for (size_t i = 0; i < store->keys_.size(); ++i) {
      if (store->keys_[i].name == line.value) index = i;
    }
    if (index == store->keys_.size()) {
      return Fail(ErrorCode::kInvalid, "{}:{}: key name '{}' is not in the KeyTable",
                  signing_table_name, line.number, line.value);
    }
    store->rules_.push_back(
        {AsciiLower(line.key), line.key.find('*') != std::string::npos, index});
  }
  return std::shared_ptr<const DkimKeyStore>(std::move(store));
}

std::vector<DkimSigningKey> DkimKeyStore::KeysFor(std::string_view address) const {
  std::string lowered = AsciiLower(address);
  size_t at = lowered.rfind('@');
  std::string domain = at == std::string::npos ? lowered : lowered.substr(at + 1);
  std::vector<size_t> chosen;
  auto add_literal = [&](const std::string& match) {
    for (const auto& rule : rules_) {
      if (!rule.pattern && rule.match == match) chosen.push_back(rule.key);
    }
  };
  if (at != std::string::npos) add_literal(lowered);
  if (chosen.empty()) add_literal(domain);
  if (chosen.empty()) {
    for (const auto& rule : rules_) {
      if (rule.pattern && DkimPatternMatches(rule.match, lowered)) chosen.push_back(rule.key);
    }
  }
  for (size_t dot = domain.find('.'); chosen.empty() && dot != std::string::npos;
       dot = domain.find('.', dot + 1)) {
    add_literal(domain.substr(dot + 1));
  }
  std::vector<DkimSigningKey> keys;
  for (size_t index : chosen) {
    bool duplicate = false;
    for (const auto& k : keys) {
      duplicate |= k.selector == keys_[index].selector &&
                   k.domain == (keys_[index].domain == "%" ? domain : keys_[index].domain);
    }
    if (duplicate) continue;
    const Key& key = keys_[index];
    keys.push_back({key.domain == "%" ? domain : key.domain, key.selector, key.key});
  }
  return keys;
}

}  // namespace moat::filterd
