// Server test helpers: tiny model, child process, blocking HTTP client.
#include "server/server-test-util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstring>

#include "format/model.h"
#include "format/writer.h"
#include "image/image-test-util.h"

extern char** environ;

namespace morsel::test {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool eventually(const std::function<bool()>& fn, double timeout_s) {
  const auto t0 = Clock::now();
  while (seconds_since(t0) < timeout_s) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

void write_tiny_model(const std::string& path, const std::string& label_suffix,
                      const std::string& name) {
  Status st = model_save_file(tiny_model(label_suffix, name), path);
  ASSERT_TRUE(st.ok()) << st.to_string();
}

std::vector<uint8_t> solid_png(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  const uint8_t c[3] = {r, g, b};
  return encode_png(make_image(w, h, [&](int, int, int ch) { return c[ch]; }));
}

std::vector<uint8_t> solid_jpeg(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  const uint8_t c[3] = {r, g, b};
  return encode_jpeg(make_image(w, h, [&](int, int, int ch) { return c[ch]; }), 95);
}

std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes chunk;
  put_be32(&chunk, 13);
  for (char ch : std::string("IHDR")) chunk.push_back(static_cast<uint8_t>(ch));
  put_be32(&chunk, w);
  put_be32(&chunk, h);
  chunk.push_back(8);  // bit depth
  chunk.push_back(2);  // RGB
  chunk.push_back(0);
  chunk.push_back(0);
  chunk.push_back(0);
  put_be32(&chunk, crc32(chunk.data() + 4, chunk.size() - 4));
  out.insert(out.end(), chunk.begin(), chunk.end());
  // A few bytes of "IDAT" so the file is not trivially empty after the header.
  Bytes idat;
  put_be32(&idat, 4);
  for (char ch : std::string("IDAT")) idat.push_back(static_cast<uint8_t>(ch));
  for (int i = 0; i < 4; i++) idat.push_back(0);
  put_be32(&idat, crc32(idat.data() + 4, idat.size() - 4));
  out.insert(out.end(), idat.begin(), idat.end());
  return out;
}

std::string temp_dir(const std::string& name) {
  static int counter = 0;
  const std::string dir = ::testing::TempDir() + "/morsel_server_" + std::to_string(::getpid()) +
                          "_" + std::to_string(counter++) + "_" + name;
  std::string cmd = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

std::string server_binary() {
  return std::string(MORSEL_BINARY_DIR) + "/morsel";
}

json HttpResult::json() const {
  return json::parse(body, nullptr, false);
}

// ---- sockets ----

int connect_loopback(int port, double timeout_s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

namespace {

// Reads into buf until pred(buf) or EOF/timeout. Returns false on timeout or error before pred.
bool read_until(int fd, std::string* buf, Clock::time_point deadline,
                const std::function<bool()>& pred, bool* eof) {
  *eof = false;
  char tmp[65536];
  while (!pred()) {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *eof = true;
      return pred();
    }
    buf->append(tmp, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

HttpResult read_response(int fd, double timeout_s, bool head) {
  HttpResult r;
  const auto deadline =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
  std::string buf;
  bool eof = false;
  for (;;) {  // skip 1xx responses
    if (!read_until(
            fd, &buf, deadline, [&] { return buf.find("\r\n\r\n") != std::string::npos; }, &eof)) {
      r.error =
          eof ? "connection closed before a response" : "timeout waiting for the response header";
      return r;
    }
    const size_t end = buf.find("\r\n\r\n");
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    if (head.compare(0, 9, "HTTP/1.1 ") != 0 && head.compare(0, 9, "HTTP/1.0 ") != 0) {
      r.error = "bad status line: " + head.substr(0, 40);
      return r;
    }
    r.status = std::atoi(head.c_str() + 9);
    r.headers.clear();
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      const size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon);
        for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers[k] = v;
      }
      pos = next;
    }
    if (r.status >= 200) break;
  }
  if (head || r.status == 204 || r.status == 304) return r;
  auto cl = r.headers.find("content-length");
  if (cl != r.headers.end()) {
    const size_t n = std::stoull(cl->second);
    if (!read_until(
            fd, &buf, deadline, [&] { return buf.size() >= n; }, &eof)) {
      r.error = "body truncated";
      r.status = -1;
      return r;
    }
    r.body = buf.substr(0, n);
  } else {
    read_until(
        fd, &buf, deadline, [] { return false; }, &eof);
    r.body = buf;
  }
  return r;
}

std::string read_until_closed(int fd, double timeout_s) {
  const auto deadline =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
  std::string buf;
  bool eof = false;
  read_until(
      fd, &buf, deadline, [] { return false; }, &eof);
  return buf;
}

bool wait_closed(int fd, double timeout_s) {
  const auto deadline =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
  std::string buf;
  bool eof = false;
  read_until(
      fd, &buf, deadline, [] { return false; }, &eof);
  return eof;
}

HttpClient::HttpClient(int port, double timeout_s) : port_(port), timeout_s_(timeout_s) {}
HttpClient::~HttpClient() {
  close();
}

void HttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpClient::ensure_connected(std::string* error) {
  if (fd_ >= 0) {
    // Reuse only if the server has not closed it meanwhile.
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return true;
    close();
  }
  fd_ = connect_loopback(port_, timeout_s_);
  if (fd_ < 0) *error = "cannot connect";
  return fd_ >= 0;
}

HttpResult HttpClient::raw(const std::string& bytes) {
  HttpResult r;
  if (!ensure_connected(&r.error)) return r;
  send_all(fd_, bytes.data(), bytes.size());  // read the answer even if sending failed
  r = read_response(fd_, timeout_s_, bytes.compare(0, 5, "HEAD ") == 0);
  if (r.status < 0 || r.header("connection") == "close") close();
  return r;
}

HttpResult HttpClient::request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (strcasecmp(k.c_str(), "content-length") == 0 ||
        strcasecmp(k.c_str(), "transfer-encoding") == 0)
      has_length = true;
  }
  if (!has_length && (method == "POST" || method == "PUT" || !body.empty()))
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  return raw(req);
}

// ---- the server process ----

ServerProcess::ServerProcess(std::vector<std::string> args) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return;
  std::vector<std::string> argv_s = {server_binary(), "serve", "--port", "0"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    pid_ = -1;
    ::close(pipefd[0]);
    return;
  }
  out_fd_ = pipefd[0];
  reader_ = std::thread([this] {
    std::string partial;
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      std::lock_guard<std::mutex> lock(mu_);
      while ((nl = partial.find('\n')) != std::string::npos) {
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!partial.empty()) lines_.push_back(partial);
    eof_ = true;
    cv_.notify_all();
  });
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool ServerProcess::wait_for_log(const std::vector<std::string>& needles, double timeout_s) {
  std::unique_lock<std::mutex> lock(mu_);
  size_t checked = 0;
  const auto deadline =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
  for (;;) {
    for (; checked < lines_.size(); checked++) {
      bool all = true;
      for (const auto& n : needles) all = all && lines_[checked].find(n) != std::string::npos;
      if (all) return true;
    }
    if (eof_) return false;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size())
      return false;
  }
}

