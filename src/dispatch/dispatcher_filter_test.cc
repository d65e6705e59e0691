// Route filters (API.md "Consumer routes: more settings", `filter`): events that do not
// match are not delivered (push or pull), show state `filtered`, and move the position.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

std::string Total(int total) { return R"({"total":)" + std::to_string(total) + "}"; }

TEST(DispatcherFilter, PushDeliversOnlyMatchingEventsInOrderAndMarksTheRestFiltered) {
  Rig rig;
  Endpoint ep;
  rig.Producer("t", "t", /*ordered=*/true);
  config::ConsumerRoute route = rig.HttpRoute("t", "c", ep.Url());
  route.filter = R"({"data.total":[{"numeric":[">=",100]}]})";
  rig.Put(route);
  std::vector<Rig::Published> all;
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    const int total = (i % 3 == 0) ? 100 + i : i;  // 100 and above matches
    all.push_back(rig.Publish("t", "e1", "", Total(total)));
    if (total >= 100) want.push_back(all.back().event.id);
  }
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == want.size() && rig.Idle("c", "t"); }));
  EXPECT_EQ(ep.Delivered(), want);  // in publish order
  for (int i = 0; i < 20; ++i) {
    std::optional<DeliveryState> st = rig.StateOf(all[i], "c");
    ASSERT_TRUE(st.has_value()) << i;
    EXPECT_EQ(st->state, i % 3 == 0 ? DeliveryStateKind::kDelivered : DeliveryStateKind::kFiltered)
        << i;
  }
}

TEST(DispatcherFilter, PullFetchNeverReturnsFilteredEventsAndDropAllBuildsNoBacklog) {
  Rig rig;
  rig.Producer("t", "t", false);
  config::ConsumerRoute route = rig.PullRoute("t", "p");
  route.filter = R"({"entity_id":[{"prefix":"vip-"}]})";
  rig.Put(route);
  // Many more than one window (4096) of events that all fail the filter.
  rig.PublishMany(10'000, [](size_t i) { return std::make_pair("t", "e" + std::to_string(i)); });
  ASSERT_TRUE(WaitFor([&] {
    auto s = rig.StatsOf("p", "t");
    return s && s->stats.lag_events == 0 && s->stats.window == 0;
  }));
  EXPECT_TRUE(rig.FetchNow("p").empty());
  Rig::Published vip = rig.Publish("t", "vip-1");
  std::vector<PulledMessage> got = rig.FetchN("p", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event->id, vip.event.id);
}

TEST(DispatcherFilter, FilteredStateSurvivesARestartAndIsNotDeliveredAgain) {
  Rig rig;
  Endpoint ep;
  rig.Producer("t", "t", false);
  config::ConsumerRoute route = rig.HttpRoute("t", "c", ep.Url());
  route.filter = R"({"data.total":[{"numeric":[">",10]}]})";
  rig.Put(route);
  Rig::Published small = rig.Publish("t", "e1", "", Total(1));
  Rig::Published big = rig.Publish("t", "e2", "", Total(11));
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 1 && rig.Idle("c", "t"); }));
  rig.Restart();
  EXPECT_EQ(rig.StateOf(small, "c")->state, DeliveryStateKind::kFiltered);
  EXPECT_EQ(rig.StateOf(big, "c")->state, DeliveryStateKind::kDelivered);
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 1; }, 0.3));
}

}  // namespace
}  // namespace eragon::dispatch::testing
