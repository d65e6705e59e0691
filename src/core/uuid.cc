#include "core/uuid.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/hash.h"

namespace eragon {
namespace {

// State of the v7 generator. The random bytes come from a buffer refilled with
// RAND_bytes, so most ids cost no call into OpenSSL.
struct V7State {
  std::mutex mu;
  int64_t last_ms = -1;
  uint32_t counter = 0;  // 12 bits
  uint8_t random[4096];
  size_t used = sizeof(random);

  void TakeRandom(uint8_t* out, size_t n) {
    if (used + n > sizeof(random)) {
      if (RAND_bytes(random, sizeof(random)) != 1) {
        std::fprintf(stderr, "eragon: RAND_bytes failed: no entropy available\n");
        std::abort();
      }
      used = 0;
    }
    std::memcpy(out, random + used, n);
    used += n;
  }
};

V7State& State() {
  static V7State* state = new V7State();  // never destroyed: usable during exit
  return *state;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string FormatUuid(const UuidBytes& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

std::optional<UuidBytes> ParseUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  UuidBytes b{};
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = HexValue(text[i]);
    int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[j++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return b;
}

std::string NewUuidV7(Clock* clock) {
  const int64_t now = clock->WallMs();
  UuidBytes b{};
  int64_t ms;
  uint32_t counter;
  {
    V7State& s = State();
    std::lock_guard<std::mutex> lock(s.mu);
    if (now > s.last_ms) {
      s.last_ms = now;
      uint8_t r[2];
      s.TakeRandom(r, 2);
      s.counter = ((r[0] << 8) | r[1]) & 0x7FF;  // top bit clear: room to count up
    } else if (++s.counter > 0xFFF) {
      // Counter exhausted within one ms: borrow the next ms (RFC 9562 section 6.2).
      ++s.last_ms;
      s.counter = 0;
    }
    ms = s.last_ms;
    counter = s.counter;
    s.TakeRandom(b.data() + 8, 8);
  }
  const auto ums = static_cast<uint64_t>(ms);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ums >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | (counter >> 8));
  b[7] = static_cast<uint8_t>(counter & 0xFF);
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));
  return FormatUuid(b);
}

std::string UuidV5(const UuidBytes& ns, std::string_view name) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, ns.data(), ns.size()) == 1 &&
            EVP_DigestUpdate(ctx, name.data(), name.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, md, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len < 16) {
    std::fprintf(stderr, "eragon: SHA-1 digest failed\n");
    std::abort();
  }
  UuidBytes b;
  std::memcpy(b.data(), md, 16);
  b[6] = static_cast<uint8_t>(0x50 | (b[6] & 0x0F));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));
  return FormatUuid(b);
}

std::string ScheduleEventId(std::string_view install_secret, std::string_view schedule_name,
                            int64_t tick_ms) {
  std::string name(schedule_name);
  name.push_back('/');
  name += std::to_string(tick_ms);
  return KeyedEventId(install_secret, name);
}

std::string SagaEventId(std::string_view install_secret, std::string_view saga,
                        std::string_view instance_id, std::string_view what) {
  // "saga:" keeps these apart from schedule ticks (schedule names cannot hold ':').
  std::string name = "saga:" + std::string(saga) + "/" + std::string(what) + "/";
  name += instance_id;
  return KeyedEventId(install_secret, name);
}

std::string KeyedEventId(std::string_view install_secret, std::string_view name) {
  const std::string mac = HmacSha256(install_secret, name);
  UuidBytes b;
  std::memcpy(b.data(), mac.data(), 16);
  b[6] = static_cast<uint8_t>(0x80 | (b[6] & 0x0F));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));
  return FormatUuid(b);
}

std::optional<int64_t> UuidV7Timestamp(std::string_view text) {
  std::optional<UuidBytes> b = ParseUuid(text);
  if (!b || ((*b)[6] >> 4) != 7 || ((*b)[8] & 0xC0) != 0x80) return std::nullopt;
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | (*b)[i];
  return static_cast<int64_t>(ms);
}

}  // namespace eragon
