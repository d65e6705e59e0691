#include "server/auth.h"

#include <gtest/gtest.h>

#include "config/sqlite_config_store.h"
#include "eragon/clock.h"

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

}  // namespace
}  // namespace eragon::server
