#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "eragon/env.h"

namespace eragon {
namespace {

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eragon-env-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(PosixEnvTest, WriteSyncReadRoundTrip) {
  auto f = std::move(env_->OpenWritable(dir_ + "/a").value());
  ASSERT_TRUE(f->Preallocate(4096).ok());
  ASSERT_TRUE(f->Write(10, "hello").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  EXPECT_EQ(*env_->FileSize(dir_ + "/a"), 4096u);
  auto r = std::move(env_->OpenReadable(dir_ + "/a").value());
  char buf[5];
  EXPECT_EQ(*r->Read(10, 5, buf), 5u);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(*r->Read(4094, 5, buf), 2u);
}

TEST_F(PosixEnvTest, WriteFileAtomicallyReplacesContent) {
  ASSERT_TRUE(WriteFileAtomically(env_, dir_ + "/f", "one").ok());
  ASSERT_TRUE(WriteFileAtomically(env_, dir_ + "/f", "two!").ok());
  EXPECT_EQ(*ReadFileToString(env_, dir_ + "/f"), "two!");
  EXPECT_FALSE(env_->Exists(dir_ + "/f.tmp"));
}

TEST_F(PosixEnvTest, CreateDirsListDirRemove) {
  ASSERT_TRUE(env_->CreateDirs(dir_ + "/x/y").ok());
  ASSERT_TRUE(env_->OpenWritable(dir_ + "/x/b").ok());
  EXPECT_EQ(*env_->ListDir(dir_ + "/x"), (std::vector<std::string>{"b", "y"}));
  ASSERT_TRUE(env_->RemoveFile(dir_ + "/x/b").ok());
  EXPECT_TRUE(env_->RemoveFile(dir_ + "/x/b").IsNotFound());
  EXPECT_TRUE(env_->OpenReadable(dir_ + "/nope").status().IsNotFound());
}

TEST_F(PosixEnvTest, LockFileIsExclusiveAndSaysWhoHoldsIt) {
  auto lock = env_->LockFile(dir_ + "/LOCK");
  ASSERT_TRUE(lock.ok());
  auto again = env_->LockFile(dir_ + "/LOCK");  // flock: a second open file description
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("locked by another process"), std::string::npos);
  EXPECT_NE(again.status().message().find(std::to_string(::getpid())), std::string::npos);
}

TEST_F(PosixEnvTest, DiskSpaceIsReported) {
  auto space = env_->GetDiskSpace(dir_);
  ASSERT_TRUE(space.ok());
  EXPECT_GT(space->total_bytes, 0u);
  EXPECT_LE(space->free_bytes, space->total_bytes);
}

TEST(DirName, SplitsOnLastSlash) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
}

}  // namespace
}  // namespace eragon
