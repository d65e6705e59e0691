#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

namespace eragon {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(Json, LazyParserTrapsAreRejected) {
  for (const char* bad : {"{\"x\":tru}", "[1,,2]",  "01",         "{\"z\":01}", "{\"a\":1} x",
                          "{\"a\":1}}",  "{\"a\":", "[1,2",       "\"abc",      "{\"a\" 1}",
                          "{a:1}",       "[1,]",    "{\"a\":1,}", "nul",        "1.",
                          "-",           "+1",      "'a'",        "[NaN]",      "{\"x\":\"\\q\"}",
                          "\"\t\""}) {
    Status st = ValidateJson(bad);
    EXPECT_EQ(st.code(), Code::kInvalidJson) << bad;
  }
}

TEST(Json, HugeNumbersDoNotMaskOtherErrors) {
  for (const char* bad : {"[01e400]", "[1e400,]", "[1e400 1]", "{\"x\":1e400,\"y\":tru}", "1e400x",
                          "[-]", "[1e400", "\"1e400"}) {
    EXPECT_EQ(ValidateJson(bad).code(), Code::kInvalidJson) << bad;
  }
}

TEST(Json, EmptyBodyIsInvalidJson) {
  EXPECT_EQ(ValidateJson("").code(), Code::kInvalidJson);
  EXPECT_EQ(ValidateJson("   ").code(), Code::kInvalidJson);
}

TEST(Json, ValidDocumentsPass) {
  for (const char* ok : {"{}", "[]", "0", "-0.5e-3", "\"\\u00e9\"", "null",
                         " {\"a\":[1,{\"b\":null}]} ", "1e400", "12345678901234567890",
                         "-123456789012345678901234567890", "[1e400,{\"a\":-1E+999}]", "1e-400"}) {
    EXPECT_TRUE(ValidateJson(ok).ok()) << ok << ": " << ValidateJson(ok).ToString();
  }
}

TEST(Json, NestingUpTo64LevelsPassesDeeperIsInvalidJson) {
  EXPECT_TRUE(ValidateJson(Nested(64)).ok());
  Status st = ValidateJson(Nested(65));
  EXPECT_EQ(st.code(), Code::kInvalidJson);
  EXPECT_NE(st.message().find("nested deeper than 64 levels"), std::string::npos) << st.message();
  EXPECT_EQ(ValidateJson(Nested(100)).code(), Code::kInvalidJson);
  EXPECT_EQ(ValidateJson("{\"data\":" + Nested(100) + "}").code(), Code::kInvalidJson);
  // A big document after a deep one: the depth limit survives the parser's regrowth.
  std::string big = "[" + std::string(100'000, ' ') + "1]";
  EXPECT_TRUE(ValidateJson(big).ok());
  EXPECT_EQ(ValidateJson(Nested(65)).code(), Code::kInvalidJson);
}

TEST(Json, InvalidUtf8IsInvalidJson) {
  EXPECT_EQ(ValidateJson("\"\xff\"").code(), Code::kInvalidJson);
  EXPECT_EQ(ValidateJson("{\"a\":\"\xc3\"}").code(), Code::kInvalidJson);
  EXPECT_EQ(ValidateJson("{\"a\":\"\xed\xa0\x80\"}").code(), Code::kInvalidJson);
}

TEST(Json, ParseJsonGivesAReadableDocument) {
  Result<simdjson::dom::element> root = ParseJson(R"({"a":"x\ny","n":-5})");
  ASSERT_TRUE(root.ok());
  std::string_view a;
  int64_t n = 0;
  EXPECT_FALSE((*root)["a"].get_string().get(a));
  EXPECT_FALSE((*root)["n"].get_int64().get(n));
  EXPECT_EQ(a, "x\ny");
  EXPECT_EQ(n, -5);
}

TEST(Json, WriterEscapesEverythingThatNeedsIt) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("s")
      .String("q\"b\\n\n\r\t\b\f\x01\x1f\x7f é 🎉")
      .Key("bad")
      .String(
          "a\xff"
          "b\xc3")
      .Key("k\"ey")
      .Int(-9223372036854775807LL - 1)
      .Key("u")
      .Uint(18446744073709551615ULL)
      .Key("t")
      .Bool(true)
      .Key("f")
      .Bool(false)
      .Key("z")
      .Null()
      .Key("arr")
      .BeginArray()
      .Int(1)
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .Raw("{\"x\": 1e400}")
      .EndArray()
      .EndObject();
  EXPECT_EQ(out,
            "{\"s\":\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001f\x7f \xc3\xa9 \xf0\x9f\x8e\x89\","
            "\"bad\":\"a\\ufffdb\\ufffd\",\"k\\\"ey\":-9223372036854775808,"
            "\"u\":18446744073709551615,\"t\":true,\"f\":false,\"z\":null,"
            "\"arr\":[1,{},[],{\"x\": 1e400}]}");
  EXPECT_TRUE(ValidateJson(out).ok());
}

TEST(Json, WriterOutputAlwaysParsesBack) {
  std::string nasty;
  for (int i = 0; i < 256; ++i) nasty.push_back(static_cast<char>(i));
  std::string out;
  JsonWriter(&out).String(nasty);
  EXPECT_TRUE(ValidateJson(out).ok()) << out;
}

TEST(Json, RawSpansFollowTheText) {
  std::string_view obj = R"({ "a" : [1, "x]"] , "b\"c":{"d":"}"} ,"e":  12345678901234567890 })";
  ASSERT_TRUE(ValidateJson(obj).ok());
  auto members = RawObjectMembers(obj);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].first, "\"a\"");
  EXPECT_EQ(members[0].second, "[1, \"x]\"]");
  EXPECT_EQ(members[1].first, "\"b\\\"c\"");
  EXPECT_EQ(members[1].second, "{\"d\":\"}\"}");
  EXPECT_EQ(members[2].second, "12345678901234567890");
  auto elems = RawArrayElements("[ 1 ,\"a,b\", {\"x\":[]} ,null,-1e400]");
  ASSERT_EQ(elems.size(), 5u);
  EXPECT_EQ(elems[0], "1");
  EXPECT_EQ(elems[1], "\"a,b\"");
  EXPECT_EQ(elems[2], "{\"x\":[]}");
  EXPECT_EQ(elems[3], "null");
  EXPECT_EQ(elems[4], "-1e400");
  EXPECT_TRUE(RawArrayElements("[ ]").empty());
  EXPECT_TRUE(RawObjectMembers("{ }").empty());
  EXPECT_EQ(TrimJsonWhitespace(" \t\r\n{}\n "), "{}");
}

