#include "core/json.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/utf8.h"

namespace eragon {
namespace {

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80; }

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsJsonSpace(s[i])) ++i;
  return i;
}

// REQUIRES: s[i] == '"' starts a valid string. Returns the index after its closing quote.
// memchr jumps from quote to quote (event payloads are mostly long strings, and this runs
// over every publish body several times); a quote ends the string unless an odd run of
// backslashes precedes it.
size_t SkipString(std::string_view s, size_t i) {
  const size_t open = i;
  for (++i; i < s.size();) {
    const void* hit = std::memchr(s.data() + i, '"', s.size() - i);
    if (hit == nullptr) return s.size();
    size_t q = static_cast<size_t>(static_cast<const char*>(hit) - s.data());
    size_t backslashes = 0;
    while (q - backslashes - 1 > open && s[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q + 1;
    i = q + 1;
  }
  return s.size();
}

// REQUIRES: a valid value starts at s[i]. Returns the index just past it.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  char c = s[i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < s.size()) {
      c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !IsJsonSpace(s[i])) ++i;
  return i;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the JSON number (RFC 8259 grammar) at s[i], or 0 when none starts there.
// *is_integer tells whether it has neither fraction nor exponent.
size_t NumberLength(std::string_view s, size_t i, bool* is_integer) {
  const size_t start = i;
  *is_integer = true;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !IsDigit(s[i])) return 0;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    *is_integer = false;
    if (++i >= s.size() || !IsDigit(s[i])) return 0;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    *is_integer = false;
    if (++i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !IsDigit(s[i])) return 0;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  return i - start;
}

// True for a number simdjson cannot represent (it answers NUMBER_ERROR): integers outside
// int64/uint64, and floats beyond the range of a double.
bool OutOfRange(std::string_view number, bool is_integer) {
  const char* b = number.data();
  const char* e = b + number.size();
  if (is_integer) {
    if (number[0] == '-') {
      int64_t v;
      return std::from_chars(b, e, v).ec != std::errc();
    }
    uint64_t v;
    return std::from_chars(b, e, v).ec != std::errc();
  }
  double v;
  return std::from_chars(b, e, v).ec != std::errc();
}

// JSON allows numbers of any size (RFC 8259 section 6); simdjson refuses those it cannot
// represent. Copies `in` to *out with each such number replaced by "0.0" padded with
// spaces to the same length, so byte offsets stay the same and the raw text of values
// can still be taken from `in`. Returns false when nothing needed replacing.
bool ReplaceOutOfRangeNumbers(std::string_view in, std::string* out) {
  bool replaced = false;
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '"') {
      i = SkipString(in, i);
      continue;
    }
    if (c != '-' && !IsDigit(c)) {
      ++i;
      continue;
    }
    bool is_integer;
    size_t len = NumberLength(in, i, &is_integer);
    if (len >= 3 && OutOfRange(in.substr(i, len), is_integer)) {
      if (!replaced) out->assign(in);
      replaced = true;
      out->replace(i, len, "0.0" + std::string(len - 3, ' '));
    }
    i += len == 0 ? 1 : len;
  }
  return replaced;
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

Status ErrorToStatus(simdjson::error_code error) {
  switch (error) {
    case simdjson::DEPTH_ERROR:
      return Status::InvalidJson("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                 " levels");
    case simdjson::UTF8_ERROR:
      return Status::InvalidJson("the body is not valid UTF-8");
    case simdjson::EMPTY:
      return Status::InvalidJson("the body is empty; expected a JSON value");
    case simdjson::MEMALLOC:
    case simdjson::CAPACITY:
      return Status::TooLarge(std::string("JSON document too large: ") +
                              simdjson::error_message(error));
    default:
      return Status::InvalidJson(std::string("malformed JSON: ") + simdjson::error_message(error));
  }
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && !NeedsEscape(static_cast<unsigned char>(s[i]))) ++i;
    out->append(s.data() + start, i - start);
    if (i == s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      uint32_t cp;
      size_t len = DecodeUtf8(s.substr(i), &cp);
      if (len == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(s.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    ++i;
  }
  out->push_back('"');
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
  } else if (need_comma_) {
    out_->push_back(',');
  }
}

JsonWriter& JsonWriter::Open(char c) {
  Separate();
  out_->push_back(c);
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::Close(char c) {
  out_->push_back(c);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(out_, key);
  out_->push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  AppendJsonString(out_, s);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, end);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t v) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, end);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) { return Raw(v ? "true" : "false"); }

