// The HTTP layer of `morsel serve` and the only translation unit that includes Boost.Beast:
// accept loop, one Connection per socket (a strand, one timer, Beast's strict request parser),
// limits, timeouts, access log, metrics and the graceful drain. Routes live in api.cpp.
//
// A connection is always in one phase, and its one timer bounds that phase:
//   IDLE        waiting for the first byte of a request       idle_timeout  -> close
//   READING     header + body, one absolute deadline          read_timeout  -> 408, close
//   PROCESSING  the Api handles it (maybe on a worker)         request deadline -> 504
//   WRITING     sending the response                           write_timeout -> close
//   LINGER      after "Connection: close": half-close, discard what the client still sends, so it
//               can read our response instead of getting a reset
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/stat.h>

#include <array>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "server/api.h"
#include "server/http-types.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/server.h"

namespace morsel::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::chrono::steady_clock::duration secs(double s) {
  return std::chrono::microseconds(static_cast<int64_t>(std::max(0.0, s) * 1e6));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The request line and header fields of a parsed header, as Api sees them (names lower case,
// an accepted or generated X-Request-ID); returns the number of header fields.
int fill_request_head(const http::request_parser<http::string_body>& parser, HttpRequest* req) {
  const auto& msg = parser.get();
  req->method = std::string(msg.method_string());
  req->target = std::string(msg.target());
  const size_t q = req->target.find('?');
  req->path = req->target.substr(0, q);
  req->query = q == std::string::npos ? "" : req->target.substr(q + 1);
  int count = 0;
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req->headers.emplace_back(std::move(name), std::string(f.value()));
    count++;
  }
  req->request_id = accept_or_make_request_id(req->header("x-request-id"));
  return count;
}

// The answer to a request whose header has arrived, before its body is read: a limit or a
// precheck (route, method, auth, encoding), else nullopt (read the body).
std::optional<HttpResponse> check_request_head(const Api& api, const ServerLimits& limits,
                                               const http::request_parser<http::string_body>& parser,
                                               const HttpRequest& req, int header_count) {
  if (req.target.size() > limits.max_url_bytes)
    return error_response(414, "uri_too_long", "the URL is too long");
  if (header_count > limits.max_header_count)
    return error_response(431, "header_too_large", "too many header fields");
  if (std::optional<HttpResponse> pre = api.precheck(req, parser.chunked() || parser.content_length()))
    return pre;
  const std::string* expect = req.header("expect");
  if (expect && !parser.is_done() && !iequals(*expect, "100-continue"))
    return error_response(417, "expectation_failed", "only Expect: 100-continue is supported");
  return std::nullopt;
}

// The answer to a failed read (nullopt: nobody to answer, close).
std::optional<HttpResponse> read_error_response(beast::error_code ec, bool got_header,
                                                const ServerLimits& limits) {
  if (ec == http::error::header_limit)
    return error_response(431, "header_too_large", "the request header is too large");
  if (ec == http::error::body_limit)
    return error_response(413, "payload_too_large",
                          str_printf("the body is larger than %lld bytes",
                                     static_cast<long long>(limits.max_body_bytes)));
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec.category() != http::make_error_code(http::error::end_of_stream).category())
    return std::nullopt;  // the client went away (or a socket error)
  return error_response(400, "bad_request", got_header ? "malformed request body" : "malformed HTTP request");
}

// Header values we write must not contain CR/LF (they never carry raw client bytes, but be sure).
std::string header_safe(const std::string& v) {
  std::string out = v;
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

}  // namespace

class Connection;

struct Server::Impl {
  ServerOptions opt;
  Logger log;
  Metrics metrics;
  std::unique_ptr<ModelRegistry> registry;
  std::unique_ptr<Api> api;
  // Before ioc: destroying ioc destroys pending handlers, whose Connections unregister here.
  std::mutex conns_mu;
  std::map<Connection*, std::weak_ptr<Connection>> conns;
  net::io_context ioc;
  // The listener, signals and drain run on one strand, so they never race each other.
  net::strand<net::io_context::executor_type> control{net::make_strand(ioc)};
  tcp::acceptor acceptor{control};
  net::signal_set signals{control};
  net::steady_timer accept_retry{control};
  net::steady_timer drain_timer{control};
  std::vector<std::thread> threads;
  std::thread loader;
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> started{false};
  std::atomic<int> exit_code{0};
  int port = 0;
  Clock::time_point drain_started;

