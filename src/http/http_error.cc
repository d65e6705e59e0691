#include "http/http_error.h"

namespace eragon::http {

HttpError MapStatus(Code code) {
  switch (code) {
    case Code::kInvalidJson:
      return {400, "invalid_json"};
    case Code::kInvalidArgument:
      return {400, "invalid_field"};
    case Code::kNotFound:
      return {404, "not_found"};
    case Code::kUnknownEventType:
      return {404, "unknown_event_type"};
    case Code::kConflict:
    case Code::kAlreadyExists:
      return {409, "conflict"};
    case Code::kPermissionDenied:
      return {403, "forbidden"};
    case Code::kUnauthenticated:
      return {401, "unauthenticated"};
    case Code::kTooLarge:
      return {413, "too_large"};
    case Code::kResourceExhausted:
      return {429, "backpressure"};
    case Code::kStorageFull:
      return {507, "storage_full"};
    case Code::kUnavailable:
    case Code::kReadOnly:
    case Code::kIOError:
      return {503, "unavailable"};
    case Code::kOk:
    case Code::kCorruption:
    case Code::kInternal:
      break;
  }
  return {500, "internal"};
}

HttpResponse ErrorResponse(const Status& status) {
  HttpError e = MapStatus(status.code());
  HttpResponse r = ErrorResponse(e.status, e.code, status.message());
  if (e.status == 429) r.headers.Add("Retry-After", "1");
  return r;
}

HttpResponse ErrorResponse(int http_status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = http_status;
  r.body.reserve(32 + code.size() + message.size());
  r.body.append(R"({"error":{"code":)");
  AppendJsonString(r.body, code);
  r.body.append(R"(,"message":)");
  AppendJsonString(r.body, message);
  r.body.append("}}");
  return r;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace eragon::http
