// Filter: an EventBridge-style content pattern of a consumer route (API.md "Consumer
// routes: more settings"), compiled once when the route changes and evaluated on each
// event the consumer reads.
//
// A pattern is a JSON object; each key names a field of the event and holds a non-empty
// list of alternatives. An event matches when every field matches one of its
// alternatives. Fields: `event_type`, `entity_id` and dotted paths into `data`
// (`data.customer.city`); a nested object is the same as the dotted path
// (`{"data": {"total": [...]}}` is `{"data.total": [...]}`). Alternatives:
//   "text", 12.5, true, null   equal by JSON value (numbers as numbers: 100 = 1e2 = 100.0)
//   {"prefix": "b2b-"}          a string starting with it
//   {"numeric": [">=", 10, "<", 20]}  a number within every bound (<, <=, =, >=, >)
//   {"exists": true|false}      the field is present (any value, null too) / absent
//   {"anything-but": v | [v...] | {"prefix": p}}  a present value other than those
// An array in the event matches when any of its elements does (at any level of the
// path). Keys of `data` are compared as the event spells them (a key written with
// \u escapes in the event is not unescaped); string values are compared unescaped.
//
// Evaluation parses only what the paths reach (simdjson On-Demand over `data`, which was
// validated at publish), never the whole event a second time, and only when a `data`
// field is named. Thread-safety: a compiled Filter is immutable; Matches may run on many
// threads at once (each uses its own thread-local parser).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon::filter {

// Limits of a pattern (a larger one is kInvalidArgument).
inline constexpr size_t kMaxFields = 32;
inline constexpr size_t kMaxAlternatives = 256;
inline constexpr size_t kMaxPathDepth = 16;

// One value the pattern compares: a JSON scalar.
struct Scalar {
  enum class Kind : uint8_t { kString, kNumber, kBool, kNull };
  Kind kind = Kind::kNull;
  std::string text;  // kString
  double number = 0;
  bool boolean = false;
};

enum class Cmp : uint8_t { kLt, kLe, kEq, kGe, kGt };

struct Alternative {
  enum class Op : uint8_t { kEquals, kPrefix, kNumeric, kExists, kAnythingBut, kAnythingButPrefix };
  Op op = Op::kEquals;
  Scalar value;                                // kEquals
  std::string prefix;                          // kPrefix, kAnythingButPrefix
  std::vector<std::pair<Cmp, double>> bounds;  // kNumeric
  bool exists = true;                          // kExists
  std::vector<Scalar> excluded;                // kAnythingBut
};

struct Field {
  enum class Source : uint8_t { kEventType, kEntityId, kData };
  std::string name;  // as written, dotted ("data.total")
  Source source = Source::kData;
  std::vector<std::string> path;  // the keys inside data (kData)
  std::vector<Alternative> alternatives;
};

class Filter {
 public:
  // Compiles a pattern. Errors are kInvalidArgument with a message naming the field
  // ("data.total: numeric: unknown operator \"~\""); kInvalidJson for text that is not JSON.
  static Result<Filter> Compile(std::string_view json);

  bool Matches(const Event& event) const;

  const std::vector<Field>& fields() const { return fields_; }
  // The pattern's text as compiled.
  const std::string& source() const { return source_; }

 private:
  std::vector<Field> fields_;  // event_type / entity_id fields first: they cost no parse
  bool reads_data_ = false;
  std::string source_;
};

}  // namespace eragon::filter
