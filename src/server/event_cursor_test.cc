// ParseCursor: the `after` cursors of GET /v1/events, good and bad.
#include "server/event_cursor.h"

#include <gtest/gtest.h>

#include "core/hash.h"

namespace eragon::server {
namespace {

TEST(EventCursor, ParsesEveryLineOfAWrittenCursor) {
  auto r = ParseCursor(HexEncode("orders\t3\t1024\nb.c\t0\t18446744073709551615\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].topic, "orders");
  EXPECT_EQ((*r)[0].partition, 3u);
  EXPECT_EQ((*r)[0].upper, 1024u);
  EXPECT_EQ((*r)[1].topic, "b.c");
  EXPECT_EQ((*r)[1].upper, 18446744073709551615u);
}

TEST(EventCursor, AnythingElseIsAnAfterError) {
  for (std::string raw :
       {"", "orders\t3\t1024", "orders\t3\n", "orders\t3\t10x\n", "orders\t-1\t1\n", "\t0\t1\n",
        "Bad Topic\t0\t1\n", "orders\t4294967296\t1\n", "orders\t1\t2\t3\n"}) {
    auto r = ParseCursor(HexEncode(raw));
    ASSERT_FALSE(r.ok()) << raw;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("after: ", 0), 0u);
  }
  EXPECT_FALSE(ParseCursor("not hex").ok());
  EXPECT_FALSE(ParseCursor("abc").ok()) << "odd length";
}

}  // namespace
}  // namespace eragon::server
