#include "filter/filter.h"

#include <gtest/gtest.h>

namespace eragon::filter {
namespace {

Event MakeEvent(std::string data, std::string entity_id = "o-1",
                std::string event_type = "order_created") {
  Event e;
  e.id = "e-1";
  e.event_type = std::move(event_type);
  e.entity_id = std::move(entity_id);
  e.data = std::move(data);
  return e;
}

struct Case {
  const char* pattern;
  const char* data;
  bool match;
};

// Each row: a pattern, the event's data (entity_id "o-1", type order_created unless the
// row's pattern names them), and whether it must match.
const Case kCases[] = {
    // Equality by JSON value; numbers as numbers.
    {R"({"data.total": [100]})", R"({"total": 100})", true},
    {R"({"data.total": [100]})", R"({"total": 1e2})", true},
    {R"({"data.total": [100]})", R"({"total": 100.0})", true},
    {R"({"data.total": [1e2]})", R"({"total": 100})", true},
    {R"({"data.total": [100.0]})", R"({"total": 1E+2})", true},
    {R"({"data.total": [100]})", R"({"total": 100.5})", false},
    {R"({"data.total": [100]})", R"({"total": "100"})", false},
    {R"({"data.total": ["100"]})", R"({"total": 100})", false},
    {R"({"data.total": [-0.5]})", R"({"total": -5e-1})", true},
    {R"({"data.city": ["jakarta", "bandung"]})", R"({"city": "bandung"})", true},
    {R"({"data.city": ["jakarta", "bandung"]})", R"({"city": "Bandung"})", false},
    {R"({"data.vip": [true]})", R"({"vip": true})", true},
    {R"({"data.vip": [true]})", R"({"vip": false})", false},
    {R"({"data.vip": [true]})", R"({"vip": "true"})", false},
    // null
    {R"({"data.coupon": [null]})", R"({"coupon": null})", true},
    {R"({"data.coupon": [null]})", R"({})", false},
    {R"({"data.coupon": [null]})", R"({"coupon": 0})", false},
    // Missing paths.
    {R"({"data.a.b": ["x"]})", R"({"a": {}})", false},
    {R"({"data.a.b": ["x"]})", R"({"a": "x"})", false},
    {R"({"data.a.b": ["x"]})", R"({"a": {"b": "x"}})", true},
    {R"({"data.a": ["x"]})", R"([1, 2])", false},
    {R"({"data.a": ["x"]})", R"("x")", false},
    {R"({"data": {"a": {"b": ["x"]}}})", R"({"a": {"b": "x"}})", true},
    // Arrays: any element.
    {R"({"data.tags": ["vegan"]})", R"({"tags": ["halal", "vegan"]})", true},
    {R"({"data.tags": ["vegan"]})", R"({"tags": ["halal"]})", false},
    {R"({"data.tags": ["vegan"]})", R"({"tags": []})", false},
    {R"({"data.items.sku": ["b-2"]})", R"({"items": [{"sku": "a-1"}, {"sku": "b-2"}]})", true},
    {R"({"data.items.qty": [{"numeric": [">", 5]}]})", R"({"items": [{"qty": 1}, {"qty": 2}]})",
     false},
    {R"({"data.m": [3]})", R"({"m": [[1, 2], [3]]})", true},
    // prefix
    {R"({"entity_id": [{"prefix": "b2b-"}]})", R"({})", false},
    {R"({"data.sku": [{"prefix": "b2b-"}]})", R"({"sku": "b2b-77"})", true},
    {R"({"data.sku": [{"prefix": "b2b-"}]})", R"({"sku": "b2c-77"})", false},
    {R"({"data.sku": [{"prefix": "1"}]})", R"({"sku": 12})", false},
    // numeric
    {R"({"data.total": [{"numeric": [">=", 100]}]})", R"({"total": 100})", true},
    {R"({"data.total": [{"numeric": [">=", 100]}]})", R"({"total": 99.99})", false},
    {R"({"data.total": [{"numeric": [">", 0, "<=", 5]}]})", R"({"total": 5})", true},
    {R"({"data.total": [{"numeric": [">", 0, "<=", 5]}]})", R"({"total": 0})", false},
    {R"({"data.total": [{"numeric": ["=", 1e2]}]})", R"({"total": 100.0})", true},
    {R"({"data.total": [{"numeric": ["<", 10]}]})", R"({"total": "5"})", false},
    {R"({"data.total": [{"numeric": ["<", 1e300]}]})", R"({"total": -1e308})", true},
    // exists
    {R"({"data.vip": [{"exists": true}]})", R"({"vip": null})", true},
    {R"({"data.vip": [{"exists": true}]})", R"({"vip": {"level": 2}})", true},
    {R"({"data.vip": [{"exists": true}]})", R"({"other": 1})", false},
    {R"({"data.vip": [{"exists": false}]})", R"({"other": 1})", true},
    {R"({"data.vip": [{"exists": false}]})", R"({"vip": false})", false},
    // anything-but
    {R"({"data.state": [{"anything-but": "cancelled"}]})", R"({"state": "paid"})", true},
    {R"({"data.state": [{"anything-but": "cancelled"}]})", R"({"state": "cancelled"})", false},
    {R"({"data.state": [{"anything-but": "cancelled"}]})", R"({})", false},
    {R"({"data.n": [{"anything-but": [1, 2]}]})", R"({"n": 2.0})", false},
    {R"({"data.n": [{"anything-but": [1, 2]}]})", R"({"n": 3})", true},
    {R"({"data.s": [{"anything-but": {"prefix": "test-"}}]})", R"({"s": "test-9"})", false},
    {R"({"data.s": [{"anything-but": {"prefix": "test-"}}]})", R"({"s": "prod-9"})", true},
    // Unicode: strings compared unescaped.
    {R"({"data.city": ["café"]})", R"({"city": "caf\u00e9"})", true},
    {R"({"data.city": ["caf\u00e9"]})", R"({"city": "café"})", true},
    {R"({"data.city": ["cafe"]})", R"({"city": "café"})", false},
    {R"({"data.名前": ["😀"]})", R"({"名前": "😀"})", true},
    {R"({"data.emoji": [{"prefix": "😀"}]})", R"({"emoji": "😀🎉"})", true},
    // event_type, entity_id, several fields (all must match).
    {R"({"event_type": ["order_created"]})", R"({})", true},
    {R"({"event_type": ["order_paid"]})", R"({})", false},
    {R"({"entity_id": ["o-1"], "data.total": [{"numeric": [">", 10]}]})", R"({"total": 11})", true},
    {R"({"entity_id": ["o-1"], "data.total": [{"numeric": [">", 10]}]})", R"({"total": 9})", false},
    {R"({"entity_id": ["o-2"], "data.total": [{"numeric": [">", 10]}]})", R"({"total": 11})",
     false},
    {R"({"data.total": [{"numeric": [">=", 100]}], "data.city": ["jakarta", "bandung"],
         "data.vip": [{"exists": true}]})",
     R"({"total": 150, "city": "jakarta", "vip": false, "note": [1, {"x": 2}]})", true},
    {R"({"data.total": [{"numeric": [">=", 100]}], "data.city": ["jakarta", "bandung"],
         "data.vip": [{"exists": true}]})",
     R"({"city": "jakarta", "total": 150})", false},
    // Alternatives mix operators and values.
    {R"({"data.x": ["a", {"prefix": "z"}, {"numeric": ["<", 0]}]})", R"({"x": -1})", true},
    {R"({"data.x": ["a", {"prefix": "z"}, {"numeric": ["<", 0]}]})", R"({"x": "zz"})", true},
    {R"({"data.x": ["a", {"prefix": "z"}, {"numeric": ["<", 0]}]})", R"({"x": "b"})", false},
    // A key spelled like a dotted path is not one.
    {R"({"data.a.b": [1]})", R"({"a.b": 1})", false},
};

