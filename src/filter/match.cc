// Filter::Matches: each field's values are found in the event (On-Demand over `data`,
// only along the named paths) and compared with the field's alternatives.
#include <simdjson.h>

#include <span>

#include "filter/filter.h"

namespace eragon::filter {
namespace {

namespace od = simdjson::ondemand;

// One value found at a field's path. Strings point into the event or the parser's
// string buffer: valid until the next event is parsed on this thread.
struct Leaf {
  enum class Kind : uint8_t {
    kString,
    kNumber,
    kBool,
    kNull,
    kOther
  };  // kOther: object, huge number
  Kind kind = Kind::kOther;
  std::string_view text;
  double number = 0;
  bool boolean = false;
};

bool Equal(const Scalar& s, const Leaf& v) {
  switch (s.kind) {
    case Scalar::Kind::kString:
      return v.kind == Leaf::Kind::kString && v.text == s.text;
    case Scalar::Kind::kNumber:
      return v.kind == Leaf::Kind::kNumber && v.number == s.number;
    case Scalar::Kind::kBool:
      return v.kind == Leaf::Kind::kBool && v.boolean == s.boolean;
    case Scalar::Kind::kNull:
      return v.kind == Leaf::Kind::kNull;
  }
  return false;
}

bool InBounds(const std::vector<std::pair<Cmp, double>>& bounds, double x) {
  for (const auto& [cmp, b] : bounds) {
    const bool ok = cmp == Cmp::kLt   ? x < b
                    : cmp == Cmp::kLe ? x <= b
                    : cmp == Cmp::kEq ? x == b
                    : cmp == Cmp::kGe ? x >= b
                                      : x > b;
    if (!ok) return false;
  }
  return true;
}

bool AltMatches(const Alternative& a, const Leaf& v) {
  switch (a.op) {
    case Alternative::Op::kEquals:
      return Equal(a.value, v);
    case Alternative::Op::kPrefix:
      return v.kind == Leaf::Kind::kString && v.text.starts_with(a.prefix);
    case Alternative::Op::kNumeric:
      return v.kind == Leaf::Kind::kNumber && InBounds(a.bounds, v.number);
    case Alternative::Op::kExists:
      return a.exists;
    case Alternative::Op::kAnythingBut:
      if (v.kind == Leaf::Kind::kOther) return false;
      for (const Scalar& s : a.excluded) {
        if (Equal(s, v)) return false;
      }
      return true;
    case Alternative::Op::kAnythingButPrefix:
      return v.kind == Leaf::Kind::kString && !v.text.starts_with(a.prefix);
  }
  return false;
}

// The field's verdict, fed one value at a time.
class FieldMatch {
 public:
  explicit FieldMatch(const Field& f) : field_(f) {}
  void Add(const Leaf& v) {
    found_ = true;
    if (matched_) return;
    for (const Alternative& a : field_.alternatives) {
      if (AltMatches(a, v)) {
        matched_ = true;
        return;
      }
    }
  }
  bool Result() const {
    if (matched_) return true;
    if (found_) return false;
    for (const Alternative& a : field_.alternatives) {  // absent: only {"exists": false}
      if (a.op == Alternative::Op::kExists && !a.exists) return true;
    }
    return false;
  }
  bool matched() const { return matched_; }

 private:
  const Field& field_;
  bool found_ = false;
  bool matched_ = false;
};

Leaf ToLeaf(od::value v, od::json_type t) {
  Leaf leaf;
  switch (t) {
    case od::json_type::string:
      if (!v.get_string().get(leaf.text)) leaf.kind = Leaf::Kind::kString;
      break;
    case od::json_type::number:
      if (!v.get_double().get(leaf.number)) leaf.kind = Leaf::Kind::kNumber;
      break;
    case od::json_type::boolean:
      if (!v.get_bool().get(leaf.boolean)) leaf.kind = Leaf::Kind::kBool;
      break;
    case od::json_type::null:
      leaf.kind = Leaf::Kind::kNull;
      break;
    default:
      break;
  }
  return leaf;
}

// Feeds every value reached by `path` from `v` to `m`; arrays are entered at any level.
void Walk(od::value v, std::span<const std::string> path, FieldMatch& m) {
  od::json_type t;
  if (v.type().get(t)) return;
  if (t == od::json_type::array) {
    od::array elements;
    if (v.get_array().get(elements)) return;
    for (auto element : elements) {
      od::value e;
      if (element.get(e) || m.matched()) return;
      Walk(e, path, m);
    }
    return;
  }
  if (path.empty()) {
    m.Add(ToLeaf(v, t));
    return;
  }
  od::object object;
  od::value child;
  if (t != od::json_type::object || v.get_object().get(object) ||
      object.find_field_unordered(path.front()).get(child)) {
    return;
  }
  Walk(child, path.subspan(1), m);
}

// The thread's parser and a padded copy of the data being matched.
struct Scratch {
  od::parser parser;
  std::string padded;
  od::document doc;
};

bool DataFieldMatches(Scratch& s, const Field& f) {
  FieldMatch m(f);
  od::object root;
  od::value child;
  s.doc.rewind();
  if (!s.doc.get_object().get(root) && !root.find_field_unordered(f.path.front()).get(child)) {
    Walk(child, std::span<const std::string>(f.path).subspan(1), m);
  }
  return m.Result();
}

}  // namespace

bool Filter::Matches(const Event& event) const {
  size_t i = 0;
  for (; i < fields_.size() && fields_[i].source != Field::Source::kData; ++i) {
    const Field& f = fields_[i];
    Leaf v;
    v.kind = Leaf::Kind::kString;
    v.text = f.source == Field::Source::kEventType ? std::string_view(event.event_type)
                                                   : std::string_view(event.entity_id);
    FieldMatch m(f);
    m.Add(v);
    if (!m.Result()) return false;
  }
  if (!reads_data_) return true;
  thread_local Scratch s;
  s.padded.reserve(event.data.size() + simdjson::SIMDJSON_PADDING);
  s.padded.assign(event.data);
  if (s.parser.iterate(s.padded.data(), s.padded.size(), s.padded.capacity()).get(s.doc)) {
    return false;
  }
  for (; i < fields_.size(); ++i) {
    if (!DataFieldMatches(s, fields_[i])) return false;
  }
  return true;
}

}  // namespace eragon::filter
