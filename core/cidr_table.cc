// cidr_table.cc - parsing and matching of cidr: tables (after dict_cidr.c / cidr_match.c).
#include "core/cidr_table.h"

#include "core/table_file.h"

namespace moat::core {
namespace {

// Splits "word rest": the word up to whitespace, the rest with leading whitespace removed.
std::pair<std::string_view, std::string_view> SplitWord(std::string_view s) {
  size_t end = 0;
  while (end < s.size() && !IsTableSpace(s[end])) ++end;
  return {s.substr(0, end), SkipTableSpace(s.substr(end))};
}

// "!!net" -> (net, negation parity); Postfix allows no space after the "!".
std::pair<std::string_view, bool> StripNegation(std::string_view pattern) {
  bool negated = false;
  while (!pattern.empty() && pattern.front() == '!') {
    negated = !negated;
    pattern.remove_prefix(1);
  }
  return {pattern, negated};
}

}  // namespace

Result<std::shared_ptr<const CidrTable>> CidrTable::Compile(std::string spec, std::string_view path,
                                                            std::string_view text,
                                                            std::vector<std::string>& warnings) {
  std::shared_ptr<CidrTable> table(new CidrTable(std::move(spec)));
  std::vector<std::pair<size_t, int>> open_ifs;  // rule index, line

  Status status = ForEachLogicalLine(text, path, [&](std::string_view line, int number) -> Status {
    auto syntax = [&](std::string_view message) {
      return std::unexpected(TableSyntaxError(path, number, message));
    };
    if (StartsWithKeyword(line, "endif")) {
      if (open_ifs.empty()) return syntax("endif without matching if");
      if (!SkipTableSpace(line.substr(5)).empty()) {
        warnings.push_back(fmt::format("{}:{}: ignoring extra text after endif", path, number));
      }
      table->rules_[open_ifs.back().first].endif = table->rules_.size();
      open_ifs.pop_back();
      table->rules_.push_back(
          Rule{Op::kEndif, IpNetwork(*IpAddress::Parse("0.0.0.0"), 0), false, {}, 0});
      return {};
    }
    const bool is_if = StartsWithKeyword(line, "if");
    auto [word, rest] = SplitWord(is_if ? SkipTableSpace(line.substr(2)) : line);
    auto [pattern, negated] = StripNegation(word);
    if (pattern.empty()) return syntax("no address pattern");
    auto network = IpNetwork::Parse(pattern);
    if (!network) return syntax(network.error().message());
    if (is_if) {
      if (!rest.empty()) {
        warnings.push_back(
            fmt::format("{}:{}: ignoring extra text after if: \"{}\"", path, number, rest));
      }
      open_ifs.emplace_back(table->rules_.size(), number);
      table->rules_.push_back(Rule{Op::kIf, *network, negated, {}, 0});
      return {};
    }
    if (rest.empty()) return syntax(fmt::format("no lookup result after \"{}\"", word));
    table->rules_.push_back(Rule{Op::kMatch, *network, negated, std::string(rest), 0});
    return {};
  });
  if (!status) return Fail(OneLine(status.error()));
  if (!open_ifs.empty()) {
    return Fail(
        TableSyntaxError(path, open_ifs.back().second, "unterminated if (no matching endif)"));
  }
  return std::shared_ptr<const CidrTable>(std::move(table));
}

const std::string* CidrTable::Match(const IpAddress& address) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (rule.op == Op::kEndif) continue;
    // As in cidr_match_execute(): an entry of the other family never matches, negated or not.
    const bool holds = rule.network.network().is_v4() == address.is_v4() &&
                       rule.network.Contains(address) != rule.negated;
    if (rule.op == Op::kIf) {
      if (!holds) i = rule.endif;
      continue;
    }
    if (holds) return &rule.value;
  }
  return nullptr;
}

Result<bool> CidrTable::LookupInto(std::string_view key, std::string& value) const {
  auto address = IpAddress::Parse(key);
  if (!address) return false;
  const std::string* found = Match(*address);
  if (found == nullptr) return false;
  value.assign(*found);
  return true;
}

Result<std::optional<std::string>> CidrTable::Lookup(std::string_view key) const {
  auto address = IpAddress::Parse(key);
  if (!address) return std::optional<std::string>();
  const std::string* found = Match(*address);
  if (found == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(*found);
}

}  // namespace moat::core
