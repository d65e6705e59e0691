// Names the calling thread for top -H, perf and gdb ("eragon-io", "log-writer", ...).
#pragma once

#include <string_view>

namespace eragon {

// Linux keeps at most 15 bytes; longer names are cut. Failure is ignored: a name is only
// a diagnostic aid.
void SetThreadName(std::string_view name);

}  // namespace eragon
