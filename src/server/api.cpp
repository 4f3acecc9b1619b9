// Api: routing, health/metadata, classify, model listing and downloads. V2 infer is in
// kserve.cpp, static files in static-files.cpp.
#include "server/api.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "image/decode/decode.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/static-files.h"

namespace morsel::server {

using json = nlohmann::json;

namespace {

std::vector<std::string> split_path(const std::string& path, bool* ok) {
  std::vector<std::string> segs;
  *ok = true;
  if (path.empty() || path[0] != '/') {
    *ok = false;
    return segs;
  }
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg;
    if (!percent_decode(std::string_view(path).substr(i, j - i), &seg)) *ok = false;
    segs.push_back(std::move(seg));
    i = j + 1;
  }
  return segs;
}

bool method_allowed(const std::string& method, const char* methods) {
  std::string_view m(methods);
  size_t pos = 0;
  while (pos < m.size()) {
    size_t comma = m.find(',', pos);
    if (comma == std::string_view::npos) comma = m.size();
    std::string_view one = m.substr(pos, comma - pos);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    if (one == method) return true;
    pos = comma + 1;
  }
  return false;
}

Route make(RouteKind kind, const char* methods, const char* label, bool auth = true,
           bool body = false) {
  Route r;
  r.kind = kind;
  r.methods = methods;
  r.label = label;
  r.needs_auth = auth;
  r.has_body = body;
  return r;
}

bool strip_suffix(std::string* s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  if (s->size() <= n || s->compare(s->size() - n, n, suffix) != 0) return false;
  s->resize(s->size() - n);
  return true;
}

json preprocess_json(const PreprocessSpec& p) {
  return {{"height", p.height},
          {"width", p.width},
          {"resize", resize_method_name(p.resize)},
          {"crop", crop_mode_name(p.crop)},
          {"crop_fraction", p.crop_fraction},
          {"channel_order", p.channel_order == ChannelOrder::RGB ? "rgb" : "bgr"},
          {"mean", {p.mean[0], p.mean[1], p.mean[2]}},
          {"std", {p.std[0], p.std[1], p.std[2]}}};
}

std::string download_url(const ModelVersion& mv) {
  return "/v1/models/" + mv.name + "/versions/" + mv.version + "/model.morsel";
}

}  // namespace

Route match_route(const std::string& path, bool static_files) {
  bool ok;
  std::vector<std::string> s = split_path(path, &ok);
  const size_t n = s.size();
  Route r;
  if (!ok) return r;
  auto at = [&](size_t i) -> const std::string& { return s[i]; };
  if (n == 3 && at(0) == "v2" && at(1) == "health" && at(2) == "live")
    return make(RouteKind::LIVE, "GET, HEAD", "/v2/health/live", false);
  if (n == 3 && at(0) == "v2" && at(1) == "health" && at(2) == "ready")
    return make(RouteKind::READY, "GET, HEAD", "/v2/health/ready", false);
  if (n == 1 && at(0) == "v2") return make(RouteKind::SERVER_META, "GET, HEAD", "/v2");
  if (n >= 3 && at(0) == "v2" && at(1) == "models") {
    Route x;
    size_t rest = 3;
    std::string version;
    if (n >= 5 && at(3) == "versions") {
      version = at(4);
      rest = 5;
    }
    if (n == rest) {
      x = make(RouteKind::MODEL_META, "GET, HEAD",
               version.empty() ? "/v2/models/{name}" : "/v2/models/{name}/versions/{v}");
    } else if (n == rest + 1 && at(rest) == "ready") {
      x = make(
          RouteKind::MODEL_READY, "GET, HEAD",
          version.empty() ? "/v2/models/{name}/ready" : "/v2/models/{name}/versions/{v}/ready");
    } else if (n == rest + 1 && at(rest) == "infer") {
      x = make(RouteKind::INFER, "POST",
               version.empty() ? "/v2/models/{name}/infer" : "/v2/models/{name}/versions/{v}/infer",
               true, true);
    } else {
      return r;
    }
    x.name = at(2);
    x.version = version;
    return x;
  }
  if (n >= 3 && at(0) == "v1" && at(1) == "models") {
    std::string last = s.back();
    Route x;
    if (strip_suffix(&last, ":classify")) {
      if (n == 3) {
        x = make(RouteKind::CLASSIFY, "POST", "/v1/models/{name}:classify", true, true);
        x.name = last;
        return x;
      }
      if (n == 5 && at(3) == "versions") {
        x = make(RouteKind::CLASSIFY, "POST", "/v1/models/{name}/versions/{v}:classify", true,
                 true);
        x.name = at(2);
        x.version = last;
        return x;
      }
      return r;
    }
    if (n == 4 && at(3) == "model.morsel") {
      x = make(RouteKind::DOWNLOAD, "GET, HEAD", "/v1/models/{name}/model.morsel");
      x.name = at(2);
      return x;
    }
    if (n == 6 && at(3) == "versions" && at(5) == "model.morsel") {
      x = make(RouteKind::DOWNLOAD, "GET, HEAD", "/v1/models/{name}/versions/{v}/model.morsel");
      x.name = at(2);
      x.version = at(4);
      return x;
    }
    return r;
  }
  if (n == 2 && at(0) == "api" && at(1) == "classify")
    return make(RouteKind::API_CLASSIFY, "POST", "/api/classify", true, true);
  if (n == 2 && at(0) == "api" && at(1) == "models")
    return make(RouteKind::API_MODELS, "GET, HEAD", "/api/models");
  if (n == 1 && at(0) == "openapi.json")
    return make(RouteKind::OPENAPI, "GET, HEAD", "/openapi.json", false);
  if (n == 1 && at(0) == "metrics") return make(RouteKind::METRICS, "GET, HEAD", "/metrics");
  if (static_files && !(n >= 1 && (at(0) == "v1" || at(0) == "v2" || at(0) == "api")))
    return make(RouteKind::STATIC, "GET, HEAD", "static", false);
  return r;
}

