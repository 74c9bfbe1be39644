// cleanup_checks.h - header_checks(5) and body_checks actions, applied as Postfix's cleanup does
// (cleanup_act in cleanup_message.c).
//
// A header (one logical header: its lines joined with "\n", CRs removed) or a body line is looked
// up in the check tables; the first matching rule's action applies:
//
//   REJECT [text]     the message is refused: "5.7.1 message content rejected" or the text
//                     (an enhanced code in front is kept; one starting with 4 makes it a
//                     temporary refusal); no further checks run
//   WARN [text]       logged, nothing else
//   INFO [text]       logged, nothing else
//   DISCARD [text]    accepted and dropped; no further checks run
//   HOLD [text]       the message goes to the hold queue (the first HOLD, unless discarded)
//   FILTER t:d        content filter for the message (the last FILTER wins); needs a colon
//   REDIRECT a@d      every recipient is replaced by this address; no further checks run
//   BCC a@d           a recipient is added
//   PREPEND text      `text` is inserted before this header (a header: "name: value") or line
//   REPLACE text      this header (or line) is replaced by `text`
//   IGNORE, STRIP     this header (or line) is removed
//   PASS              no further checks run for this message
//   DUNNO, OK         nothing
// Unknown actions and malformed arguments are logged and ignored, as Postfix does.
//
// Errors: a table lookup error (e.g. a pcre match limit) is kTempFail "4.3.0 ...": the message is
// deferred rather than accepted unchecked. Not thread-safe: one ContentCheckState per message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/lookup_table.h"

namespace moat::mta {

enum class CheckContext { kHeader, kBody };

// Decisions accumulated over one message.
struct ContentCheckState {
  bool checking = true;  // false after REJECT, DISCARD, REDIRECT or PASS
  bool rejected = false;
  bool reject_temporary = false;
  std::string reject_reason;  // "5.7.1 text"
  bool discard = false;
  std::string discard_reason;
  bool hold = false;
  std::string hold_reason;
  std::string filter;
  std::string redirect;
  std::vector<std::string> bcc;
  // For logs: "<queue id>: " and " from <client>; from=<s> to=<r>".
  std::string log_prefix;
  std::string log_suffix;
  // Every match in order, for tests and the decision trace: "<action> <text>".
  std::vector<std::string> trace;
};

struct CheckResult {
  enum class Kind { kKeep, kDrop, kReplace };
  Kind kind = Kind::kKeep;
  std::string replacement;           // kReplace
  std::optional<std::string> prepend;  // text to insert before
};

// Looks `text` up in `checks` (map_name for logs: "header_checks") and applies the action.
core::Result<CheckResult> ApplyContentCheck(const core::TableList& checks,
                                            std::string_view map_name, CheckContext context,
                                            std::string_view text, ContentCheckState& state);

// Applies one action (the table's value) to `text`; exposed for tests.
CheckResult ApplyAction(std::string_view value, std::string_view map_name, CheckContext context,
                        std::string_view text, ContentCheckState& state);

// Postfix's dsn_prepend: `text` unchanged when it starts with an enhanced status code
// ("4.7.1 ..."), else `default_code` + " " + text.
std::string PrependStatusCode(std::string_view default_code, std::string_view text);

}  // namespace moat::mta
