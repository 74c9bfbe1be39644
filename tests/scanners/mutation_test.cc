// Damaged input at random: seeded byte mutations of real archives and messages must decode to
// *something* - never a crash, a hang or an error (run under ASan/UBSan by ./test). A cheap,
// deterministic stand-in for fuzzing (g++ has no libFuzzer), repeatable from the seed.
#include <gtest/gtest.h>

#include <random>

#include "scanners/decomposer.h"
#include "tests/scanners/fixtures.h"

namespace moat::scanners {
namespace {

using moat::testing::TempDir;
using testing::MessageWith;
using testing::ReadBinaryFile;
using testing::RunTool;
using testing::WriteBinaryFile;

std::string Mutate(std::string data, std::mt19937& rng) {
  if (data.empty()) return data;
  std::uniform_int_distribution<size_t> position(0, data.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> kind(0, 3);
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits && !data.empty(); ++i) {
    size_t at = position(rng) % data.size();
    switch (kind(rng)) {
      case 0:  // flip a byte
        data[at] = static_cast<char>(byte(rng));
        break;
      case 1:  // cut the tail
        data.resize(at);
        break;
      case 2:  // duplicate a slice
        data.insert(at, data.substr(at, std::min<size_t>(64, data.size() - at)));
        break;
      default:  // drop a slice
        data.erase(at, std::min<size_t>(16, data.size() - at));
        break;
    }
  }
  return data;
}

TEST(MutationTest, DamagedArchivesAndMessagesAlwaysDecode) {
  TempDir dir;
  WriteBinaryFile(dir.Path("eicar.com"), testing::Eicar());
  WriteBinaryFile(dir.Path("text.txt"), std::string(5000, 'q') + "\n");
  RunTool({"/bin/sh", "-ec",
           "zip -q -X a.zip eicar.com text.txt && 7z a -bd -bso0 a.7z eicar.com text.txt && "
           "tar -czf a.tgz eicar.com text.txt && tar -cJf a.txz eicar.com text.txt && "
           "gcab -c -z a.cab eicar.com text.txt && "
           "echo eicar.com | bsdtar -cf a.cpio --format newc -T - && "
           "bsdtar -cf a.iso --format iso9660 eicar.com && zstd -q -c text.txt > t.zst"},
          dir.path());
  std::vector<std::string> samples;
  for (const char* f : {"a.zip", "a.7z", "a.tgz", "a.txz", "a.cab", "a.cpio", "a.iso", "t.zst"}) {
    samples.push_back(ReadBinaryFile(dir.Path(f)));
  }
  std::string message =
      MessageWith({{"a.zip", samples[0]}, {"notes.txt", "hello\n", "text/plain"}});
  auto decomposer = Decomposer::Create();
  ASSERT_TRUE(decomposer.has_value());
  std::mt19937 rng(20261121);
  size_t runs = 0;
  for (int round = 0; round < 150; ++round) {
    for (const std::string& sample : samples) {
      std::string damaged = Mutate(sample, rng);
      auto tree = decomposer->Decompose(MessageWith({{"x.bin", damaged}}));
      ASSERT_TRUE(tree.has_value());
      ASSERT_FALSE(tree->nodes.empty());
      ++runs;
    }
    auto tree = decomposer->Decompose(Mutate(message, rng));
    ASSERT_TRUE(tree.has_value());
    ++runs;
  }
  EXPECT_EQ(runs, 150u * 9u);
}

}  // namespace
}  // namespace moat::scanners
