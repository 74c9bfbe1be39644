// literal_prefilter.cc - required-literal analysis of Perl patterns, and an Aho-Corasick matcher.
#include "rules/literal_prefilter.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>

namespace moat::rules {

namespace {

using Alternatives = std::vector<std::string>;

// Raised inside the analysis when a construct makes every answer doubtful (recursion,
// conditionals, verbs, inline /x): the whole pattern gets no prefilter.
struct GiveUp {};

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool Better(const Alternatives& a, const Alternatives& b) {
  // Higher shortest-length wins; then fewer alternatives.
  auto shortest = [](const Alternatives& x) {
    size_t m = SIZE_MAX;
    for (const auto& s : x) m = std::min(m, s.size());
    return m;
  };
  size_t sa = shortest(a), sb = shortest(b);
  if (sa != sb) return sa > sb;
  return a.size() < b.size();
}

class Analyzer {
 public:
  Analyzer(std::string_view pattern, bool extended) : p_(pattern), extended_(extended) {}

  std::optional<Alternatives> Run() {
    try {
      auto result = ParseAlternation();
      if (pos_ != p_.size()) return std::nullopt;  // unbalanced ')'
      return result;
    } catch (const GiveUp&) {
      return std::nullopt;
    }
  }

 private:
  bool AtEnd() const { return pos_ >= p_.size(); }
  char Cur() const { return p_[pos_]; }

