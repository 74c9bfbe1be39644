// perl_regex.h - SpamAssassin's Perl regular expressions, compiled with PCRE2 (core::Regex).
//
// Rule files write patterns as Perl match operators: /pattern/flags, m{pattern}flags,
// m!pattern!flags ... SplitRegexLiteral() takes such a literal apart exactly as SpamAssassin's
// Util::compile_regexp() does (same delimiters, same modifier letters, same "unquoted delimiter"
// and "(?{ })" refusals), and CompilePerlRegex() turns it into a core::Regex:
//
//  - modifiers i, m, s, x become PCRE2 options; n becomes (?n); a, d, l, u, p and o are accepted
//    and ignored (they change nothing for the byte strings rules see); anything else is kInvalid.
//  - Perl-isms that PCRE2 reads differently are rewritten: `{,n}` (a quantifier since Perl 5.34,
//    a literal in PCRE2) becomes `{0,n}`; `\Z`, `\z`, `\A`, POSIX classes, possessive and
//    atomic groups, \K, named groups and \Q..\E need no change.
//  - Subjects are matched as bytes (no UTF mode), as SpamAssassin matches the UTF-8 octets of
//    rendered text: \w, \d, \s and /i are ASCII-only in both.
//
// Every compiled pattern carries the match and depth limits given, so no rule can backtrack
// without bound; core::Regex reports a limit hit as a kTempFail error value.
//
// Errors: kInvalid with a message meant for "file:line: ..." reports. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/regex.h"

namespace moat::rules {

struct PerlRegex {
  std::string pattern;    // between the delimiters
  std::string modifiers;  // letters after the closing delimiter
};

// Takes "/foo/i" or "m{foo}i" apart. A missing or backslash delimiter, a bad end delimiter,
// an unescaped delimiter inside the pattern or a code block (?{ }) is kInvalid.
core::Result<PerlRegex> SplitRegexLiteral(std::string_view literal);

// Rewrites the Perl constructs PCRE2 would read differently (see the header comment).
std::string TranslatePerlPattern(std::string_view pattern);

struct RegexLimits {
  uint32_t match_limit = 200'000;
  uint32_t depth_limit = 5'000;
};

// Compiles a split literal with its modifiers and the given limits.
core::Result<core::Regex> CompilePerlRegex(const PerlRegex& regex, const RegexLimits& limits);

// The same, from the literal text ("/foo/i").
core::Result<core::Regex> CompileRegexLiteral(std::string_view literal, const RegexLimits& limits);

}  // namespace moat::rules