bool ServerProcess::wait_listening(double timeout_s) {
  if (pid_ <= 0) return false;
  if (!wait_for_log({"\"msg\":\"listening\""}, timeout_s)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& l : lines_) {
    if (l.find("\"msg\":\"listening\"") == std::string::npos) continue;
    auto j = json::parse(l, nullptr, false);
    if (j.is_object() && j.contains("port")) port_ = j["port"].get<int>();
  }
  return port_ > 0;
}

bool ServerProcess::wait_ready(double timeout_s) {
  if (port_ <= 0 && !wait_listening(timeout_s)) return false;
  return eventually(
      [&] {
        HttpClient c(port_, 5);
        return c.get("/v2/health/ready").status == 200;
      },
      timeout_s);
}

void ServerProcess::signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

int ServerProcess::wait_exit(double timeout_s) {
  if (pid_ <= 0) return -1;
  if (!exited_) {
    const auto t0 = Clock::now();
    for (;;) {
      int st;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        exit_status_ = st;
        break;
      }
      if (seconds_since(t0) > timeout_s) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  {
    // The child is gone: let the reader drain what it wrote last, so log() is complete.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return eof_; });
  }
  return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -2;
}

bool ServerProcess::running() {
  if (pid_ <= 0 || exited_) return false;
  int st;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    exit_status_ = st;
    return false;
  }
  return true;
}

std::vector<std::string> ServerProcess::lines() {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

std::string ServerProcess::log() {
  std::string out;
  for (const auto& l : lines()) out += l + "\n";
  return out;
}

double metric_value(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::atof(text.c_str() + pos + series.size() + 1);
    pos += series.size();
  }
  return -1;
}

}  // namespace morsel::test