  void SkipExtendedSpace() {
    if (!extended_) return;
    while (!AtEnd()) {
      char c = Cur();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#') {
        while (!AtEnd() && Cur() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  // alternation := sequence ('|' sequence)*
  std::optional<Alternatives> ParseAlternation() {
    if (++depth_ > 300) throw GiveUp{};
    std::optional<Alternatives> all = ParseSequence();
    bool have_all = all.has_value();
    while (!AtEnd() && Cur() == '|') {
      ++pos_;
      std::optional<Alternatives> branch = ParseSequence();
      if (have_all && branch) {
        all->insert(all->end(), branch->begin(), branch->end());
      } else {
        have_all = false;
      }
    }
    --depth_;
    if (!have_all) return std::nullopt;
    std::sort(all->begin(), all->end());
    all->erase(std::unique(all->begin(), all->end()), all->end());
    return all;
  }

  // Reads a quantifier after an atom; returns the minimum repetition, or -1 when there is none.
  int ParseQuantifier() {
    SkipExtendedSpace();
    if (AtEnd()) return -1;
    int min = -1;
    char c = Cur();
    if (c == '*' || c == '?') {
      min = 0;
      ++pos_;
    } else if (c == '+') {
      min = 1;
      ++pos_;
    } else if (c == '{') {
      size_t j = pos_ + 1;
      size_t digits_start = j;
      while (j < p_.size() && std::isdigit(static_cast<unsigned char>(p_[j]))) ++j;
      bool have_min = j > digits_start;
      int value =
          have_min ? std::atoi(std::string(p_.substr(digits_start, j - digits_start)).c_str()) : 0;
      if (j < p_.size() && p_[j] == '}' && have_min) {
        min = value;
        pos_ = j + 1;
      } else if (j < p_.size() && p_[j] == ',') {
        size_t k = j + 1;
        while (k < p_.size() && std::isdigit(static_cast<unsigned char>(p_[k]))) ++k;
        bool have_max = k > j + 1;
        if (k < p_.size() && p_[k] == '}' && (have_min || have_max)) {
          min = have_min ? value : 0;
          pos_ = k + 1;
        } else {
          return -1;  // a literal '{'
        }
      } else {
        return -1;
      }
    } else {
      return -1;
    }
    if (!AtEnd() && (Cur() == '?' || Cur() == '+')) ++pos_;  // lazy / possessive
    return min;
  }

  struct Atom {
    enum class Kind { kChar, kGroup, kOther, kZeroWidth } kind = Kind::kOther;
    char ch = 0;
    std::optional<Alternatives> group;
  };

  std::optional<Alternatives> ParseSequence() {
    std::optional<Alternatives> best;
    std::string run;
    auto offer = [&](Alternatives candidate) {
      if (candidate.empty()) return;
      for (const auto& s : candidate) {
        if (s.empty()) return;
      }
      if (!best || Better(candidate, *best)) best = std::move(candidate);
    };
    auto close_run = [&] {
      if (!run.empty()) offer({run});
      run.clear();
    };
    while (true) {
      SkipExtendedSpace();
      if (AtEnd() || Cur() == '|' || Cur() == ')') break;
      Atom atom = ParseAtom();
      int min = ParseQuantifier();
      switch (atom.kind) {
        case Atom::Kind::kChar:
          if (min == 0) {
            close_run();
          } else {
            run += Lower(atom.ch);
            if (min > 0) close_run();
          }
          break;
        case Atom::Kind::kGroup:
          close_run();
          if (min != 0 && atom.group) offer(*atom.group);
          break;
        case Atom::Kind::kOther:
        case Atom::Kind::kZeroWidth:
          close_run();
          break;
      }
    }
    close_run();
    return best;
  }

  Atom Char(char c) {
    Atom a;
    a.kind = Atom::Kind::kChar;
    a.ch = c;
    return a;
  }

  Atom ParseAtom() {
    char c = Cur();
    ++pos_;
    switch (c) {
      case '.':
        return Atom{};
      case '^':
      case '$': {
        Atom a;
        a.kind = Atom::Kind::kZeroWidth;
        return a;
      }
      case '[':
        SkipClass();
        return Atom{};
      case '(':
        return ParseGroup();
      case '\\':
        return ParseEscape();
      default:
        return Char(c);
    }
  }

  void SkipClass() {
    // pos_ is just after '['.
    if (!AtEnd() && Cur() == '^') ++pos_;
    if (!AtEnd() && Cur() == ']') ++pos_;
    while (!AtEnd() && Cur() != ']') {
      if (Cur() == '\\') {
        pos_ += 2;
        continue;
      }
      if (Cur() == '[' && pos_ + 1 < p_.size() &&
          (p_[pos_ + 1] == ':' || p_[pos_ + 1] == '=' || p_[pos_ + 1] == '.')) {
        char kind = p_[pos_ + 1];
        size_t close = p_.find(std::string{kind, ']'}, pos_ + 2);
        if (close == std::string_view::npos) throw GiveUp{};
        pos_ = close + 2;
        continue;
      }
      ++pos_;
    }
    if (AtEnd()) throw GiveUp{};
    ++pos_;  // ']'
  }

  Atom ParseGroup() {
    // pos_ is just after '('.
    if (!AtEnd() && Cur() == '*') throw GiveUp{};  // (*VERB)
    bool lookaround = false;
    if (!AtEnd() && Cur() == '?') {
      ++pos_;
      if (AtEnd()) throw GiveUp{};
      char k = Cur();
      if (k == '#') {
        size_t close = p_.find(')', pos_);
        if (close == std::string_view::npos) throw GiveUp{};
        pos_ = close + 1;
        Atom a;
        a.kind = Atom::Kind::kZeroWidth;
        return a;
      }
      if (k == ':' || k == '>' || k == '|') {
        ++pos_;
      } else if (k == '=' || k == '!') {
        ++pos_;
        lookaround = true;
      } else if (k == '<' && pos_ + 1 < p_.size() && (p_[pos_ + 1] == '=' || p_[pos_ + 1] == '!')) {
        pos_ += 2;
        lookaround = true;
      } else if (k == '<' || k == '\'' ||
                 (k == 'P' && pos_ + 1 < p_.size() && p_[pos_ + 1] == '<')) {
        char close = k == '\'' ? '\'' : '>';
        size_t end = p_.find(close, pos_ + 1);
        if (end == std::string_view::npos) throw GiveUp{};
        pos_ = end + 1;
      } else {
        // Inline flags: (?i) (?i-s) (?^i) or (?i:...). Anything else (recursion, conditionals,
        // callouts) is beyond this analysis.
        size_t j = pos_;
        bool turns_on_x = false, negative = false;
        while (j < p_.size() &&
               (std::isalpha(static_cast<unsigned char>(p_[j])) || p_[j] == '-' || p_[j] == '^')) {
          if (p_[j] == '-') negative = true;
          if (p_[j] == 'x' && !negative) turns_on_x = true;
          if (std::isalpha(static_cast<unsigned char>(p_[j])) &&
              std::string_view("imsxnpadlu").find(p_[j]) == std::string_view::npos) {
            throw GiveUp{};
          }
          ++j;
        }
        if (j >= p_.size() || (p_[j] != ')' && p_[j] != ':')) throw GiveUp{};
        if (turns_on_x && !extended_) throw GiveUp{};
        if (p_[j] == ')') {
          pos_ = j + 1;
          Atom a;
          a.kind = Atom::Kind::kZeroWidth;
          return a;
        }
        pos_ = j + 1;
      }
    }
    std::optional<Alternatives> inner = ParseAlternation();
    if (AtEnd() || Cur() != ')') throw GiveUp{};
    ++pos_;
    Atom a;
    if (lookaround) {
      a.kind = Atom::Kind::kZeroWidth;
      return a;
    }
    a.kind = Atom::Kind::kGroup;
    a.group = std::move(inner);
    return a;
  }

  Atom ParseEscape() {
    if (AtEnd()) throw GiveUp{};
    char e = Cur();
    ++pos_;
    switch (e) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
      case 'h':
      case 'H':
      case 'v':
      case 'V':
      case 'R':
      case 'X':
      case 'C':
        return Atom{};
      case 'N':
      case 'o':
        // \N{U+41} / \o{101}: skip the braces; not worth decoding for a prefilter.
        if (!AtEnd() && Cur() == '{') {
          size_t close = p_.find('}', pos_);
          if (close == std::string_view::npos) throw GiveUp{};
          pos_ = close + 1;
        }
        return Atom{};
      case 'b':
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
      case 'G':
      case 'K': {
        Atom a;
        a.kind = Atom::Kind::kZeroWidth;
        return a;
      }
      case 'p':
      case 'P':
        if (!AtEnd() && Cur() == '{') {
          size_t close = p_.find('}', pos_);
          if (close == std::string_view::npos) throw GiveUp{};
          pos_ = close + 1;
        } else if (!AtEnd()) {
          ++pos_;
        }
        return Atom{};
      case 'g':
      case 'k':
        if (!AtEnd() && (Cur() == '{' || Cur() == '<' || Cur() == '\'')) {
          char close = Cur() == '{' ? '}' : Cur() == '<' ? '>' : '\'';
          size_t end = p_.find(close, pos_ + 1);
          if (end == std::string_view::npos) throw GiveUp{};
          pos_ = end + 1;
        } else {
          while (!AtEnd() && (std::isdigit(static_cast<unsigned char>(Cur())) || Cur() == '-'))
            ++pos_;
        }
        return Atom{};
      case 't':
        return Char('\t');
      case 'n':
        return Char('\n');
      case 'r':
        return Char('\r');
      case 'f':
        return Char('\f');
      case 'e':
        return Char('\x1b');
      case 'a':
        return Char('\a');
      case 'c':
        if (AtEnd()) throw GiveUp{};
        return Char(static_cast<char>(std::toupper(static_cast<unsigned char>(p_[pos_++])) ^ 0x40));
      case 'x': {
        unsigned value = 0;
        if (!AtEnd() && Cur() == '{') {
          size_t close = p_.find('}', pos_);
          if (close == std::string_view::npos) throw GiveUp{};
          value = static_cast<unsigned>(std::strtoul(
              std::string(p_.substr(pos_ + 1, close - pos_ - 1)).c_str(), nullptr, 16));
          pos_ = close + 1;
        } else {
          int n = 0;
          while (n < 2 && !AtEnd() && std::isxdigit(static_cast<unsigned char>(Cur()))) {
            value =
                value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(Cur()))
                                                       ? Cur() - '0'
                                                       : std::tolower(Cur()) - 'a' + 10);
            ++pos_;
            ++n;
          }
        }
        if (value > 255) return Atom{};
        return Char(static_cast<char>(value));
      }
      case 'Q': {
        // \Q...\E: literal text; return it as a sequence of chars is not possible in one atom,
        // so treat the first char as the atom and push the position back for the rest.
        size_t end = p_.find("\\E", pos_);
        std::string_view quoted =
            p_.substr(pos_, end == std::string_view::npos ? p_.size() - pos_ : end - pos_);
        if (quoted.empty()) {
          pos_ = end == std::string_view::npos ? p_.size() : end + 2;
          Atom a;
          a.kind = Atom::Kind::kZeroWidth;
          return a;
        }
        // Rewrite as an escaped sequence for the rest of the parse.
        std::string rest;
        for (char q : quoted.substr(1)) {
          if (!std::isalnum(static_cast<unsigned char>(q))) rest += '\\';
          rest += q;
        }
        std::string tail(p_.substr(end == std::string_view::npos ? p_.size() : end + 2));
        owned_.push_back(rest + tail);
        p_ = owned_.back();
        pos_ = 0;
        return Char(quoted[0]);
      }
      default:
        if (e >= '0' && e <= '9') {
          if (e == '0') {
            unsigned value = 0;
            int n = 0;
            while (n < 2 && !AtEnd() && Cur() >= '0' && Cur() <= '7') {
              value = value * 8 + static_cast<unsigned>(Cur() - '0');
              ++pos_;
              ++n;
            }
            return Char(static_cast<char>(value));
          }
          // \1..\9: a back-reference (or an octal escape); either way not a fixed literal.
          while (!AtEnd() && std::isdigit(static_cast<unsigned char>(Cur()))) ++pos_;
          return Atom{};
        }
        if (std::isalpha(static_cast<unsigned char>(e))) return Atom{};
        return Char(e);
    }
  }

