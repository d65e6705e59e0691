// The endpoint URL parser shared by the push client (which connects to what it parses)
// and the consumer route codec (which refuses at PUT what the push client could not use).
#include "core/push_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace eragon {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

Status BadUrl(std::string_view why) {
  return Status::InvalidArgument("invalid url: " + std::string(why));
}

bool IsIpv4(std::string_view h) {
  int parts = 0;
  size_t i = 0;
  while (i <= h.size()) {
    size_t j = h.find('.', i);
    if (j == std::string_view::npos) j = h.size();
    std::string_view p = h.substr(i, j - i);
    int v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || p.size() > 3 || ec != std::errc() || end != p.data() + p.size() || v > 255) {
      return false;
    }
    ++parts;
    i = j + 1;
    if (j == h.size()) break;
  }
  return parts == 4;
}

bool IsHostNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string PushUrl::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

std::string PushUrl::EndpointKey() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (tls ? "https://" : "http://") + h + ":" + std::to_string(port);
}

Result<PushUrl> ParsePushUrl(std::string_view url) {
  PushUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return BadUrl("missing scheme");
  std::string_view scheme = url.substr(0, sep);
  if (EqualsIgnoreCase(scheme, "http")) {
    out.tls = false;
  } else if (EqualsIgnoreCase(scheme, "https")) {
    out.tls = true;
  } else {
    return BadUrl("scheme must be http or https");
  }
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return BadUrl("control, space or non-ASCII byte");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return BadUrl("user info is not supported");

  std::string_view host, port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return BadUrl("unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return BadUrl("junk after ]");
      port = after.substr(1);
    }
    if (host.empty() ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return BadUrl("bad IPv6 address");
    }
    out.host_is_ip = true;
  } else {
    size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.empty()) return BadUrl("empty host");
    if (!std::all_of(host.begin(), host.end(), IsHostNameChar)) return BadUrl("bad host name");
    out.host_is_ip = IsIpv4(host);
  }
  out.host.reserve(host.size());
  for (char c : host) out.host.push_back(Lower(c));

  if (port.empty()) {
    if (authority.ends_with(':')) return BadUrl("empty port");
    out.port = out.tls ? 443 : 80;
  } else {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || end != port.data() + port.size() || v == 0 || v > 65535) {
      return BadUrl("bad port");
    }
    out.port = static_cast<uint16_t>(v);
  }

  std::string_view target = tail.substr(0, tail.find('#'));
  if (target.empty() || target[0] == '?') out.target = "/";
  out.target.append(target);
  return out;
}

}  // namespace eragon
