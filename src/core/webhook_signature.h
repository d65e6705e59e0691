// Standard Webhooks signatures (https://www.standardwebhooks.com): how eragond signs a push
// and how a receiver checks it. Shared by the dispatcher (signing) and the SDK's push
// receiver (verifying). Pure functions: no I/O, no clock of their own, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eragon/status.h"

namespace eragon {

// The key of a Standard Webhooks secret: base64-decoded after the optional "whsec_"
// prefix. InvalidArgument when it is not base64 or decodes to nothing.
Result<std::string> DecodeWebhookSecret(std::string_view secret);

// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
Result<std::string> SignWebhook(std::string_view secret, std::string_view id, int64_t timestamp_s,
                                std::string_view body);

// Checks a push as a receiver would. `signatures` is the webhook-signature header:
// space-separated "version,base64" entries, of which one "v1" entry must match (others
// are ignored). `timestamp` (unix seconds, digits only) must be within `tolerance_s` of
// `now_s` either way. Ok, InvalidArgument for a malformed secret or timestamp,
// Unauthenticated for a stale or future timestamp or no matching signature.
Status VerifyWebhookSignature(std::string_view secret, std::string_view id,
                              std::string_view timestamp, std::string_view signatures,
                              std::string_view body, int64_t now_s, int64_t tolerance_s = 300);

}  // namespace eragon
