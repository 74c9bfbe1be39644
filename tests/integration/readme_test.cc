// readme_test.cc - the README's configuration reference is the parameter registry's: the tables
// between <!-- config-reference:begin --> and <!-- config-reference:end --> are made from
// `moat config show -d --doc` (main.cf) and `moat config show --filterd -d --doc` (filterd.cf).
// A mismatch fails and writes the expected README to the build folder; UPDATE_GOLDEN=1 rewrites
// the README's section instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::testing {
namespace {

constexpr std::string_view kBegin = "<!-- config-reference:begin -->\n";
constexpr std::string_view kEnd = "<!-- config-reference:end -->\n";

std::string EscapeCell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// `moat config show -d --doc` output ("# doc [type]" then "name = default") as a markdown table.
std::string Table(const std::string& doc_output) {
  std::string table = "| parameter | default | type | meaning |\n|---|---|---|---|\n";
  std::istringstream lines(doc_output);
  std::string doc;
  std::size_t rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# ")) {
      doc = line.substr(2);
      continue;
    }
    std::size_t eq = line.find(" =");
    if (line.empty() || eq == std::string::npos || doc.empty()) continue;
    std::string name = line.substr(0, eq);
    std::string value = eq + 3 <= line.size() ? line.substr(eq + 3) : "";
    std::string type;
    if (doc.ends_with("]")) {
      std::size_t open = doc.rfind(" [");
      if (open != std::string::npos) {
        type = doc.substr(open + 2, doc.size() - open - 3);
        doc = doc.substr(0, open);
      }
    }
    table += "| `" + name + "` | " + (value.empty() ? "" : "`" + EscapeCell(value) + "`") + " | " +
             EscapeCell(type) + " | " + EscapeCell(doc) + " |\n";
    doc.clear();
    ++rows;
  }
  EXPECT_GT(rows, 20u) << doc_output;
  return table;
}

std::string Show(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      BinaryPath("moat"), "-c", SourcePath("conf"), "config", "show", "-d", "--doc"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // config_directory's value is where this checkout is; the reference shows the documented
  // default, so the README does not depend on the path of the clone.
  const std::string here = SourcePath("conf");
  for (std::size_t at = r.out.find(here); at != std::string::npos; at = r.out.find(here, at)) {
    r.out.replace(at, here.size(), "/etc/moat");
  }
  return r.out;
}

TEST(ReadmeTest, ConfigurationReferenceIsTheRegistry) {
  std::string reference = std::string(kBegin) + "\n### main.cf (moat-mta)\n\n" + Table(Show({})) +
                          "\n### filterd.cf (moat-filterd)\n\n" + Table(Show({"--filterd"})) +
                          "\n" + std::string(kEnd);
  const std::string path = SourcePath("README.md");
  std::string readme = ReadTextFile(path);
  std::size_t begin = readme.find(kBegin);
  std::size_t end = readme.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "README.md has no " << kBegin;
  ASSERT_NE(end, std::string::npos) << "README.md has no " << kEnd;
  ASSERT_LT(begin, end);
  std::string expected = readme.substr(0, begin) + reference + readme.substr(end + kEnd.size());
  if (expected == readme) return;
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << expected;
    return;
  }
  std::string actual = std::string(MOAT_BINARY_DIR) + "/README.md.expected";
  std::ofstream(actual, std::ios::binary) << expected;
  ADD_FAILURE() << "README.md's configuration reference differs from the parameter registry; "
                   "the README it should be is "
                << actual << " (UPDATE_GOLDEN=1 rewrites README.md)";
}

}  // namespace
}  // namespace moat::testing
