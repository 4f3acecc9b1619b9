// POST /v2/models/{name}[/versions/{v}]/infer: the KServe V2 / Open Inference Protocol with JSON
// tensors, the binary tensor data extension (Inference-Header-Content-Length) and the
// classification extension (output parameter "classification": k -> BYTES "score:index:label").
//
// The one input may be FP32 [N,H,W,3] (already preprocessed, H and W the model's), UINT8
// [N,h,w,3] (RGB pixels of any size, preprocessed as the model file says) or BYTES [N] / [N,1]
// (JPEG/PNG/WebP files, binary data only). The output is the probabilities, FP32 [N,classes].
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "server/api.h"
#include "server/log.h"

namespace morsel::server {

using json = nlohmann::json;

namespace {

struct BadRequest {
  int status;
  std::string code, message;
};

[[noreturn]] void bad(std::string message, int status = 400, std::string code = "bad_request") {
  throw BadRequest{status, std::move(code), std::move(message)};
}

// Appends the numbers of a (possibly nested) JSON array, checked by `accept`.
template <typename T, typename F>
void flatten(const json& j, std::vector<T>* out, size_t limit, F accept) {
  if (j.is_array()) {
    for (const json& e : j) flatten(e, out, limit, accept);
    return;
  }
  if (!j.is_number()) bad("tensor data must be numbers");
  if (out->size() >= limit) bad("tensor data has more elements than its shape");
  out->push_back(accept(j));
}

uint32_t read_le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only (x86-64, arm64)
}

void append_le32(std::string* s, uint32_t v) {
  s->append(reinterpret_cast<const char*>(&v), 4);
}

}  // namespace

