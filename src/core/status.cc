#include "eragon/status.h"

#include <cstring>

namespace eragon {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kInvalidJson:
      return "invalid_json";
    case Code::kNotFound:
      return "not_found";
    case Code::kUnknownEventType:
      return "unknown_event_type";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kConflict:
      return "conflict";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kTooLarge:
      return "too_large";
    case Code::kResourceExhausted:
      return "resource_exhausted";
    case Code::kStorageFull:
      return "storage_full";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kCorruption:
      return "corruption";
    case Code::kIOError:
      return "io_error";
    case Code::kReadOnly:
      return "read_only";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

Status Status::FromErrno(std::string_view op, std::string_view path, int err) {
  std::string m;
  m.append(op).append(" ").append(path).append(": ").append(std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return Status(Code::kStorageFull, std::move(m));
  return Status(Code::kIOError, std::move(m));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(CodeName(code_));
  s.append(": ").append(message_);
  return s;
}

}  // namespace eragon
