// cleanup_content.h - cleanup's pass over the message content (Postfix's cleanup_message.c with
// mime_state.c): one line at a time, MIME-aware, producing the content that is queued.
//
// What it does, in Postfix's order:
//   - message_reject_characters / message_strip_characters on every line;
//   - groups header lines into logical headers (a line starting with space or TAB continues
//     the header); each logical header is matched as its lines joined by "\n" (as Postfix
//     presents it to header_checks);
//   - header classes: primary message headers go to header_checks, except MIME headers
//     (Content-*, MIME-Version) which go to mime_header_checks, as do the headers of multipart
//     parts; headers of an attached message/rfc822 go to nested_header_checks (its MIME headers
//     to mime_header_checks);
//   - body lines (everything else, boundary lines included) go to body_checks, in pieces of at
//     most line_length_limit bytes, for the first body_checks_size_limit bytes of each MIME
//     segment;
//   - primary headers only: Received headers are counted (hopcount_limit); sender and recipient
//     headers get canonical mapping and masquerading when a header rewrite context applies
//     (local_header_rewrite_clients / remote_header_rewrite_domain); message_drop_headers are
//     removed; at their end the missing Message-Id, Date, From (Resent- variants when the message
//     has Resent- headers) and undisclosed_recipients_header are added;
//   - MIME nesting deeper than mime_nesting_limit is treated as plain body.
// Headers and lines no action touches are copied byte for byte (line ends become CRLF).
//
// Errors: kTempFail "4.3.0 ..." for table lookup problems (the message is deferred). Decisions
// (REJECT, DISCARD, HOLD, FILTER, REDIRECT, BCC) are left in the ContentCheckState for the caller.
// Not thread-safe: one call per message; settings and tables are shared read-only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/error.h"
#include "mta/cleanup_address_map.h"
#include "mta/cleanup_checks.h"
#include "mta/cleanup_settings.h"

namespace moat::mta {

enum class HeaderRewriteContext { kNone, kLocal, kRemote };

struct ContentInput {
  bool checks_enabled = true;  // false: receive_override_options = no_header_body_checks
  HeaderRewriteContext rewrite = HeaderRewriteContext::kNone;
  bool add_missing_headers = false;  // rewrite context set, or always_add_missing_headers
  // For the headers added when missing.
  std::string queue_id;
  std::string sender;  // internal form; empty: the null sender
  std::chrono::system_clock::time_point arrival;
};

struct ContentOutput {
  std::string content;
  int received_headers = 0;  // primary Received headers, ours included
};

core::Result<ContentOutput> ProcessContent(std::string_view input, const ContentInput& options,
                                           const CleanupSettings& settings,
                                           const AddressMapper& mapper, ContentCheckState& checks);

}  // namespace moat::mta
