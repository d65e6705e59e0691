// The name and id rules of API.md ("Names"). Every name that reaches the log, the config
// store or a header passes one of these first.
#pragma once

#include <string>
#include <string_view>

#include "eragon/status.h"

namespace eragon {

// Event type, topic and schedule names: ^[a-z0-9][a-z0-9_.-]{0,127}$
bool IsValidEventType(std::string_view name);
inline bool IsValidTopic(std::string_view name) { return IsValidEventType(name); }
inline bool IsValidScheduleName(std::string_view name) { return IsValidEventType(name); }

// Service (producer or consumer) names: ^[a-z0-9][a-z0-9-]{0,63}$
bool IsValidServiceName(std::string_view name);

// Event ids: ^[A-Za-z0-9._:-]{1,128}$
bool IsValidEventId(std::string_view id);

// Entity ids: 1..256 bytes of valid UTF-8 without control characters (C0, U+007F and
// C1 U+0080..U+009F). Ok, or InvalidArgument "<field>: must be 1..256 bytes of UTF-8
// without control characters" with the offending byte's position when there is one.
Status ValidateEntityId(std::string_view id, std::string_view field = "entity_id");
inline bool IsValidEntityId(std::string_view id) { return ValidateEntityId(id).ok(); }

// A W3C Trace Context traceparent: version-traceid-parentid-flags in lower-case hex
// ("00-<32>-<16>-<2>"; future versions may append "-..."), not version ff, ids not all zero.
bool IsValidTraceparent(std::string_view value);

// For entity ids in HTTP headers: printable ASCII (0x20..0x7E) except '%' is kept, every
// other byte (and '%') becomes %XX with upper-case hex. PercentDecode reverses it; it
// returns InvalidArgument on a malformed escape.
std::string PercentEncodeHeaderValue(std::string_view value);
Result<std::string> PercentDecode(std::string_view value);

}  // namespace eragon
