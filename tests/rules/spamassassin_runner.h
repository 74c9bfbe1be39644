// spamassassin_runner.h - runs the real `spamassassin` over messages and reads its rule hits.
//
// TEST-ONLY helper for the agreement test and benchmark. One `spamassassin` process checks all
// messages (as an mbox, so the rules compile once) with network tests off (-L), Bayes and
// auto-learning off, the stock rules of the given directory, the plugin set of Debian's
// /etc/spamassassin/*.pre and no site or user rules. Rule hits come from the `-D rules` debug
// log ("ran <kind> rule NAME ======> got hit"), which also lists __ sub-rules; each message's
// log ends at its "check: is spam?" line.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::rules::testing {

struct SpamAssassinResult {
  std::map<std::string, std::string> hits;  // rule -> kind ("header", "body", "meta", "eval"...)
  double score = 0;
};

// The header the caller puts first in message i ("X-Moat-Agreement-Id: i\n").
inline constexpr const char* kIdHeader = "X-Moat-Agreement-Id: ";

// Escapes body lines starting with "From " (mboxo), as an mbox writer must; the caller checks
// the escaped text with Moat too, so both see the same bytes.
inline std::string MboxEscape(const std::string& message) {
  std::string out;
  size_t pos = 0;
  bool first = true;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string::npos ? message.size() : nl + 1;
    std::string_view line(message.data() + pos, end - pos);
    if (!first && line.starts_with("From ")) out += '>';
    out.append(line);
    first = false;
    pos = end;
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

// Runs spamassassin over `messages` (already MboxEscape()d, message i starting with the id
// header for i). Results are in the order of `messages`; empty on failure.
inline std::vector<SpamAssassinResult> RunSpamAssassin(const std::vector<std::string>& messages,
                                                       const std::string& rules_directory,
                                                       const std::string& work_dir,
                                                       std::string* error) {
  namespace fs = std::filesystem;
  fs::create_directories(work_dir + "/site");
  for (const auto& entry : fs::directory_iterator("/etc/spamassassin")) {
    if (entry.path().extension() == ".pre") {
      fs::copy_file(entry.path(), work_dir + "/site/" + entry.path().filename().string(),
                    fs::copy_options::overwrite_existing);
    }
  }
  {
    std::ofstream site(work_dir + "/site/moat_agreement.cf");
    site << "use_bayes 0\nbayes_auto_learn 0\nuse_auto_welcomelist 0\n";
  }
  { std::ofstream prefs(work_dir + "/user_prefs"); }
  // spamassassin --mbox processes messages in date order, not file order: each message carries
  // an id header (added by the caller, see kIdHeader) and the -t output lists them as processed.
  std::string mbox;
  for (const std::string& m : messages) {
    mbox += "From moat-agreement@localhost Thu Jan  1 00:00:00 2026\n";
    mbox += m;
    mbox += "\n";
  }
  moat::testing::CommandOptions options;
  options.stdin_data = mbox;
  options.timeout = std::chrono::minutes(20);
  options.env["HOME"] = work_dir;
  auto result = moat::testing::RunCommand(
      {"spamassassin", "-L", "-t", "--mbox", "-D", "rules,check,mimeheader",
       "--configpath=" + rules_directory, "--siteconfigpath=" + work_dir + "/site", "-p",
       work_dir + "/user_prefs"},
      options);
  if (result.exit_code < 0) {
    *error = "spamassassin did not finish: " + result.err.substr(0, 2000);
    return {};
  }
  std::vector<size_t> order;
  for (size_t at = 0; (at = result.out.find(kIdHeader, at)) != std::string::npos;) {
    at += std::string_view(kIdHeader).size();
    order.push_back(std::stoul(result.out.substr(at, 12)));
  }
  std::vector<SpamAssassinResult> in_order;
  SpamAssassinResult current;
  std::istringstream log(result.err);
  std::string line;
  while (std::getline(log, line)) {
    // The MIMEHeader plugin logs its own hits: "mimeheader: ran rule NAME ======> got hit".
    size_t mime = line.find("mimeheader: ran rule ");
    if (mime != std::string::npos && line.find("======> got hit") != std::string::npos) {
      size_t name_begin = mime + 21;
      size_t name_end = line.find(' ', name_begin);
      current.hits[line.substr(name_begin, name_end - name_begin)] = "mimeheader";
      continue;
    }
    size_t ran = line.find("rules: ran ");
    if (ran != std::string::npos) {
      size_t kind_begin = ran + 11;
      size_t kind_end = line.find(" rule ", kind_begin);
      size_t name_begin = kind_end + 6;
      size_t name_end = line.find(' ', name_begin);
      if (kind_end == std::string::npos || name_end == std::string::npos) continue;
      if (line.find("======> got hit", name_end) == std::string::npos) continue;
      current.hits[line.substr(name_begin, name_end - name_begin)] =
          line.substr(kind_begin, kind_end - kind_begin);
      continue;
    }
    size_t verdict = line.find("check: is spam? score=");
    if (verdict != std::string::npos) {
      current.score = std::stod(line.substr(verdict + 22));
      in_order.push_back(std::move(current));
      current = SpamAssassinResult();
    }
  }
  if (in_order.size() != messages.size() || order.size() != messages.size()) {
    *error = "spamassassin reported " + std::to_string(in_order.size()) + " results (" +
             std::to_string(order.size()) + " ids) for " + std::to_string(messages.size()) +
             " messages: " + result.err.substr(0, 2000);
    return {};
  }
  std::vector<SpamAssassinResult> out(messages.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] >= out.size()) {
      *error = "bad message id in spamassassin output";
      return {};
    }
    out[order[i]] = std::move(in_order[i]);
  }
  return out;
}

}  // namespace moat::rules::testing
