#include "core/names.h"

#include <cstdint>

#include "core/utf8.h"

namespace eragon {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsValidEventType(std::string_view name) {
  if (name.empty() || name.size() > 128 || !IsLowerAlnum(name[0])) return false;
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsValidServiceName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !IsLowerAlnum(name[0])) return false;
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsValidEventId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  if (id == "." || id == "..") return false;  // they would change a URL path's meaning
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status ValidateEntityId(std::string_view id, std::string_view field) {
  auto fail = [&](std::string_view detail) {
    std::string m(field);
    m += ": must be 1..256 bytes of UTF-8 without control characters";
    m += detail;
    return Status::InvalidArgument(std::move(m));
  };
  if (id.empty() || id.size() > 256) return fail("");
  size_t i = 0;
  while (i < id.size()) {
    uint32_t cp;
    size_t len = DecodeUtf8(id.substr(i), &cp);
    if (len == 0) return fail(" (invalid UTF-8 at byte " + std::to_string(i) + ")");
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      return fail(" (control character at byte " + std::to_string(i) + ")");
    }
    i += len;
  }
  return Status::Ok();
}

bool IsValidTraceparent(std::string_view v) {
  auto lower_hex = [&](size_t from, size_t n) {
    bool all_zero = true;
    for (size_t i = from; i < from + n; ++i) {
      char c = v[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
      if (c != '0') all_zero = false;
    }
    return all_zero ? 1 : 2;  // 0 = not hex, 1 = hex zeros, 2 = hex non-zero
  };
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  if (lower_hex(0, 2) == 0 || v.substr(0, 2) == "ff") return false;
  if (v.substr(0, 2) == "00" ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return false;
  return lower_hex(3, 32) == 2 && lower_hex(36, 16) == 2 && lower_hex(53, 2) != 0;
}

std::string PercentEncodeHeaderValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::string> PercentDecode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    const bool complete = i + 2 < value.size();
    const int hi = complete ? HexValue(value[i + 1]) : -1;
    const int lo = complete ? HexValue(value[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("malformed percent escape at byte " + std::to_string(i));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace eragon