Api::Api(const ServerOptions& options, ModelRegistry* registry, Metrics* metrics, Logger* log,
         const std::atomic<bool>* ready)
    : opt_(options),
      registry_(registry),
      metrics_(metrics),
      log_(log),
      ready_(ready),
      static_(std::make_unique<StaticFiles>(options.web_dir)) {}

Api::~Api() = default;

bool Api::origin_allowed(const std::string& origin) const {
  for (const std::string& o : opt_.cors_origins)
    if (o == "*" || o == origin) return true;
  return false;
}

void Api::decorate(const HttpRequest& req, HttpResponse* res) const {
  res->set("X-Request-ID", req.request_id);
  const std::string* origin = req.header("origin");
  if (!origin || opt_.cors_origins.empty() || !origin_allowed(*origin)) return;
  res->set("Access-Control-Allow-Origin", *origin);
  res->set("Vary", "Origin");
  res->set("Access-Control-Expose-Headers",
           "X-Request-ID, Inference-Header-Content-Length, Retry-After, ETag, Content-Range");
  if (req.method == "OPTIONS") {
    res->set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    res->set("Access-Control-Allow-Headers",
             "Authorization, Content-Type, X-Request-ID, Inference-Header-Content-Length, Range, "
             "If-None-Match");
    res->set("Access-Control-Max-Age", "600");
  }
}

std::optional<HttpResponse> Api::precheck(const HttpRequest& req,
                                          bool has_length_or_chunked) const {
  if (req.method == "OPTIONS") return std::nullopt;
  const Route route = match_route(req.path, static_->ok());
  if (route.kind == RouteKind::NOT_FOUND || !method_allowed(req.method, route.methods))
    return std::nullopt;
  if (route.needs_auth && !opt_.api_key.empty()) {
    const std::string* auth = req.header("authorization");
    if (!auth || !constant_time_equal(*auth, "Bearer " + opt_.api_key)) {
      HttpResponse r = error_response(
          401, "unauthorized", "missing or wrong API key (send Authorization: Bearer <key>)");
      r.set("WWW-Authenticate", "Bearer");
      return r;
    }
  }
  if (const std::string* ce = req.header("content-encoding"); ce && media_type(*ce) != "identity")
    return error_response(415, "unsupported_media_type",
                          "compressed request bodies (Content-Encoding) are not accepted; send the "
                          "bytes as they are");
  if (route.has_body && !has_length_or_chunked)
    return error_response(411, "length_required",
                          "send the body with Content-Length or chunked transfer encoding");
  return std::nullopt;
}

void Api::submit(ModelVersion& mv, InferJob job, Reply& reply) {
  switch (mv.queue->submit(std::move(job))) {
    case InferenceQueue::Submit::OK:
      return;
    case InferenceQueue::Submit::FULL: {
      HttpResponse r = error_response(429, "too_many_requests",
                                      "the inference queue is full; retry after a second");
      r.model = mv.name;
      reply(std::move(r));
      return;
    }
    case InferenceQueue::Submit::STOPPED:
      reply(error_response(503, "unavailable", "the model is being unloaded; retry"));
      return;
  }
}

