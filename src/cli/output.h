// Human-readable output of the `eragon` command: aligned tables and JSON values shown
// as text.
#pragma once

#include <simdjson.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace eragon::cli {

// Columns padded to the widest cell; a header row in capitals.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// A member of `obj` as display text: strings unquoted, other values as compact JSON,
// "-" when absent or null.
std::string Field(simdjson::dom::element obj, std::string_view key);
// An element as display text, by the same rules.
std::string Text(simdjson::dom::element value);

// `s` on one line: control characters become spaces; longer than `max` bytes, it is cut
// on a UTF-8 boundary and "..." appended.
std::string OneLine(std::string s, size_t max = 60);

// Prints each member of `obj` as "key: value", one per line.
void PrintObject(std::ostream& out, simdjson::dom::element obj, std::string_view indent = "");

}  // namespace eragon::cli
