// UTF-8 decoding helpers shared by the name rules and the JSON writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace eragon {

// Decodes one UTF-8 sequence at the start of `s` (REQUIRES: !s.empty()). Returns its length
// in bytes and sets *code_point, or returns 0 when the bytes there are not valid UTF-8
// (overlong forms, surrogates, values above U+10FFFF, truncated sequences).
size_t DecodeUtf8(std::string_view s, uint32_t* code_point);

// True when all of `s` is valid UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace eragon
