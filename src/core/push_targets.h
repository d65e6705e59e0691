// PushTargets: which addresses eragond may push to (API.md "TLS and push targets").
// Checked against every resolved address of a consumer URL: at route PUT (a URL that
// resolves only to refused addresses is refused) and again before every connection (DNS
// answers change). Plain data and getaddrinfo; no Asio, so both the API layer and the
// push client use it.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/status.h"

namespace eragon {

// An IPv4 or IPv6 address as bytes (IPv4 in the first 4). IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are stored as the IPv4 address they carry.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  // "10.0.0.1", "::1", "::ffff:10.0.0.1"; nullopt when not an address literal.
  static std::optional<IpAddress> Parse(std::string_view text);
  // From 4 or 16 network-order bytes.
  static IpAddress FromBytes(const uint8_t* data, size_t size);
  bool operator==(const IpAddress&) const = default;
  std::string ToString() const;
};

struct Cidr {
  IpAddress base;
  int bits = 0;      // prefix length: 0..32 (IPv4) or 0..128 (IPv6)
  std::string text;  // as given, for messages

  // "169.254.0.0/16", "fe80::/10", or an address alone (/32, /128).
  static Result<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& a) const;
};

// A comma-separated list of CIDRs ("" is an empty list); InvalidArgument names the bad one.
Result<std::vector<Cidr>> ParseCidrList(std::string_view text);

class PushTargets {
 public:
  // `deny` always wins; an empty `allow` allows every address not denied.
  PushTargets(std::vector<Cidr> deny, std::vector<Cidr> allow);
  // Also refuses eragond's own listen address: `port` on `host` (an address, a name, or
  // 0.0.0.0 / :: meaning loopback and every interface address), so eragond never pushes
  // to itself; other ports of the same host stay allowed. Thread-safe (called once the
  // port is known, while pushes may already run).
  void DenyListenAddress(const std::string& host, uint16_t port);

  // nullopt when (address, port) may be pushed to; otherwise why not, for last_error
  // and API answers: "169.254.169.254 is in --push-deny-cidrs (169.254.0.0/16)".
  std::optional<std::string> Refusal(const IpAddress& address, uint16_t port) const;

  // Resolves `host` (a name or an address literal) and checks every address: OK when at
  // least one may be used, or when the name does not resolve now (it may later: every
  // connection checks again); InvalidArgument saying why when every address is refused.
  // Blocks on DNS: call off the io threads.
  Status CheckHost(const std::string& host, uint16_t port) const;

 private:
  std::vector<Cidr> deny_;
  std::vector<Cidr> allow_;
  mutable std::mutex mu_;  // guards deny_endpoints_; taken once per new connection
  std::vector<std::pair<Cidr, uint16_t>> deny_endpoints_;
};

}  // namespace eragon
