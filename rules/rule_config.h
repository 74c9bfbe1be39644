// rule_config.h - SpamAssassin rule files read into plain data (before any regex is compiled).
//
// ReadRuleFiles() reads .cf files the way SpamAssassin's Conf::Parser does: comments (`#`, `\#`
// for a literal hash), `lang xx` prefixes (skipped unless the configured language matches),
// `include` relative to the including file, `if`/`ifplugin`/`else`/`endif` evaluated with the
// plugin table of plugin_registry.h, `require_version`. It keeps every definition with its
// file:line: rules (header, body, rawbody, full, uri, meta, and their `eval:` forms), score,
// mimeheader (the MIMEHeader plugin), describe, tflags, the ReplaceTags settings, the registry
// boundaries (util_rb_tld, _2tld, _3tld) and redirector_pattern. Everything else is counted per
// directive as unsupported and listed, never fatal. Later definitions replace earlier ones, as in
// SpamAssassin.
//
// Syntax problems (a rule line without a name, an unbalanced `endif`, a file that cannot be read,
// an `include` loop) are errors with file:line; reading goes on after each.
//
// The result is a value type; thread-compatible (no shared state).
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

struct SourceLocation {
  std::string file;
  int line = 0;
  std::string ToString() const;  // "file:line"
};

enum class RuleKind { kHeader, kBody, kRawbody, kFull, kUri, kMeta, kMimeheader };
inline constexpr size_t kRuleKindCount = 7;

std::string_view RuleKindName(RuleKind kind);  // "header", "body", ..., "mimeheader"

struct RuleDefinition {
  std::string name;
  RuleKind kind = RuleKind::kBody;
  std::string definition;  // everything after the name
  bool eval = false;       // "eval:function(...)": defined (metas may name it) but not run
  SourceLocation where;
};

struct ScoreDefinition {
  double values[4] = {0, 0, 0, 0};  // score sets 0..3 (one value fills all four)
  SourceLocation where;
};

struct ConfigProblem {
  SourceLocation where;
  std::string message;
};

struct UnsupportedLine {
  std::string kind;  // the directive, or "<rule kind> eval" for eval: rules
  SourceLocation where;
  std::string text;
};

struct RuleConfig {
  std::map<std::string, RuleDefinition> rules;
  std::map<std::string, ScoreDefinition> scores;
  std::map<std::string, std::string> descriptions;
  std::map<std::string, std::string> tflags;

  // ReplaceTags plugin settings.
  std::string replace_start = "<";
  std::string replace_end = ">";
  std::map<std::string, std::string> replace_tag, replace_pre, replace_post, replace_inter;
  std::set<std::string> replace_rules;

  // RegistryBoundaries: known TLDs and multi-level public suffixes (for URI extraction).
  std::set<std::string> valid_tlds, two_level_domains, three_level_domains;
  // redirector_pattern literals, in order, with where they came from.
  std::vector<std::pair<std::string, SourceLocation>> redirector_patterns;

  std::set<std::string> compat;  // enable_compat names
  double required_score = 5.0;

  std::vector<std::string> files;  // every file read, in order
  std::vector<ConfigProblem> errors;
  std::vector<UnsupportedLine> unsupported;
  std::map<std::string, size_t> unsupported_counts;
};

struct ReadOptions {
  // Plugins `ifplugin`/`plugin()` consider loaded; DefaultPlugins() when empty.
  std::set<std::string> plugins;
  // `lang xx` lines apply when this starts with xx (SpamAssassin uses $LANG); none by default.
  std::string language;
  // Stop recording individual unsupported lines after this many (they are still counted).
  size_t max_unsupported_listed = 100'000;
};

// Reads the *.cf files of each directory (lexical order within a directory, directories in the
// order given), then the extra files. A missing directory is an error entry, not an exception.
RuleConfig ReadRuleFiles(const std::vector<std::string>& directories,
                         const std::vector<std::string>& files, const ReadOptions& options = {});

// Reads rules from a string (tests, `moat rules lint -`), named `name` in locations.
void ReadRuleText(std::string_view text, const std::string& name, const ReadOptions& options,
                  RuleConfig& config);

}  // namespace moat::rules
