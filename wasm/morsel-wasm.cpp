// The browser engine's exports: plain C functions over Classifier, called by wasm/js/morsel.ts
// (the only caller; the TypeScript wrapper owns the memory protocol below). To add an export:
// a function here with MORSEL_WASM_EXPORT and its declaration in wasm/js/morsel.ts.
//
// Memory protocol: the caller allocates the model bytes with morsel_wasm_alloc(), copies them in
// and hands the buffer to morsel_wasm_load(), which owns it from then on (the weights are read
// in place, never copied). Pixels are RGBA, 4 bytes per pixel, in a buffer from
// morsel_wasm_alloc() that the caller keeps and frees with morsel_wasm_free().
// Failures return 0 / -1 and leave a message for morsel_wasm_last_error().
#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/cpu.h"
#include "format/model.h"
#include "runtime/classifier.h"

#define MORSEL_WASM_EXPORT extern "C" EMSCRIPTEN_KEEPALIVE

namespace {

struct Engine {
  std::shared_ptr<const morsel::Model> model;
  std::unique_ptr<morsel::Classifier> classifier;
  size_t size_bytes = 0;
  std::string info;  // JSON, made by make_info()
};

std::string g_last_error;
// One pool for every model of this module, made by the first load: JS calls in one at a time,
// so models take turns on it, and no model waits for a worker that the page has not started
// (emscripten starts PTHREAD_POOL_SIZE workers with the module; a thread started later needs
// the main thread to return to the event loop first).
std::shared_ptr<morsel::ThreadPool> g_pool;

int fail(const morsel::Status& st) {
  g_last_error = st.to_string();
  return -1;
}

bool multi_threaded() {
#if defined(__EMSCRIPTEN_PTHREADS__)
  return true;
#else
  return false;
#endif
}

// Everything the wrapper's ModelInfo needs, as one JSON object.
void make_info(Engine* e) {
  const morsel::ModelMetadata& m = e->model->meta;
  const morsel::PreprocessSpec& pp = m.preprocess;
  const int classes = e->classifier->num_classes();
  nlohmann::json labels = nlohmann::json::array();
  for (int i = 0; i < classes; i++)
    labels.push_back(static_cast<size_t>(i) < m.labels.size() ? m.labels[static_cast<size_t>(i)]
                                                              : "class_" + std::to_string(i));
  nlohmann::json j = {
      {"name", m.name},
      {"labels", std::move(labels)},
      {"numClasses", classes},
      {"sizeBytes", e->size_bytes},
      {"inputHeight", pp.height},
      {"inputWidth", pp.width},
      {"quantization", m.provenance.quantization},
      {"sourceFormat", m.provenance.source_format},
      {"threads", e->classifier->session().threads()},
      {"isa", e->classifier->session().isa()},
      {"simd", morsel::isa_supported() == morsel::Isa::WASM_SIMD128},
      {"multiThreaded", multi_threaded()},
      {"preprocess",
       {{"resize", morsel::resize_method_name(pp.resize)},
        {"crop", morsel::crop_mode_name(pp.crop)},
        {"cropFraction", pp.crop_fraction},
        {"channelOrder", pp.channel_order == morsel::ChannelOrder::BGR ? "bgr" : "rgb"},
        {"mean", {pp.mean[0], pp.mean[1], pp.mean[2]}},
        {"std", {pp.std[0], pp.std[1], pp.std[2]}}}},
  };
  e->info = j.dump();
}

}  // namespace

// 64-byte-aligned bytes (the model reader borrows tensors in place only from aligned buffers);
// 0 when out of memory.
MORSEL_WASM_EXPORT void* morsel_wasm_alloc(size_t size) {
  return std::aligned_alloc(morsel::kTensorAlignment,
                            (size + morsel::kTensorAlignment - 1) / morsel::kTensorAlignment *
                                morsel::kTensorAlignment);
}

MORSEL_WASM_EXPORT void morsel_wasm_free(void* p) { std::free(p); }

// The message of the last failure ("" if none); valid until the next failing call.
MORSEL_WASM_EXPORT const char* morsel_wasm_last_error() { return g_last_error.c_str(); }

// Loads a .morsel file from `data` (from morsel_wasm_alloc; owned from now on, also on failure)
// and prepares it to classify. The first load fixes the module's thread count at `threads`
// (always 1 in the single-thread build); later loads use that. 0 on failure.
MORSEL_WASM_EXPORT Engine* morsel_wasm_load(void* data, size_t size, int threads) {
  std::shared_ptr<const void> backing(data, std::free);
  auto loaded = morsel::model_load_buffer(data, size, /*copy=*/false);
  if (!loaded.ok()) {
    fail(loaded.status());
    return nullptr;
  }
  loaded.value().backing = std::move(backing);
  auto e = std::make_unique<Engine>();
  e->model = std::make_shared<const morsel::Model>(std::move(loaded.value()));
  e->size_bytes = size;
  if (!g_pool) g_pool = std::make_shared<morsel::ThreadPool>(threads < 1 ? 1 : threads);
  morsel::SessionOptions o;
  o.pool = g_pool;
  auto c = morsel::Classifier::create(e->model, o);
  if (!c.ok()) {
    fail(c.status());
    return nullptr;
  }
  e->classifier = std::move(c.value());
  make_info(e.get());
  return e.release();
}

MORSEL_WASM_EXPORT void morsel_wasm_destroy(Engine* e) { delete e; }

// ModelInfo as JSON (see make_info); valid until the next call on this engine.
MORSEL_WASM_EXPORT const char* morsel_wasm_info(Engine* e) { return e->info.c_str(); }

// Classifies width x height RGBA pixels (`stride` bytes per row) with the model's own
// preprocessing. Writes up to k results, best first: class index_out[i] with probability
// score_out[i]; timings_out = {preprocess ms, inference ms}. Returns the number written, or -1.
MORSEL_WASM_EXPORT int morsel_wasm_classify(Engine* e, const uint8_t* rgba, int width, int height,
                                            int stride, int k, int32_t* index_out,
                                            float* score_out, double* timings_out) {
  morsel::ClassifyTimings t;
  auto r = e->classifier->classify(rgba, width, height, 4, stride, k, &t);
  if (!r.ok()) return fail(r.status());
  const std::vector<morsel::Prediction>& p = r.value();
  for (size_t i = 0; i < p.size(); i++) {
    index_out[i] = p[i].index;
    score_out[i] = p[i].score;
  }
  timings_out[0] = t.preprocess_ms;
  timings_out[1] = t.inference_ms;
  return static_cast<int>(p.size());
}
