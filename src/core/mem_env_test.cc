#include "core/mem_env.h"

#include <gtest/gtest.h>

namespace eragon {
namespace {

std::string Contents(MemEnv* env, const std::string& path) {
  auto r = env->FileContents(path);
  return r.ok() ? *r : "<" + r.status().ToString() + ">";
}

TEST(MemEnv, PowerLossKeepsOnlySyncedBytesOfDurableEntries) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/d").ok());
  auto f = std::move(env->OpenWritable("/d/a").value());
  ASSERT_TRUE(f->Write(0, "hello").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(env->SyncDir("/d").ok());
  ASSERT_TRUE(f->Write(5, " world").ok());
  auto g = std::move(env->OpenWritable("/d/b").value());
  ASSERT_TRUE(g->Write(0, "x").ok());
  ASSERT_TRUE(g->Sync().ok());  // data synced, but the entry never was
  env->DropUnsyncedData();
  EXPECT_EQ(Contents(env.get(), "/d/a"), "hello");
  EXPECT_FALSE(env->Exists("/d/b"));
}

TEST(MemEnv, RenameIsDurableOnlyAfterSyncDir) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/d").ok());
  ASSERT_TRUE(WriteFileAtomically(env.get(), "/d/f", "v1").ok());
  {
    auto f = std::move(env->OpenWritable("/d/f.tmp").value());
    ASSERT_TRUE(f->Write(0, "v2").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(env->Rename("/d/f.tmp", "/d/f").ok());
  EXPECT_EQ(*ReadFileToString(env.get(), "/d/f"), "v2");
  env->DropUnsyncedData();
  EXPECT_EQ(*ReadFileToString(env.get(), "/d/f"), "v1");
}

TEST(MemEnv, InjectedWriteAndSyncErrorsFailUntilCleared) {
  auto env = NewMemEnv();
  auto f = std::move(env->OpenWritable("/a").value());
  env->FailAfterNWrites(1);
  EXPECT_TRUE(f->Write(0, "a").ok());
  EXPECT_TRUE(f->Write(1, "b").IsIOError());
  env->SetWriteError(Status::Ok());
  EXPECT_TRUE(f->Write(1, "b").ok());
  env->SetSyncError(Status::IOError("EIO"));
  EXPECT_FALSE(f->Sync().ok());
  EXPECT_FALSE(env->SyncDir("/").ok());
  env->SetSyncError(Status::Ok());
  EXPECT_TRUE(f->Sync().ok());
}

TEST(MemEnv, PreallocatedSpaceReadsAsZeroAndTruncateShrinks) {
  auto env = NewMemEnv();
  auto f = std::move(env->OpenWritable("/a").value());
  ASSERT_TRUE(f->Preallocate(16).ok());
  ASSERT_TRUE(f->Write(0, "ab").ok());
  EXPECT_EQ(Contents(env.get(), "/a"), std::string("ab") + std::string(14, '\0'));
  ASSERT_TRUE(f->Truncate(1).ok());
  EXPECT_EQ(*env->FileSize("/a"), 1u);
}

TEST(MemEnv, SecondLockOfADirectoryFailsAndNamesIt) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/data").ok());
  auto lock = env->LockFile("/data/LOCK");
  ASSERT_TRUE(lock.ok());
  auto again = env->LockFile("/data/LOCK");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("locked by another process"), std::string::npos);
  lock.value().reset();
  EXPECT_TRUE(env->LockFile("/data/LOCK").ok());
}

TEST(MemEnv, ListDirNamesDirectChildrenSorted) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/r/sub").ok());
  ASSERT_TRUE(env->OpenWritable("/r/b").ok());
  ASSERT_TRUE(env->OpenWritable("/r/a").ok());
  ASSERT_TRUE(env->OpenWritable("/r/sub/c").ok());
  EXPECT_EQ(*env->ListDir("/r"), (std::vector<std::string>{"a", "b", "sub"}));
}

}  // namespace
}  // namespace eragon
