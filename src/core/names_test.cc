#include "core/names.h"

#include <gtest/gtest.h>

#include <string>

namespace eragon {
namespace {

TEST(Names, EventTypeRules) {
  EXPECT_TRUE(IsValidEventType("order_created"));
  EXPECT_TRUE(IsValidEventType("0"));
  EXPECT_TRUE(IsValidEventType("a.b-c_d9"));
  EXPECT_TRUE(IsValidEventType(std::string(128, 'a')));
  EXPECT_FALSE(IsValidEventType(std::string(129, 'a')));
  EXPECT_FALSE(IsValidEventType(""));
  EXPECT_FALSE(IsValidEventType("_order"));
  EXPECT_FALSE(IsValidEventType(".order"));
  EXPECT_FALSE(IsValidEventType("-order"));
  EXPECT_FALSE(IsValidEventType("Order"));
  EXPECT_FALSE(IsValidEventType("order created"));
  EXPECT_FALSE(IsValidEventType("order/created"));
  EXPECT_FALSE(IsValidEventType("ordér"));
  EXPECT_FALSE(IsValidEventType(std::string("a\0b", 3)));
  EXPECT_TRUE(IsValidTopic("orders"));
  EXPECT_TRUE(IsValidScheduleName("every-5m"));
}

TEST(Names, ServiceNameRules) {
  EXPECT_TRUE(IsValidServiceName("order-service"));
  EXPECT_TRUE(IsValidServiceName("a"));
  EXPECT_TRUE(IsValidServiceName("9lives"));
  EXPECT_TRUE(IsValidServiceName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidServiceName(std::string(65, 'x')));
  EXPECT_FALSE(IsValidServiceName(""));
  EXPECT_FALSE(IsValidServiceName("-svc"));
  EXPECT_FALSE(IsValidServiceName("order_service"));
  EXPECT_FALSE(IsValidServiceName("order.service"));
  EXPECT_FALSE(IsValidServiceName("OrderService"));
}

TEST(Names, EventIdRules) {
  EXPECT_TRUE(IsValidEventId("01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10"));
  EXPECT_TRUE(IsValidEventId("A.b_c:d-9"));
  EXPECT_TRUE(IsValidEventId("-"));
  EXPECT_TRUE(IsValidEventId(std::string(128, 'Z')));
  EXPECT_FALSE(IsValidEventId(std::string(129, 'Z')));
  EXPECT_FALSE(IsValidEventId(""));
  EXPECT_FALSE(IsValidEventId("a b"));
  EXPECT_FALSE(IsValidEventId("a/b"));
  EXPECT_FALSE(IsValidEventId("é"));
  // Issue 16: "." and ".." change a URL path's meaning (GET /v1/events/..).
  EXPECT_FALSE(IsValidEventId("."));
  EXPECT_FALSE(IsValidEventId(".."));
  EXPECT_TRUE(IsValidEventId("..."));
  EXPECT_TRUE(IsValidEventId(".a"));
}

TEST(Names, EntityIdAcceptsUtf8UpTo256Bytes) {
  EXPECT_TRUE(IsValidEntityId("b093b94f-6835-4815-9f40-29b13826bf39"));
  EXPECT_TRUE(IsValidEntityId("x"));
  EXPECT_TRUE(IsValidEntityId("Zürich straße 日本 🎉"));
  EXPECT_TRUE(IsValidEntityId("with space and / slash %"));
  EXPECT_TRUE(IsValidEntityId(std::string(256, 'a')));
  EXPECT_FALSE(IsValidEntityId(std::string(257, 'a')));
  EXPECT_FALSE(IsValidEntityId(""));
  // 128 two-byte characters = 256 bytes: fine; one more byte: too long.
  std::string two_byte;
  for (int i = 0; i < 128; ++i) two_byte += "é";
  EXPECT_TRUE(IsValidEntityId(two_byte));
  EXPECT_FALSE(IsValidEntityId(two_byte + "a"));
  EXPECT_TRUE(IsValidEntityId("\u00A0nbsp"));  // U+00A0 is past the C1 range
}

TEST(Names, EntityIdRejectsControlCharacters) {
  EXPECT_FALSE(IsValidEntityId(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidEntityId("a\nb"));
  EXPECT_FALSE(IsValidEntityId("a\tb"));
  EXPECT_FALSE(IsValidEntityId("a\x1f"));
  EXPECT_FALSE(IsValidEntityId("a\x7f"));      // DEL
  EXPECT_FALSE(IsValidEntityId("a\xc2\x80"));  // U+0080
  EXPECT_FALSE(IsValidEntityId("a\xc2\x85"));  // U+0085 NEL
  EXPECT_FALSE(IsValidEntityId("a\xc2\x9f"));  // U+009F
  Status st = ValidateEntityId("a\x01", "events[3].entity_id");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("events[3].entity_id: must be 1..256 bytes of UTF-8", 0), 0u)
      << st.message();
}

TEST(Names, EntityIdRejectsInvalidUtf8) {
  EXPECT_FALSE(IsValidEntityId("\xff"));
  EXPECT_FALSE(IsValidEntityId("a\xc3"));             // truncated
  EXPECT_FALSE(IsValidEntityId("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidEntityId("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidEntityId("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidEntityId("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidEntityId("\x80"));              // lone continuation
  EXPECT_TRUE(IsValidEntityId("\xf4\x8f\xbf\xbf"));   // U+10FFFF
}

TEST(Names, PercentEncodingKeepsPrintableAscii) {
  EXPECT_EQ(PercentEncodeHeaderValue("order-17 a/b"), "order-17 a/b");
  EXPECT_EQ(PercentEncodeHeaderValue("100%"), "100%25");
  EXPECT_EQ(PercentEncodeHeaderValue("é"), "%C3%A9");
  EXPECT_EQ(PercentEncodeHeaderValue("a\x7f"), "a%7F");
  for (std::string s : {"Zürich 日本", "100%", "plain", "%41"}) {
    Result<std::string> back = PercentDecode(PercentEncodeHeaderValue(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(PercentDecode("%4").ok());
  EXPECT_FALSE(PercentDecode("%zz").ok());
  EXPECT_FALSE(PercentDecode("%").ok());
}

TEST(Names, TraceparentRules) {
  EXPECT_TRUE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(IsValidTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(IsValidTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_FALSE(IsValidTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
  EXPECT_TRUE(IsValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
  EXPECT_FALSE(IsValidTraceparent("garbage"));
}

}  // namespace
}  // namespace eragon
