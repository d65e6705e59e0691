// Filter::Compile: the pattern's JSON (simdjson DOM) into Fields and Alternatives.
#include <algorithm>
#include <cmath>
#include <optional>

#include "core/json.h"
#include "filter/filter.h"

namespace eragon::filter {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(why));
}

std::optional<Scalar> ToScalar(element e) {
  Scalar s;
  switch (e.type()) {
    case element_type::STRING:
      s.kind = Scalar::Kind::kString;
      s.text = std::string(e.get_string().value_unsafe());
      return s;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      s.kind = Scalar::Kind::kNumber;
      if (e.get_double().get(s.number) || !std::isfinite(s.number)) return std::nullopt;
      return s;
    case element_type::BOOL:
      s.kind = Scalar::Kind::kBool;
      s.boolean = e.get_bool().value_unsafe();
      return s;
    case element_type::NULL_VALUE:
      return s;
    default:
      return std::nullopt;
  }
}

std::optional<Cmp> ParseCmp(std::string_view op) {
  static constexpr std::pair<std::string_view, Cmp> kOps[] = {
      {"<", Cmp::kLt}, {"<=", Cmp::kLe}, {"=", Cmp::kEq}, {">=", Cmp::kGe}, {">", Cmp::kGt}};
  for (const auto& [name, cmp] : kOps) {
    if (name == op) return cmp;
  }
  return std::nullopt;
}

Status ParseNumeric(std::string_view field, element e, Alternative* alt) {
  simdjson::dom::array a;
  const std::string_view usage =
      "numeric: must be [op, number] pairs (1 to 4), op one of <, <=, =, >=, >";
  if (e.get_array().get(a) || a.size() == 0 || a.size() % 2 != 0 || a.size() > 8) {
    return Invalid(field, usage);
  }
  for (size_t i = 0; i < a.size(); i += 2) {
    std::string_view op;
    std::optional<Cmp> cmp;
    if (a.at(i).get_string().get(op) || !(cmp = ParseCmp(op))) {
      return Invalid(field, "numeric: unknown operator (use <, <=, =, >=, >)");
    }
    std::optional<Scalar> n = ToScalar(a.at(i + 1).value_unsafe());
    if (!n || n->kind != Scalar::Kind::kNumber) return Invalid(field, usage);
    alt->bounds.emplace_back(*cmp, n->number);
  }
  alt->op = Alternative::Op::kNumeric;
  return Status::Ok();
}

Status ParseAnythingBut(std::string_view field, element e, Alternative* alt) {
  simdjson::dom::object prefix_object;
  if (!e.get_object().get(prefix_object)) {
    std::string_view prefix;
    if (prefix_object.size() != 1 || prefix_object.at_key("prefix").get_string().get(prefix)) {
      return Invalid(field, "anything-but: an object must be {\"prefix\": \"...\"}");
    }
    alt->op = Alternative::Op::kAnythingButPrefix;
    alt->prefix = prefix;
    return Status::Ok();
  }
  alt->op = Alternative::Op::kAnythingBut;
  simdjson::dom::array list;
  if (e.get_array().get(list)) {
    std::optional<Scalar> s = ToScalar(e);
    if (!s)
      return Invalid(field, "anything-but: must be a value, a list of values or {\"prefix\"}");
    alt->excluded.push_back(std::move(*s));
    return Status::Ok();
  }
  if (list.size() == 0 || list.size() > kMaxAlternatives) {
    return Invalid(field, "anything-but: the list must hold 1 to 256 values");
  }
  for (element v : list) {
    std::optional<Scalar> s = ToScalar(v);
    if (!s)
      return Invalid(field,
                     "anything-but: the list must hold only strings, numbers, booleans or null");
    alt->excluded.push_back(std::move(*s));
  }
  return Status::Ok();
}

// {"prefix": ...}, {"numeric": ...}, {"exists": ...} or {"anything-but": ...}.
Status ParseOperator(std::string_view field, simdjson::dom::object o, Alternative* alt) {
  if (o.size() != 1) {
    return Invalid(field,
                   "an operator object holds exactly one of prefix, numeric, exists, anything-but");
  }
  const simdjson::dom::key_value_pair kv = *o.begin();
  if (kv.key == "prefix") {
    std::string_view p;
    if (kv.value.get_string().get(p)) return Invalid(field, "prefix: must be a string");
    alt->op = Alternative::Op::kPrefix;
    alt->prefix = p;
    return Status::Ok();
  }
  if (kv.key == "numeric") return ParseNumeric(field, kv.value, alt);
  if (kv.key == "exists") {
    if (kv.value.get_bool().get(alt->exists))
      return Invalid(field, "exists: must be true or false");
    alt->op = Alternative::Op::kExists;
    return Status::Ok();
  }
  if (kv.key == "anything-but") return ParseAnythingBut(field, kv.value, alt);
  return Invalid(field, "unknown operator \"" + std::string(kv.key) +
                            "\" (prefix, numeric, exists, anything-but)");
}

