#include "cli/output.h"

#include <algorithm>

namespace eragon::cli {

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string Text(simdjson::dom::element value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return std::string(value.get_string().value());
  return simdjson::minify(value);
}

std::string Field(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::element value;
  if (obj.at_key(key).get(value)) return "-";
  return Text(value);
}

std::string OneLine(std::string s, size_t max) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

void PrintObject(std::ostream& out, simdjson::dom::element obj, std::string_view indent) {
  simdjson::dom::object members;
  if (obj.get(members)) {
    out << indent << Text(obj) << "\n";
    return;
  }
  for (auto [key, value] : members) out << indent << key << ": " << Text(value) << "\n";
}

}  // namespace eragon::cli
