// rules_command.h - `moat rules lint|test`, and the message adapter `rules test` needs.
//
//   moat rules lint [FILE...]   read the rule files (the given ones, or every *.cf of the
//                               configured rules_directories), print each syntax or compile error
//                               as "file:line: message", count unsupported directives per kind
//                               (--verbose lists each with file:line); exit 1 on any error.
//   moat rules test FILE        check one message (a file, or - for stdin) against the configured
//                               rules like `spamassassin -t`: every hit with its score, what it
//                               matched, the total and the verdict for the spam levels
//                               (spam_tag_level, spam_tag2_level, spam_kill_level from -o, else
//                               amavis' defaults 2, 6.2, 6.9); --json for a JSON object.
//
// rules_directories comes from `-o rules_directories=...`, else from the config directory's
// filterd.cf (a `rules_directories = ...` line, continuation lines allowed), else the default
// (rules_directories.h). --rules FILE adds files after those.
//
// The rule engine does not parse MIME; `rules test` turns the raw message into a
// rules::ParsedMessage with a MessageAdapter. RegisterRulesCommand(app, global) uses
// ParseMessageForRules(), which the filter's MIME adapter (scanners' gmime tree) provides;
// tests pass their own adapter.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "cli/command.h"
#include "core/error.h"
#include "rules/message_view.h"

namespace moat::cli {

// Fills `out` from `raw` (which outlives it). kInvalid when the message cannot be parsed.
using MessageAdapter = std::function<core::Status(std::string_view raw, rules::ParsedMessage& out)>;

// The production adapter: the scanners' MIME tree, adapted to the rule engine's input.
core::Status ParseMessageForRules(std::string_view raw, rules::ParsedMessage& out);

void RegisterRulesCommand(CLI::App& app, const GlobalOptions& global, MessageAdapter adapter);

}  // namespace moat::cli
