// durable_file_test.cc - atomic writes, bounded reads, directory creation.
#include "core/durable_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

TEST(DurableFileTest, WriteAtomicallyThenReadBack) {
  testing::TempDir dir;
  std::string path = dir.Path("a/b/file");
  ASSERT_TRUE(EnsureDirectory(dir.Path("a/b")));
  ASSERT_TRUE(WriteFileAtomically(path, "content", 0600));
  auto data = ReadFile(path);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "content");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(DurableFileTest, MissingFileIsNotFound) {
  testing::TempDir dir;
  auto data = ReadFile(dir.Path("nope"));
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code(), ErrorCode::kNotFound);
}

TEST(DurableFileTest, ReadRefusesFilesOverTheBound) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("big", std::string(100, 'x'));
  auto data = ReadFile(path, 10);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code(), ErrorCode::kInvalid);
}

TEST(DurableFileTest, WriteIntoMissingDirectoryIsIoError) {
  testing::TempDir dir;
  auto written = WriteFileAtomically(dir.Path("missing/file"), "x");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace moat::core
