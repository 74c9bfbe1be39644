// banned_name_test.cc - attachment names normalised the way Windows runs them.
#include "rules/banned_name.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

struct Case {
  const char* raw;
  const char* name;
  std::vector<std::string> extensions;
  bool trick;
};

class NormalizeTest : public ::testing::TestWithParam<Case> {};

TEST_P(NormalizeTest, UndoesTheTrick) {
  const Case& c = GetParam();
  NormalizedName n = NormalizeAttachmentName(c.raw);
  EXPECT_EQ(n.name, c.name) << c.raw;
  EXPECT_EQ(n.extensions, c.extensions) << c.raw;
  EXPECT_EQ(n.unicode_trick, c.trick) << c.raw;
}

INSTANTIATE_TEST_SUITE_P(
    Names, NormalizeTest,
    ::testing::Values(
        Case{"Report.PDF", "report.pdf", {"pdf"}, false},
        Case{"archive.tar.gz", "archive.tar.gz", {"tar", "gz"}, false},
        Case{"invoice.exe.", "invoice.exe", {"exe"}, false},
        Case{"invoice.exe . . ", "invoice.exe", {"exe"}, false},
        Case{"  spaced.doc", "spaced.doc", {"doc"}, false},
        // U+202E RIGHT-TO-LEFT OVERRIDE: shown as "photoexe.png".
        Case{"photo\xE2\x80\xAEgnp.exe", "photognp.exe", {"exe"}, true},
        // U+200B ZERO WIDTH SPACE inside the extension.
        Case{"setup.e\xE2\x80\x8Bxe", "setup.exe", {"exe"}, true},
        // U+FF0E FULLWIDTH FULL STOP and full-width "exe".
        Case{"invoice\xEF\xBC\x8E\xEF\xBD\x85\xEF\xBD\x98\xEF\xBD\x85", "invoice.exe", {"exe"},
             true},
        // U+2024 ONE DOT LEADER.
        Case{"scan\xE2\x80\xA4scr", "scan.scr", {"scr"}, true},
        // Paths are cut to the base name.
        Case{"C:\\Users\\x\\evil.js", "evil.js", {"js"}, false},
        Case{"dir/sub/file.vbs", "file.vbs", {"vbs"}, false},
        Case{"tab\there.bat", "tabhere.bat", {"bat"}, true},
        Case{"bad\xFF.exe", "bad\xEF\xBF\xBD.exe", {"exe"}, true},
        Case{".exe", ".exe", {"exe"}, false},
        Case{"noextension", "noextension", {}, false},
        Case{"", "", {}, false}));

TEST(NormalizeTest, NamesEachTrick) {
  NormalizedName n = NormalizeAttachmentName("a\xE2\x80\xAE" "fdp.exe.");
  ASSERT_EQ(n.tricks.size(), 2u);
  EXPECT_EQ(n.tricks[0], "U+202E RIGHT-TO-LEFT OVERRIDE");
  EXPECT_EQ(n.tricks[1], "trailing dots or spaces");
}

TEST(NormalizeTest, PaddingDoesNotHideTheLastExtension) {
  std::string padded = "report.pdf" + std::string(60, ' ') + ".exe";
  NormalizedName n = NormalizeAttachmentName(padded);
  EXPECT_EQ(n.extensions, (std::vector<std::string>{"pdf", "exe"}));
  EXPECT_TRUE(n.DoubleExtension({"exe"}));
  // Non-breaking spaces as padding count as spaces.
  NormalizedName nbsp = NormalizeAttachmentName("report.pdf\xC2\xA0\xC2\xA0.exe\xC2\xA0");
  EXPECT_EQ(nbsp.name, "report.pdf  .exe");
  EXPECT_EQ(nbsp.last_extension(), "exe");
}

TEST(NormalizeTest, DoubleExtensionNeedsALetterBeforeTheLast) {
  EXPECT_TRUE(NormalizeAttachmentName("invoice.pdf.exe").DoubleExtension());
  EXPECT_TRUE(NormalizeAttachmentName("invoice.pdf.exe").DoubleExtension({"exe", "scr"}));
  EXPECT_FALSE(NormalizeAttachmentName("invoice.pdf.exe").DoubleExtension({"scr"}));
  EXPECT_FALSE(NormalizeAttachmentName("setup-1.2.exe").DoubleExtension());
  EXPECT_FALSE(NormalizeAttachmentName("setup.exe").DoubleExtension());
}

}  // namespace
}  // namespace moat::rules
