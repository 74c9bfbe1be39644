// domain_list.cc - Postfix domain match lists (after match_list.c and match_ops.c).
#include "mta/domain_list.h"

#include <fmt/format.h>

#include "core/config_value.h"
#include "core/table_file.h"

namespace moat::mta::smtpd_rewrite {
namespace {

constexpr int kMaxFileDepth = 8;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

core::Result<DomainList> DomainList::Parse(std::string_view list, core::ParentDomainStyle style,
                                           TableSet& tables) {
  DomainList result;
  result.style_ = style;
  if (auto status = result.Add(list, tables, 0); !status) return std::unexpected(status.error());
  return result;
}

core::Status DomainList::Add(std::string_view list, TableSet& tables, int depth) {
  for (const std::string& item : core::SplitList(list)) {
    std::string_view token = item;
    Entry entry;
    while (!token.empty() && token.front() == '!') {
      entry.negated = !entry.negated;
      token.remove_prefix(1);
    }
    if (token.empty()) return core::Fail(core::ErrorCode::kInvalid, "no pattern after '!'");
    if (token.front() == '/') {
      if (depth >= kMaxFileDepth) {
        return core::Fail(core::ErrorCode::kInvalid, "{}: files nested more than {} deep", token,
                          kMaxFileDepth);
      }
      auto file = core::ReadTableFile(std::string(token), tables.options().max_file_bytes);
      if (!file) return std::unexpected(file.error());
      std::string_view text = file->text;
      for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        std::size_t first = line.find_first_not_of(" \t\r\f\v");
        if (first == std::string_view::npos || line[first] == '#') continue;
        if (auto status = Add(line, tables, depth + 1); !status) return status;
      }
      continue;
    }
    if (core::LooksLikeTableSpec(token)) {
      auto table = tables.Open(token);
      if (!table) return std::unexpected(table.error());
      entry.table = core::TableList({std::move(*table)});
    } else {
      entry.pattern = Lower(token);
    }
    entries_.push_back(std::move(entry));
  }
  return {};
}

core::Result<bool> DomainList::Contains(std::string_view domain) const {
  for (const Entry& entry : entries_) {
    bool match = false;
    if (!entry.table.empty()) {
      auto found = core::FindDomain(entry.table, domain, style_);
      if (!found) return std::unexpected(found.error());
      match = found->has_value();
    } else {
      const std::string& pattern = entry.pattern;
      if (EqualsIgnoreCase(domain, pattern)) {
        match = true;
      } else if (domain.size() > pattern.size()) {
        std::string_view tail = domain.substr(domain.size() - pattern.size());
        if (pattern.front() == '.') {
          match = EqualsIgnoreCase(tail, pattern);
        } else if (style_ == core::ParentDomainStyle::kParent) {
          match = domain[domain.size() - pattern.size() - 1] == '.' && EqualsIgnoreCase(tail, pattern);
        }
      }
    }
    if (match) return !entry.negated;
  }
  return false;
}

}  // namespace moat::mta::smtpd_rewrite
