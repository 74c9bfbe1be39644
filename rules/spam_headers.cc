// spam_headers.cc - amavisd-new's spam tagging, reproduced for Moat's filter stage.
#include "rules/spam_headers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace moat::rules {

std::string_view SpamClassName(SpamClass c) {
  switch (c) {
    case SpamClass::kClean:
      return "CLEAN";
    case SpamClass::kSpammy:
      return "SPAMMY";
    case SpamClass::kSpam:
      return "SPAM";
  }
  return "CLEAN";
}

std::string FormatLevel(double value) {
  std::string s = fmt::format("{:.3f}", value);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

SpamDecision DecideSpam(const Evaluation& evaluation, const SpamLevels& levels) {
  SpamDecision d;
  // Round as the headers show it, so "required" and the verdict never disagree visibly.
  d.score = std::round(evaluation.score * 1000.0) / 1000.0;
  d.add_headers = !levels.tag_level || d.score >= *levels.tag_level;
  d.spam = d.score >= levels.tag2_level;
  d.content_class = d.score >= levels.kill_level ? SpamClass::kSpam
                    : d.spam                     ? SpamClass::kSpammy
                                                 : SpamClass::kClean;
  if (d.spam && !levels.subject_tag.empty()) d.subject_tag = levels.subject_tag;
  if (!d.add_headers) return d;

  std::string score = fmt::format("{:.3f}", d.score);
  if (score == "-0.000") score = "0.000";
  int stars = d.score >= 1 ? static_cast<int>(std::min(64.0, std::floor(d.score))) : 0;
  std::string tests;
  for (const RuleHit& hit : evaluation.hits) {
    for (int i = 0; i < hit.count; ++i) {
      if (!tests.empty()) tests += ", ";
      tests += hit.name + "=" + FormatLevel(hit.rule_score);
    }
  }
  if (tests.empty()) tests = "none";
  std::string status = fmt::format(
      "{}, score={} tagged_above={} required={}", d.spam ? "Yes" : "No", score,
      levels.tag_level ? FormatLevel(*levels.tag_level) : "-999", FormatLevel(levels.tag2_level));
  // Fold the test list onto continuation lines of at most ~78 characters.
  std::string folded = "\n\ttests=[";
  size_t line_length = 8;
  size_t pos = 0;
  std::string_view list = tests;
  while (pos < list.size()) {
    size_t comma = list.find(", ", pos);
    std::string_view item =
        list.substr(pos, comma == std::string_view::npos ? list.npos : comma + 1 - pos);
    if (line_length + item.size() > 76 && line_length > 8) {
      folded += "\n\t";
      line_length = 1;
    } else if (pos > 0) {
      folded += ' ';
      ++line_length;
    }
    folded += item;
    line_length += item.size();
    pos = comma == std::string_view::npos ? list.size() : comma + 2;
  }
  folded += "]";
  d.headers.emplace_back("X-Spam-Flag", d.spam ? "YES" : "NO");
  d.headers.emplace_back("X-Spam-Score", score);
  d.headers.emplace_back("X-Spam-Level", std::string(static_cast<size_t>(stars), '*'));
  d.headers.emplace_back("X-Spam-Status", status + folded);
  return d;
}

std::string RemoveSpamHeaders(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t pos = 0;
  bool dropping = false;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, end - pos);
    if (line == "\n" || line == "\r\n") {  // end of the header section: copy the rest verbatim
      out.append(message.substr(pos));
      return out;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!dropping) out.append(line);
    } else {
      dropping = line.size() >= 7 &&
                 std::equal(line.begin(), line.begin() + 7, "x-spam-", [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
                 });
      if (!dropping) out.append(line);
    }
    pos = end;
  }
  return out;
}

}  // namespace moat::rules