void Api::handle(const HttpRequest& req, Reply reply) {
  // `reply` must be called exactly once, whatever happens below.
  auto replied = std::make_shared<std::atomic<bool>>(false);
  Reply once = [replied, reply = std::move(reply)](HttpResponse&& r) {
    if (!replied->exchange(true)) reply(std::move(r));
  };
  try {
    if (req.method == "OPTIONS") {
      HttpResponse r;
      r.status = 204;
      r.route = "OPTIONS";
      r.set("Allow", "GET, HEAD, POST, OPTIONS");
      once(std::move(r));
      return;
    }
    const Route route = match_route(req.path, static_->ok());
    if (route.kind == RouteKind::NOT_FOUND) {
      HttpResponse r = error_response(404, "not_found", "no such endpoint (see /openapi.json)");
      once(std::move(r));
      return;
    }
    if (!method_allowed(req.method, route.methods)) {
      HttpResponse r = error_response(405, "method_not_allowed",
                                      std::string("use ") + route.methods + " on this endpoint");
      r.set("Allow", route.methods);
      r.route = route.label;
      once(std::move(r));
      return;
    }
    if (std::optional<HttpResponse> pre = precheck(req, true)) {
      pre->route = route.label;
      once(std::move(*pre));
      return;
    }
    dispatch(req, route, once);
  } catch (...) {
    if (log_)
      log_->error("internal error while handling a request", {{"request_id", req.request_id}});
    once(error_response(500, "internal", "internal error"));
  }
}

void Api::dispatch(const HttpRequest& req, const Route& route, Reply& reply) {
  const bool head = req.method == "HEAD";
  auto send = [&](HttpResponse r) {
    r.route = route.label;
    if (head) r.omit_body = true;
    reply(std::move(r));
  };
  switch (route.kind) {
    case RouteKind::LIVE:
      send(json_response(200, {{"live", true}}));
      return;
    case RouteKind::READY: {
      const bool ready = ready_->load();
      send(ready ? json_response(200, {{"ready", true}})
                 : error_response(503, "unavailable",
                                  "not ready: models are loading or the server is shutting down"));
      return;
    }
    case RouteKind::SERVER_META:
      send(json_response(200, {{"name", "morsel"},
                               {"version", "0.1.0"},
                               {"extensions", {"binary_tensor_data", "classification"}}}));
      return;
    case RouteKind::MODEL_META: {
      HttpResponse r = model_metadata(route.name, route.version);
      r.model = route.name;
      send(std::move(r));
      return;
    }
    case RouteKind::MODEL_READY: {
      HttpResponse err;
      auto mv = find_model(route.name, route.version, &err);
      if (!mv) {
        send(std::move(err));
        return;
      }
      HttpResponse r =
          json_response(200, {{"name", mv->name}, {"version", mv->version}, {"ready", true}});
      r.model = mv->name;
      send(std::move(r));
      return;
    }
    case RouteKind::INFER: {
      Reply labelled = [reply, label = route.label](HttpResponse&& r) {
        r.route = label;
        reply(std::move(r));
      };
      infer(req, route.name, route.version, labelled);
      return;
    }
    case RouteKind::CLASSIFY:
    case RouteKind::API_CLASSIFY: {
      Reply labelled = [reply, label = route.label](HttpResponse&& r) {
        r.route = label;
        reply(std::move(r));
      };
      const std::string name =
          route.kind == RouteKind::API_CLASSIFY
              ? (opt_.default_model.empty() ? registry_->default_model() : opt_.default_model)
              : route.name;
      classify(req, name, route.version, labelled);
      return;
    }
    case RouteKind::API_MODELS:
      send(list_models());
      return;
    case RouteKind::DOWNLOAD:
      send(download(req, route.name, route.version));
      return;
    case RouteKind::OPENAPI: {
      HttpResponse r;
      r.body = openapi_json();
      r.set("Content-Type", "application/json");
      send(std::move(r));
      return;
    }
    case RouteKind::METRICS: {
      HttpResponse r;
      r.body = metrics_->render();
      r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      send(std::move(r));
      return;
    }
    case RouteKind::STATIC:
      send(static_->serve(req));
      return;
    case RouteKind::NOT_FOUND:
      break;
  }
  send(error_response(404, "not_found", "no such endpoint"));
}

