// regex.h - the one wrapper around PCRE2 (8-bit code units, JIT compiled when the CPU allows).
//
// Used by pcre:/regexp: lookup tables, header_checks, the SpamAssassin-syntax rule engine and the
// banned-attachment rules. Matching is bounded: every match runs with a match limit and a depth
// limit, so no pattern can backtrack without bound on hostile input; hitting a limit is an error
// value (kTempFail, "match limit exceeded"), never a hang and never silently "no match".
//
// Contract:
//  - Regex is immutable after Compile() and safe to share between threads (PCRE2 compiled code is
//    read-only). It is cheap to copy (shared ownership of the compiled code).
//  - MatchScratch holds the per-call state (match data, match context, JIT stack). It is NOT
//    thread-safe: give each thread its own. Hot paths keep one per worker; the overloads without a
//    scratch use a thread-local one.
//  - Subjects are byte strings; with `utf` set, invalid UTF-8 in the subject is tolerated
//    (PCRE2_MATCH_INVALID_UTF), never an error.
//  - Offsets in a RegexMatch are byte offsets into the subject passed to Search(); groups that did
//    not participate are reported as not set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::core {

struct RegexOptions {
  bool caseless = false;   // Perl /i
  bool multiline = false;  // Perl /m: ^ and $ at line boundaries
  bool dotall = false;     // Perl /s: . matches newline
  bool extended = false;   // Perl /x: whitespace and # comments in the pattern
  bool utf = false;        // treat pattern and subject as UTF-8
  bool ungreedy = false;   // Postfix pcre_table "U" flag
  bool anchored = false;   // Postfix pcre_table "A" flag: match only at the start of the subject
  bool dollar_endonly = false;  // pcre_table "E": $ matches only at the very end, not before \n
  // Bounds on a single match attempt; see pcre2_set_match_limit / pcre2_set_depth_limit.
  uint32_t match_limit = 1'000'000;
  uint32_t depth_limit = 10'000;
};

// Parses Perl-style modifier letters ("imsx"). Unknown letters are kInvalid.
Result<RegexOptions> RegexOptionsFromFlags(std::string_view flags, RegexOptions base = {});

struct RegexGroup {
  size_t begin = 0;
  size_t end = 0;
  bool set = false;
};

// One successful match: group 0 is the whole match.
class RegexMatch {
 public:
  explicit RegexMatch(std::vector<RegexGroup> groups) : groups_(std::move(groups)) {}
  size_t group_count() const { return groups_.size(); }
  const RegexGroup& group(size_t i) const { return groups_[i]; }
  // The text of group i within `subject` (the string that was searched); empty when unset.
  std::string_view Text(std::string_view subject, size_t i) const;

 private:
  std::vector<RegexGroup> groups_;
};

class MatchScratch {
 public:
  MatchScratch();
  ~MatchScratch();
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class Regex {
 public:
  // Compiles `pattern`; a syntax error is kInvalid with PCRE2's message and offset.
  static Result<Regex> Compile(std::string_view pattern, const RegexOptions& options = {});

  // True when the pattern matches anywhere in `subject`.
  Result<bool> Matches(std::string_view subject, MatchScratch& scratch) const;
  Result<bool> Matches(std::string_view subject) const;

  // First match at or after byte offset `start`, or nullopt.
  Result<std::optional<RegexMatch>> Search(std::string_view subject, size_t start,
                                           MatchScratch& scratch) const;
  Result<std::optional<RegexMatch>> Search(std::string_view subject, size_t start = 0) const;

  const std::string& pattern() const;
  uint32_t capture_count() const;
  bool jit_compiled() const;

  struct Code;

 private:
  explicit Regex(std::shared_ptr<const Code> code) : code_(std::move(code)) {}
  std::shared_ptr<const Code> code_;
};

}  // namespace moat::core
