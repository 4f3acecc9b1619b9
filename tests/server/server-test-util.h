// Helpers for the server tests: a tiny synthetic classifier written as a real .morsel file, the
// real `morsel serve` binary run as a child process on an ephemeral loopback port, and a small
// blocking HTTP/1.1 client on POSIX sockets that can also misbehave on purpose (slow, chunked,
// oversized, malformed).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/tiny-model.h"

namespace morsel::test {

// tiny_model() (tiny-model.h) written to `path`, atomically (the writer renames into place).
void write_tiny_model(const std::string& path, const std::string& label_suffix = "",
                      const std::string& name = "tiny");

// Encoded test images.
std::vector<uint8_t> solid_png(int w, int h, uint8_t r, uint8_t g, uint8_t b);
std::vector<uint8_t> solid_jpeg(int w, int h, uint8_t r, uint8_t g, uint8_t b);
// A PNG whose IHDR claims w x h (with a valid CRC) and whose data is tiny.
std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h);

std::string temp_dir(const std::string& name);  // a fresh, empty directory
std::string server_binary();                    // the morsel CLI in the build tree

struct HttpResult {
  int status = -1;                             // -1: no response (connection failed or closed)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // why status is -1
  nlohmann::json json() const;
  std::string header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? "" : it->second;
  }
};

// One keep-alive connection to 127.0.0.1:port. Reconnects when the server closed it.
class HttpClient {
 public:
  explicit HttpClient(int port, double timeout_s = 60);
  ~HttpClient();
  HttpResult request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     const std::string& body = "");
  HttpResult get(const std::string& target) { return request("GET", target); }
  HttpResult post(const std::string& target, const std::string& content_type,
                  const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", content_type);
    return request("POST", target, headers, body);
  }
  // Sends raw bytes (a whole hand-written request) and reads one response.
  HttpResult raw(const std::string& bytes);
  void close();

 private:
  bool ensure_connected(std::string* error);
  int port_;
  double timeout_s_;
  int fd_ = -1;
};

// Low-level pieces for misbehaving clients.
int connect_loopback(int port, double timeout_s = 30);  // -1 on failure
bool send_all(int fd, const void* data, size_t size);   // false on error (never SIGPIPE)
// Reads one HTTP response (Content-Length bodies or until close) within timeout_s; `head`: the
// request was HEAD, so no body follows.
HttpResult read_response(int fd, double timeout_s, bool head = false);
// Everything the peer sends until it closes (or timeout_s).
std::string read_until_closed(int fd, double timeout_s);
// True if the peer closed (EOF or reset) within timeout_s.
bool wait_closed(int fd, double timeout_s);

// `morsel serve ARGS --port 0`, its stdout/stderr collected line by line.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args);
  ~ServerProcess();  // SIGKILL if still running
  // Waits for the "listening" line; false (with the log in `log()`) if the process died first.
  bool wait_listening(double timeout_s = 60);
  // Polls /v2/health/ready until 200.
  bool wait_ready(double timeout_s = 60);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the exit code, or -1 on timeout / -2 when killed by a signal.
  int wait_exit(double timeout_s);
  bool running();
  // Waits for a log line containing every one of `needles`.
  bool wait_for_log(const std::vector<std::string>& needles, double timeout_s);
  std::vector<std::string> lines();
  std::string log();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  int exit_status_ = 0;
  bool exited_ = false;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

// Runs fn until it returns true or timeout_s passes (polling every 20 ms).
bool eventually(const std::function<bool()>& fn, double timeout_s);
double seconds_since(std::chrono::steady_clock::time_point t0);

// The value of a Prometheus sample ("name{labels}" exactly as rendered), or -1 when absent.
double metric_value(const std::string& metrics_text, const std::string& series);

}  // namespace morsel::test
