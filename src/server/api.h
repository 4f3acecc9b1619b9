// Api: the routes of `morsel serve` on HttpRequest/HttpResponse (no Beast here). Health and
// metadata (KServe V2), inference (V2 infer, classify), model listing and downloads, OpenAPI,
// metrics and static files. To add a route: a RouteKind, a line in match_route(), a handler.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/http-types.h"
#include "server/registry.h"
#include "server/server.h"

namespace morsel::server {

class Logger;
class Metrics;
class StaticFiles;

enum class RouteKind {
  LIVE,
  READY,
  SERVER_META,
  MODEL_META,
  MODEL_READY,
  INFER,
  CLASSIFY,
  API_CLASSIFY,
  API_MODELS,
  DOWNLOAD,
  OPENAPI,
  METRICS,
  STATIC,
  NOT_FOUND,
};

struct Route {
  RouteKind kind = RouteKind::NOT_FOUND;
  std::string name, version;    // decoded model name / version ("" = newest)
  const char* methods = "";     // allowed methods, for 405 and Allow ("GET, HEAD")
  const char* label = "other";  // route template for metrics and logs
  bool needs_auth = true;
  bool has_body = false;  // POST routes that read a body
};
// Maps a method-independent path (still percent-encoded) to a route.
Route match_route(const std::string& path, bool static_files);

class Api {
 public:
  using Reply = std::function<void(HttpResponse&&)>;
  Api(const ServerOptions& options, ModelRegistry* registry, Metrics* metrics, Logger* log,
      const std::atomic<bool>* ready);
  ~Api();

  // Checks a request whose headers have arrived but whose body has not been read: route and
  // method, API key, Content-Encoding, Content-Length presence. A response means "answer this
  // and do not read the body".
  std::optional<HttpResponse> precheck(const HttpRequest& req, bool has_length_or_chunked) const;
  // Handles a complete request. `reply` is called exactly once, possibly from a worker thread.
  // Never throws; internal errors become a generic 500.
  void handle(const HttpRequest& req, Reply reply);
  // Adds the headers every response carries: X-Request-ID, CORS for allowed origins.
  void decorate(const HttpRequest& req, HttpResponse* res) const;

 private:
  void dispatch(const HttpRequest& req, const Route& route, Reply& reply);
  void classify(const HttpRequest& req, const std::string& name, const std::string& version,
                Reply& reply);
  void infer(const HttpRequest& req, const std::string& name, const std::string& version,
             Reply& reply);
  // Queues `job` on the model's batcher; a full or stopped queue answers 429 / 503 at once.
  void submit(ModelVersion& mv, InferJob job, Reply& reply);
  HttpResponse model_metadata(const std::string& name, const std::string& version) const;
  HttpResponse list_models() const;
  HttpResponse download(const HttpRequest& req, const std::string& name,
                        const std::string& version) const;
  // The model version for a request, or the error response (404 unknown, 503 still loading).
  std::shared_ptr<ModelVersion> find_model(const std::string& name, const std::string& version,
                                           HttpResponse* err) const;
  bool origin_allowed(const std::string& origin) const;

  const ServerOptions& opt_;
  ModelRegistry* registry_;
  Metrics* metrics_;
  Logger* log_;
  const std::atomic<bool>* ready_;
  std::unique_ptr<StaticFiles> static_;
};

// The OpenAPI 3 document served at /openapi.json.
const char* openapi_json();

// Answers one raw HTTP/1.1 request (`bytes`: request line, header fields, body) the way a
// connection of a running server does, without a socket or timers: the same parser, limits and
// checks, then `api`. nullopt where a connection would close without answering (the input ends
// before the request is complete). Blocks until `api` replies. For the request fuzz target
// (tests/fuzz/fuzz-http-request.cpp) and tests; implemented in http.cpp, beside the parser.
std::optional<HttpResponse> answer_raw_request(Api& api, const ServerOptions& options,
                                              std::string_view bytes);

}  // namespace morsel::server
