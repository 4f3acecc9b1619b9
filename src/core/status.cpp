// Status helpers.
#include "core/status.h"

#include <cstdarg>
#include <vector>

namespace morsel {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::OK: return "OK";
    case StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case StatusCode::INVALID_MODEL: return "INVALID_MODEL";
    case StatusCode::UNSUPPORTED: return "UNSUPPORTED";
    case StatusCode::INVALID_IMAGE: return "INVALID_IMAGE";
    case StatusCode::LIMIT_EXCEEDED: return "LIMIT_EXCEEDED";
    case StatusCode::IO_ERROR: return "IO_ERROR";
    case StatusCode::OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case StatusCode::INTERNAL: return "INTERNAL";
  }
  return "UNKNOWN";
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  return std::string(status_code_name(code_)) + ": " + message_;
}

std::string str_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(out.data(), out.size(), fmt, ap2);
    out.resize(static_cast<size_t>(n));
  }
  va_end(ap2);
  return out;
}

}  // namespace morsel
