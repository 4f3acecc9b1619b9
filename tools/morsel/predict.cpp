// `morsel predict`: model + images -> top-k labels with probabilities (text or --json).
// Every image gets an answer or a one-line error; the exit code is 1 if any image failed.
#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format/model.h"
#include "image/decode/decode.h"
#include "runtime/classifier.h"

namespace morsel::cli {

namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> images;
  int top_k = 5;
  bool json = false;
  bool profile = false;
  int threads = 0;
  std::string dump_input;  // directory for the preprocessed input tensors (.npy)
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Minimal .npy (version 1.0, little-endian f32, C order) writer.
Status write_npy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  shape += ")";
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot write %s", path.c_str());
  const unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                  static_cast<unsigned char>(h.size() & 0xff),
                                  static_cast<unsigned char>(h.size() >> 8)};
  bool ok = std::fwrite(head, 1, 10, f) == 10 && std::fwrite(h.data(), 1, h.size(), f) == h.size() &&
            std::fwrite(t.raw(), 1, t.nbytes(), f) == t.nbytes();
  ok = (std::fclose(f) == 0) && ok;
  return ok ? Status() : MORSEL_ERROR(IO_ERROR, "cannot write %s", path.c_str());
}

// Time per op type and the slowest nodes, to stderr (so --json stays parseable).
void print_profile(const std::vector<OpProfile>& prof) {
  std::map<std::string, std::pair<double, int>> by_op;
  double total = 0;
  int64_t runs = 0;
  for (const OpProfile& p : prof) {
    by_op[p.op].first += p.total_ms;
    by_op[p.op].second++;
    total += p.total_ms;
    runs = std::max(runs, p.calls);
  }
  if (runs == 0) return;
  std::vector<std::pair<std::string, std::pair<double, int>>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
  std::fprintf(stderr, "\nprofile: %.2f ms per run over %lld run(s)\n", total / runs, (long long)runs);
  std::fprintf(stderr, "  %-18s %6s %10s %7s\n", "op", "nodes", "ms/run", "share");
  for (const auto& [op, v] : ops)
    std::fprintf(stderr, "  %-18s %6d %10.3f %6.1f%%\n", op.c_str(), v.second, v.first / runs,
                 100.0 * v.first / total);
  std::vector<OpProfile> nodes = prof;
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.total_ms > b.total_ms; });
  std::fprintf(stderr, "  slowest nodes:\n");
  for (size_t i = 0; i < nodes.size() && i < 10; i++)
    std::fprintf(stderr, "  %10.3f ms  %-16s %-20s %s\n", nodes[i].total_ms / runs,
                 nodes[i].op.c_str(), shape_str(nodes[i].out_shape).c_str(), nodes[i].node.c_str());
}

int run_predict(const PredictArgs& a) {
  auto loaded = model_load_file(a.model);
  if (!loaded.ok()) return fail(loaded.status().with_context(a.model));
  auto model = std::make_shared<const Model>(std::move(loaded.value()));
  SessionOptions options;
  options.profile = a.profile;
  options.threads = a.threads;
  auto cls = Classifier::create(model, options);
  if (!cls.ok()) return fail(cls.status().with_context(a.model));
  Classifier& c = *cls.value();
  if (a.top_k < 1) return fail("--top-k must be >= 1");

  int failures = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& path : a.images) {
    auto t0 = std::chrono::steady_clock::now();
    auto img = image_decode_file(path);
    const double decode_ms = ms_since(t0);
    if (!img.ok()) {
      failures++;
      std::fprintf(stderr, "morsel: error: %s: %s\n", path.c_str(), img.status().message().c_str());
      if (a.json) out.push_back({{"image", path}, {"error", img.status().message()}});
      continue;
    }
    const Image& im = img.value();
    if (!a.dump_input.empty()) {
      auto x = c.preprocess_image(im.rgb.data(), im.width, im.height, 3, int64_t{im.width} * 3);
      Status st = x.ok() ? write_npy(a.dump_input + "/" + base_name(path) + ".npy", x.value())
                         : x.status();
      if (!st.ok()) return fail(st);
    }
    ClassifyTimings t;
    auto preds = c.classify(im, a.top_k, &t);
    if (!preds.ok()) {
      failures++;
      std::fprintf(stderr, "morsel: error: %s: %s\n", path.c_str(), preds.status().message().c_str());
      if (a.json) out.push_back({{"image", path}, {"error", preds.status().message()}});
      continue;
    }
    if (a.json) {
      nlohmann::json j = {{"image", path}, {"width", im.width}, {"height", im.height}};
      for (const Prediction& p : preds.value())
        j["predictions"].push_back({{"label", p.label}, {"index", p.index}, {"score", p.score}});
      j["timings_ms"] = {{"decode", decode_ms}, {"preprocess", t.preprocess_ms},
                         {"inference", t.inference_ms}};
      out.push_back(j);
    } else {
      std::printf("%s (%dx%d)  decode %.1f ms, preprocess %.1f ms, inference %.1f ms\n",
                  path.c_str(), im.width, im.height, decode_ms, t.preprocess_ms, t.inference_ms);
      int rank = 1;
      for (const Prediction& p : preds.value())
        std::printf("  %d. %-24s %7.3f%%\n", rank++, p.label.c_str(), 100.0 * p.score);
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  if (a.profile) print_profile(c.session().profile());
  return failures ? 1 : 0;
}

}  // namespace

void register_predict(CLI::App& app, Action* run) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* c = app.add_subcommand("predict", "Classify images (JPEG, PNG, WebP) with a .morsel model");
  c->add_option("model", args->model, ".morsel file")->required();
  c->add_option("images", args->images, "image files")->required();
  c->add_option("-k,--top-k", args->top_k, "how many classes to show (default 5)");
  c->add_flag("--json", args->json, "print JSON instead of text");
  c->add_option("-t,--threads", args->threads, "threads (default: one per physical core)");
  c->add_flag("--profile", args->profile, "print the time per op and the slowest nodes (stderr)");
  c->add_option("--dump-input", args->dump_input,
                "also write each preprocessed input tensor to DIR/<image>.npy")
      ->check(CLI::ExistingDirectory);
  c->callback([args, run] { *run = [args] { return run_predict(*args); }; });
}

}  // namespace morsel::cli
