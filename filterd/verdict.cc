// verdict.cc - names of content classes and destinies as amavis spells them.
#include "filterd/verdict.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace moat::filterd {
namespace {

constexpr std::array<std::pair<ContentClass, std::string_view>, 7> kClassNames = {{
    {ContentClass::kClean, "CLEAN"},
    {ContentClass::kSpammy, "SPAMMY"},
    {ContentClass::kBadHeader, "BAD-HEADER"},
    {ContentClass::kSpam, "SPAM"},
    {ContentClass::kUnchecked, "UNCHECKED"},
    {ContentClass::kBanned, "BANNED"},
    {ContentClass::kVirus, "VIRUS"},
}};

constexpr std::array<std::pair<Destiny, std::string_view>, 4> kDestinyNames = {{
    {Destiny::kPass, "PASS"},
    {Destiny::kDiscard, "DISCARD"},
    {Destiny::kBounce, "BOUNCE"},
    {Destiny::kReject, "REJECT"},
}};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view ContentClassName(ContentClass content_class) {
  for (const auto& [value, name] : kClassNames) {
    if (value == content_class) return name;
  }
  return "UNKNOWN";
}

std::optional<ContentClass> ParseContentClass(std::string_view name) {
  for (const auto& [value, known] : kClassNames) {
    if (EqualsIgnoringCase(name, known)) return value;
  }
  if (EqualsIgnoringCase(name, "BADH") || EqualsIgnoringCase(name, "BAD_HEADER")) {
    return ContentClass::kBadHeader;
  }
  return std::nullopt;
}

std::string_view DestinyName(Destiny destiny) {
  for (const auto& [value, name] : kDestinyNames) {
    if (value == destiny) return name;
  }
  return "UNKNOWN";
}

std::optional<Destiny> ParseDestiny(std::string_view name) {
  if (name.size() > 2 && (name[0] == 'D' || name[0] == 'd') && name[1] == '_') name.remove_prefix(2);
  for (const auto& [value, known] : kDestinyNames) {
    if (EqualsIgnoringCase(name, known)) return value;
  }
  return std::nullopt;
}

}  // namespace moat::filterd
