// config_expand.h - Postfix `$name` expansion of parameter values, lazy and loop-safe.
//
// The forms of postconf(5), Postfix 3.7:
//   $name  ${name}  $(name)              the (recursively expanded) value of `name`; an undefined
//                                        parameter expands to "" and is reported to on_undefined
//   ${name?value}  ${name?{value}}       `value` when `name` is non-empty, else ""
//   ${name:value}  ${name:{value}}       `value` when `name` is empty or undefined, else ""
//   ${name?{value1}:{value2}}            one or the other (`{}` optional around value2)
//   ${{text1} OP {text2} ? {v1} : {v2}}  OP is == != < <= >= > (numeric when both sides are all
//                                        digits, otherwise lexicographic) or <level <=level
//                                        >level >=level ==level !=level (compatibility levels
//                                        such as "3.6" compared field by field)
//   $$                                   a single `$`
//
// Expansion is lazy: only the branch that is selected is expanded, so `${a?$b}` never touches
// `b` when `a` is empty. A parameter that refers to itself, directly or through others, is an
// error ("parameter loop: a -> b -> a"), as are malformed references. Output is bounded
// (kMaxExpandedBytes) so a chain like `a2 = $a1$a1` cannot exhaust memory.
//
// Errors are kInvalid with a message that names the parameter chain; the caller (Config) adds
// the file:line of the setting being expanded.
//
// Thread safety: the functions are reentrant; an Expander is used by one thread at a time.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace moat::core {

inline constexpr size_t kMaxExpandedBytes = 1u << 20;
inline constexpr size_t kMaxExpansionDepth = 100;

class Expander {
 public:
  // The raw (unexpanded) value of a parameter, or nullopt when it is not defined at all.
  using RawLookup = std::function<std::optional<std::string>(std::string_view name)>;

  explicit Expander(RawLookup lookup) : lookup_(std::move(lookup)) {}

  // Called once per plain `$name` reference to an undefined parameter (conditional forms such as
  // `${name?x}` test for definedness on purpose and are not reported).
  void set_on_undefined(std::function<void(std::string_view name)> callback) {
    on_undefined_ = std::move(callback);
  }

  // Expands `text`, a value of parameter `owner` (used for the loop message; may be empty).
  Result<std::string> Expand(std::string_view text, std::string_view owner = {});

  // The expanded value of parameter `name`; nullopt when it is undefined. Results are cached,
  // so expanding many parameters that share references costs linear time.
  Result<std::optional<std::string>> ExpandParameter(std::string_view name);

  // The parameters of the most recent loop error, in reference order ("a", "b" for a -> b -> a),
  // so a caller can report one loop once however many parameters lead into it.
  const std::vector<std::string>& last_loop() const { return last_loop_; }

 private:
  Status ExpandInto(std::string_view text, std::string& out);
  Status ExpandReference(std::string_view name, std::string& out, bool report_undefined);
  Status ExpandBraced(std::string_view inside, std::string& out);
  Status ExpandRelational(std::string_view inside, std::string& out);
  Status Append(std::string& out, std::string_view text);
  std::string Chain(std::string_view closing) const;

  RawLookup lookup_;
  std::function<void(std::string_view)> on_undefined_;
  std::vector<std::string> stack_;  // parameters being expanded, outermost first
  std::unordered_map<std::string, std::optional<std::string>> cache_;
  std::vector<std::string> last_loop_;
  size_t depth_ = 0;
};

// Every parameter name referenced in `text` by any form (including branches that would not be
// selected and relational operands). Malformed references are skipped.
std::set<std::string> ReferencedNames(std::string_view text);

}  // namespace moat::core
