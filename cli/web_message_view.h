// web_message_view.h - what the review page shows of a held message, computed from its bytes:
// the headers, the MIME and archive tree, and a safe text view of the body.
//
// BuildMessageView(raw) decomposes the message once (scanners::Decomposer: MIME, archives,
// attached messages, libmagic types; under the scanners' DecodeLimits) and returns JSON:
//
//   headers       [{name, value}]  the message's header fields in order, RFC 2047 decoded to UTF-8
//                 (at most kMaxHeaders; `headers_truncated` true when cut)
//   parts         the content tree as `moat scan --json` prints its parts (path, name,
//                 declared_type, detected_type, short_type, size, encrypted, truncated, kind,
//                 depth, container_chain, container_format), document order, parents first
//   anomalies     [{kind, category, path, detail}]    limit_events  [{limit, path, detail}]
//   body          [{path, content_type, charset, attachment, text, source, truncated}] one per
//                 text/* MIME leaf: `text` is the part's text (text/html rendered to plain text the
//                 way SpamAssassin sees it: tags, scripts and styles dropped), `source` the HTML
//                 source of text/html parts ("" otherwise); each cut at kMaxPartText bytes, all
//                 of them together at kMaxBodyText.
//
// Nothing here is made safe for HTML: the page inserts every string as text (textContent), never
// as markup, and the server's CSP forbids inline script anyway. All strings are valid UTF-8.
//
// Thread safety: may be called from several threads at once (each thread keeps its own
// Decomposer, whose libmagic handle is not thread-safe). Errors: kTempFail when the decomposer
// cannot be set up; hostile input never fails.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/error.h"

namespace moat::cli {

inline constexpr size_t kMaxHeaders = 500;
inline constexpr size_t kMaxPartText = 256 * 1024;
inline constexpr size_t kMaxBodyText = 1024 * 1024;

core::Result<nlohmann::json> BuildMessageView(std::string_view raw);

}  // namespace moat::cli
