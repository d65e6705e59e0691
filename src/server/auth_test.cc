#include "server/auth.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "config/sqlite_config_store.h"
#include "eragon/clock.h"
#include "eragon/env.h"

namespace eragon::server {
namespace {

// --route-cache-ttl-ms is the token cache's TTL too: a token revoked on another node (straight
// in the shared store) works until the TTL has passed, and no longer.
TEST(Auth, RevokedTokenStopsWorkingAfterTheConfiguredCacheTtl) {
  auto store = config::OpenSqliteConfigStore(":memory:");
  ASSERT_TRUE(store.ok());
  ManualClock clock;
  Auth auth(store->get(), &clock, 300);
  auto created = auth.PutService("svc", {"producer"});
  ASSERT_TRUE(created.ok());
  const std::string header = "Bearer " + created->first;
  ASSERT_TRUE(auth.Authenticate(header).ok());
  ASSERT_TRUE((*store)->DeleteService("svc").ok());
  clock.AdvanceMs(299);
  EXPECT_TRUE(auth.Authenticate(header).ok()) << "cached for the TTL";
  clock.AdvanceMs(1);
  Result<Caller> after = auth.Authenticate(header);
  ASSERT_FALSE(after.ok()) << "still trusted after the TTL";
  EXPECT_EQ(after.status().code(), Code::kUnauthenticated);
}

TEST(Auth, RevokedThroughThisNodeStopsAtOnce) {
  auto store = config::OpenSqliteConfigStore(":memory:");
  ASSERT_TRUE(store.ok());
  ManualClock clock;
  Auth auth(store->get(), &clock, 1000);
  ASSERT_TRUE(auth.PutService("admin", {"admin"}).ok());
  auto created = auth.PutService("svc", {"consumer"});
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(auth.Authenticate("Bearer " + created->first).ok());
  ASSERT_TRUE(auth.DeleteService("svc").ok());
  EXPECT_FALSE(auth.Authenticate("Bearer " + created->first).ok());
}

// EnsureAdminToken over a store in memory and a data dir in a temp dir.
class AdminTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eragon-admin-token-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = config::OpenSqliteConfigStore(":memory:");
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auth_ = std::make_unique<Auth>(store_.get(), &clock_, 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::string> Ensure(Auth::AdminTokenOptions o = {}) {
    return auth_->EnsureAdminToken(Env::Default(), dir_.string(), o);
  }
  std::string TokenFile() {
    Result<std::string> t = ReadFileToString(Env::Default(), (dir_ / "admin.token").string());
    if (!t.ok()) return "";
    std::string s = *t;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  bool Works(const std::string& token) {
    clock_.AdvanceMs(10);
    Result<Caller> c = auth_->Authenticate("Bearer " + token);
    return c.ok() && c->admin;
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<config::ConfigStore> store_;
  std::unique_ptr<Auth> auth_;
};

// A single node (and a shared store's first node): admin.token written at first start,
// kept while valid, a new one when it is missing or stale.
TEST_F(AdminTokenTest, ASingleNodeWritesTheTokenAtFirstStartAndReplacesAMissingOrStaleOne) {
  ASSERT_EQ(Ensure().value(), "");
  const std::string first = TokenFile();
  ASSERT_TRUE(Works(first));
  ASSERT_EQ(Ensure().value(), "");
  EXPECT_EQ(TokenFile(), first) << "a valid file is kept";
  std::filesystem::remove(dir_ / "admin.token");
  ASSERT_EQ(Ensure().value(), "");
  const std::string second = TokenFile();
  EXPECT_NE(second, first);
  EXPECT_TRUE(Works(second));
  EXPECT_FALSE(Works(first)) << "the admin service was rotated";
  ASSERT_TRUE(
      WriteFileAtomically(Env::Default(), (dir_ / "admin.token").string(), "ert_stale\n").ok());
  ASSERT_EQ(Ensure().value(), "");
  EXPECT_NE(TokenFile(), "ert_stale");
  EXPECT_TRUE(Works(TokenFile()));
}

// A node of a cluster whose data dir has no token leaves the shared admin service alone
// and says where its token is.
TEST_F(AdminTokenTest, ASharedStoresAdminServiceIsNotRotatedByANodeWithoutTheToken) {
  ASSERT_EQ(Ensure({"", true}).value(), "") << "the first node creates it";
  const std::string first = TokenFile();
  std::filesystem::remove(dir_ / "admin.token");
  Result<std::string> note = Ensure({"", true});
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_NE(note->find("admin.token of the node that created it"), std::string::npos) << *note;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "admin.token"));
  EXPECT_TRUE(Works(first));
}

// --admin-token-file: the admin service carries the file's token (set over another one),
// the data dir's admin.token holds it too; a short token is refused.
TEST_F(AdminTokenTest, AnAdminTokenFileSetsTheAdminServicesToken) {
  ASSERT_EQ(Ensure().value(), "");
  const std::string generated = TokenFile();
  const std::string shared = NewToken();
  const std::string file = (dir_ / "shared.token").string();
  ASSERT_TRUE(WriteFileAtomically(Env::Default(), file, " " + shared + "\n").ok());
  ASSERT_EQ(Ensure({file, true}).value(), "");
  EXPECT_TRUE(Works(shared));
  EXPECT_FALSE(Works(generated));
  EXPECT_EQ(TokenFile(), shared);
  ASSERT_EQ(Ensure({file, true}).value(), "") << "idempotent";
  EXPECT_TRUE(Works(shared));
  ASSERT_TRUE(WriteFileAtomically(Env::Default(), file, "short\n").ok());
  Result<std::string> bad = Ensure({file, true});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Works(shared)) << "nothing changed";
  Result<std::string> missing = Ensure({file + ".nope", true});
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace eragon::server
