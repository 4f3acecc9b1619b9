// libFuzzer target: one raw HTTP/1.1 request through `morsel serve`'s request path, without a
// socket (answer_raw_request in src/server/http.cpp): Beast's parser with the server's limits,
// the header checks, routing, the API key and method checks, body parsing (KServe V2 JSON and
// binary-data tensors, raw and multipart images), image decoding, inference on a tiny model and
// the JSON answer. Any input must come back as a response (or nothing, where a connection would
// close); a crash, hang, leak or sanitizer report is a bug. A 5xx answer is a bug too: the server
// only answers 500 for internal errors, and 503/504 cannot happen here (an idle queue, no
// shutdown, a 30 s deadline).
//   clang:  cmake -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 -DMORSEL_FUZZ=ON
//           ninja -C build/fuzz fuzz_http_request && build/fuzz/tests/fuzz/fuzz_http_request CORPUS tests/fuzz/corpus/http
//   g++:    the same target links tests/fuzz/standalone-driver.cpp (seed replay + mutations).
// Seeds: tests/fuzz/make-seeds.py; MORSEL_FUZZ_PRINT=1 prints each answer's status and body.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "format/writer.h"
#include "server/api.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/registry.h"
#include "server/tiny-model.h"

namespace {

using namespace morsel;
using namespace morsel::server;

// The server behind the target: the tiny 8x8 classifier as model "tiny" version 1 (its file in
// a temporary directory), one worker, logs discarded.
struct Backend {
  ServerOptions options;
  Logger log{std::fopen("/dev/null", "w")};
  Metrics metrics;
  std::unique_ptr<ModelRegistry> registry;
  std::unique_ptr<Api> api;
  std::atomic<bool> ready{true};

  Backend() {
    char dir[] = "/tmp/morsel-fuzz-http-XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    const std::string path = std::string(dir) + "/tiny.morsel";
    if (!model_save_file(test::tiny_model(), path).ok()) std::abort();
    options.registry.models = {"tiny=" + path};
    options.registry.poll_interval_s = 0;
    options.registry.batch.workers = 1;
    // Smaller than the defaults, for speed; the same code paths.
    options.limits.max_body_bytes = 1 << 20;
    options.registry.batch.decode.max_pixels = 4'000'000;
    registry = std::make_unique<ModelRegistry>(options.registry, &metrics, &log);
    if (!registry->load_initial().ok()) std::abort();
    api = std::make_unique<Api>(options, registry.get(), &metrics, &log, &ready);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Backend* backend = new Backend();  // lives for the whole run
  const std::optional<HttpResponse> r = answer_raw_request(
      *backend->api, backend->options, std::string_view(reinterpret_cast<const char*>(data), size));
  static const bool print = std::getenv("MORSEL_FUZZ_PRINT") != nullptr;  // corpus upkeep
  if (print) std::fprintf(stderr, "%d %.200s\n", r ? r->status : 0, r ? r->body.c_str() : "(closed)");
  if (r && (r->status < 200 || r->status >= 500)) {
    std::fprintf(stderr, "answered %d: %s\n", r->status, r->body.c_str());
    std::abort();
  }
  return 0;
}
