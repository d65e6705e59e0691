#include "core/webhook_signature.h"

#include <charconv>

#include "core/hash.h"

namespace eragon {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";

std::string SignedContent(std::string_view id, std::string_view timestamp, std::string_view body) {
  std::string msg;
  msg.reserve(id.size() + timestamp.size() + body.size() + 2);
  msg.append(id).append(".").append(timestamp).append(".").append(body);
  return msg;
}

}  // namespace

Result<std::string> DecodeWebhookSecret(std::string_view secret) {
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  std::optional<std::string> key = Base64Decode(secret);
  if (!key || key->empty()) {
    return Status::InvalidArgument("secret: must be \"whsec_\" followed by base64");
  }
  return std::move(*key);
}

Result<std::string> SignWebhook(std::string_view secret, std::string_view id, int64_t timestamp_s,
                                std::string_view body) {
  ERAGON_ASSIGN_OR_RETURN(std::string key, DecodeWebhookSecret(secret));
  return "v1," +
         Base64Encode(HmacSha256(key, SignedContent(id, std::to_string(timestamp_s), body)));
}

Status VerifyWebhookSignature(std::string_view secret, std::string_view id,
                              std::string_view timestamp, std::string_view signatures,
                              std::string_view body, int64_t now_s, int64_t tolerance_s) {
  ERAGON_ASSIGN_OR_RETURN(std::string key, DecodeWebhookSecret(secret));
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (timestamp.empty() || timestamp[0] == '-' || ec != std::errc() ||
      end != timestamp.data() + timestamp.size()) {
    return Status::InvalidArgument("webhook-timestamp: not unix seconds");
  }
  if (ts < now_s - tolerance_s) return Status::Unauthenticated("webhook-timestamp: too old");
  if (ts > now_s + tolerance_s) return Status::Unauthenticated("webhook-timestamp: in the future");

  std::string expected = Base64Encode(HmacSha256(key, SignedContent(id, timestamp, body)));
  bool match = false;
  size_t pos = 0;
  while (pos < signatures.size()) {
    size_t space = signatures.find(' ', pos);
    if (space == std::string_view::npos) space = signatures.size();
    std::string_view entry = signatures.substr(pos, space - pos);
    pos = space + 1;
    if (!entry.starts_with("v1,")) continue;  // other schemes (v1a, ...) are not ours to check
    // Check every entry: the time taken does not tell which one matched.
    match |= ConstantTimeEquals(entry.substr(3), expected);
  }
  if (!match) return Status::Unauthenticated("webhook-signature: no matching signature");
  return Status::Ok();
}

}  // namespace eragon
