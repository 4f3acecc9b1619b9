// morsel-serve-load: the load-test client for `morsel serve` (bench/serve/run.sh drives it).
//
// HTTP mode: C keep-alive connections, each sending POST /v1/models/NAME:classify with one image
// back to back (closed loop), for a fixed number of requests or seconds after a warm-up. Prints
// one JSON line: throughput, latency percentiles, errors, and the server's resident memory when
// given its pid.
//
// Engine mode (--engine MODEL): the same image decoded and preprocessed once, then W threads each
// with its own Classifier running the engine back to back: the engine-only throughput at the
// server's parallelism, measured in this process, to compare the HTTP numbers against.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "format/model.h"
#include "image/decode/decode.h"
#include "runtime/classifier.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

int64_t rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.compare(0, 6, "VmRSS:") == 0) return std::atoll(line.c_str() + 6);
  return -1;
}

// CPU seconds (user + system, all threads) a process has used so far, from /proc; -1 if unknown.
double process_cpu_s(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  const size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = -1, stime = -1;
  for (int i = 3; rest >> field; i++) {  // fields 14 and 15: utime, stime (clock ticks)
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) {
      stime = std::atof(field.c_str());
      break;
    }
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// This process's CPU seconds so far (all threads).
double own_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class Conn {
 public:
  explicit Conn(int port) : port_(port) {}
  ~Conn() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  // One request/response; returns the status or -1.
  int exchange(const std::string& req) {
    if (fd_ < 0 && !connect()) return -1;
    if (!send_all(req)) {
      close();
      if (!connect() || !send_all(req)) return -1;
    }
    return read_response();
  }

 private:
  bool connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{60, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return true;
  }
  bool send_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int read_response() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) {
        close();
        return -1;
      }
    const std::string head = buf_.substr(0, end);
    const int status = std::atoi(head.c_str() + 9);
    size_t len = 0;
    const char* cl = strcasestr(head.c_str(), "\r\ncontent-length:");
    if (cl) len = std::strtoull(cl + 17, nullptr, 10);
    const bool close_after = strcasestr(head.c_str(), "\r\nconnection: close") != nullptr;
    while (buf_.size() < end + 4 + len)
      if (!fill()) {
        close();
        return -1;
      }
    buf_.erase(0, end + 4 + len);
    if (close_after) close();
    return status;
  }
  int port_;
  int fd_ = -1;
  std::string buf_;
};

struct Args {
  int port = 0;
  std::string model_name = "mobilenet_v2";
  std::string image;
  int concurrency = 1;
  int64_t requests = 0;  // total; 0: use --duration
  double duration_s = 10;
  int warmup = 10;  // per connection, untimed
  int rss_pid = 0;
  std::string engine_model;
  int engine_threads = 1;
};