std::shared_ptr<ModelVersion> Api::find_model(const std::string& name, const std::string& version,
                                              HttpResponse* err) const {
  if (!valid_model_name(name)) {
    *err = error_response(404, "model_not_found",
                          "unknown model (names are letters, digits, '.', '_' and '-')");
    return nullptr;
  }
  auto mv = registry_->find(name, version);
  if (mv) return mv;
  if (!ready_->load()) {
    *err = error_response(503, "unavailable", "models are still loading; try again shortly");
    return nullptr;
  }
  if (!version.empty() && registry_->find(name))
    *err = error_response(404, "version_not_found",
                          "model '" + name + "' has no version '" + version + "'");
  else
    *err = error_response(404, "model_not_found", "unknown model '" + name + "' (see /api/models)");
  return nullptr;
}

HttpResponse Api::model_metadata(const std::string& name, const std::string& version) const {
  HttpResponse err;
  auto mv = find_model(name, version, &err);
  if (!mv) return err;
  json versions = json::array();
  for (const auto& v : registry_->versions(name)) versions.push_back(v->version);
  const PreprocessSpec& p = mv->model->meta.preprocess;
  json j = {
      {"name", mv->name},
      {"versions", versions},
      {"platform", "morsel"},
      {"inputs",
       {{{"name", mv->input_name}, {"datatype", "FP32"}, {"shape", {-1, p.height, p.width, 3}}}}},
      {"outputs",
       {{{"name", mv->output_name}, {"datatype", "FP32"}, {"shape", {-1, mv->num_classes}}}}},
      {"parameters", {{"labels", mv->model->meta.labels}, {"preprocess", preprocess_json(p)}}}};
  if (!version.empty()) j["version"] = mv->version;
  return json_response(200, j);
}

HttpResponse Api::list_models() const {
  json models = json::array();
  std::string last;
  for (const auto& mv : registry_->all()) {
    if (mv->name == last) continue;  // all() lists the newest version of each model first
    last = mv->name;
    json versions = json::array();
    for (const auto& v : registry_->versions(mv->name)) versions.push_back(v->version);
    const ModelMetadata& meta = mv->model->meta;
    models.push_back({{"name", mv->name},
                      {"version", mv->version},
                      {"versions", versions},
                      {"description", meta.description},
                      {"labels", meta.labels},
                      {"num_classes", mv->num_classes},
                      {"size_bytes", mv->size},
                      {"input",
                       {{"name", mv->input_name},
                        {"height", meta.preprocess.height},
                        {"width", meta.preprocess.width},
                        {"channels", 3}}},
                      {"preprocess", preprocess_json(meta.preprocess)},
                      {"quantization", meta.provenance.quantization},
                      {"source_format", meta.provenance.source_format},
                      {"url", download_url(*mv)},
                      {"etag", mv->etag},
                      {"loaded_at", mv->loaded_at}});
  }
  const std::string def =
      opt_.default_model.empty() ? registry_->default_model() : opt_.default_model;
  return json_response(200,
                       {{"models", models}, {"default_model", def}, {"ready", ready_->load()}});
}

HttpResponse Api::download(const HttpRequest& req, const std::string& name,
                           const std::string& version) const {
  HttpResponse err;
  auto mv = find_model(name, version, &err);
  if (!mv) return err;
  HttpResponse r = serve_bytes(req, reinterpret_cast<const char*>(mv->bytes.get()), mv->size,
                               mv->bytes, mv->etag, "application/octet-stream");
  r.set("Content-Disposition",
        "attachment; filename=\"" + mv->name + "-" + mv->version + ".morsel\"");
  r.set("Cache-Control", version.empty() ? "no-cache" : "public, max-age=31536000, immutable");
  r.set("Cross-Origin-Resource-Policy", "same-origin");
  r.model = mv->name;
  return r;
}

