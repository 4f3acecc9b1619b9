// Logger: JSON lines with a UTC timestamp.
#include "server/log.h"

#include <chrono>
#include <ctime>

#include "server/http-types.h"

namespace morsel::server {

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void Logger::log(std::string_view level, std::string_view msg, nlohmann::json fields) {
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = utc_now_iso8601();
  line["level"] = std::string(level);
  line["msg"] = std::string(msg);
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = std::move(it.value());
  std::string text = json_dump(line);
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace morsel::server
