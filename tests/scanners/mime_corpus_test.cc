// Third-party MIME corpora through the whole decomposition: every message of the Stalwart,
// mime4j, MimeKit, gmime, Email::MIME and nodemailer (denial-of-service fixtures) test suites
// parses without a crash and within the decoding limits; decoded bodies equal mime4j's oracles.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "scanners/decomposer.h"
#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using testing::ReadBinaryFile;
using testing::SharedCorpus;

std::vector<std::string> FilesUnder(const std::string& root) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool IsMessageFile(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".eml" || ext == ".msg" || ext == ".txt" || ext == ".mbox" || ext == "" ||
         ext == ".mime" || ext == ".crlf";
}

class MimeCorpusTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MimeCorpusTest, EveryMessageDecomposesWithinLimits) {
  auto root = SharedCorpus(std::string("mime/") + GetParam());
  if (!root) GTEST_SKIP() << "shared MIME corpus not available";
  auto decomposer = Decomposer::Create();
  ASSERT_TRUE(decomposer.has_value());
  size_t messages = 0;
  for (const std::string& path : FilesUnder(*root)) {
    if (!IsMessageFile(path) || path.find("_decoded") != std::string::npos) continue;
    std::string raw = ReadBinaryFile(path);
    auto tree = decomposer->Decompose(raw);
    ASSERT_TRUE(tree.has_value()) << path;
    ASSERT_FALSE(tree->nodes.empty()) << path;
    EXPECT_EQ(tree->nodes[0].path, "") << path;
    // Parents precede children, and every child knows its parent.
    for (size_t i = 1; i < tree->nodes.size(); ++i) {
      int parent = tree->nodes[i].parent;
      ASSERT_GE(parent, 0) << path;
      ASSERT_LT(parent, static_cast<int>(i)) << path;
    }
    EXPECT_FALSE(nlohmann::json::parse(ContentPartsJson(*tree)).empty());
    ++messages;
  }
  EXPECT_GT(messages, 0u);
  RecordProperty("messages", static_cast<int>(messages));
}

INSTANTIATE_TEST_SUITE_P(Corpora, MimeCorpusTest,
                         ::testing::Values("stalwart", "mime4j", "mimekit", "gmime", "email-mime",
                                           "nodemailer"));

// mime4j keeps every decoded body as X_decoded_1_2_1.txt/.bin. Its numbering counts the root
// entity ("1"), so for a multipart message "1_2" is our "2"; for a single-part one "1" is our
// "1". Where the two parsers read a malformed message differently, we must at least flag it.
const std::set<std::string> kKnownDivergent = {
    "ending-boundaries",         // "--boundary junk": a boundary to mime4j, text to gmime
    "very-very-long-boundary",   // a boundary far beyond RFC 2046's 70 characters
    "multipartemptypart",        // boundary line directly followed by the closing one
    "missing-inner-boundary",    // an inner multipart whose boundary never appears
    "malformedHeader-noheader",  // no header block at all
    "malformedHeaderStartsBody-noheader",
    "malformedHeaderStartsBody-nocrlfcrlf",
};

TEST(MimeCorpusOracleTest, DecodedBodiesMatchMime4j) {
  auto root = SharedCorpus("mime/mime4j/testmsgs");
  if (!root) GTEST_SKIP() << "mime4j corpus not available";
  auto decomposer = Decomposer::Create();
  ASSERT_TRUE(decomposer.has_value());
  size_t compared = 0;
  std::set<std::string> flagged;
  std::vector<std::string> mismatches;
  for (const std::string& path : FilesUnder(*root)) {
    std::string file = std::filesystem::path(path).filename().string();
    // X_decoded_1_2_1.txt -> stem X, numbering 1_2_1
    size_t at = file.find("_decoded_1");
    size_t dot = file.rfind('.');
    if (at == std::string::npos || dot == std::string::npos || dot < at) continue;
    std::string ext = file.substr(dot);
    if (ext != ".txt" && ext != ".bin") continue;
    std::string stem = file.substr(0, at);
    std::string numbering = file.substr(at + 9, dot - at - 9);
    if (numbering.find_first_not_of("0123456789_") != std::string::npos) continue;
    std::string message = *root + "/" + stem + ".msg";
    if (!std::filesystem::exists(message)) continue;
    auto tree = decomposer->Decompose(ReadBinaryFile(message));
    ASSERT_TRUE(tree.has_value());
    if (kKnownDivergent.count(stem) != 0) {
      EXPECT_FALSE(tree->anomalies.empty()) << stem << " is read differently but not flagged";
      flagged.insert(stem);
      continue;
    }
    std::replace(numbering.begin(), numbering.end(), '_', '/');
    bool multipart_root = tree->nodes[0].declared_type.starts_with("multipart/");
    std::string part_path =
        multipart_root ? numbering.substr(std::min<size_t>(2, numbering.size())) : numbering;
    const ContentNode* node = nullptr;
    for (const ContentNode& n : tree->nodes) {
      if (n.path == part_path) node = &n;
    }
    // mime4j also numbers the entity inside a message/rfc822 part; such oracles have no
    // counterpart in IMAP numbering and are not compared.
    if (node == nullptr || node->kind == ContentNodeKind::kMessage ||
        node->kind == ContentNodeKind::kMultipart) {
      continue;
    }
    std::string expected = ReadBinaryFile(path);
    ++compared;
    if (tree->bytes(*node) != expected) {
      mismatches.push_back(fmt::format("{}: part {} has {} bytes, oracle {}", file, part_path,
                                       tree->bytes(*node).size(), expected.size()));
    }
  }
  EXPECT_GE(compared, 25u);
  EXPECT_EQ(flagged, kKnownDivergent);
  std::string report;
  for (const std::string& line : mismatches) report += "  " + line + "\n";
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " of " << compared << "\n" << report;
  RecordProperty("compared", static_cast<int>(compared));
}

}  // namespace
}  // namespace moat::scanners
