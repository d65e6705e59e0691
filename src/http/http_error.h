// API errors as HTTP answers: every non-2xx body is
// {"error":{"code":"snake_case_code","message":"..."}} (API.md "Errors").
#pragma once

#include <string>
#include <string_view>

#include "eragon/status.h"
#include "http/http_message.h"

namespace eragon::http {

struct HttpError {
  int status;             // HTTP status code
  std::string_view code;  // API error code, e.g. "invalid_field"
};

// The HTTP status and API code for a Status code:
//   kInvalidJson → 400 invalid_json        kInvalidArgument → 400 invalid_field
//   kNotFound → 404 not_found              kUnknownEventType → 404 unknown_event_type
//   kConflict, kAlreadyExists → 409 conflict
//   kPermissionDenied → 403 forbidden      kUnauthenticated → 401 unauthenticated
//   kTooLarge → 413 too_large              kResourceExhausted → 429 backpressure
//   kStorageFull → 507 storage_full        kUnavailable, kReadOnly, kIOError → 503 unavailable
//   anything else (kOk included) → 500 internal
HttpError MapStatus(Code code);

// An error answer for a non-ok Status: status and code per MapStatus, message =
// status.message(). 429 carries "Retry-After: 1".
HttpResponse ErrorResponse(const Status& status);

// An error answer with an explicit HTTP status and API code, for answers no Status code
// maps to (e.g. 405 "method_not_allowed").
HttpResponse ErrorResponse(int http_status, std::string_view code, std::string_view message);

// Appends `s` to `out` as a JSON string literal, quotes included, escaping what RFC 8259
// requires. Bytes ≥ 0x80 are copied as they are.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace eragon::http
