#include "core/push_targets.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace eragon {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<IpAddress> FromSockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return IpAddress::FromBytes(reinterpret_cast<const uint8_t*>(&in->sin_addr), 4);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return IpAddress::FromBytes(reinterpret_cast<const uint8_t*>(&in6->sin6_addr), 16);
  }
  return std::nullopt;
}

// Every address `host` resolves to (an address literal is itself); none on failure.
std::vector<IpAddress> ResolveAll(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::vector<IpAddress> out;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &list) != 0) return out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (auto a = FromSockaddr(ai->ai_addr)) out.push_back(*a);
  }
  freeaddrinfo(list);
  return out;
}

std::vector<IpAddress> InterfaceAddresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (auto a = FromSockaddr(i->ifa_addr)) out.push_back(*a);
  }
  freeifaddrs(list);
  return out;
}

Cidr Single(const IpAddress& a) {
  Cidr c;
  c.base = a;
  c.bits = a.v6 ? 128 : 32;
  c.text = a.ToString();
  return c;
}

}  // namespace

IpAddress IpAddress::FromBytes(const uint8_t* data, size_t size) {
  IpAddress a;
  if (size == 16 && std::memcmp(data, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    std::memcpy(a.bytes.data(), data + 12, 4);
  } else if (size == 16) {
    a.v6 = true;
    std::memcpy(a.bytes.data(), data, 16);
  } else {
    std::memcpy(a.bytes.data(), data, 4);
  }
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return FromBytes(buf, 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return FromBytes(buf, 16);
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), out, sizeof(out));
  return out;
}

Result<Cidr> Cidr::Parse(std::string_view text) {
  Cidr c;
  c.text = std::string(text);
  const size_t slash = text.find('/');
  std::optional<IpAddress> base = IpAddress::Parse(text.substr(0, slash));
  if (!base) return Status::InvalidArgument("'" + c.text + "' is not an address or CIDR");
  c.base = *base;
  const int max_bits = c.base.v6 ? 128 : 32;
  c.bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        bits.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(bits)) > max_bits) {
      return Status::InvalidArgument("'" + c.text + "': bad prefix length");
    }
    c.bits = std::stoi(std::string(bits));
  }
  return c;
}

bool Cidr::Contains(const IpAddress& a) const {
  if (a.v6 != base.v6) return false;
  const int full = bits / 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

Result<std::vector<Cidr>> ParseCidrList(std::string_view text) {
  std::vector<Cidr> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      ERAGON_ASSIGN_OR_RETURN(Cidr c, Cidr::Parse(item));
      out.push_back(std::move(c));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

PushTargets::PushTargets(std::vector<Cidr> deny, std::vector<Cidr> allow)
    : deny_(std::move(deny)), allow_(std::move(allow)) {}

void PushTargets::DenyListenAddress(const std::string& host, uint16_t port) {
  std::vector<IpAddress> own = ResolveAll(host);
  std::vector<Cidr> ranges;
  for (const IpAddress& a : own) {
    if (a.bytes == IpAddress{}.bytes) {  // 0.0.0.0 or ::: every local address
      for (const char* loopback : {"127.0.0.0/8", "::1"}) ranges.push_back(*Cidr::Parse(loopback));
      for (const IpAddress& local : InterfaceAddresses()) ranges.push_back(Single(local));
    } else {
      ranges.push_back(Single(a));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (Cidr& c : ranges) deny_endpoints_.emplace_back(std::move(c), port);
}

std::optional<std::string> PushTargets::Refusal(const IpAddress& address, uint16_t port) const {
  const std::string a = address.ToString();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [own, own_port] : deny_endpoints_) {
      if (own_port == port && own.Contains(address)) {
        return a + ":" + std::to_string(port) + " is eragond's own listen address";
      }
    }
  }
  for (const Cidr& c : deny_) {
    if (c.Contains(address)) return a + " is in --push-deny-cidrs (" + c.text + ")";
  }
  if (allow_.empty()) return std::nullopt;
  for (const Cidr& c : allow_) {
    if (c.Contains(address)) return std::nullopt;
  }
  return a + " is not in --push-allow-cidrs";
}

Status PushTargets::CheckHost(const std::string& host, uint16_t port) const {
  std::optional<std::string> refusal;
  for (const IpAddress& a : ResolveAll(host)) {
    refusal = Refusal(a, port);
    if (!refusal) return Status::Ok();
  }
  if (!refusal) return Status::Ok();  // does not resolve now; every connection checks again
  return Status::InvalidArgument("every address of the host is refused: " + *refusal);
}

}  // namespace eragon
