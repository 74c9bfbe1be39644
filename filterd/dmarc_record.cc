// dmarc_record.cc - DMARC tag-list parsing (see dmarc_record.h).
#include "filterd/dmarc_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace moat::filterd {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                           text.front() == '\n')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Tag {
  std::string name;  // lowercased
  std::string_view value;
};

// Splits at ';'; parts without '=' are reported through `notes` and skipped.
std::vector<Tag> SplitTags(std::string_view text, std::vector<std::string>* notes) {
  std::vector<Tag> tags;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find(';', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = Trim(text.substr(at, end - at));
    at = end + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (notes != nullptr) notes->push_back(fmt::format("\"{}\": not a tag, ignored", part));
      continue;
    }
    tags.push_back({Lower(Trim(part.substr(0, eq))), Trim(part.substr(eq + 1))});
  }
  return tags;
}

bool IsSchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] (section 6.4); a URI here is a scheme,
// ':' and something after it.
bool IsDmarcUri(std::string_view uri) {
  uri = Trim(uri);
  size_t bang = uri.rfind('!');
  if (bang != std::string_view::npos) {
    std::string_view size = uri.substr(bang + 1);
    if (!size.empty() && std::string_view("kmgt").find(static_cast<char>(std::tolower(
                             static_cast<unsigned char>(size.back())))) != std::string_view::npos) {
      size.remove_suffix(1);
    }
    if (size.empty() || !std::all_of(size.begin(), size.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
    uri = uri.substr(0, bang);
  }
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= uri.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(uri[0]))) return false;
  if (!std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), IsSchemeChar)) {
    return false;
  }
  return std::none_of(uri.begin(), uri.end(), [](char c) {
    return c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20;
  });
}

bool HasValidReportUri(std::string_view list) {
  size_t at = 0;
  while (at <= list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string_view::npos) end = list.size();
    if (IsDmarcUri(list.substr(at, end - at))) return true;
    at = end + 1;
  }
  return false;
}

std::optional<DmarcAlignment> ParseAlignment(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "r") return DmarcAlignment::kRelaxed;
  if (lower == "s") return DmarcAlignment::kStrict;
  return std::nullopt;
}

std::optional<int> ParsePercent(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0 || value > 100) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string_view DmarcPolicyName(DmarcPolicy policy) {
  switch (policy) {
    case DmarcPolicy::kNone:
      return "none";
    case DmarcPolicy::kQuarantine:
      return "quarantine";
    case DmarcPolicy::kReject:
      return "reject";
  }
  return "none";
}

std::optional<DmarcPolicy> ParseDmarcPolicy(std::string_view text) {
  std::string lower = Lower(Trim(text));
  if (lower == "none") return DmarcPolicy::kNone;
  if (lower == "quarantine") return DmarcPolicy::kQuarantine;
  if (lower == "reject") return DmarcPolicy::kReject;
  return std::nullopt;
}

DmarcPolicy NextLessStrict(DmarcPolicy policy) {
  switch (policy) {
    case DmarcPolicy::kReject:
      return DmarcPolicy::kQuarantine;
    case DmarcPolicy::kQuarantine:
    case DmarcPolicy::kNone:
      return DmarcPolicy::kNone;
  }
  return DmarcPolicy::kNone;
}

std::string DmarcRecord::Summary() const {
  return fmt::format(
      "p={}{} adkim={} aspf={} pct={}", DmarcPolicyName(policy),
      subdomain_policy ? fmt::format(" sp={}", DmarcPolicyName(*subdomain_policy)) : std::string(),
      dkim_alignment == DmarcAlignment::kStrict ? "s" : "r",
      spf_alignment == DmarcAlignment::kStrict ? "s" : "r", percent);
}

bool IsDmarcRecord(std::string_view text) {
  std::string_view rest = Trim(text);
  if (rest.empty() || (rest.front() != 'v' && rest.front() != 'V')) return false;
  rest = Trim(rest.substr(1));
  if (rest.empty() || rest.front() != '=') return false;
  rest = Trim(rest.substr(1));
  if (!rest.starts_with("DMARC1")) return false;
  rest = Trim(rest.substr(6));
  return rest.empty() || rest.front() == ';';
}

core::Result<DmarcRecord> ParseDmarcRecord(std::string_view text) {
  if (!IsDmarcRecord(text)) {
    return core::Fail(core::ErrorCode::kInvalid, "not a DMARC record (no leading v=DMARC1)");
  }
  DmarcRecord record;
  std::vector<Tag> tags = SplitTags(text, &record.notes);
  std::set<std::string> seen;
  std::optional<std::string_view> p, sp, rua;
  for (size_t i = 1; i < tags.size(); ++i) {  // tags[0] is v=DMARC1
    const Tag& tag = tags[i];
    if (!seen.insert(tag.name).second || tag.name == "v") {
      record.notes.push_back(fmt::format("{}={}: repeated tag, ignored", tag.name, tag.value));
      continue;
    }
    if (tag.name == "p") {
      p = tag.value;
    } else if (tag.name == "sp") {
      sp = tag.value;
    } else if (tag.name == "rua") {
      rua = tag.value;
    } else if (tag.name == "adkim" || tag.name == "aspf") {
      auto mode = ParseAlignment(tag.value);
      if (!mode) {
        record.notes.push_back(fmt::format("{}={}: not r or s, using r", tag.name, tag.value));
      } else if (tag.name == "adkim") {
        record.dkim_alignment = *mode;
      } else {
        record.spf_alignment = *mode;
      }
    } else if (tag.name == "pct") {
      auto percent = ParsePercent(tag.value);
      if (!percent) {
        record.notes.push_back(fmt::format("pct={}: not 0-100, using 100", tag.value));
      } else {
        record.percent = *percent;
      }
    }
    // ruf, fo, rf, ri and unknown tags: accepted and ignored.
  }

  std::string problem;
  std::optional<DmarcPolicy> policy = p ? ParseDmarcPolicy(*p) : std::nullopt;
  std::optional<DmarcPolicy> subdomain_policy = sp ? ParseDmarcPolicy(*sp) : std::nullopt;
  if (!p) {
    problem = "no p= tag";
  } else if (!policy) {
    problem = fmt::format("p={} is not none, quarantine or reject", *p);
  } else if (sp && !subdomain_policy) {
    problem = fmt::format("sp={} is not none, quarantine or reject", *sp);
  }
  if (problem.empty()) {
    record.policy = *policy;
    record.subdomain_policy = subdomain_policy;
    return record;
  }
  if (rua && HasValidReportUri(*rua)) {
    // Section 6.6.3 step 6.1: a record asking for reports still counts, as "p=none".
    record.policy = DmarcPolicy::kNone;
    record.subdomain_policy.reset();
    record.policy_from_rua = true;
    record.notes.push_back(problem + "; acting as p=none because rua is valid");
    return record;
  }
  return core::Fail(core::ErrorCode::kInvalid, "malformed DMARC record: {}", problem);
}

}  // namespace moat::filterd
