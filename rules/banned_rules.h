// banned_rules.h - attachment-type rules: which parts and archive members a message may carry.
//
// The rules file (filterd.cf `banned_rules`, per bank `<bank>_banned_rules`; syntax in the
// README, section "Attachment-type rules") has one rule per line:
//
//     block|allow CONDITION...
//
// and `[BANK ...]` lines that make the following rules apply to those policy banks only (`[*]`
// returns to rules for every bank). A condition is `key=GLOB[,GLOB...]` (shell patterns,
// case-insensitive), `key~"REGEX"` (PCRE2, case-insensitive), a bare flag, or `depth<op>N`;
// `!` in front negates it. Keys: name, ext, double-ext, declared, detected, inside,
// inside-type, path, encrypted, unicode-trick, depth (see BannedSubject for what each reads).
//
// Semantics, chosen to be safe: every content node (MIME part, attached message, uuencoded
// file, archive, archive member) is judged on its own. For a node, the rules of its bank are
// tried in file order and the first rule whose conditions all hold decides: block or allow. A
// node no rule matches is allowed. A message is BANNED when any node is blocked. An `allow`
// decides only for the node it matched - allowing "*.zip" never allows what is inside the zip,
// whose members meet the rules themselves (amavis' `[qr'^\.zip$' => 0]` would).
//
// Thread safety: a parsed BannedRules is immutable; share it across threads. Check() is const;
// its regexes run with PCRE2's match limits, and a regex that hits a limit counts as a match of
// a block rule (and as no match of an allow rule): an error is never read as harmless.
// Errors: Parse()/Load() report every problem with file:line (core::ConfigDiagnostic); a file
// with any error must not be used (the caller refuses the configuration).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/regex.h"
#include "rules/banned_name.h"

namespace moat::rules {

// The strings one content node presents to the rules - exactly these, so `moat scan` can show
// what every rule was applied to.
struct BannedSubject {
  std::string path;       // content-tree path ("2/a.zip/b.exe"); `path=` matches it
  std::string raw_name;   // the declared name as sent (UTF-8)
  NormalizedName name;    // `name=`, `ext=`, `double-ext`, `unicode-trick` match this
  std::string declared_type;  // lower-case MIME type declared by the sender; "" for members
  std::string detected_type;  // libmagic's MIME type of the bytes
  std::string short_type;     // its short form ("exe", "zip", "pdf"); `detected=` matches both
  bool encrypted = false;
  int depth = 0;  // containers (archives, attached messages) above the node: 0 = attached to
                  // the message itself
  // The enclosing containers, outermost first: normalised names (`inside=`) and short types
  // (`inside-type=`).
  std::vector<std::string> inside_names;
  std::vector<std::string> inside_types;
};

enum class BannedAction { kBlock, kAllow };

struct BannedRule {
  BannedAction action = BannedAction::kBlock;
  std::vector<std::string> banks;  // empty: every bank
  core::SourceLocation where;
  std::string text;  // the rule as written (trimmed)

  struct Condition;
  std::vector<std::shared_ptr<const Condition>> conditions;
};

struct BannedVerdict {
  bool blocked = false;
  const BannedRule* rule = nullptr;  // the deciding rule, or nullptr when none matched
  std::string error;                 // a regex that failed (match limit): counted as a match
};

class BannedRules {
 public:
  struct Loaded {
    std::shared_ptr<const BannedRules> rules;  // set even when there are problems
    core::ConfigDiagnostics problems;          // errors (and warnings) with file:line
  };

  // `file` names the text in diagnostics and rule locations.
  static Loaded Parse(std::string_view text, const std::string& file);
  // Reads `path`; an unreadable file is one error at line 0.
  static Loaded Load(const std::string& path);

  // The rules that apply to `bank`, in file order.
  std::vector<const BannedRule*> RulesFor(std::string_view bank) const;

  // The decision for one node of a message of policy bank `bank`.
  BannedVerdict Check(std::string_view bank, const BannedSubject& subject) const;

  const std::vector<BannedRule>& rules() const { return rules_; }
  const std::string& file() const { return file_; }

 private:
  BannedRules() = default;
  std::vector<BannedRule> rules_;
  std::string file_;
};

// "block ext=exe (conf/banned_rules:12)"
std::string DescribeRule(const BannedRule& rule);

}  // namespace moat::rules
