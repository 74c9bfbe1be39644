// golden.h - the golden corpus of the content pipeline: which messages, where their expected
// results live, and how a `moat scan --json` report is compared with them.
//
// Messages: every .eml/.msg under testdata/corpus (the content corpus and the other folders'),
// plus "generated" ones the tests build at run time (viruses in archives, encrypted archives,
// bombs - never stored). Expected results (.expected.json):
//   testdata/corpus/content/X.eml        ->  testdata/corpus/content/X.expected.json (beside it)
//   testdata/corpus/<other>/Y.eml        ->  testdata/corpus/content/elsewhere/<other>/Y.expected.json
//   generated NAME                       ->  testdata/corpus/content/generated/NAME.expected.json
// (other folders belong to other modules, so their expectations are kept here).
//
// An expected file holds: verdict (required); optionally policy_bank (the bank to scan with,
// default inbound), destiny, dkim ([{domain, selector, algorithm, result}]) and findings
// ([{stage, name, class, part}]). Comparison: verdict, destiny, policy_bank and dkim must be
// equal; every expected finding must be there; and every finding of a class other than CLEAN
// must be expected (so a new VIRUS/BANNED/UNCHECKED/BAD-HEADER reason fails the test, while
// informational findings and rule hits may be listed or not). Projection() is what
// UPDATE_GOLDEN=1 writes: all of the above, all findings.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace moat::filterd::golden {

inline std::vector<std::string> CorpusMessages() {
  namespace fs = std::filesystem;
  std::string root = moat::testing::SourcePath("testdata/corpus");
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    if (ext != ".eml" && ext != ".msg") continue;
    out.push_back(fs::relative(entry.path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// `relative` is a path under testdata/corpus, or "generated/NAME".
inline std::string ExpectedPath(const std::string& relative) {
  std::string base = moat::testing::SourcePath("testdata/corpus/content/");
  std::string stem = relative;
  size_t dot = stem.rfind('.');
  if (dot != std::string::npos && stem.find('/', dot) == std::string::npos &&
      !relative.starts_with("generated/")) {
    stem.resize(dot);
  }
  if (relative.starts_with("content/")) return base + stem.substr(8) + ".expected.json";
  if (relative.starts_with("generated/")) return base + stem + ".expected.json";
  return base + "elsewhere/" + stem + ".expected.json";
}

inline nlohmann::json Projection(const nlohmann::json& report) {
  nlohmann::json out;
  out["verdict"] = report["verdict"];
  out["policy_bank"] = report["policy_bank"];
  out["destiny"] = report["destiny"];
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report["findings"]) {
    findings.push_back(
        {{"stage", f["stage"]}, {"name", f["name"]}, {"class", f["class"]}, {"part", f["part"]}});
  }
  out["findings"] = std::move(findings);
  nlohmann::json dkim = nlohmann::json::array();
  for (const auto& d : report["dkim"]) {
    dkim.push_back({{"domain", d["domain"]},
                    {"selector", d["selector"]},
                    {"algorithm", d["algorithm"]},
                    {"result", d["result"]}});
  }
  out["dkim"] = std::move(dkim);
  return out;
}

inline bool FindingMatches(const nlohmann::json& expected, const nlohmann::json& actual) {
  for (const auto& [key, value] : expected.items()) {
    if (!actual.contains(key) || actual[key] != value) return false;
  }
  return true;
}

// Empty when `report` (a full `moat scan --json` object) meets `expected`; else the reasons.
inline std::vector<std::string> Compare(const nlohmann::json& expected,
                                        const nlohmann::json& report) {
  std::vector<std::string> problems;
  nlohmann::json actual = Projection(report);
  for (const char* key : {"verdict", "destiny", "policy_bank", "dkim"}) {
    if (expected.contains(key) && expected[key] != actual[key]) {
      problems.push_back(std::string(key) + ": expected " + expected[key].dump() + ", got " +
                         actual[key].dump());
    }
  }
  if (!expected.contains("verdict")) problems.push_back("expected file has no verdict");
  const nlohmann::json none = nlohmann::json::array();
  const nlohmann::json& want = expected.contains("findings") ? expected["findings"] : none;
  for (const auto& w : want) {
    bool found = std::any_of(actual["findings"].begin(), actual["findings"].end(),
                             [&](const nlohmann::json& a) { return FindingMatches(w, a); });
    if (!found) problems.push_back("missing finding " + w.dump());
  }
  for (const auto& a : actual["findings"]) {
    if (a["class"] == "CLEAN") continue;
    bool expected_it = std::any_of(want.begin(), want.end(), [&](const nlohmann::json& w) {
      return FindingMatches(w, a);
    });
    if (!expected_it) problems.push_back("unexpected finding " + a.dump());
  }
  return problems;
}

inline bool UpdateGolden() {
  const char* update = std::getenv("UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

}  // namespace moat::filterd::golden
