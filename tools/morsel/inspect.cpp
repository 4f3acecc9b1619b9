// `morsel inspect`: what a .morsel file (or a TF.js, Keras .h5 or ONNX model) holds: metadata, inputs/outputs,
// preprocessing, labels, op counts, parameters; --nodes lists every node; --json for tools.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format/model.h"
#include "graph/passes/passes.h"
#include "importers/import-source.h"
#include "runtime/session.h"

namespace morsel::cli {

namespace {

struct InspectArgs {
  std::string model;
  bool nodes = false;
  bool json = false;
};

std::string fmt_count(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string node_detail(const Graph& g, const Node& n) {
  std::string d;
  for (const auto& [k, v] : n.attrs.all()) {
    d += " " + k + "=";
    if (auto* i = std::get_if<int64_t>(&v)) d += std::to_string(*i);
    else if (auto* f = std::get_if<double>(&v)) d += str_printf("%g", *f);
    else if (auto* s = std::get_if<std::string>(&v)) d += *s;
    else if (auto* iv = std::get_if<std::vector<int64_t>>(&v)) d += shape_str(*iv);
    else if (auto* fv = std::get_if<std::vector<double>>(&v)) {
      d += "[";
      for (size_t i = 0; i < fv->size(); i++) d += (i ? "," : "") + str_printf("%g", (*fv)[i]);
      d += "]";
    }
  }
  return d;
}

// Constants by stored dtype: how many, their bytes, and (qu8/qu16) how many carry per-channel
// scales. Compact weights show here as "qu8 affine".
struct StorageRow {
  int tensors = 0, per_channel = 0;
  int64_t bytes = 0;
};
std::map<std::string, StorageRow> weight_storage(const Graph& g) {
  std::map<std::string, StorageRow> rows;
  for (const Value& v : g.values) {
    if (!v.is_const()) continue;
    StorageRow& r = rows[dtype_name(v.data.dtype())];
    r.tensors++;
    r.bytes += static_cast<int64_t>(v.data.nbytes());
    if (v.data.affine() && !v.data.affine()->channel_scale.empty()) r.per_channel++;
  }
  return rows;
}

int run_inspect(const InspectArgs& a) {
  Model model;
  std::string format = "morsel";
  if (ends_with(a.model, ".morsel")) {
    auto m = model_load_file(a.model);
    if (!m.ok()) return fail(m.status().with_context(a.model));
    model = std::move(m.value());
  } else {
    auto r = import_source(a.model);  // .onnx, .h5 or TF.js
    if (!r.ok()) return fail(r.status().with_context(a.model));
    model.graph = std::move(r.value().graph);
    model.meta.name = r.value().model_name;
    model.meta.provenance.source_format = r.value().kind;
    format = r.value().kind;
  }
  const Graph& g = model.graph;
  const ModelMetadata& meta = model.meta;
  std::map<std::string, int> op_counts;
  for (const Node& n : g.nodes) op_counts[op_name(n.op)]++;
  // An imported source: also show the graph after the passes `convert` runs.
  Graph optimized;
  std::vector<passes::PassStat> pass_stats;
  std::map<std::string, int> opt_counts;
  const bool imported = format != "morsel";
  if (imported) {
    optimized = g;
    auto st = passes::optimize_graph(optimized);
    if (!st.ok()) return fail(st.status().with_context(a.model));
    pass_stats = std::move(st.value());
    for (const Node& n : optimized.nodes) opt_counts[op_name(n.op)]++;
  }
  // Memory at batch 1 as a session plans it (intermediates share one arena).
  int64_t arena = -1, unplanned = -1, packed = -1;
  {
    auto shared = std::make_shared<Graph>(imported ? optimized : g);
    SessionOptions so;
    so.threads = 1;
    auto sess = Session::create(shared, so);
    if (sess.ok() && sess.value()->prepare(1).ok()) {
      arena = sess.value()->activation_bytes();
      unplanned = sess.value()->unplanned_activation_bytes();
      packed = sess.value()->packed_weight_bytes();
    }
  }
  struct stat st;
  const long long file_size = stat(a.model.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
  const PreprocessSpec& pp = meta.preprocess;

  if (a.json) {
    nlohmann::json j;
    j["file"] = a.model;
    j["format"] = format;
    j["file_bytes"] = file_size;
    j["name"] = meta.name;
    j["description"] = meta.description;
    j["provenance"] = {{"source_format", meta.provenance.source_format},
                       {"source", meta.provenance.source},
                       {"converter", meta.provenance.converter},
                       {"created", meta.provenance.created},
                       {"quantization", meta.provenance.quantization}};
    for (int id : g.inputs)
      j["inputs"].push_back({{"name", g.values[static_cast<size_t>(id)].name},
                             {"shape", g.values[static_cast<size_t>(id)].shape}});
    for (int id : g.outputs)
      j["outputs"].push_back({{"name", g.values[static_cast<size_t>(id)].name},
                              {"shape", g.values[static_cast<size_t>(id)].shape}});
    if (format == "morsel")
      j["preprocess"] = {{"height", pp.height}, {"width", pp.width},
                         {"resize", resize_method_name(pp.resize)},
                         {"crop", crop_mode_name(pp.crop)}, {"crop_fraction", pp.crop_fraction},
                         {"channel_order", pp.channel_order == ChannelOrder::RGB ? "rgb" : "bgr"},
                         {"mean", {pp.mean[0], pp.mean[1], pp.mean[2]}},
                         {"std", {pp.std[0], pp.std[1], pp.std[2]}}};
    j["labels"] = meta.labels;
    j["ops"] = op_counts;
    j["node_count"] = g.nodes.size();
    j["parameters"] = g.param_count();
    j["weight_bytes"] = g.const_bytes();
    for (const auto& [dt, r] : weight_storage(g)) {
      j["weight_storage"][dt] = {{"tensors", r.tensors}, {"bytes", r.bytes}};
      if (dt == "qu8" || dt == "qu16") j["weight_storage"][dt]["per_channel"] = r.per_channel;
    }
    if (imported) {
      nlohmann::json pj;
      for (const auto& ps : pass_stats) pj[ps.pass] = ps.rewrites;
      j["optimized"] = {{"ops", opt_counts}, {"node_count", optimized.nodes.size()},
                        {"parameters", optimized.param_count()}, {"passes", pj}};
    }
    j["memory_batch1"] = {{"arena_bytes", arena}, {"unplanned_bytes", unplanned},
                          {"packed_weight_bytes", packed}};
    if (a.nodes) {
      for (const Node& n : g.nodes) {
        nlohmann::json nj = {{"name", n.name}, {"op", op_name(n.op)}};
        for (int id : n.inputs) nj["inputs"].push_back(id < 0 ? "" : g.values[static_cast<size_t>(id)].name);
        nj["shape"] = g.values[static_cast<size_t>(n.outputs[0])].shape;
        if (n.inputs.size() > 1 && n.inputs[1] >= 0)
          nj["weights_dtype"] = dtype_name(g.values[static_cast<size_t>(n.inputs[1])].dtype);
        if (n.attrs.has("q_error")) nj["q_error"] = n.attrs.get_float("q_error", 0);
        j["nodes"].push_back(nj);
      }
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("%s\n", a.model.c_str());
  std::printf("  format       %s%s\n", format.c_str(),
              file_size >= 0 ? str_printf(", %.2f MB", file_size / 1e6).c_str() : "");
  if (!meta.name.empty()) std::printf("  name         %s\n", meta.name.c_str());
  if (!meta.description.empty()) std::printf("  description  %s\n", meta.description.c_str());
  if (!meta.provenance.source_format.empty())
    std::printf("  source       %s %s\n", meta.provenance.source_format.c_str(),
                meta.provenance.source.c_str());
  if (!meta.provenance.converter.empty())
    std::printf("  converted    by %s at %s, quantization %s\n", meta.provenance.converter.c_str(),
                meta.provenance.created.c_str(), meta.provenance.quantization.c_str());
  for (int id : g.inputs)
    std::printf("  input        %s %s f32\n", g.values[static_cast<size_t>(id)].name.c_str(),
                shape_str(g.values[static_cast<size_t>(id)].shape).c_str());
  for (int id : g.outputs)
    std::printf("  output       %s %s f32\n", g.values[static_cast<size_t>(id)].name.c_str(),
                shape_str(g.values[static_cast<size_t>(id)].shape).c_str());
  if (format == "morsel") {
    std::printf("  preprocess   %lldx%lld %s, crop %s", (long long)pp.height, (long long)pp.width,
                resize_method_name(pp.resize), crop_mode_name(pp.crop));
    if (pp.crop == CropMode::CENTER) std::printf(" %.3f", pp.crop_fraction);
    std::printf(", %s, (pixel - [%g %g %g]) / [%g %g %g]\n",
                pp.channel_order == ChannelOrder::RGB ? "rgb" : "bgr", pp.mean[0], pp.mean[1],
                pp.mean[2], pp.std[0], pp.std[1], pp.std[2]);
  }
  if (!meta.labels.empty()) {
    std::printf("  labels       %zu:", meta.labels.size());
    for (size_t i = 0; i < meta.labels.size() && i < 12; i++) std::printf(" %s", meta.labels[i].c_str());
    if (meta.labels.size() > 12) std::printf(" ...");
    std::printf("\n");
  }
  std::printf("  parameters   %s (%.2f MB of weights)\n", fmt_count(g.param_count()).c_str(),
              g.const_bytes() / 1e6);
  {
    std::printf("  weights     ");
    const char* sep = "";
    for (const auto& [dt, r] : weight_storage(g)) {
      const bool aff = dt == "qu8" || dt == "qu16";
      std::printf("%s %s%s×%d %.2f MB", sep, dt.c_str(), aff ? " affine" : "", r.tensors,
                  r.bytes / 1e6);
      if (aff) std::printf(" (%d per channel)", r.per_channel);
      sep = ",";
    }
    std::printf("\n");
  }
  std::printf("  ops          %zu:", g.nodes.size());
  for (const auto& [op, n] : op_counts) std::printf(" %s×%d", op.c_str(), n);
  std::printf("\n");
  if (imported) {
    std::printf("  after passes %zu:", optimized.nodes.size());
    for (const auto& [op, n] : opt_counts) std::printf(" %s×%d", op.c_str(), n);
    std::printf("\n  passes      ");
    for (const auto& ps : pass_stats) std::printf(" %s %d", ps.pass.c_str(), ps.rewrites);
    std::printf("  (what `convert` runs)\n");
  }
  // Quantized models: which layers are int8 and the error measured when they were quantized.
  {
    int q8 = 0, kept = 0;
    double worst = -1;
    std::string kept_names;
    for (const Node& n : g.nodes) {
      const bool q = n.op == OpType::QCONV2D || n.op == OpType::QDEPTHWISE_CONV2D || n.op == OpType::QDENSE;
      if (q) {
        q8++;
        worst = std::max(worst, n.attrs.get_float("q_error", -1));
      } else if (n.attrs.has("q_error")) {
        kept++;
        kept_names += str_printf(" %s (%.3f)", n.name.c_str(), n.attrs.get_float("q_error", 0));
      }
    }
    if (q8 || kept) {
      std::printf("  int8 layers  %d int8, %d kept f32%s", q8, kept, kept ? ":" : "");
      std::printf("%s", kept_names.c_str());
      if (worst >= 0) std::printf("; largest int8 layer error %.4f (q_error in --nodes)", worst);
      std::printf("\n");
    }
  }
  if (arena >= 0)
    std::printf("  memory       arena %.2f MB at batch 1 (%.2f MB without sharing), packed weights %.2f MB\n",
                arena / 1e6, unplanned / 1e6, packed / 1e6);
  if (a.nodes) {
    std::printf("\n  %-4s %-18s %-22s %s\n", "#", "op", "output", "name / attributes");
    for (size_t i = 0; i < g.nodes.size(); i++) {
      const Node& n = g.nodes[i];
      std::printf("  %-4zu %-18s %-22s %s%s\n", i, op_name(n.op),
                  shape_str(g.values[static_cast<size_t>(n.outputs[0])].shape).c_str(),
                  n.name.c_str(), node_detail(g, n).c_str());
    }
  }
  return 0;
}

}  // namespace

void register_inspect(CLI::App& app, Action* run) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* c = app.add_subcommand("inspect", "Show what a .morsel file (or a TF.js, Keras .h5 or ONNX model) holds");
  c->add_option("model", args->model, ".morsel file, model.onnx, model.h5, or a TF.js model directory / model.json")->required();
  c->add_flag("--nodes", args->nodes, "list every node with its output shape and attributes");
  c->add_flag("--json", args->json, "machine-readable output");
  c->callback([args, run] { *run = [args] { return run_inspect(*args); }; });
}

}  // namespace morsel::cli