  std::string_view p_;
  bool extended_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::deque<std::string> owned_;
};

}  // namespace

std::optional<std::vector<std::string>> RequiredLiterals(std::string_view pattern,
                                                         std::string_view modifiers,
                                                         size_t min_length) {
  bool extended = modifiers.find('x') != std::string_view::npos;
  Analyzer analyzer(pattern, extended);
  auto result = analyzer.Run();
  if (!result || result->empty() || result->size() > 32) return std::nullopt;
  for (const auto& s : *result) {
    if (s.size() < min_length) return std::nullopt;
  }
  return result;
}

LiteralMatcher::LiteralMatcher(const std::vector<std::string>& literals)
    : literal_count_(literals.size()) {
  // Alphabet compression: every byte occurring in a literal gets its own class, the rest share 0.
  bool used[256] = {};
  for (const auto& lit : literals) {
    for (char c : lit) used[static_cast<unsigned char>(Lower(c))] = true;
  }
  classes_ = 1;
  for (int b = 0; b < 256; ++b) {
    if (used[b]) byte_class_[b] = static_cast<uint8_t>(classes_++);
  }
  for (int b = 0; b < 256; ++b) {
    byte_class_[b] = byte_class_[static_cast<unsigned char>(Lower(static_cast<char>(b)))];
  }
  // Trie.
  std::vector<std::vector<uint32_t>> trie(1, std::vector<uint32_t>(classes_, 0));
  output_.assign(1, -1);
  for (size_t id = 0; id < literals.size(); ++id) {
    uint32_t state = 0;
    for (char c : literals[id]) {
      uint8_t cls = byte_class_[static_cast<unsigned char>(c)];
      if (trie[state][cls] == 0) {
        trie[state][cls] = static_cast<uint32_t>(trie.size());
        trie.emplace_back(classes_, 0);
        output_.push_back(-1);
      }
      state = trie[state][cls];
    }
    output_[state] = static_cast<int32_t>(id);
  }
  // Breadth-first failure links, turning the trie into a full DFA.
  size_t n = trie.size();
  std::vector<uint32_t> fail(n, 0);
  dict_link_.assign(n, 0);
  std::deque<uint32_t> queue;
  for (size_t cls = 0; cls < classes_; ++cls) {
    if (trie[0][cls] != 0) queue.push_back(trie[0][cls]);
  }
  while (!queue.empty()) {
    uint32_t s = queue.front();
    queue.pop_front();
    uint32_t f = fail[s];
    dict_link_[s] = output_[f] >= 0 ? f : dict_link_[f];
    for (size_t cls = 0; cls < classes_; ++cls) {
      uint32_t t = trie[s][cls];
      if (t != 0) {
        fail[t] = s == 0 ? 0 : trie[f][cls];
        queue.push_back(t);
      } else {
        trie[s][cls] = trie[f][cls];
      }
    }
  }
  next_.resize(n * classes_);
  for (size_t s = 0; s < n; ++s) {
    std::copy(trie[s].begin(), trie[s].end(), next_.begin() + static_cast<long>(s * classes_));
  }
}

void LiteralMatcher::FindAll(std::string_view text, std::vector<uint8_t>& visited) const {
  if (literal_count_ == 0) return;
  size_t states = output_.size();
  if (visited.size() < states) visited.resize(states, 0);
  uint32_t state = 0;
  const uint32_t* next = next_.data();
  const size_t classes = classes_;
  for (unsigned char c : text) {
    state = next[state * classes + byte_class_[c]];
    visited[state] = 1;
  }
}

void LiteralMatcher::Collect(std::vector<uint8_t>& visited, std::vector<uint8_t>& found) const {
  found.assign(literal_count_, 0);
  size_t states = output_.size();
  if (visited.size() < states) visited.resize(states, 0);
  for (size_t s = 1; s < states; ++s) {
    if (visited[s] != 1) continue;
    // Walk the chain of outputs ending here; 2 marks states whose chain was already walked.
    for (uint32_t t = static_cast<uint32_t>(s); t != 0; t = dict_link_[t]) {
      if (output_[t] >= 0) found[static_cast<size_t>(output_[t])] = 1;
      if (visited[t] == 2 && t != s) break;
      visited[t] = 2;
    }
  }
}

}  // namespace moat::rules
