// regexp_table.h - pcre: and regexp: tables (Postfix pcre_table(5), regexp_table(5)).
//
// A table is an ordered list of rules, tried top to bottom; the first match wins:
//
//   /pattern/flags result          result when the key matches; $1..$9, ${10}, $(2) insert
//                                  captured text, $$ is a dollar sign
//   !/pattern/flags result         result when the key does NOT match (no $n allowed)
//   /pat1/!/pat2/ result           regexp: only: pat1 matches and pat2 does not
//   if /pattern/flags | if !/pattern/flags  ...  endif
//                                  the rules in between are tried only when the condition holds;
//                                  if/endif nest
//
// Any non-alphanumeric character can delimit a pattern (`/`, `|`, `%`, ...); a backslash escapes
// the delimiter. Flags toggle Postfix's defaults:
//   pcre:   i (case-insensitive, default on), s (dot matches newline, default on), m, x,
//           A (anchored), E (dollar end only), U (ungreedy); X is obsolete and ignored.
//   regexp: i (default on), m (newline-sensitive: ^ $ at lines, . stops at newline), x (extended
//           syntax, default on; basic POSIX syntax is not supported and is an error).
// Both compile with PCRE2 (core/regex.h, JIT). regexp: patterns are POSIX extended syntax, which
// is translated (GNU \< \> \` \' anchors, backslash literal inside brackets); unlike glibc,
// alternatives are tried left to right rather than longest-first, which only matters for which
// text $n captures.
//
// Errors (kInvalid, "path:line: message"): invalid regular expression, unknown flag, missing
// closing delimiter, bad $ syntax or out-of-range $n, $n with a negated pattern, unterminated
// if, endif without if, a line that is none of the above. Lookups return kTempFail when a
// pattern hits PCRE2's match limit (the key is hostile or the pattern pathological), with the
// file and line of the rule.
//
// Keys are matched as given (no folding: the i flag decides). IsPattern() is true, so address
// searches give these tables whole addresses only.
//
// Thread safety: immutable after Compile(); lookups use a thread-local match scratch.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lookup_table.h"
#include "core/regex.h"

namespace moat::core {

enum class RegexpDialect { kPcre, kPosix };

class RegexpTable final : public LookupTable {
 public:
  static Result<std::shared_ptr<const RegexpTable>> Compile(std::string spec, RegexpDialect dialect,
                                                            std::string_view path,
                                                            std::string_view text,
                                                            std::vector<std::string>& warnings);

  Result<std::optional<std::string>> Lookup(std::string_view key) const override;
  Result<bool> LookupInto(std::string_view key, std::string& value) const override;
  const std::string& spec() const override { return spec_; }
  bool IsPattern() const override { return true; }

  size_t rule_count() const { return rules_.size(); }

  // One piece of a result template: literal text [begin, begin+length) of `text`, or group > 0.
  struct Piece {
    uint32_t begin = 0;
    uint32_t length = 0;
    uint32_t group = 0;
  };
  enum class Op { kMatch, kIf, kEndif };
  struct Rule {
    Op op = Op::kMatch;
    int line = 0;
    std::optional<Regex> regex;
    bool negated = false;
    std::optional<Regex> second;  // regexp: /a/!/b/
    bool second_negated = false;
    std::string text;           // the result with $$ folded; literal when max_group == 0
    std::vector<Piece> pieces;  // used when max_group > 0
    uint32_t max_group = 0;
    size_t endif = 0;  // kIf: index of the matching endif
  };

 private:
  RegexpTable(std::string spec, std::string path)
      : spec_(std::move(spec)), path_(std::move(path)) {}
  Result<bool> RuleMatches(const Rule& rule, std::string_view key) const;

  std::string spec_;
  std::string path_;
  std::vector<Rule> rules_;
};

// POSIX extended regular expression -> equivalent PCRE2 pattern (exposed for tests).
std::string TranslatePosixRegex(std::string_view ere);

}  // namespace moat::core
