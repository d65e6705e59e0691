// Attempt histories (API.md "Delivery attempts"): every push attempt and every pull
// fetch, nack, ack and lease timeout is recorded for the (event, consumer), in order.
#include <gtest/gtest.h>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

std::vector<AttemptRecord> AttemptsOf(Rig& rig, const Rig::Published& p,
                                      const std::string& consumer) {
  std::vector<AttemptRecord> out;
  for (AttemptView& v :
       rig.dispatcher->AttemptsOf(p.event.event_type, p.topic, p.partition, p.offset, consumer)) {
    EXPECT_EQ(v.consumer, consumer);
    out.push_back(std::move(v.record));
  }
  return out;
}

TEST(DispatcherAttempts, FailingThenSucceedingPushRecordsEveryAttemptInOrder) {
  Rig rig;
  rig.Producer("t", "t", false);
  std::atomic<int> calls{0};
  // Each answer takes 7 ms of the rig's clock: the recorded durations show it.
  Endpoint ep([&](const Hit&) {
    rig.clock.AdvanceMs(7);
    return Answer(++calls <= 2 ? 503 : 200);
  });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {5, 100, 200};
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  ASSERT_TRUE(rig.AdvanceUntil([&] { return ep.delivered() == 1; }, 50, 5000));
  std::vector<AttemptRecord> got;
  ASSERT_TRUE(WaitFor([&] {
    got = AttemptsOf(rig, ev, "c");
    return got.size() == 3;
  }));
  const int want_status[] = {503, 503, 200};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].kind, AttemptKind::kPush);
    EXPECT_EQ(got[i].attempt, i + 1);
    EXPECT_EQ(got[i].status, want_status[i]);
    EXPECT_GE(got[i].duration_ms, 7);
    EXPECT_EQ(got[i].error.empty(), i == 2) << got[i].error;
    if (i > 0) {
      EXPECT_GT(got[i].at, got[i - 1].at);
    }
  }
  EXPECT_EQ(got[0].error.rfind("HTTP 503", 0), 0u) << got[0].error;
  EXPECT_TRUE(AttemptsOf(rig, ev, "other").empty());
}

TEST(DispatcherAttempts, PullFetchNackTimeoutAndAckAreRecordedAndWrittenWithTheAck) {
  Rig rig;
  rig.Producer("t", "t", false);
  auto route = rig.PullRoute("t", "p");
  route.retry = {5, 100, 200};
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  auto first = rig.FetchN("p", 1);
  ASSERT_EQ(first.size(), 1u);
  rig.clock.AdvanceMs(20);
  ASSERT_EQ(*rig.dispatcher->Nack("p", {first[0].ack_id}, 0), 1u);
  auto second = rig.FetchN("p", 1, /*ack_timeout_ms=*/1000);
  ASSERT_EQ(second.size(), 1u);
  rig.Advance(1000);  // the second lease times out
  std::vector<PulledMessage> third = rig.FetchN("p", 1, 60'000);
  ASSERT_EQ(third.size(), 1u);
  rig.clock.AdvanceMs(30);
  ASSERT_EQ(*rig.dispatcher->Ack("p", {third[0].ack_id}), 1u);
  // Buffered attempts go out with the ack (fsynced before it is answered): the store
  // holds them all before anything reads them through the dispatcher.
  EXPECT_EQ(rig.store->Attempts("p", ev.topic, ev.partition, ev.offset).size(), 6u);
  std::vector<AttemptRecord> got = AttemptsOf(rig, ev, "p");
  std::vector<std::pair<AttemptKind, uint32_t>> kinds;
  for (const AttemptRecord& r : got) kinds.emplace_back(r.kind, r.attempt);
  const std::vector<std::pair<AttemptKind, uint32_t>> want = {
      {AttemptKind::kFetch, 1},   {AttemptKind::kNack, 1},  {AttemptKind::kFetch, 2},
      {AttemptKind::kTimeout, 2}, {AttemptKind::kFetch, 3}, {AttemptKind::kAck, 3}};
  EXPECT_EQ(kinds, want);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got[1].duration_ms, 20);
  EXPECT_EQ(got[1].error, "nacked");
  EXPECT_EQ(got[3].error, "not acknowledged within the ack timeout");
  EXPECT_EQ(got.back().status, 200);
  EXPECT_EQ(got.back().duration_ms, 30);
}

}  // namespace
}  // namespace eragon::dispatch::testing
