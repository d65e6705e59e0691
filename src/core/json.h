// JSON for Eragon: a writer that appends to a std::string, and full validation on
// simdjson's DOM parser (simdjson's On-Demand API alone accepts `{"x":tru}`; see
// DEPENDENCIES.md). Raw-span helpers find the exact bytes of values in a document that
// was validated first, so `data` can be kept byte-for-byte.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eragon/status.h"

namespace eragon {

// Documents nested deeper than this are rejected with kInvalidJson (API.md).
inline constexpr size_t kMaxJsonDepth = 64;

// Appends `s` to `*out` as a JSON string literal (with quotes). Escapes '"', '\\' and every
// control character below 0x20; bytes that are not valid UTF-8 become U+FFFD, so the
// output is always valid JSON.
void AppendJsonString(std::string* out, std::string_view s);

// Writes JSON text by appending to `*out`, inserting commas and colons. The caller keeps
// the calls well-nested (Key only inside objects, one value per key); `*out` must remain
// live while this writer is in use. Not thread-safe.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Splices `json` in as a value, unchanged. REQUIRES: `json` is one valid JSON value.
  JsonWriter& Raw(std::string_view json);

  std::string* out() { return out_; }

 private:
  void Separate();
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);

  std::string* out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

// Validates all of `json` (syntax, UTF-8, depth <= kMaxJsonDepth) with simdjson's DOM
// parser. Errors are kInvalidJson with a message for a person. Numbers of any size are
// valid JSON (RFC 8259): those simdjson cannot represent (1e400, integers beyond 64 bits)
// are accepted, and read as the double 0.0 through the returned DOM; their exact text is
// still in the input, where the raw-span helpers below find it.
Status ValidateJson(std::string_view json);

// Validates like ValidateJson and returns the root of the parsed document.
//
// Lifetime: the element points into a thread_local parser. It stays valid until the next
// ParseJson call on the same thread (or thread exit); copy out what you need before then.
// Use the overload with your own parser to keep several documents alive at once.
Result<simdjson::dom::element> ParseJson(std::string_view json);
// The same with a caller-owned parser; the element lives until that parser parses again
// or is destroyed. The parser's depth limit is set to kMaxJsonDepth.
Result<simdjson::dom::element> ParseJson(std::string_view json, simdjson::dom::parser& parser);

// A key given twice in one object of `value` (nested objects and arrays too) is
// InvalidArgument("<path>: appears more than once"), as publish refuses an event's field
// given twice. Members of the top-level object named `opaque` (e.g. a schedule's `data`,
// kept as sent) are not looked into.
Status CheckUniqueKeys(simdjson::dom::element value, std::string_view opaque = {});

// Raw spans. REQUIRES for all: the text was validated (ParseJson/ValidateJson) and is the
// exact text of one value of the kind named, without surrounding whitespace. The returned
// views point into that text; values carry no surrounding whitespace.
//
// The elements of a JSON array, in order.
std::vector<std::string_view> RawArrayElements(std::string_view array);
// The members of a JSON object, in order, as (key literal with its quotes and escapes
// as written, value).
std::vector<std::pair<std::string_view, std::string_view>> RawObjectMembers(
    std::string_view object);
// `text` without leading and trailing JSON whitespace.
std::string_view TrimJsonWhitespace(std::string_view text);

}  // namespace eragon
