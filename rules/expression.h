// expression.h - the small Perl-like expression language of `meta` rules and `if` lines.
//
// SpamAssassin evaluates meta rules and `if` conditions as Perl expressions built from the tokens
// of its ARITH_EXPRESSION_LEXER: numbers, names (rule names or Perl class names), parentheses,
// `! && || ^ + - * / < <= > >= == != ? :`, and function calls `name(argument)` (`plugin(...)`,
// `can(...)`, `has(...)` in `if` lines). This module parses that language into an immutable tree
// with Perl's precedence and evaluates it with Perl's semantics:
//
//   `a && b` and `a || b` yield the deciding operand's value (not just 0/1), `!x` yields 1 or 0,
//   `^` is integer XOR, comparisons yield 1 or 0, division by zero is an evaluation error.
//
// Names are resolved by the caller: ParseExpression() reports the names it saw (in order of
// first appearance) and Evaluate() asks a resolver for each name's value and each call's value.
//
// Errors: kInvalid from ParseExpression() for a token outside the language, unbalanced
// parentheses or a dangling operator; kInvalid from Evaluate() for division by zero.
// An Expression is immutable and safe to share between threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace moat::rules {

class Expression {
 public:
  struct Node;

  // Resolves a name to its value (a rule's hit count for meta rules).
  using NameValue = std::function<double(size_t name_index)>;
  // Resolves `function(argument)` (plugin/can/has in `if` lines).
  using CallValue =
      std::function<core::Result<double>(const std::string& function, const std::string& argument)>;

  // Every distinct name, in order of first appearance; NameValue receives indices into this.
  const std::vector<std::string>& names() const { return names_; }

  core::Result<double> Evaluate(const NameValue& name_value,
                                const CallValue& call_value = nullptr) const;

  // A faster evaluation for meta rules: name values come from an array indexed like names().
  // Runs a flat compiled program (no allocation); division by zero is kInvalid.
  core::Result<double> Evaluate(const double* name_values) const;

  struct Program;

  const std::string& text() const { return text_; }

  // Implementation detail, public so the parser in expression.cc can build trees.
  Expression(std::shared_ptr<const Node> root, std::shared_ptr<const Program> program,
             std::vector<std::string> names, std::string text)
      : root_(std::move(root)),
        program_(std::move(program)),
        names_(std::move(names)),
        text_(std::move(text)) {}

 private:
  std::shared_ptr<const Node> root_;
  std::shared_ptr<const Program> program_;  // null when the expression contains calls
  std::vector<std::string> names_;
  std::string text_;
};

// Parses `text`. `allow_calls` accepts `name(argument)` function calls (for `if` lines).
core::Result<Expression> ParseExpression(std::string_view text, bool allow_calls = false);

// True for a syntactically valid SpamAssassin rule name ([_a-zA-Z][_a-zA-Z0-9]{0,127}).
bool IsRuleName(std::string_view name);

}  // namespace moat::rules
