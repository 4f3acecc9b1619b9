// morsel bench: engine-only latency of a .morsel model. Warm-up, then N timed runs on a fixed
// pseudo-random input; min / median / p90, images per second at batch 1 and at --batch, memory,
// and with --profile the time per op and per kernel. --interactive serves the side-by-side
// comparison scripts in bench/compare/ (they alternate morsel and a peer in one run).
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "commands.h"
#include "core/cpu.h"
#include "format/model.h"
#include "runtime/session.h"

namespace morsel::cli {

namespace {

struct BenchArgs {
  std::string model;
  int threads = 0;
  int runs = 50;
  int warmup = 5;
  int batch = 8;
  bool profile = false;
  bool json = false;
  bool interactive = false;
  std::string kernels = "auto";
};

struct Stats {
  double min = 0, median = 0, p90 = 0, mean = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.p90 = v[std::min(v.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(v.size())))];
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return s;
}

Tensor make_input(const Shape& shape, uint32_t seed) {
  Tensor t(DType::F32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  float* p = t.mut<float>();
  for (int64_t i = 0; i < t.numel(); i++) p[i] = d(rng);
  return t;
}

double process_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Wall-clock ms per run; `cpu_ms` (optional) gets the CPU time of all threads per run, which on a
// busy machine tells compute cost apart from waiting for a core.
// Batches run as the Classifier (and so the server) runs them: in cache-sized micro-batches.
Result<std::vector<double>> time_runs(Session& s, const Tensor& input, int warmup, int runs,
                                      std::vector<double>* cpu_ms = nullptr) {
  Tensor out;
  for (int i = 0; i < warmup; i++) MORSEL_RETURN_IF_ERROR(run_micro_batched(s, input, &out));
  std::vector<double> ms;
  for (int i = 0; i < runs; i++) {
    const double c0 = process_cpu_ms();
    auto t0 = std::chrono::steady_clock::now();
    MORSEL_RETURN_IF_ERROR(run_micro_batched(s, input, &out));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (cpu_ms) cpu_ms->push_back(process_cpu_ms() - c0);
  }
  return ms;
}

// Multiply-adds x 2 of a conv / depthwise / dense node with output shape `out` (0 for others).
double node_flops(const Graph& g, const Node& n, const Shape& out) {
  if (n.inputs.size() < 2 || n.inputs[1] < 0) return 0;
  const Shape& w = g.values[static_cast<size_t>(n.inputs[1])].shape;
  const double outs = static_cast<double>(shape_numel(out));
  if (n.op == OpType::CONV2D && w.size() == 4) return 2 * outs * static_cast<double>(w[0] * w[1] * w[2]);
  if (n.op == OpType::DEPTHWISE_CONV2D && w.size() == 4) return 2 * outs * static_cast<double>(w[0] * w[1]);
  if (n.op == OpType::DENSE && w.size() == 2) return 2 * outs * static_cast<double>(w[0]);
  return 0;
}

double peak_rss_mb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

int run_bench(const BenchArgs& a) {
  if (a.runs < 1 || a.runs > 100000) return fail("--runs must be in 1..100000");
  if (a.warmup < 0 || a.batch < 1 || a.batch > 1024) return fail("--warmup >= 0, --batch in 1..1024");
  auto m = model_load_file(a.model);
  if (!m.ok()) return fail(m.status().with_context(a.model));
  auto model = std::make_shared<Model>(std::move(m.value()));
  SessionOptions so;
  so.threads = a.threads;
  so.profile = a.profile;
  if (a.kernels == "ref") {
    so.reference_kernels = true;
  } else if (a.kernels != "auto") {
    Isa isa;
    if (!isa_from_name(a.kernels.c_str(), &isa)) return fail("--kernels: auto, ref, generic, avx2 or avx512");
    if (!isa_available(isa))
      return fail(std::string("this CPU cannot run the ") + a.kernels + " kernels");
    so.isa = static_cast<int>(isa);
  }
  std::shared_ptr<const Graph> graph(model, &model->graph);
  auto created = Session::create(graph, so);
  if (!created.ok()) return fail(created.status().with_context(a.model));
  Session& s = *created.value();
  if (s.num_inputs() != 1) return fail("bench needs a model with one input");
  Shape shape = graph->values[static_cast<size_t>(graph->inputs[0])].shape;
  if (shape.empty()) return fail("the model input has no shape");
  shape[0] = 1;
  // The input written where the session reads it (Session::input_tensor): no copy per run,
  // as ONNX Runtime reads the caller's buffer where it is.
  if (Status st = s.prepare(1); !st.ok()) return fail(st.with_context(a.model));
  Tensor input1 = s.input_tensor(0);
  {
    const Tensor made = make_input(shape, 1);
    std::memcpy(input1.raw_mut(), made.raw(), made.nbytes());
  }

  if (a.interactive) {
    // One line per request: N (run N timed inferences at batch 1) -> {"ms":[...]}; "quit" ends.
    std::vector<Tensor> outs;
    if (Status st = s.run({input1}, &outs); !st.ok()) return fail(st);
    std::printf("{\"ready\":true,\"isa\":\"%s\",\"threads\":%d}\n", s.isa(), s.threads());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "quit") break;
      int n = std::atoi(line.c_str());
      if (n < 1 || n > 100000) n = 1;
      auto ms = time_runs(s, input1, 0, n);
      if (!ms.ok()) return fail(ms.status());
      nlohmann::json j = {{"ms", ms.value()}};
      std::printf("%s\n", j.dump().c_str());
      std::fflush(stdout);
    }
    return 0;
  }

