// literal_prefilter.h - skip regex rules whose required text is absent from the message.
//
// Most SpamAssassin body rules need some fixed text to match (/\bfree money\b/i cannot match a
// line without "free money"). RequiredLiterals() reads a Perl pattern and returns a set of
// strings of which at least one occurs in every possible match (lower-cased; the check is
// case-insensitive, so it never rejects a text the regex could match, whatever the flags).
// When it cannot prove such a set (alternations of short pieces, lookarounds only, classes)
// it returns nullopt and the rule always runs.
//
// LiteralMatcher is an Aho-Corasick automaton over all literals of a rule kind: one pass over a
// message's text (ASCII case-folded on the fly) tells which literals occur. It is immutable after
// Build() and safe to share between threads; FindAll() keeps its state in the caller's vector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

// Literals (lower-case) one of which every match of `pattern` contains; nullopt when unknown.
// Literals shorter than `min_length` are not worth a prefilter and make the answer nullopt.
std::optional<std::vector<std::string>> RequiredLiterals(std::string_view pattern,
                                                         std::string_view modifiers,
                                                         size_t min_length = 3);

class LiteralMatcher {
 public:
  // Builds the automaton; literal i gets id i.
  explicit LiteralMatcher(const std::vector<std::string>& literals);
  LiteralMatcher() = default;

  size_t literal_count() const { return literal_count_; }

  // Sets found[i] = true for every literal i occurring in `text` (found is resized as needed).
  // `visited` is scratch space owned by the caller.
  void FindAll(std::string_view text, std::vector<uint8_t>& visited) const;
  // After one or more FindAll() calls with the same `visited`, lists the literals found.
  void Collect(std::vector<uint8_t>& visited, std::vector<uint8_t>& found) const;

 private:
  size_t literal_count_ = 0;
  size_t classes_ = 1;
  uint8_t byte_class_[256] = {};
  std::vector<uint32_t> next_;       // state * classes_ + class -> state
  std::vector<int32_t> output_;      // literal ending at this state, or -1
  std::vector<uint32_t> dict_link_;  // nearest proper suffix state with an output, or 0
};

}  // namespace moat::rules
