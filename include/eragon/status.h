// Status and Result<T>: how every fallible call in Eragon reports its outcome.
// No exceptions cross component boundaries; a Status carries a stable code and a
// message written for a person ("what and why").
#pragma once

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace eragon {

enum class Code : int {
  kOk = 0,
  kInvalidArgument,    // bad input from a caller (invalid_field): 400
  kInvalidJson,        // a body that is not JSON, or nested deeper than allowed: 400
  kNotFound,           // 404
  kUnknownEventType,   // 404 unknown_event_type: no producer destination for the type
  kAlreadyExists,      // 409 where creation collides
  kConflict,           // 409
  kPermissionDenied,   // 403
  kUnauthenticated,    // 401
  kTooLarge,           // 413
  kResourceExhausted,  // backpressure: 429
  kStorageFull,        // disk high-watermark reached: 507
  kUnavailable,        // 503, transient
  kCorruption,         // stored data failed its checksum or format checks
  kIOError,            // the OS refused a read, write or fsync
  kReadOnly,           // a component stopped accepting writes after a failure
  kInternal,           // a bug
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status InvalidJson(std::string m) { return {Code::kInvalidJson, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status UnknownEventType(std::string m) { return {Code::kUnknownEventType, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {Code::kResourceExhausted, std::move(m)};
  }
  static Status StorageFull(std::string m) { return {Code::kStorageFull, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status ReadOnly(std::string m) { return {Code::kReadOnly, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  // An IOError whose message names the operation, the path and strerror(err).
  static Status FromErrno(std::string_view op, std::string_view path, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", or "ok".
  std::string ToString() const;

  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) std::abort();   // an ok Status carries no value
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace eragon

// Returns early from the calling function when `expr` yields a non-ok Status.
#define ERAGON_RETURN_IF_ERROR(expr) \
  do {                               \
    ::eragon::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

#define ERAGON_CONCAT_INNER(a, b) a##b
#define ERAGON_CONCAT(a, b) ERAGON_CONCAT_INNER(a, b)
// ERAGON_ASSIGN_OR_RETURN(auto x, FunctionReturningResult()); returns the Status on error.
#define ERAGON_ASSIGN_OR_RETURN(lhs, expr) \
  ERAGON_ASSIGN_OR_RETURN_IMPL(ERAGON_CONCAT(_res_, __LINE__), lhs, expr)
#define ERAGON_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