  void do_accept();
  void wait_signal();
  void start_drain();
  void close_listener_and_idle();
  void check_drained();
  void stop_now(int code);
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server::Impl* srv, tcp::socket socket)
      : srv_(srv), socket_(std::move(socket)), timer_(socket_.get_executor()), buffer_(1 << 20) {
    srv_->metrics.open_connections++;
    beast::error_code ec;
    const tcp::endpoint ep = socket_.remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Connection() {
    {
      std::lock_guard<std::mutex> lock(srv_->conns_mu);
      srv_->conns.erase(this);
    }
    if (inflight_) srv_->metrics.inflight_requests--;
    srv_->metrics.open_connections--;
  }

  void start() {
    {
      std::lock_guard<std::mutex> lock(srv_->conns_mu);
      srv_->conns[this] = weak_from_this();
    }
    wait_request();
  }

  // Too many connections: answer 503 without reading anything.
  void reject_busy() {
    req_.request_id = accept_or_make_request_id(nullptr);
    req_.method = "-";
    started_ = Clock::now();
    keep_alive_ = false;
    HttpResponse r = error_response(503, "unavailable", "too many connections; retry shortly");
    r.route = "connection_limit";
    send(std::move(r), true);
  }

  // The server started draining: an idle keep-alive connection closes now; a busy one closes
  // after its response (send() adds Connection: close while draining).
  void post_drain() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::IDLE) self->close();
    });
  }

 private:
  enum class Phase { IDLE, READING, PROCESSING, WRITING, LINGER, CLOSED };

  void arm(double seconds) {
    const uint64_t gen = ++timer_gen_;
    timer_.expires_after(secs(seconds));
    timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (!ec && gen == self->timer_gen_) self->on_timeout();
    });
  }
  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void on_timeout() {
    switch (phase_) {
      case Phase::READING: {
        timed_out_ = true;
        beast::error_code ec;
        socket_.cancel(ec);  // the read handler answers 408
        return;
      }
      case Phase::PROCESSING: {
        ++seq_;  // a late result for this request is dropped
        send(error_response(504, "deadline_exceeded",
                            "the request did not finish within its deadline"));
        return;
      }
      default:
        close();
    }
  }

  void wait_request() {
    // Draining: a kept-alive connection closes; a new one (accepted during --drain-delay) may
    // still send its request.
    if (srv_->draining && served_ > 0) {
      close();
      return;
    }
    if (buffer_.size() > 0) {  // a pipelined request is already here
      begin_read();
      return;
    }
    phase_ = Phase::IDLE;
    arm(srv_->opt.limits.idle_timeout_s);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->phase_ != Phase::IDLE) return;
      if (ec) {
        self->close();
        return;
      }
      self->begin_read();
    });
  }

  void begin_read() {
    phase_ = Phase::READING;
    timed_out_ = false;
    started_ = Clock::now();
    req_ = HttpRequest();
    arm(srv_->opt.limits.read_timeout_s);  // one absolute deadline for header and body
    parser_.emplace();
    parser_->header_limit(srv_->opt.limits.max_header_bytes);
    parser_->body_limit(static_cast<uint64_t>(srv_->opt.limits.max_body_bytes));
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // An error while reading: answer if the client can still hear it, else just close.
  void read_failed(beast::error_code ec, bool got_header) {
    if (timed_out_) {
      send(error_response(408, "request_timeout", "the request was not received in time"), true);
      return;
    }
    if (std::optional<HttpResponse> r = read_error_response(ec, got_header, srv_->opt.limits))
      send(std::move(*r), true);
    else
      close();  // the client went away (or a socket error): nobody to answer
  }

  void on_header(beast::error_code ec) {
    if (ec || timed_out_) {
      read_failed(ec, false);
      return;
    }
    const int count = fill_request_head(*parser_, &req_);
    req_.remote = remote_;
    keep_alive_ = parser_->keep_alive();
    const bool has_body =
        parser_->chunked() || (parser_->content_length() && *parser_->content_length() > 0);
    if (std::optional<HttpResponse> pre =
            check_request_head(*srv_->api, srv_->opt.limits, *parser_, req_, count)) {
      send(std::move(*pre), has_body);
      return;
    }
    if (req_.header("expect") && !parser_->is_done()) {  // 100-continue (others got 417 above)
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(socket_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = shared_from_this()](beast::error_code wec, size_t) {
                         if (wec || self->timed_out_) {
                           self->read_failed(wec, true);
                           return;
                         }
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) {
      on_body({});
      return;
    }
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec || timed_out_) {
      read_failed(ec, true);
      return;
    }
    keep_alive_ = parser_->keep_alive();
    req_.body = std::make_shared<const std::string>(std::move(parser_->get().body()));
    parser_.reset();
    req_.received = Clock::now();
    req_.deadline = req_.received + secs(srv_->opt.request_deadline_s);
    phase_ = Phase::PROCESSING;
    inflight_ = true;
    srv_->metrics.inflight_requests++;
    arm(srv_->opt.request_deadline_s);
    const uint64_t seq = ++seq_;
    srv_->api->handle(req_, [self = shared_from_this(), seq](HttpResponse&& r) {
      net::post(self->socket_.get_executor(), [self, seq, r = std::move(r)]() mutable {
        if (seq != self->seq_ || self->phase_ != Phase::PROCESSING)
          return;  // answered already (504)
        self->send(std::move(r));
      });
    });
  }

  void send(HttpResponse r, bool force_close = false) {
    if (req_.request_id.empty()) req_.request_id = accept_or_make_request_id(nullptr);
    srv_->api->decorate(req_, &r);
    close_after_ = force_close || r.close || !keep_alive_ || srv_->draining;
    const bool no_body = r.status == 204 || r.status == 304 || r.status < 200;
    const std::string_view body = no_body || r.omit_body ? std::string_view() : r.body_view();
    head_ = str_printf("HTTP/1.1 %d %s\r\n", r.status, reason_phrase(r.status));
    for (const auto& [k, v] : r.headers) {
      if (iequals(k, "content-length") || iequals(k, "connection")) continue;
      head_ += k + ": " + header_safe(v) + "\r\n";
    }
    if (!no_body) head_ += "Content-Length: " + std::to_string(r.body_view().size()) + "\r\n";
    head_ += close_after_ ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";

    const double total_s = std::chrono::duration<double>(Clock::now() - started_).count();
    const std::string route = r.route.empty() ? "other" : r.route;
    const std::string method = req_.method.empty()        ? "-"
                               : req_.method.size() <= 10 ? req_.method
                                                          : "other";
    srv_->metrics.count_request(route, method, r.status, total_s);
    if (srv_->opt.access_log) {
      nlohmann::json line = {{"request_id", req_.request_id},
                             {"method", method},
                             {"path", req_.target.substr(0, 512)},
                             {"route", route},
                             {"status", r.status},
                             {"bytes", body.size()},
                             {"duration_ms", total_s * 1000},
                             {"remote", remote_}};
      if (!r.model.empty()) line["model"] = r.model;
      srv_->log.info("request", std::move(line));
    }
    res_ = std::move(r);
    body_ = body.empty() ? std::string_view() : res_.body_view().substr(0, body.size());
    phase_ = Phase::WRITING;
    arm(srv_->opt.limits.write_timeout_s);
    const std::array<net::const_buffer, 2> bufs = {net::buffer(head_),
                                                   net::buffer(body_.data(), body_.size())};
    net::async_write(socket_, bufs, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    served_++;
    if (inflight_) {
      inflight_ = false;
      srv_->metrics.inflight_requests--;
    }
    res_ = HttpResponse();
    body_ = {};
    req_.body.reset();
    if (ec || phase_ != Phase::WRITING) {
      close();
      return;
    }
    if (close_after_) {
      linger();
      return;
    }
    wait_request();
  }

  void linger() {
    phase_ = Phase::LINGER;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close();
      return;
    }
    arm(2.0);
    discard();
  }

  void discard() {
    socket_.async_read_some(net::buffer(discard_buf_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (self->phase_ != Phase::LINGER) return;
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->discard();
                            });
  }

  void close() {
    if (phase_ == Phase::CLOSED) return;
    phase_ = Phase::CLOSED;
    disarm();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  Server::Impl* srv_;
  tcp::socket socket_;
  net::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Phase phase_ = Phase::IDLE;
  bool timed_out_ = false;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool inflight_ = false;
  uint64_t seq_ = 0;
  uint64_t served_ = 0;  // responses written
  std::string remote_;
  Clock::time_point started_ = Clock::now();
  HttpRequest req_;
  HttpResponse res_;
  std::string head_;
  std::string_view body_;
  std::array<char, 16384> discard_buf_;
};

void Server::Impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: wait a little instead of spinning.
      log.warn("accept failed", {{"error", ec.message()}});
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code) {
        if (acceptor.is_open()) do_accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<Connection>(this, std::move(socket));
    if (metrics.open_connections.load() > opt.limits.max_connections) {
      c->reject_busy();
    } else {
      c->start();
    }
    do_accept();
  });
}

