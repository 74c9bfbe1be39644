// mta_crash_delivery_test.cc - kill -9 of moat-mta while it delivers under load, with real
// peers: Postfix's smtp-source pushes 1,000 messages in over 8 sessions while moat-mta
// relays them to Postfix's smtp-sink (which writes every message to its own file); moat-mta is
// killed with SIGKILL in the middle, restarted, and the queue drains.
//
// What must hold (README.md, "Delivery guarantees"):
//   - every message smtp-source saw a 250 for ("queued as ID") reaches the sink at least once;
//   - a message reaches it twice only if it was in flight at the kill: the next hop had said (or
//     was about to say) 250, but its recipient's 'D' mark was not yet written. That is at most
//     one message per delivery session, so duplicates <= the destination concurrency limit.
// Messages are told apart by moat-mta's queue ID in its own Received header ("by
// mx.example.test (...) with ESMTP id ID"), which a redelivery repeats. The test prints the
// figures (accepted, delivered, duplicates) it measured.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include "tests/integration/mta_process.h"

namespace moat::mta {
namespace {

using moat::testing::TempDir;
using moat::testing::WaitUntil;
using testing::MtaProcess;
using testing::SinkProcess;
using namespace std::chrono_literals;

constexpr int kMessages = 1000;

// Files smtp-sink has written so far (cheap enough to poll, unlike reading them all).
std::size_t DumpFiles(const std::string& directory) {
  std::size_t n = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(directory, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    n += it->is_regular_file() ? 1 : 0;
  }
  return n;
}
constexpr int kConcurrency = 20;  // smtp_destination_concurrency_limit (Postfix default)

TEST(MtaCrashDeliveryTest, KillNineMidDeliveryLosesNothingAndDuplicatesOnlyInFlight) {
  TempDir dir;
  SinkProcess sink(dir, "sink");
  ASSERT_TRUE(sink.Start());
  dir.WriteFile("transport", fmt::format("example.test smtp:[127.0.0.1]:{}\n", sink.port()));
  MtaProcess mta(dir, fmt::format("transport_maps = hash:$config_directory/transport\n"
                                  "smtp_destination_concurrency_limit = {}\n",
                                  kConcurrency));
  ASSERT_TRUE(mta.Start()) << mta.Log();

  std::filesystem::create_directories(dir.Path("source"));
  moat::testing::Subprocess source(
      {"smtp-source", "-v", "-c", "-s", "8", "-m", std::to_string(kMessages), "-l", "1000", "-f",
       "source@example.org", "-t", "user@example.test", "-M", "client.example.org",
       fmt::format("127.0.0.1:{}", mta.smtp_port())},
      dir.Path("source"));
  // Deliveries well under way (and mail still arriving): kill without warning.
  const std::string dumps = dir.Path("sink/dump");
  ASSERT_TRUE(WaitUntil([&] { return DumpFiles(dumps) >= kMessages / 5; }, 60s))
      << DumpFiles(dumps) << "\n"
      << mta.Log().substr(0, 3000);
  mta.Kill();
  std::size_t at_kill = DumpFiles(dumps);
  source.Wait(30s);

  std::set<std::string> accepted;
  std::regex queued(R"(queued as (\w+))");
  std::string source_log = source.Stdout() + source.Stderr();
  for (std::sregex_iterator it(source_log.begin(), source_log.end(), queued), end; it != end;
       ++it) {
    accepted.insert((*it)[1]);
  }
  // At least the deliveries seen at the kill (delivery can keep pace with acceptance).
  ASSERT_GE(accepted.size(), static_cast<std::size_t>(kMessages / 5)) << source_log.substr(0, 2000);

  ASSERT_TRUE(mta.Start()) << mta.Log();
  ASSERT_TRUE(WaitUntil([&] { return mta.Queued() == 0; }, 60s)) << mta.Queued();
  ASSERT_EQ(mta.Stop(), 0);

  std::map<std::string, int> copies;
  std::regex ours(R"(by mx\.example\.test \([^)]*\) with \w+ id (\w+))");
  for (const std::string& m : sink.Messages()) {
    std::smatch id;
    ASSERT_TRUE(std::regex_search(m, id, ours)) << m.substr(0, 800);
    ++copies[id[1]];
  }
  std::size_t missing = 0;
  for (const std::string& id : accepted) missing += copies.count(id) ? 0 : 1;
  std::size_t duplicates = 0;
  for (const auto& [id, n] : copies) duplicates += static_cast<std::size_t>(n - 1);
  std::cout << "kill -9 mid-delivery: " << accepted.size() << " accepted by 250, " << copies.size()
            << " distinct delivered (" << at_kill << " at the kill), " << duplicates
            << " duplicates\n";
  // Nothing acknowledged is lost (a message whose 250 the kill swallowed may be there too).
  EXPECT_EQ(missing, 0u);
  EXPECT_GE(copies.size(), accepted.size());
  // Duplicates only for what was in flight: one message per delivery session at most.
  EXPECT_LE(duplicates, static_cast<std::size_t>(kConcurrency));
}

}  // namespace
}  // namespace moat::mta