void Api::infer(const HttpRequest& req, const std::string& name, const std::string& version,
                Reply& reply) {
  HttpResponse err;
  auto mv = find_model(name, version, &err);
  if (!mv) {
    reply(std::move(err));
    return;
  }
  const std::string& body = req.body_str();
  InferJob job;
  json request_id;
  struct OutSpec {
    int64_t classification = 0;
    bool binary = false;
  } out_spec;
  int64_t batch = 0;
  try {
    size_t json_len = body.size();
    if (const std::string* h = req.header("inference-header-content-length")) {
      int64_t n;
      if (!parse_int(*h, 0, static_cast<int64_t>(body.size()), &n))
        bad("Inference-Header-Content-Length must be an integer no larger than the body");
      json_len = static_cast<size_t>(n);
    }
    const std::string* ct = req.header("content-type");
    const std::string type = ct ? media_type(*ct) : "";
    if (!type.empty() && type != "application/json" && type != "application/octet-stream")
      bad("Content-Type " + type +
              " is not accepted here; send application/json (or "
              "application/octet-stream with Inference-Header-Content-Length)",
          415, "unsupported_media_type");
    std::string_view text(body.data(), json_len);
    if (!json_depth_ok(text, opt_.limits.max_json_depth))
      bad(str_printf("the JSON nests deeper than %d levels", opt_.limits.max_json_depth));
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) bad("malformed JSON");
    if (!j.is_object()) bad("the request must be a JSON object");
    if (auto it = j.find("id"); it != j.end()) {
      if (!it->is_string()) bad("'id' must be a string");
      request_id = *it;
    }
    // Top-level parameters.
    if (auto p = j.find("parameters"); p != j.end()) {
      if (!p->is_object()) bad("'parameters' must be an object");
      if (auto b = p->find("binary_data_output"); b != p->end()) {
        if (!b->is_boolean()) bad("'binary_data_output' must be a boolean");
        out_spec.binary = b->get<bool>();
      }
    }
    // Outputs.
    if (auto outs = j.find("outputs"); outs != j.end()) {
      if (!outs->is_array() || outs->size() != 1)
        bad("'outputs' must list the model's one output, '" + mv->output_name + "'");
      const json& o = (*outs)[0];
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
        bad("each output needs a 'name'");
      if (o["name"].get<std::string>() != mv->output_name)
        bad("unknown output '" + o["name"].get<std::string>() + "'; the model's output is '" +
            mv->output_name + "'");
      if (auto p = o.find("parameters"); p != o.end()) {
        if (!p->is_object()) bad("output 'parameters' must be an object");
        if (auto c = p->find("classification"); c != p->end()) {
          if (!c->is_number_integer() || c->get<int64_t>() < 1)
            bad("'classification' must be an integer >= 1");
          out_spec.classification = std::min<int64_t>(c->get<int64_t>(), mv->num_classes);
        }
        if (auto b = p->find("binary_data"); b != p->end()) {
          if (!b->is_boolean()) bad("'binary_data' must be a boolean");
          out_spec.binary = b->get<bool>();
        }
      }
    }
    // The input.
    auto ins = j.find("inputs");
    if (ins == j.end() || !ins->is_array() || ins->size() != 1)
      bad("'inputs' must list the model's one input, '" + mv->input_name + "'");
    const json& in = (*ins)[0];
    if (!in.is_object()) bad("each input must be an object");
    if (!in.contains("name") || !in["name"].is_string()) bad("the input needs a 'name'");
    if (in["name"].get<std::string>() != mv->input_name)
      bad("unknown input '" + in["name"].get<std::string>() + "'; the model's input is '" +
          mv->input_name + "'");
    if (!in.contains("datatype") || !in["datatype"].is_string())
      bad("the input needs a 'datatype'");
    const std::string dt = in["datatype"].get<std::string>();
    if (!in.contains("shape") || !in["shape"].is_array() || in["shape"].empty() ||
        in["shape"].size() > 8)
      bad("the input needs a 'shape' (an array of 1 to 8 dimensions)");
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (const json& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 30))
        bad("shape dimensions must be integers >= 0");
      shape.push_back(d.get<int64_t>());
      numel *= std::max<int64_t>(1, shape.back());
      if (numel > (int64_t{1} << 32)) bad("the input is too large", 413, "payload_too_large");
    }
    batch = shape[0];
    if (batch < 1) bad("the batch dimension must be >= 1");
    if (batch > opt_.limits.max_images_per_request)
      bad(str_printf("at most %d images per request", opt_.limits.max_images_per_request), 413,
          "payload_too_large");
    // Binary data for the input, if any.
    const char* bin = nullptr;
    size_t bin_size = 0;
    if (auto p = in.find("parameters"); p != in.end() && p->is_object()) {
      if (auto b = p->find("binary_data_size"); b != p->end()) {
        if (!b->is_number_integer() || b->get<int64_t>() < 0 ||
            static_cast<size_t>(b->get<int64_t>()) != body.size() - json_len)
          bad("'binary_data_size' must equal the bytes after the JSON header");
        bin = body.data() + json_len;
        bin_size = body.size() - json_len;
      }
    }
    if (!bin && json_len != body.size())
      bad("binary data follows the JSON but no input has 'binary_data_size'");
    const bool has_data = in.contains("data");
    if (!bin && !has_data) bad("the input has neither 'data' nor binary data");

    const PreprocessSpec& pp = mv->model->meta.preprocess;
    const DecodeLimits& lim = opt_.limits.image;
    if (dt == "FP32") {
      if (shape.size() != 4 || shape[1] != pp.height || shape[2] != pp.width || shape[3] != 3)
        bad(str_printf("an FP32 input is the preprocessed tensor [N,%lld,%lld,3]",
                       (long long)pp.height, (long long)pp.width));
      const size_t row = static_cast<size_t>(pp.height * pp.width * 3);
      if (bin) {
        if (bin_size != static_cast<size_t>(batch) * row * 4)
          bad("binary FP32 data has the wrong size for its shape");
        for (int64_t i = 0; i < batch; i++)
          job.inputs.push_back({InferInput::Kind::TENSOR,
                                reinterpret_cast<const uint8_t*>(bin) + i * row * 4, row * 4, 0, 0,
                                req.body});
      } else {
        auto vals = std::make_shared<std::vector<float>>();
        vals->reserve(static_cast<size_t>(numel));
        flatten(in["data"], vals.get(), static_cast<size_t>(numel), [](const json& v) {
          const double d = v.get<double>();
          if (!std::isfinite(d)) bad("FP32 data must be finite");
          return static_cast<float>(d);
        });
        if (vals->size() != static_cast<size_t>(numel))
          bad("the data has fewer elements than the shape");
        for (int64_t i = 0; i < batch; i++)
          job.inputs.push_back({InferInput::Kind::TENSOR,
                                reinterpret_cast<const uint8_t*>(vals->data() + i * row), row * 4,
                                0, 0, vals});
      }
    } else if (dt == "UINT8") {
      if (shape.size() != 4 || shape[3] != 3 || shape[1] < 1 || shape[2] < 1)
        bad("a UINT8 input is RGB pixels [N,height,width,3]");
      if (shape[2] > lim.max_width || shape[1] > lim.max_height ||
          shape[1] * shape[2] > lim.max_pixels)
        bad("the image is larger than the server's limit", 413, "image_too_large");
      const size_t row = static_cast<size_t>(shape[1] * shape[2] * 3);
      std::shared_ptr<const void> owner = req.body;
      const uint8_t* base = reinterpret_cast<const uint8_t*>(bin);
      if (bin) {
        if (bin_size != static_cast<size_t>(batch) * row)
          bad("binary UINT8 data has the wrong size for its shape");
      } else {
        auto vals = std::make_shared<std::vector<uint8_t>>();
        vals->reserve(static_cast<size_t>(numel));
        flatten(in["data"], vals.get(), static_cast<size_t>(numel), [](const json& v) {
          if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 255)
            bad("UINT8 data must be integers 0..255");
          return static_cast<uint8_t>(v.get<int64_t>());
        });
        if (vals->size() != static_cast<size_t>(numel))
          bad("the data has fewer elements than the shape");
        base = vals->data();
        owner = vals;
      }
      for (int64_t i = 0; i < batch; i++)
        job.inputs.push_back({InferInput::Kind::PIXELS, base + i * row, row,
                              static_cast<int>(shape[2]), static_cast<int>(shape[1]), owner});
    } else if (dt == "BYTES") {
      if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)))
        bad("a BYTES input is encoded images, shape [N] or [N,1]");
      if (!bin) bad("send BYTES inputs (image files) with the binary data extension");
      size_t off = 0;
      for (int64_t i = 0; i < batch; i++) {
        if (bin_size - off < 4) bad("binary BYTES data is truncated");
        const uint32_t n = read_le32(bin + off);
        off += 4;
        if (n > bin_size - off) bad("binary BYTES data is truncated");
        const auto* p = reinterpret_cast<const uint8_t*>(bin + off);
        ImageInfo info;
        Status st = image_read_info(p, n, &info);
        if (!st.ok()) {
          HttpResponse r = status_response(st);
          reply(std::move(r));
          return;
        }
        if (info.width > lim.max_width || info.height > lim.max_height ||
            int64_t{info.width} * info.height > lim.max_pixels)
          bad(str_printf("image %lld is %dx%d, over the server's limit", (long long)i, info.width,
                         info.height),
              413, "image_too_large");
        job.inputs.push_back({InferInput::Kind::ENCODED, p, n, 0, 0, req.body});
        off += n;
      }
      if (off != bin_size) bad("binary BYTES data is longer than its shape");
    } else {
      bad("datatype " + dt + " is not supported; use FP32, UINT8 or BYTES");
    }
  } catch (const BadRequest& b) {
    reply(error_response(b.status, b.code, b.message));
    return;
  } catch (const json::exception&) {
    reply(error_response(400, "bad_request", "the request JSON has a value of the wrong type"));
    return;
  }

  job.enqueued = Clock::now();
  job.deadline = req.deadline;
  const std::string rid = req.request_id;
  Logger* log = log_;
  job.done = [mv, reply, out_spec, request_id, rid, log](InferOutcome&& o) {
    HttpResponse r;
    if (o.kind == InferOutcome::Kind::DEADLINE) {
      r = error_response(504, "deadline_exceeded",
                         "the request did not finish within its deadline");
    } else if (o.kind == InferOutcome::Kind::SHUTDOWN) {
      r = error_response(503, "unavailable", "the server is shutting down");
    } else if (o.kind == InferOutcome::Kind::ERROR) {
      r = status_response(o.status);
      if (r.status >= 500 && log)
        log->error("inference failed", {{"request_id", rid}, {"error", o.status.to_string()}});
    } else {
      const int64_t n = o.probs.dim(0), c = o.probs.dim(1);
      const float* p = o.probs.data<float>();
      json output = {{"name", mv->output_name}};
      std::string binary;
      if (out_spec.classification > 0) {
        const int64_t k = out_spec.classification;
        output["datatype"] = "BYTES";
        output["shape"] = {n, k};
        json data = json::array();
        for (int64_t i = 0; i < n; i++) {
          for (const Prediction& pr :
               top_k(p + i * c, static_cast<int>(c), static_cast<int>(k), mv->model->meta.labels)) {
            std::string s = str_printf("%.6f:%d:", pr.score, pr.index) + pr.label;
            if (out_spec.binary) {
              append_le32(&binary, static_cast<uint32_t>(s.size()));
              binary += s;
            } else {
              data.push_back(std::move(s));
            }
          }
        }
        if (!out_spec.binary) output["data"] = std::move(data);
      } else {
        output["datatype"] = "FP32";
        output["shape"] = {n, c};
        if (out_spec.binary) {
          binary.assign(reinterpret_cast<const char*>(p),
                        static_cast<size_t>(n * c) * sizeof(float));
        } else {
          output["data"] = std::vector<float>(p, p + n * c);
        }
      }
      if (out_spec.binary) output["parameters"] = {{"binary_data_size", binary.size()}};
      json res = {{"model_name", mv->name}, {"model_version", mv->version}, {"outputs", {output}}};
      if (!request_id.is_null()) res["id"] = request_id;
      res["parameters"] = {{"timings_ms",
                            {{"queue", o.timings.queue_ms},
                             {"decode", o.timings.decode_ms},
                             {"preprocess", o.timings.preprocess_ms},
                             {"inference", o.timings.inference_ms}}},
                           {"batch_size", o.timings.batch_size}};
      r = json_response(200, res);
      if (out_spec.binary) {
        r.set("Inference-Header-Content-Length", std::to_string(r.body.size()));
        r.set("Content-Type", "application/octet-stream");
        r.body += binary;
      }
    }
    r.model = mv->name;
    reply(std::move(r));
  };
  submit(*mv, std::move(job), reply);
}

}  // namespace morsel::server