Status ParseAlternatives(simdjson::dom::array list, Field* f) {
  if (list.size() == 0 || list.size() > kMaxAlternatives) {
    return Invalid(f->name, "must list 1 to 256 alternatives");
  }
  for (element e : list) {
    Alternative alt;
    simdjson::dom::object o;
    if (!e.get_object().get(o)) {
      ERAGON_RETURN_IF_ERROR(ParseOperator(f->name, o, &alt));
    } else if (std::optional<Scalar> s = ToScalar(e)) {
      alt.value = std::move(*s);
    } else {
      return Invalid(f->name,
                     "an alternative is a string, number, boolean, null or an operator object");
    }
    f->alternatives.push_back(std::move(alt));
  }
  return Status::Ok();
}

// Splits "data.a.b" into a Field; false when the name is not event_type, entity_id or
// data.<path> with non-empty keys.
bool NameField(std::string_view name, Field* f) {
  f->name = name;
  if (name == "event_type") {
    f->source = Field::Source::kEventType;
    return true;
  }
  if (name == "entity_id") {
    f->source = Field::Source::kEntityId;
    return true;
  }
  if (!name.starts_with("data.")) return false;
  f->source = Field::Source::kData;
  std::string_view rest = name.substr(5);
  while (true) {
    const size_t dot = rest.find('.');
    std::string_view key = rest.substr(0, dot);
    if (key.empty()) return false;
    f->path.emplace_back(key);
    if (dot == std::string_view::npos) return true;
    rest = rest.substr(dot + 1);
  }
}

// One key of the pattern (a nested object recurses with the dotted prefix).
Status AddMember(const std::string& name, element value, std::vector<Field>* out) {
  simdjson::dom::object nested;
  if (!value.get_object().get(nested)) {
    if (name != "data" && !name.starts_with("data.")) {
      return Invalid(name, "must be a list of alternatives");
    }
    if (nested.size() == 0) return Invalid(name, "an empty object matches nothing");
    for (simdjson::dom::key_value_pair kv : nested) {
      ERAGON_RETURN_IF_ERROR(AddMember(name + "." + std::string(kv.key), kv.value, out));
    }
    return Status::Ok();
  }
  Field f;
  if (!NameField(name, &f)) {
    return Invalid(name, "unknown field (event_type, entity_id or data.<path>)");
  }
  if (f.path.size() > kMaxPathDepth) return Invalid(name, "path deeper than 16 keys");
  simdjson::dom::array list;
  if (value.get_array().get(list)) return Invalid(name, "must be a list of alternatives");
  ERAGON_RETURN_IF_ERROR(ParseAlternatives(list, &f));
  if (out->size() >= kMaxFields) return Status::InvalidArgument("more than 32 fields");
  out->push_back(std::move(f));
  return Status::Ok();
}

}  // namespace

Result<Filter> Filter::Compile(std::string_view json) {
  simdjson::dom::parser parser;
  ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(json, parser));
  simdjson::dom::object object;
  if (root.get_object().get(object)) return Status::InvalidArgument("must be a JSON object");
  if (object.size() == 0) return Status::InvalidArgument("must name at least one field");
  Filter filter;
  filter.source_ = std::string(json);
  for (simdjson::dom::key_value_pair kv : object) {
    ERAGON_RETURN_IF_ERROR(AddMember(std::string(kv.key), kv.value, &filter.fields_));
  }
  // Fields that need no parse of data first, so a mismatch there costs nothing more.
  std::stable_partition(filter.fields_.begin(), filter.fields_.end(),
                        [](const Field& f) { return f.source != Field::Source::kData; });
  filter.reads_data_ = std::any_of(filter.fields_.begin(), filter.fields_.end(),
                                   [](const Field& f) { return f.source == Field::Source::kData; });
  return filter;
}

}  // namespace eragon::filter