// Strings are skipped quote to quote: a quote after an even run of backslashes ends the
// string, after an odd run it is escaped.
TEST(Json, RawSpansSkipEscapedQuotesAndBackslashRuns) {
  std::string_view obj = R"({"a":"x\\","b":"\"q\\\"","":"","c":["\\\\",",\"]"],"d":"\u0022}"})";
  ASSERT_TRUE(ValidateJson(obj).ok()) << obj;
  auto members = RawObjectMembers(obj);
  ASSERT_EQ(members.size(), 5u);
  EXPECT_EQ(members[0].second, R"("x\\")");
  EXPECT_EQ(members[1].second, R"("\"q\\\"")");
  EXPECT_EQ(members[2].first, R"("")");
  EXPECT_EQ(members[2].second, R"("")");
  EXPECT_EQ(members[3].second, R"(["\\\\",",\"]"])");
  EXPECT_EQ(members[4].second, R"("\u0022}")");
  std::string long_string =
      "[\"" + std::string(5000, 'x') + "\\\\\\\"" + std::string(3000, 'y') + "\",2]";
  ASSERT_TRUE(ValidateJson(long_string).ok());
  auto elems = RawArrayElements(long_string);
  ASSERT_EQ(elems.size(), 2u);
  EXPECT_EQ(elems[0].size(), 5000u + 3000u + 6u);  // quotes, \\ and \"
  EXPECT_EQ(elems[1], "2");
}

}  // namespace
}  // namespace eragon

namespace eragon {
namespace {

std::string DuplicateIn(std::string_view json, std::string_view opaque = {}) {
  simdjson::dom::parser parser;
  Result<simdjson::dom::element> root = ParseJson(json, parser);
  EXPECT_TRUE(root.ok());
  Status st = CheckUniqueKeys(*root, opaque);
  return st.ok() ? "" : st.message();
}

// Issue 16: admin bodies took the first of a key given twice; now it is refused, at any
// depth, with the path of the key, except inside an opaque member (data kept as sent).
TEST(Json, CheckUniqueKeysNamesTheRepeatedKey) {
  EXPECT_EQ(DuplicateIn(R"({"a":1,"b":{"c":[1,{"d":2}]}})"), "");
  EXPECT_EQ(DuplicateIn(R"({"a":1,"a":2})"), "a: appears more than once");
  EXPECT_EQ(DuplicateIn(R"({"retry":{"x":1,"x":1}})"), "retry.x: appears more than once");
  EXPECT_EQ(DuplicateIn(R"({"l":[{},{"k":1,"k":2}]})"), "l[1].k: appears more than once");
  EXPECT_EQ(DuplicateIn(R"([[{"k":1,"k":2}]])"), "[0][0].k: appears more than once");
  EXPECT_EQ(DuplicateIn(R"({"data":{"k":1,"k":2}})", "data"), "");
  EXPECT_EQ(DuplicateIn(R"({"data":1,"data":2})", "data"), "data: appears more than once");
  EXPECT_EQ(DuplicateIn(R"({"x":{"data":{"k":1,"k":2}}})", "data"),
            "x.data.k: appears more than once");
}

}  // namespace
}  // namespace eragon