JsonWriter& JsonWriter::Null() { return Raw("null"); }

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_->append(json);
  need_comma_ = true;
  return *this;
}

Status ValidateJson(std::string_view json) { return ParseJson(json).status(); }

namespace {

// Whether a key appears twice in an object inside `value`; `*path` is then its path
// relative to `value` (built only on the way out of a failure: no work per key).
bool FindDuplicateKey(simdjson::dom::element value, bool top, std::string_view opaque,
                      std::string* path) {
  simdjson::dom::array array;
  if (!value.get_array().get(array)) {
    size_t i = 0;
    for (simdjson::dom::element e : array) {
      if (FindDuplicateKey(e, false, {}, path)) {
        *path =
            "[" + std::to_string(i) + "]" + (path->empty() || (*path)[0] == '[' ? "" : ".") + *path;
        return true;
      }
      ++i;
    }
    return false;
  }
  simdjson::dom::object object;
  if (value.get_object().get(object)) return false;
  std::vector<std::string_view> seen;
  for (simdjson::dom::key_value_pair kv : object) {
    if (std::find(seen.begin(), seen.end(), kv.key) != seen.end()) {
      *path = std::string(kv.key);
      return true;
    }
    seen.push_back(kv.key);
    if (top && !opaque.empty() && kv.key == opaque) continue;
    if (FindDuplicateKey(kv.value, false, {}, path)) {
      *path = std::string(kv.key) + (!path->empty() && (*path)[0] == '[' ? "" : ".") + *path;
      return true;
    }
  }
  return false;
}

}  // namespace

Status CheckUniqueKeys(simdjson::dom::element value, std::string_view opaque) {
  std::string path;
  if (!FindDuplicateKey(value, true, opaque, &path)) return Status::Ok();
  return Status::InvalidArgument(path + ": appears more than once");
}

Result<simdjson::dom::element> ParseJson(std::string_view json) {
  return ParseJson(json, ThreadParser());
}

Result<simdjson::dom::element> ParseJson(std::string_view json, simdjson::dom::parser& parser) {
  // The depth limit is set by allocate(); later automatic growth keeps it.
  if (parser.max_depth() != kMaxJsonDepth || parser.capacity() == 0) {
    size_t capacity = json.size() < 4096 ? 4096 : json.size();
    if (simdjson::error_code e = parser.allocate(capacity, kMaxJsonDepth)) return ErrorToStatus(e);
  }
  simdjson::dom::element root;
  simdjson::error_code error = parser.parse(json.data(), json.size()).get(root);
  if (error == simdjson::NUMBER_ERROR) {
    // Perhaps valid JSON with numbers out of simdjson's range: validate a copy in which
    // those read as 0.0 (the parser copies the input, so the copy may go away after).
    std::string copy;
    if (ReplaceOutOfRangeNumbers(json, &copy)) {
      error = parser.parse(copy.data(), copy.size()).get(root);
    }
  }
  if (error) return ErrorToStatus(error);
  return root;
}

std::string_view TrimJsonWhitespace(std::string_view text) {
  size_t b = SkipSpace(text, 0);
  size_t e = text.size();
  while (e > b && IsJsonSpace(text[e - 1])) --e;
  return text.substr(b, e - b);
}

std::vector<std::string_view> RawArrayElements(std::string_view array) {
  std::vector<std::string_view> out;
  size_t i = SkipSpace(array, 1);
  while (i < array.size() && array[i] != ']') {
    size_t end = SkipValue(array, i);
    out.push_back(array.substr(i, end - i));
    i = SkipSpace(array, end);
    if (i < array.size() && array[i] == ',') i = SkipSpace(array, i + 1);
  }
  return out;
}

std::vector<std::pair<std::string_view, std::string_view>> RawObjectMembers(
    std::string_view object) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t i = SkipSpace(object, 1);
  while (i < object.size() && object[i] == '"') {
    size_t key_end = SkipString(object, i);
    std::string_view key = object.substr(i, key_end - i);
    i = SkipSpace(object, key_end);
    if (i < object.size() && object[i] == ':') ++i;
    i = SkipSpace(object, i);
    size_t end = SkipValue(object, i);
    out.emplace_back(key, object.substr(i, end - i));
    i = SkipSpace(object, end);
    if (i < object.size() && object[i] == ',') i = SkipSpace(object, i + 1);
  }
  return out;
}

}  // namespace eragon
