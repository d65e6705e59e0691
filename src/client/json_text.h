// Minimal JSON text helpers for the client side (CLI, tests): quoting strings and
// writing flat objects. Parsing uses simdjson's DOM parser directly, which validates
// the whole document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eragon {

// `s` as a JSON string literal, quotes included. Bytes >= 0x80 are copied unchanged, so
// valid UTF-8 in gives valid JSON out.
std::string JsonQuote(std::string_view s);

// Writes one JSON object member by member: JsonObjectWriter().Str("a", "x").Int("n", 1).
class JsonObjectWriter {
 public:
  JsonObjectWriter& Str(std::string_view key, std::string_view value);
  JsonObjectWriter& Int(std::string_view key, int64_t value);
  JsonObjectWriter& Bool(std::string_view key, bool value);
  // `json` must already be valid JSON text (an object, array, number...).
  JsonObjectWriter& Raw(std::string_view key, std::string_view json);
  bool empty() const { return out_.empty(); }
  // The object's text, "{}" when nothing was added.
  std::string Finish() const { return out_.empty() ? "{}" : out_ + "}"; }

 private:
  void Key(std::string_view key);
  std::string out_;
};

}  // namespace eragon
