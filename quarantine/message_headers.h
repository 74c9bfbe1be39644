// message_headers.h - the little header reading the quarantine needs from a raw message: the
// header section for `show --headers`, the first value of a field for the index when the filter
// left From/Subject/Message-ID empty, and the message's own line ending so an added header matches.
//
// Lenient on purpose (held mail is often malformed): a message without a blank line is all header;
// LF and CRLF endings are both accepted. Values are unfolded, not RFC 2047-decoded, and cut at
// kMaxHeaderValue bytes. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace moat::quarantine {

inline constexpr size_t kMaxHeaderValue = 998;

// The header section including the blank line that ends it (the whole message when none).
std::string_view HeaderSection(std::string_view message);

// The unfolded, trimmed value of the first `name:` field (case-insensitive), or nullopt.
std::optional<std::string> FirstHeaderValue(std::string_view message, std::string_view name);

// "\r\n" when the first line ends with CRLF or the message has no line end; "\n" otherwise.
std::string_view LineEnding(std::string_view message);

}  // namespace moat::quarantine
