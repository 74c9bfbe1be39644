// html_entities.h - named character references, as HTML::Parser (HTML::Entities) knows them.
//
// LookupEntity("amp") is the code point of "&amp;". LookupLegacyEntityPrefix() finds the longest
// prefix of a name that is a legacy entity usable without ';' ("&copy2024" -> U+00A9, 4).
// Immutable tables; thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace moat::rules {

std::optional<unsigned> LookupEntity(std::string_view name);
std::optional<std::pair<unsigned, size_t>> LookupLegacyEntityPrefix(std::string_view name);

}  // namespace moat::rules