void Server::Impl::wait_signal() {
  signals.async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log.info("SIGHUP: re-scanning models");
      registry->request_rescan();
    } else if (!draining) {
      log.info("signal received: draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                             {"exit_timeout_s", opt.exit_timeout_s}});
      start_drain();
    } else {
      log.warn("second signal: stopping now");
      stop_now(1);
      return;
    }
    wait_signal();
  });
}

void Server::Impl::start_drain() {
  if (draining.exchange(true)) return;
  ready = false;
  drain_started = Clock::now();
  if (opt.drain_delay_s > 0) {
    drain_timer.expires_after(secs(opt.drain_delay_s));
    drain_timer.async_wait([this](beast::error_code) { close_listener_and_idle(); });
  } else {
    close_listener_and_idle();
  }
}

void Server::Impl::close_listener_and_idle() {
  beast::error_code ec;
  acceptor.close(ec);
  accept_retry.cancel();
  // Each connection's on_drain() runs on its own strand.
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard<std::mutex> lock(conns_mu);
    for (auto& [p, w] : conns)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->post_drain();
  check_drained();
}

void Server::Impl::check_drained() {
  const int64_t open = metrics.open_connections.load();
  if (open == 0) {
    log.info("drained: exiting", {{"drain_ms", ms_between(drain_started, Clock::now())}});
    stop_now(exit_code.load());
    return;
  }
  if (Clock::now() - drain_started > secs(opt.exit_timeout_s)) {
    log.warn("exit timeout: abandoning requests still in flight",
             {{"open_connections", open}, {"inflight_requests", metrics.inflight_requests.load()}});
    stop_now(1);
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](beast::error_code ec) {
    if (!ec) check_drained();
  });
}