void Api::classify(const HttpRequest& req, const std::string& name, const std::string& version,
                   Reply& reply) {
  HttpResponse err;
  auto mv = find_model(name, version, &err);
  if (!mv) {
    reply(std::move(err));
    return;
  }
  int64_t k = opt_.default_top_k;
  if (auto q = query_param(req.query, "top_k")) {
    if (!parse_int(*q, 1, 1000000, &k)) {
      reply(error_response(400, "bad_request", "top_k must be an integer >= 1"));
      return;
    }
  }
  k = std::min<int64_t>(k, mv->num_classes);

  // The image: the raw body (image/jpeg, image/png, image/webp) or a multipart field "file".
  const std::string* ct = req.header("content-type");
  const std::string type = ct ? media_type(*ct) : "";
  std::string_view data;
  const std::string& body = req.body_str();
  if (type == "multipart/form-data") {
    std::vector<MultipartPart> parts;
    std::string perr;
    if (!parse_multipart(body, media_type_param(*ct, "boundary"), 16, &parts, &perr)) {
      reply(error_response(400, "bad_request", "malformed multipart body: " + perr));
      return;
    }
    const MultipartPart* file = nullptr;
    for (const auto& p : parts)
      if (p.name == "file") file = &p;
    if (!file) {
      reply(error_response(400, "bad_request", "the multipart form has no field named 'file'"));
      return;
    }
    const std::string pt = media_type(file->content_type);
    if (!pt.empty() && pt != "application/octet-stream" &&
        image_format_from_mime_type(pt) == ImageFormat::UNKNOWN) {
      reply(error_response(
          415, "unsupported_media_type",
          "the 'file' part is " + pt + "; send image/jpeg, image/png or image/webp"));
      return;
    }
    data = file->data;
  } else if (!type.empty() && image_format_from_mime_type(type) != ImageFormat::UNKNOWN) {
    data = body;
  } else {
    reply(error_response(
        415, "unsupported_media_type",
        (type.empty() ? std::string("no Content-Type") : "Content-Type " + type) +
            "; send image/jpeg, image/png, image/webp or multipart/form-data with a 'file' field"));
    return;
  }
  if (data.empty()) {
    reply(error_response(400, "bad_request", "the image is empty"));
    return;
  }
  // Check the header (format, dimensions) before any pixel memory is allocated.
  ImageInfo info;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  Status st = image_read_info(bytes, data.size(), &info);
  if (!st.ok()) {
    reply(status_response(st));
    return;
  }
  const DecodeLimits& lim = opt_.limits.image;
  if (info.width > lim.max_width || info.height > lim.max_height ||
      int64_t{info.width} * info.height > lim.max_pixels) {
    reply(error_response(413, "image_too_large",
                         str_printf("the image is %dx%d; the limit is %lldx%lld and %lld pixels",
                                    info.width, info.height, (long long)lim.max_width,
                                    (long long)lim.max_height, (long long)lim.max_pixels)));
    return;
  }

  InferJob job;
  InferInput in;
  in.kind = InferInput::Kind::ENCODED;
  in.data = bytes;
  in.size = data.size();
  in.owner = req.body;
  job.inputs.push_back(std::move(in));
  job.enqueued = Clock::now();
  job.deadline = req.deadline;
  const std::string request_id = req.request_id;
  const Clock::time_point received = req.received;
  Logger* log = log_;
  job.done = [mv, reply, k, request_id, received, log](InferOutcome&& o) {
    HttpResponse r;
    switch (o.kind) {
      case InferOutcome::Kind::DEADLINE:
        r = error_response(504, "deadline_exceeded",
                           "the request did not finish within its deadline");
        break;
      case InferOutcome::Kind::SHUTDOWN:
        r = error_response(503, "unavailable", "the server is shutting down");
        break;
      case InferOutcome::Kind::ERROR:
        r = status_response(o.status);
        if (r.status >= 500 && log)
          log->error("inference failed",
                     {{"request_id", request_id}, {"error", o.status.to_string()}});
        break;
      case InferOutcome::Kind::OK: {
        json preds = json::array();
        for (const Prediction& p : top_k(o.probs.data<float>(), static_cast<int>(o.probs.dim(1)),
                                         static_cast<int>(k), mv->model->meta.labels))
          preds.push_back({{"label", p.label}, {"index", p.index}, {"score", p.score}});
        r = json_response(200, {{"model", mv->name},
                                {"version", mv->version},
                                {"id", request_id},
                                {"predictions", preds},
                                {"timings_ms",
                                 {{"queue", o.timings.queue_ms},
                                  {"decode", o.timings.decode_ms},
                                  {"preprocess", o.timings.preprocess_ms},
                                  {"inference", o.timings.inference_ms},
                                  {"total", ms_between(received, Clock::now())}}},
                                {"batch_size", o.timings.batch_size}});
        break;
      }
    }
    r.model = mv->name;
    reply(std::move(r));
  };
  submit(*mv, std::move(job), reply);
}

}  // namespace morsel::server
