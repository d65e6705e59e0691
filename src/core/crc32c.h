// CRC32C (Castagnoli), the checksum of every log record. Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at run time), a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace eragon::crc32c {

// Returns the CRC32C of data[0, n) appended to a buffer whose CRC32C is `crc`.
// Extend(Value(a), b) == Value(a + b).
uint32_t Extend(uint32_t crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// The portable and the hardware implementations, exposed for tests and benchmarks.
// ExtendHardware REQUIRES: HardwareAvailable().
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);
bool HardwareAvailable();

}  // namespace eragon::crc32c
