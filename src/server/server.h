// `morsel serve`: an HTTP inference server (Boost.Beast, in http.cpp only) speaking the KServe V2
// / Open Inference Protocol plus a simple classify endpoint, serving the web app's static files
// and the .morsel files, with limits on everything a client controls. docs/server-api.md
// describes the API, docs/deploy.md the operation. Library: morsel_server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "image/decode/decode.h"
#include "server/registry.h"

namespace morsel::server {

struct ServerLimits {
  int64_t max_body_bytes = 16 << 20;     // Content-Length or chunked total; 413 beyond
  uint32_t max_header_bytes = 16 << 10;  // request line + header fields; 431 beyond
  int max_header_count = 100;            // 431 beyond
  size_t max_url_bytes = 8192;           // 414 beyond
  int max_json_depth = 32;               // 400 beyond
  int max_images_per_request = 64;       // infer batch per request; 400 beyond
  DecodeLimits image;                    // checked from the image header before decoding; 413
  int max_connections = 512;             // 503 with Retry-After beyond
  double read_timeout_s = 30;            // absolute deadline to receive a whole request; 408
  double idle_timeout_s = 30;            // keep-alive connection without a request; closed
  double write_timeout_s = 300;          // to send a response (large model downloads)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: an ephemeral port (printed in the "listening" log line)
  RegistryOptions registry;   // models and batching
  std::string default_model;  // for /api/classify; the first model when empty
  std::string web_dir;        // static web app; empty: none
  std::string api_key;        // Bearer token required on the API when set
  std::vector<std::string> cors_origins;  // allowed Origins ("*" allows any); empty: CORS off
  ServerLimits limits;
  double request_deadline_s = 30;  // per request, from fully received to answered; 504
  double exit_timeout_s = 30;      // graceful drain limit on SIGTERM/SIGINT
  double drain_delay_s = 0;        // after SIGTERM, report not-ready this long before closing
  int io_threads = 2;
  int default_top_k = 5;
  bool access_log = true;
  bool handle_signals = true;  // SIGTERM/SIGINT drain, SIGHUP re-scans models
};

class Server {
 public:
  // Checks the options; loads nothing yet.
  static Result<std::unique_ptr<Server>> create(ServerOptions options);
  ~Server();

  // Binds the port, starts the I/O threads and loads the models in the background (the server
  // is live at once and ready once every model loaded and ran its warm-up).
  Status start();
  int port() const;
  bool ready() const;
  // Starts a graceful drain: not ready, stop accepting, finish in-flight requests within
  // exit_timeout_s. What SIGTERM/SIGINT do.
  void begin_shutdown();
  // Blocks until the server has stopped. Returns the process exit code: 0 after a clean drain,
  // 1 if the models could not be loaded or in-flight requests had to be abandoned (then it does
  // not wait for batches still running on workers; the destructor does).
  int wait();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace morsel::server
