// Hashing, encoding and randomness helpers on OpenSSL's libcrypto. Thread-safe.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace eragon {

// Raw 32-byte SHA-256 digest, and the same as 64 lower-case hex digits.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
// SHA-256 of the concatenation of `parts`, into `out` (32 bytes), without building it.
void Sha256Parts(std::initializer_list<std::string_view> parts, unsigned char out[32]);

// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// Standard base64 (RFC 4648 section 4, '+' '/' with '=' padding).
std::string Base64Encode(std::string_view data);
// Decodes standard base64; padding may be omitted. nullopt on any other character,
// a misplaced '=', an impossible length or non-zero trailing bits.
std::optional<std::string> Base64Decode(std::string_view text);

// Lower-case hex of every byte.
std::string HexEncode(std::string_view data);
// Decodes hex (either case); nullopt on an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view text);

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts if the CSPRNG fails, which only
// happens when the system cannot provide entropy at all.
std::string RandomBytes(size_t n);

// Compares in time that depends only on the lengths (CRYPTO_memcmp); lengths are not
// secret.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace eragon
