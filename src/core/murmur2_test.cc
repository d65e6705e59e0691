#include "core/murmur2.h"

#include <gtest/gtest.h>

namespace eragon {
namespace {

// Test vectors from Kafka's UtilsTest.testMurmur2 and librdkafka's rdmurmur2.c.
TEST(Murmur2, MatchesKafkaUtilsTestVectors) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
  EXPECT_EQ(Murmur2("string-f-24-chars-length"), 124730809);
  EXPECT_EQ(Murmur2("string-fo-25-chars-length"), 1269511650);
  EXPECT_EQ(Murmur2("string-foo-26-chars-length"), 119165628);
  EXPECT_EQ(Murmur2("string-last-27-chars-length"), 1089971754);
  EXPECT_EQ(Murmur2("kafka"), static_cast<int32_t>(0xd067cf64));
}

// Values computed with Kafka's Java implementation (quoted in Akka's Murmur2Spec).
TEST(Murmur2, MatchesJavaValuesForShortKeys) {
  EXPECT_EQ(Murmur2("1"), -1993445489);
  EXPECT_EQ(Murmur2("12"), 126087238);
  EXPECT_EQ(Murmur2("123"), -267702483);
  EXPECT_EQ(Murmur2("1234"), -1614185708);
  EXPECT_EQ(Murmur2("12345"), -1188365604);
}

TEST(Murmur2, PartitionIsToPositiveModN) {
  // toPositive(-973932308) = -973932308 & 0x7fffffff = 1173551340; % 10 = 0.
  EXPECT_EQ(Murmur2Partition("21", 10), 1173551340u % 10);
  EXPECT_EQ(Murmur2Partition("abc", 7), 479470107u % 7);
  for (uint32_t n = 1; n < 40; ++n) EXPECT_LT(Murmur2Partition("order-17", n), n);
}

}  // namespace
}  // namespace eragon
