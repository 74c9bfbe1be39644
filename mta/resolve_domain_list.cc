// resolve_domain_list.cc - domain lists (after Postfix match_list.c and match_ops.c).
#include "mta/resolve_domain_list.h"

#include <fmt/format.h>

#include "core/inline_table.h"
#include "core/table_file.h"

namespace moat::mta {
namespace {

constexpr int kMaxFileDepth = 10;

bool IsTableSpec(std::string_view token) {
  size_t colon = token.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : token.substr(0, colon)) {
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

core::Result<DomainList> DomainList::Parse(std::string_view list, DomainMatch match,
                                           core::ParentDomainStyle style,
                                           const core::TableOpenOptions& options) {
  DomainList result;
  result.match_ = match;
  result.style_ = match == DomainMatch::kExact ? core::ParentDomainStyle::kNone : style;
  core::Status status = result.AddEntries(list, options, 0, "");
  if (!status) return core::Fail(core::OneLine(status.error()));
  return result;
}

core::Status DomainList::AddEntries(std::string_view list, const core::TableOpenOptions& options,
                                    int depth, std::string_view origin) {
  auto tokens = core::SplitOutsideBraces(list);
  if (!tokens) {
    return core::Fail(core::ErrorCode::kInvalid, "{}{}", origin, tokens.error().message());
  }
  for (std::string_view token : *tokens) {
    Entry entry;
    while (!token.empty() && token.front() == '!') {
      entry.negated = !entry.negated;
      token.remove_prefix(1);
    }
    if (token.empty()) {
      return core::Fail(core::ErrorCode::kInvalid, "{}no pattern after '!'", origin);
    }
    if (token.front() == '/') {
      if (depth >= kMaxFileDepth) {
        return core::Fail(core::ErrorCode::kInvalid, "{}{}: files nested more than {} deep",
                          origin, token, kMaxFileDepth);
      }
      if (entry.negated) {
        return core::Fail(core::ErrorCode::kInvalid,
                          "{}!{}: a file cannot be negated; negate its entries", origin, token);
      }
      std::string path(token);
      auto file = core::ReadTableFile(path, options.max_file_bytes);
      if (!file) return core::Fail(file.error().code(), "{}{}", origin, file.error().message());
      std::string_view text = file->text;
      int line = 0;
      for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view physical = text.substr(pos, end - pos);
        pos = end + 1;
        ++line;
        size_t first = physical.find_first_not_of(" \t\r\f\v");
        if (first == std::string_view::npos || physical[first] == '#') continue;
        core::Status status =
            AddEntries(physical, options, depth + 1, fmt::format("{}:{}: ", path, line));
        if (!status) return status;
      }
      continue;
    }
    if (IsTableSpec(token)) {
      auto table = core::OpenTable(token, options);
      if (!table) return core::Fail(table.error().code(), "{}{}", origin, table.error().message());
      entry.table = std::move(*table);
    } else {
      entry.pattern = LowerAscii(token);
      while (entry.pattern.size() > 1 && entry.pattern.back() == '.') entry.pattern.pop_back();
    }
    entries_.push_back(std::move(entry));
  }
  return {};
}

bool DomainList::MatchesName(std::string_view domain, std::string_view pattern) const {
  if (domain == pattern) return true;
  if (match_ == DomainMatch::kExact || pattern.size() >= domain.size()) return false;
  std::string_view tail = domain.substr(domain.size() - pattern.size());
  if (tail != pattern) return false;
  if (style_ == core::ParentDomainStyle::kParent) {
    // "example.com" matches "a.example.com", not "badexample.com".
    return pattern.front() != '.' && domain[domain.size() - pattern.size() - 1] == '.';
  }
  return pattern.front() == '.';
}

core::Result<bool> DomainList::Contains(std::string_view domain_in) const {
  std::string domain = LowerAscii(domain_in);
  if (domain.empty()) return false;
  std::vector<core::SearchKey> keys;  // built on first need
  std::string value;
  for (const Entry& entry : entries_) {
    bool matched = false;
    if (entry.table) {
      if (keys.empty()) keys = core::DomainSearchKeys(domain, style_);
      for (const core::SearchKey& key : keys) {
        if (key.partial && entry.table->IsPattern()) continue;
        auto found = entry.table->LookupInto(key.key, value);
        if (!found) return std::unexpected(found.error());
        if (*found) {
          matched = true;
          break;
        }
      }
    } else {
      matched = MatchesName(domain, entry.pattern);
    }
    if (matched) return !entry.negated;
  }
  return false;
}

}  // namespace moat::mta
