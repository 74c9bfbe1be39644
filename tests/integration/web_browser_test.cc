// web_browser_test.cc - the quarantine review end to end in a real browser: Debian's chromium,
// driven through chromedriver by tests/integration/web_browser_driver.py (Debian's
// python3-selenium), against `moat web` and Postfix's smtp-sink as the return listener.
//
// The driver logs in, filters, opens the virus message, releases it and waits for it at the
// sink, checks that hostile content shows as text and runs nothing, and looks at the dashboard.
// Screenshots (list.png, message.png, hostile.png, dashboard.png, ...) and the browser's console
// log stay in build/test-artifacts/web/. Skips only when chromium, chromedriver or selenium is
// not installed (cmake/debian-deps.sh installs them with the test packages).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/web_test_env.h"

namespace moat::cli {
namespace {

using namespace std::chrono_literals;

bool IsPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof magic);
  return in && std::string(magic, 8) == "\x89PNG\r\n\x1a\n" &&
         std::filesystem::file_size(path) > 10'000;
}

TEST(WebBrowserTest, ReviewReleaseAndHostileContentInChromium) {
  for (const char* tool : {"/usr/bin/chromium", "/usr/bin/chromedriver", "smtp-sink"}) {
    if (!moat::testing::HaveTool(tool)) {
      GTEST_SKIP() << tool << " is not installed (apt-get install chromium chromium-driver "
                   << "python3-selenium postfix; cmake/debian-deps.sh lists them)";
    }
  }
  auto selenium = moat::testing::RunCommand(
      {moat::testing::kSystemPython, "-I", "-c", "import selenium.webdriver"}, moat::testing::WithTimeout(30s));
  if (selenium.exit_code != 0) {
    GTEST_SKIP() << "Debian's python3-selenium is not installed: " << selenium.err;
  }

  webtest::WebReviewEnv env;
  ASSERT_TRUE(env.sink().ready());
  ASSERT_TRUE(env.StartWeb()) << env.web().Stderr();
  std::string artifacts = std::string(MOAT_BINARY_DIR) + "/test-artifacts/web";
  std::filesystem::remove_all(artifacts);
  std::filesystem::create_directories(artifacts);

  auto run = moat::testing::RunCommand(
      {moat::testing::kSystemPython,
       "-I",
       moat::testing::SourcePath("tests/integration/web_browser_driver.py"),
       "--url",
       "http://127.0.0.1:" + std::to_string(env.port()) + "/",
       "--admin",
       "alice",
       "--admin-password",
       webtest::kAdminPassword,
       "--reviewer",
       "bob",
       "--reviewer-password",
       webtest::kReviewerPassword,
       "--virus-id",
       env.virus_id(),
       "--hostile-id",
       env.hostile_id(),
       "--sink-dir",
       env.sink().dump_directory(),
       "--artifacts",
       artifacts},
      moat::testing::WithTimeout(240s, artifacts));
  EXPECT_EQ(run.exit_code, 0) << "driver stdout:\n"
                              << run.out << "\ndriver stderr:\n"
                              << run.err << "\nmoat web stderr:\n"
                              << env.web().Stderr();
  EXPECT_NE(run.out.find("all browser checks passed"), std::string::npos) << run.out;

  for (const char* shot : {"list.png", "message.png", "hostile.png", "dashboard.png"}) {
    EXPECT_TRUE(IsPng(artifacts + "/" + shot)) << shot;
  }
  // The sink saw exactly the one release, and the quarantine recorded it.
  auto messages = env.sink().Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("X-Quarantine-Released: id " + env.virus_id()), std::string::npos);
  auto shown = moat::testing::RunCommand({moat::testing::BinaryPath("moat"), "-c", env.conf(),
                                          "quarantine", "show", env.virus_id(), "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  auto entry = nlohmann::json::parse(shown.out);
  EXPECT_EQ(entry["state"], "released");
  EXPECT_EQ(entry["history"][0]["actor"], "web:alice");
}

}  // namespace
}  // namespace moat::cli
