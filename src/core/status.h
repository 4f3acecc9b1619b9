// Status and Result<T>: how every fallible call inside morsel reports failure.
// Input (model files, images, requests) can only ever produce a Status, never an abort.
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <variant>

namespace morsel {

// Keep in sync with morsel_status in include/morsel/morsel.h.
enum class StatusCode : int {
  OK = 0,
  INVALID_ARGUMENT = 1,  // the caller passed something malformed (bad option, bad shape)
  INVALID_MODEL = 2,     // a model file or source model is corrupt or inconsistent
  UNSUPPORTED = 3,       // well-formed, but uses something morsel does not implement
  INVALID_IMAGE = 4,     // corrupt, truncated or unsupported image data
  LIMIT_EXCEEDED = 5,    // input is larger than a configured limit
  IO_ERROR = 6,          // a file could not be opened, read or written
  OUT_OF_MEMORY = 7,
  INTERNAL = 8,          // a bug in morsel
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  bool ok() const { return code_ == StatusCode::OK; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_MODEL: <message>"
  std::string to_string() const;

  // Prefixes context to the message: "while reading x: <old message>".
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::OK;
  std::string message_;
};

// printf-style message formatting (no <format> in g++ 12 or emscripten 3.1.6).
std::string str_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#define MORSEL_ERROR(code, ...) ::morsel::Status(::morsel::StatusCode::code, ::morsel::str_printf(__VA_ARGS__))

#define MORSEL_RETURN_IF_ERROR(expr)           \
  do {                                         \
    ::morsel::Status _morsel_st = (expr);      \
    if (!_morsel_st.ok()) return _morsel_st;   \
  } while (0)

// A value or an error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {}

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

#define MORSEL_CONCAT_INNER(a, b) a##b
#define MORSEL_CONCAT(a, b) MORSEL_CONCAT_INNER(a, b)
#define MORSEL_ASSIGN_OR_RETURN(lhs, expr)                         \
  auto MORSEL_CONCAT(_morsel_r, __LINE__) = (expr);                \
  if (!MORSEL_CONCAT(_morsel_r, __LINE__).ok())                    \
    return MORSEL_CONCAT(_morsel_r, __LINE__).status();            \
  lhs = std::move(MORSEL_CONCAT(_morsel_r, __LINE__)).value()

}  // namespace morsel
