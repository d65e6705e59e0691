// GET /v1/cluster on a single node (SQLite config store): the list is the node itself,
// with its address, a stable id (node.id in the data dir) and the partitions it delivers;
// admin only.
#include "test_util.h"

namespace eragon::testing {
namespace {

class SingleNodeClusterTest : public ServerTest {};

TEST_F(SingleNodeClusterTest, TheListIsThisNodeWithAStableIdAndItsPartitions) {
  HttpReply r = Admin("GET", "/v1/cluster");
  ASSERT_EQ(r.status, 200) << Describe(r);
  Json j(r.body);
  ASSERT_EQ(j.Len({"nodes"}), 1) << r.body;
  const std::string id = j.Str({"nodes", "0", "id"});
  EXPECT_EQ(id, ReadFileOrEmpty(server_->data_dir() + "/node.id").substr(0, id.size()));
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(j.Str({"nodes", "0", "address"}), server_->url());
  EXPECT_EQ(j.Int({"nodes", "0", "partitions"}), 0);
  EXPECT_GE(j.Int({"nodes", "0", "last_seen"}).value_or(0),
            j.Int({"nodes", "0", "started_at"}).value_or(1));

  CreateService("order-service", {"producer"});
  SetProducer("order_created", "order-service", R"("partitions":3)");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/billing", R"({"type":"pull"})").status,
            201);
  // The dispatcher starts the route's worker when it next reads the routing table.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Json(Admin("GET", "/v1/cluster").body).Int({"nodes", "0", "partitions"}) == 3;
      },
      std::chrono::seconds(5)))
      << Admin("GET", "/v1/cluster").body;

  const std::string token = CreateService("reader", {"consumer"});
  EXPECT_API_ERROR(Call(token, "GET", "/v1/cluster"), 403, "forbidden");
  EXPECT_API_ERROR(Call("", "GET", "/v1/cluster"), 401, "unauthenticated");

  Restart();
  EXPECT_EQ(Json(Admin("GET", "/v1/cluster").body).Str({"nodes", "0", "id"}), id)
      << "the same id after a restart";
}

}  // namespace
}  // namespace eragon::testing
