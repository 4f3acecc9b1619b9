// Structured logs: one JSON object per line on stdout ({"ts", "level", "msg", ...fields}), the
// access log included. Lines are written whole under a mutex, so threads never interleave.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace morsel::server {

class Logger {
 public:
  explicit Logger(FILE* out = stdout) : out_(out) {}
  // Writes `fields` plus "ts" (ISO-8601 UTC with milliseconds), "level" and "msg".
  void log(std::string_view level, std::string_view msg,
           nlohmann::json fields = nlohmann::json::object());
  void info(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    log("info", msg, std::move(fields));
  }
  void warn(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    log("warn", msg, std::move(fields));
  }
  void error(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    log("error", msg, std::move(fields));
  }

 private:
  FILE* out_;
  std::mutex mu_;
};

// "2024-05-01T12:00:00.123Z"
std::string utc_now_iso8601();

}  // namespace morsel::server