TEST(FilterTable, EachPatternMatchesExactlyTheEventsItShould) {
  ASSERT_GE(std::size(kCases), 40u);
  for (const Case& c : kCases) {
    Result<Filter> f = Filter::Compile(c.pattern);
    ASSERT_TRUE(f.ok()) << c.pattern << ": " << f.status().message();
    EXPECT_EQ(f->Matches(MakeEvent(c.data)), c.match) << c.pattern << " on " << c.data;
  }
}

const char* const kMalformed[] = {
    "",
    "not json",
    "[]",
    "{}",
    R"({"data.total": 100})",
    R"({"data.total": []})",
    R"({"data.total": [[1]]})",
    R"({"data.total": [{"numeric": [">", "x"]}]})",
    R"({"data.total": [{"numeric": ["~", 1]}]})",
    R"({"data.total": [{"numeric": [">", 1, "<"]}]})",
    R"({"data.total": [{"numeric": []}]})",
    R"({"data.total": [{"prefix": 1}]})",
    R"({"data.total": [{"exists": "yes"}]})",
    R"({"data.total": [{"anything-but": []}]})",
    R"({"data.total": [{"anything-but": [{"a": 1}]}]})",
    R"({"data.total": [{"anything-but": {"suffix": "x"}}]})",
    R"({"data.total": [{"suffix": "x"}]})",
    R"({"data.total": [{"prefix": "a", "exists": true}]})",
    R"({"total": [1]})",
    R"({"data": [1]})",
    R"({"data..a": [1]})",
    R"({"data.a.": [1]})",
    R"({"producer": ["x"]})",
    R"({"data": {}})",
    R"({"entity_id": {"a": [1]}})",
};

TEST(FilterCompile, MalformedPatternsAreInvalidArgument) {
  for (const char* p : kMalformed) {
    Result<Filter> f = Filter::Compile(p);
    ASSERT_FALSE(f.ok()) << p;
    EXPECT_TRUE(f.status().code() == Code::kInvalidArgument ||
                f.status().code() == Code::kInvalidJson)
        << p;
  }
}

TEST(FilterCompile, ErrorNamesTheField) {
  Result<Filter> f =
      Filter::Compile(R"({"data.city": ["x"], "data.total": [{"numeric": ["~", 1]}]})");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message().rfind("data.total: numeric", 0), 0u) << f.status().message();
}

TEST(FilterCompile, TooManyFieldsRefused) {
  std::string p = "{";
  for (size_t i = 0; i <= kMaxFields; ++i)
    p += (i ? "," : "") + std::string("\"data.f") + std::to_string(i) + "\": [1]";
  p += "}";
  EXPECT_FALSE(Filter::Compile(p).ok());
}

TEST(FilterMatch, FieldsOutsideDataNeedNoParseOfData) {
  // data that is not even JSON is never looked at when no data field is named.
  Result<Filter> f = Filter::Compile(R"({"entity_id": [{"prefix": "o-"}]})");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Matches(MakeEvent("{broken")));
}

TEST(FilterMatch, SameFilterEvaluatesManyEventsInARow) {
  Result<Filter> f = Filter::Compile(R"({"data.total": [{"numeric": [">=", 10]}]})");
  ASSERT_TRUE(f.ok());
  int matched = 0;
  for (int i = 0; i < 100; ++i) {
    matched += f->Matches(MakeEvent(R"({"pad": ")" + std::string(i * 7, 'x') + R"(", "total": )" +
                                    std::to_string(i) + "}"));
  }
  EXPECT_EQ(matched, 90);
}

}  // namespace
}  // namespace eragon::filter