void Server::Impl::stop_now(int code) {
  exit_code = code;
  ready = false;
  draining = true;
  ioc.stop();
}

Result<std::unique_ptr<Server>> Server::create(ServerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  const ServerOptions& o = impl->opt;
  if (o.port < 0 || o.port > 65535)
    return MORSEL_ERROR(INVALID_ARGUMENT, "--port must be 0..65535");
  if (o.io_threads < 1 || o.io_threads > 256)
    return MORSEL_ERROR(INVALID_ARGUMENT, "--http-threads must be 1..256");
  if (o.registry.batch.workers < 1 || o.registry.batch.workers > 256)
    return MORSEL_ERROR(INVALID_ARGUMENT, "--workers must be 1..256");
  if (o.registry.batch.max_batch < 1 || o.registry.batch.max_batch > 1024)
    return MORSEL_ERROR(INVALID_ARGUMENT, "--max-batch must be 1..1024");
  if (o.registry.batch.max_queue < 1)
    return MORSEL_ERROR(INVALID_ARGUMENT, "--max-queue must be >= 1");
  if (o.limits.max_body_bytes < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "--max-body must be >= 1");
  if (o.request_deadline_s <= 0 || o.limits.read_timeout_s <= 0 || o.limits.idle_timeout_s <= 0)
    return MORSEL_ERROR(INVALID_ARGUMENT, "timeouts must be > 0");
  if (o.default_top_k < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "--top-k must be >= 1");
  if (!o.web_dir.empty()) {
    struct stat sb;
    if (::stat(o.web_dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode))
      return MORSEL_ERROR(IO_ERROR, "--web %s is not a directory", o.web_dir.c_str());
  }
  impl->registry = std::make_unique<ModelRegistry>(o.registry, &impl->metrics, &impl->log);
  MORSEL_RETURN_IF_ERROR(impl->registry->validate_options());
  impl->api = std::make_unique<Api>(impl->opt, impl->registry.get(), &impl->metrics, &impl->log,
                                    &impl->ready);
  ModelRegistry* reg = impl->registry.get();
  impl->metrics.set_gauge_source(
      [reg](std::map<std::string, int64_t>* d, int64_t* n) { reg->queue_depths(d, n); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_->started && !impl_->threads.empty()) {
    impl_->stop_now(impl_->exit_code.load());
    wait();
  }
  if (impl_->loader.joinable()) impl_->loader.join();
  impl_->registry->shutdown();
}

Status Server::start() {
  Impl& s = *impl_;
  beast::error_code ec;
  const net::ip::address addr = net::ip::make_address(s.opt.host, ec);
  if (ec)
    return MORSEL_ERROR(INVALID_ARGUMENT, "--host %s is not an IP address", s.opt.host.c_str());
  const tcp::endpoint ep(addr, static_cast<unsigned short>(s.opt.port));
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return MORSEL_ERROR(IO_ERROR, "cannot listen on %s:%d: %s", s.opt.host.c_str(), s.opt.port,
                        ec.message().c_str());
  s.port = s.acceptor.local_endpoint().port();
  const std::string host = addr.is_v6() ? "[" + s.opt.host + "]" : s.opt.host;
  s.log.info("listening", {{"address", s.opt.host},
                           {"port", s.port},
                           {"url", "http://" + host + ":" + std::to_string(s.port)}});
  if (s.opt.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.add(SIGHUP);
    s.wait_signal();
  }
  s.do_accept();
  s.started = true;
  for (int i = 0; i < s.opt.io_threads; i++) s.threads.emplace_back([&s] { s.ioc.run(); });
  s.loader = std::thread([&s] {
    Status st = s.registry->load_initial();
    if (!st.ok()) {
      s.log.error("startup failed", {{"error", st.message()}});
      net::post(s.control, [&s] { s.stop_now(1); });
      return;
    }
    if (!s.draining) {
      s.ready = true;
      s.log.info("ready", {{"models", s.registry->all().size()}});
    }
    s.registry->start_watching();
  });
  return Status();
}

int Server::port() const {
  return impl_->port;
}
bool Server::ready() const {
  return impl_->ready.load();
}

void Server::begin_shutdown() {
  Impl* s = impl_.get();
  net::post(s->control, [s] { s->start_drain(); });
}

int Server::wait() {
  Impl& s = *impl_;
  for (std::thread& t : s.threads)
    if (t.joinable()) t.join();
  s.threads.clear();
  if (s.exit_code.load() != 0) return s.exit_code.load();  // forced: do not wait for workers
  if (s.loader.joinable()) s.loader.join();
  s.registry->shutdown();
  return 0;
}

std::optional<HttpResponse> answer_raw_request(Api& api, const ServerOptions& options,
                                              std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(options.limits.max_header_bytes);
  parser.body_limit(static_cast<uint64_t>(options.limits.max_body_bytes));
  // Feeds the rest of `bytes` until the parser stops (after the header with eager off, at the
  // end of the message, or on an error); the end of the input is the end of the stream.
  size_t used = 0;
  auto feed = [&](bool eager) {
    parser.eager(eager);
    beast::error_code ec;
    for (;;) {
      const size_t n = parser.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
      used += n;
      if (ec != http::error::need_more) return ec;
      ec = {};
      if (used >= bytes.size() || n == 0) {
        parser.put_eof(ec);
        return ec;
      }
    }
  };
  HttpRequest req;
  auto answer = [&](std::optional<HttpResponse> r) {
    if (r) api.decorate(req, &*r);
    return r;
  };
  beast::error_code ec = feed(false);
  if (ec || !parser.is_header_done())
    return answer(read_error_response(ec ? ec : http::error::partial_message, false, options.limits));
  const int count = fill_request_head(parser, &req);
  req.remote = "-";
  if (std::optional<HttpResponse> pre = check_request_head(api, options.limits, parser, req, count))
    return answer(std::move(pre));
  if (!parser.is_done()) {
    ec = feed(true);
    if (ec || !parser.is_done())
      return answer(read_error_response(ec ? ec : http::error::partial_message, true, options.limits));
  }
  req.body = std::make_shared<const std::string>(std::move(parser.get().body()));
  req.received = Clock::now();
  req.deadline = req.received + secs(options.request_deadline_s);
  std::promise<HttpResponse> replied;
  std::future<HttpResponse> reply = replied.get_future();
  api.handle(req, [&replied](HttpResponse&& r) { replied.set_value(std::move(r)); });
  return answer(reply.get());
}

}  // namespace morsel::server