  std::vector<double> cpu1;
  auto ms1 = time_runs(s, input1, a.warmup, a.runs, &cpu1);
  if (!ms1.ok()) return fail(ms1.status().with_context(a.model));
  const Stats s1 = stats_of(ms1.value());
  const Stats c1 = stats_of(cpu1);
  const int64_t arena1 = s.activation_bytes();
  std::vector<OpProfile> prof = s.profile();

  Stats sb;
  int64_t arena_b = 0;
  if (a.batch > 1) {
    shape[0] = a.batch;
    const Tensor inputb = make_input(shape, 2);
    const int runs_b = std::max(3, a.runs / a.batch);
    auto msb = time_runs(s, inputb, std::min(a.warmup, 2), runs_b);
    if (!msb.ok()) return fail(msb.status().with_context(a.model));
    sb = stats_of(msb.value());
    arena_b = s.activation_bytes();
  }

  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["isa"] = s.isa();
    j["threads"] = s.threads();
    j["runs"] = a.runs;
    j["warmup"] = a.warmup;
    j["batch1_ms"] = {{"min", s1.min}, {"median", s1.median}, {"p90", s1.p90}, {"mean", s1.mean}};
    j["batch1_images_per_s"] = 1000.0 / s1.median;
    j["batch1_cpu_ms"] = {{"min", c1.min}, {"median", c1.median}};
    if (a.batch > 1) {
      j["batch"] = a.batch;
      j["batch_ms"] = {{"min", sb.min}, {"median", sb.median}, {"p90", sb.p90}, {"mean", sb.mean}};
      j["batch_images_per_s"] = 1000.0 * a.batch / sb.median;
    }
    j["memory"] = {{"arena_bytes_batch1", arena1}, {"arena_bytes_batch", arena_b},
                   {"packed_weight_bytes", s.packed_weight_bytes()},
                   {"scratch_bytes", s.scratch_bytes()}, {"peak_rss_mb", peak_rss_mb()}};
    if (a.profile)
      for (const auto& p : prof)
        j["profile"].push_back({{"node", p.node}, {"op", p.op}, {"kernel", p.kernel},
                                {"ms", p.calls ? p.total_ms / static_cast<double>(p.calls) : 0}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %s kernels, %d thread%s\n", a.model.c_str(), s.isa(), s.threads(),
              s.threads() == 1 ? "" : "s");
  std::printf("  batch 1   min %.2f ms  median %.2f ms  p90 %.2f ms   %.1f images/s  (%d runs after %d warm-up)\n",
              s1.min, s1.median, s1.p90, 1000.0 / s1.median, a.runs, a.warmup);
  std::printf("            CPU time per run (all threads): min %.2f ms  median %.2f ms\n", c1.min, c1.median);
  if (a.batch > 1)
    std::printf("  batch %-3d min %.2f ms  median %.2f ms  p90 %.2f ms   %.1f images/s\n", a.batch,
                sb.min, sb.median, sb.p90, 1000.0 * a.batch / sb.median);
  std::printf("  memory    arena %.2f MB (batch 1), %.2f MB (batch %d); packed weights %.2f MB; "
              "scratch %.2f MB; peak RSS %.1f MB\n",
              arena1 / 1e6, arena_b / 1e6, a.batch, s.packed_weight_bytes() / 1e6,
              s.scratch_bytes() / 1e6, peak_rss_mb());
  if (a.profile) {
    double total = 0;
    std::map<std::string, std::pair<double, int>> by_kernel;
    for (const auto& p : prof) {
      const double ms = p.calls ? p.total_ms / static_cast<double>(p.calls) : 0;
      total += ms;
      by_kernel[p.op + " / " + p.kernel].first += ms;
      by_kernel[p.op + " / " + p.kernel].second++;
    }
    std::printf("\n  per kernel (batch 1, mean of %d runs; profiling adds a little overhead)\n", a.runs);
    std::vector<std::pair<std::string, std::pair<double, int>>> kv(by_kernel.begin(), by_kernel.end());
    std::sort(kv.begin(), kv.end(), [](auto& x, auto& y) { return x.second.first > y.second.first; });
    for (const auto& [k, v] : kv)
      std::printf("  %8.3f ms %5.1f%%  %4d× %s\n", v.first, 100 * v.first / total, v.second, k.c_str());
    std::printf("\n  per op (GFLOP/s for convolutions and dense layers)\n  %-4s %8s %7s %-16s %-26s %-20s %s\n",
                "#", "ms", "GFLOP/s", "op", "kernel", "output", "node");
    for (size_t i = 0; i < prof.size(); i++) {
      const auto& p = prof[i];
      const double ms = p.calls ? p.total_ms / static_cast<double>(p.calls) : 0;
      const double fl = i < graph->nodes.size() ? node_flops(*graph, graph->nodes[i], p.out_shape) : 0;
      std::printf("  %-4zu %8.3f %7s %-16s %-26s %-20s %s\n", i, ms,
                  fl > 0 && ms > 0 ? str_printf("%.0f", fl / ms / 1e6).c_str() : "", p.op.c_str(),
                  p.kernel.c_str(), shape_str(p.out_shape).c_str(), p.node.c_str());
    }
  }
  return 0;
}

}  // namespace

void register_bench(CLI::App& app, Action* run) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* c = app.add_subcommand("bench", "Measure a .morsel model's inference latency (engine only)");
  c->add_option("model", args->model, ".morsel file")->required();
  c->add_option("-t,--threads", args->threads, "threads (default: one per physical core)");
  c->add_option("-n,--runs", args->runs, "timed runs at batch 1 (default 50)");
  c->add_option("--warmup", args->warmup, "untimed runs first (default 5)");
  c->add_option("-b,--batch", args->batch, "also measure this batch size (default 8; 1 to skip)");
  c->add_option("--kernels", args->kernels, "auto (default), avx512, avx2, generic, or ref (scalar references)");
  c->add_flag("--profile", args->profile, "time per op and per kernel");
  c->add_flag("--json", args->json, "machine-readable output");
  c->add_flag("--interactive", args->interactive,
              "read a run count per line on stdin, answer one JSON line of timings (for bench/compare)");
  c->callback([args, run] { *run = [args] { return run_bench(*args); }; });
}

}  // namespace morsel::cli