int run_http(const Args& a, const std::string& image) {
  const std::string req = "POST /v1/models/" + a.model_name +
                          ":classify?top_k=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: image/jpeg\r\nContent-Length: " +
                          std::to_string(image.size()) + "\r\n\r\n" + image;
  std::atomic<int64_t> issued{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> lat;
  int64_t errors = 0, done = 0;
  std::vector<std::thread> threads;
  // Warm-up on every connection, then start the clock together.
  std::atomic<int> warmed{0};
  Clock::time_point t0;
  std::atomic<bool> go{false};
  for (int c = 0; c < a.concurrency; c++) {
    threads.emplace_back([&] {
      Conn conn(a.port);
      for (int i = 0; i < a.warmup; i++) conn.exchange(req);
      warmed++;
      while (!go) std::this_thread::yield();
      std::vector<double> mine;
      int64_t my_errors = 0;
      for (;;) {
        if (stop) break;
        if (a.requests > 0 && issued.fetch_add(1) >= a.requests) break;
        const auto s = Clock::now();
        const int st = conn.exchange(req);
        mine.push_back(ms_since(s));
        if (st != 200) my_errors++;
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
      errors += my_errors;
      done += static_cast<int64_t>(mine.size());
    });
  }
  while (warmed < a.concurrency) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double server_cpu0 = a.rss_pid > 0 ? process_cpu_s(a.rss_pid) : -1;
  const double client_cpu0 = own_cpu_s();
  t0 = Clock::now();
  go = true;
  if (a.requests == 0) {
    std::this_thread::sleep_for(
        std::chrono::microseconds(static_cast<int64_t>(a.duration_s * 1e6)));
    stop = true;
  }
  for (auto& t : threads) t.join();
  const double secs = ms_since(t0) / 1000.0;
  const double server_cpu1 = a.rss_pid > 0 ? process_cpu_s(a.rss_pid) : -1;
  const double client_cpu_ms = (own_cpu_s() - client_cpu0) * 1000.0;
  json out = {{"mode", "http"},
              {"concurrency", a.concurrency},
              {"requests", done},
              {"errors", errors},
              {"seconds", secs},
              {"throughput_rps", static_cast<double>(done) / secs},
              {"latency_ms",
               {{"p50", percentile(lat, 50)},
                {"p90", percentile(lat, 90)},
                {"p99", percentile(lat, 99)},
                {"max", percentile(lat, 100)}}}};
  if (a.rss_pid > 0) out["server_rss_kib"] = rss_kib(a.rss_pid);
  // CPU time per request: the server's (every thread: HTTP, decode, preprocessing, engine) and
  // this client's own (it shares the machine's cores with the server).
  if (done > 0 && server_cpu0 >= 0 && server_cpu1 >= server_cpu0)
    out["server_cpu_ms_per_request"] = (server_cpu1 - server_cpu0) * 1000.0 / static_cast<double>(done);
  if (done > 0) out["client_cpu_ms_per_request"] = client_cpu_ms / static_cast<double>(done);
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 ? 0 : 1;
}

int run_engine(const Args& a, const std::string& image) {
  using namespace morsel;
  auto loaded = model_load_file(a.engine_model);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().to_string().c_str());
    return 1;
  }
  auto model = std::make_shared<const Model>(std::move(loaded.value()));
  auto img = image_decode(reinterpret_cast<const uint8_t*>(image.data()), image.size());
  if (!img.ok()) {
    std::fprintf(stderr, "%s\n", img.status().to_string().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::mutex mu;
  std::vector<double> lat;
  std::vector<std::thread> threads;
  for (int t = 0; t < a.engine_threads; t++) {
    threads.emplace_back([&] {
      SessionOptions so;
      so.threads = 1;
      auto c = Classifier::create(model, so);
      if (!c.ok()) return;
      const Image& im = img.value();
      auto x =
          c.value()->preprocess_image(im.rgb.data(), im.width, im.height, 3, int64_t{im.width} * 3);
      for (int i = 0; i < 3; i++) (void)c.value()->run_batch(x.value());
      ready++;
      while (!go) std::this_thread::yield();
      std::vector<double> mine;
      while (!stop) {
        const auto s = Clock::now();
        (void)c.value()->run_batch(x.value());
        mine.push_back(ms_since(s));
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  while (ready < a.engine_threads) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double cpu0 = own_cpu_s();
  const auto t0 = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(a.duration_s * 1e6)));
  stop = true;
  for (auto& t : threads) t.join();
  const double secs = ms_since(t0) / 1000.0;
  const double cpu_ms = (own_cpu_s() - cpu0) * 1000.0;
  json out = {{"mode", "engine"},
              {"threads", a.engine_threads},
              {"runs", lat.size()},
              {"seconds", secs},
              {"throughput_ips", static_cast<double>(lat.size()) / secs},
              {"latency_ms", {{"p50", percentile(lat, 50)}, {"p99", percentile(lat, 99)}}}};
  if (!lat.empty()) out["cpu_ms_per_image"] = cpu_ms / static_cast<double>(lat.size());
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load-test client for `morsel serve` (see bench/serve/run.sh)"};
  Args a;
  app.add_option("--port", a.port, "server port on 127.0.0.1");
  app.add_option("--model", a.model_name, "model name on the server");
  app.add_option("--image", a.image, "the image to send (JPEG)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("-c,--concurrency", a.concurrency, "connections, each one request at a time");
  app.add_option("-n,--requests", a.requests, "total timed requests (default: run for --duration)");
  app.add_option("-d,--duration", a.duration_s,
                 "seconds to run (HTTP without -n, and engine mode)");
  app.add_option("--warmup", a.warmup, "untimed requests per connection first (default 10)");
  app.add_option("--rss-pid", a.rss_pid, "report this process's resident memory at the end");
  app.add_option("--engine", a.engine_model, "engine-only mode: run this .morsel in-process");
  app.add_option("--engine-threads", a.engine_threads,
                 "engine-only mode: parallel Sessions (default 1)");
  CLI11_PARSE(app, argc, argv);
  std::ifstream f(a.image, std::ios::binary);
  const std::string image((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!a.engine_model.empty()) return run_engine(a, image);
  if (a.port <= 0) {
    std::fprintf(stderr, "--port is required in HTTP mode\n");
    return 2;
  }
  return run_http(a, image);
}
