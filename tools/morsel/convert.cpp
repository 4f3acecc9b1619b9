// `morsel convert`: a TF.js, Keras .h5 or ONNX model -> one .morsel file with labels,
// preprocessing and provenance.
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "format/writer.h"
#include "graph/passes/passes.h"
#include "importers/import-source.h"
#include "quantize-cli.h"

namespace morsel::cli {

namespace {

struct ConvertArgs {
  std::string input, output, labels_path, name, description;
  std::string input_size, resize, crop = "none", channel_order = "rgb", normalize;
  float crop_fraction = 0.875f;
  std::vector<float> mean, std;
  bool no_optimize = false;
  std::string keep_weights = "expand";
  QuantizeArgs quantize;
};

std::string dir_of(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// A JSON array of strings, or one label per line (blank lines ignored, whitespace trimmed).
Result<std::vector<std::string>> read_labels(const std::string& path) {
  Status st;
  std::string text = read_text_file(path, &st);
  MORSEL_RETURN_IF_ERROR(st);
  std::vector<std::string> labels;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    try {
      for (const auto& v : nlohmann::json::parse(text)) labels.push_back(v.get<std::string>());
    } catch (const std::exception& e) {
      return MORSEL_ERROR(INVALID_ARGUMENT, "%s: not a JSON array of strings (%s)", path.c_str(), e.what());
    }
    return labels;
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
    if (a == std::string::npos) continue;
    labels.push_back(line.substr(a, b - a + 1));
  }
  return labels;
}

Status apply_preprocess_args(const ConvertArgs& a, const Shape& input_shape, PreprocessSpec* pp,
                             std::vector<std::string>* notes) {
  if (input_shape.size() == 4 && input_shape[1] > 0 && input_shape[2] > 0) {
    pp->height = input_shape[1];
    pp->width = input_shape[2];
  }
  if (!a.input_size.empty()) {
    long long h = 0, w = 0;
    if (std::sscanf(a.input_size.c_str(), "%lldx%lld", &h, &w) != 2)
      return MORSEL_ERROR(INVALID_ARGUMENT, "--input-size wants HxW, e.g. 224x224");
    if (input_shape.size() == 4 && (h != input_shape[1] || w != input_shape[2]))
      return MORSEL_ERROR(INVALID_ARGUMENT, "--input-size %lldx%lld contradicts the model's input %s",
                          h, w, shape_str(input_shape).c_str());
    pp->height = h;
    pp->width = w;
  }
  if (!a.resize.empty() && !resize_method_from_name(a.resize, &pp->resize))
    return MORSEL_ERROR(INVALID_ARGUMENT, "unknown --resize '%s'", a.resize.c_str());
  if (!crop_mode_from_name(a.crop, &pp->crop))
    return MORSEL_ERROR(INVALID_ARGUMENT, "unknown --crop '%s' (none or center)", a.crop.c_str());
  pp->crop_fraction = pp->crop == CropMode::CENTER ? a.crop_fraction : 1.0f;
  if (a.channel_order == "rgb") pp->channel_order = ChannelOrder::RGB;
  else if (a.channel_order == "bgr") pp->channel_order = ChannelOrder::BGR;
  else return MORSEL_ERROR(INVALID_ARGUMENT, "--channel-order is rgb or bgr");
  // Normalization: a named preset, then explicit --mean/--std override it.
  std::string norm = a.normalize;
  if (norm.empty() && a.mean.empty() && a.std.empty()) {
    norm = "unit";
    notes->push_back("the source does not say how inputs are scaled: assuming pixels/255 "
                     "(--normalize unit); pass --normalize or --mean/--std if the model was "
                     "trained otherwise");
  }
  if (norm == "unit") {  // [0, 1]
    for (int c = 0; c < 3; c++) pp->mean[c] = 0, pp->std[c] = 255;
  } else if (norm == "symmetric") {  // [-1, 1]
    for (int c = 0; c < 3; c++) pp->mean[c] = 127.5f, pp->std[c] = 127.5f;
  } else if (norm == "imagenet") {
    const float m[3] = {123.675f, 116.28f, 103.53f}, s[3] = {58.395f, 57.12f, 57.375f};
    for (int c = 0; c < 3; c++) pp->mean[c] = m[c], pp->std[c] = s[c];
  } else if (norm == "raw") {  // 0..255
    for (int c = 0; c < 3; c++) pp->mean[c] = 0, pp->std[c] = 1;
  } else if (!norm.empty()) {
    return MORSEL_ERROR(INVALID_ARGUMENT, "unknown --normalize '%s' (unit, symmetric, imagenet, raw)",
                        norm.c_str());
  }
  auto three = [](const std::vector<float>& v, float* out, const char* flag) {
    if (v.empty()) return Status();
    if (v.size() == 1) {
      for (int c = 0; c < 3; c++) out[c] = v[0];
    } else if (v.size() == 3) {
      for (int c = 0; c < 3; c++) out[c] = v[static_cast<size_t>(c)];
    } else {
      return MORSEL_ERROR(INVALID_ARGUMENT, "%s takes 1 or 3 values", flag);
    }
    return Status();
  };
  MORSEL_RETURN_IF_ERROR(three(a.mean, pp->mean, "--mean"));
  MORSEL_RETURN_IF_ERROR(three(a.std, pp->std, "--std"));
  return preprocess_spec_validate(*pp);
}

int run_convert(const ConvertArgs& a) {
  const std::string& in = a.input;
  if (ends_with(in, ".morsel")) {  // re-quantize a .morsel model; everything else is kept
    if (a.quantize.mode.empty() || a.quantize.mode == "none")
      return fail(in + " is already a .morsel file (pass --quantize to quantize it)");
    auto m = model_load_file(in);
    if (!m.ok()) return fail(m.status().with_context(in));
    Model model = std::move(m.value());
    std::vector<std::string> notes;
    if (Status st = apply_quantization(a.quantize, &model, &notes); !st.ok()) return fail(st.with_context(in));
    std::string out = a.output.empty() ? base_name(in).substr(0, base_name(in).size() - 7) + "-" + a.quantize.mode + ".morsel" : a.output;
    if (Status st = model_save_file(model, out); !st.ok()) return fail(st);
    struct stat st;
    std::printf("%s -> %s (%.2f MB, quantization %s)\n", in.c_str(), out.c_str(),
                stat(out.c_str(), &st) == 0 ? st.st_size / 1e6 : -1.0, model.meta.provenance.quantization.c_str());
    for (const std::string& n : notes) std::printf("note: %s\n", n.c_str());
    return 0;
  }
  if (a.keep_weights != "expand" && a.keep_weights != "compact")
    return fail("--keep-weights is expand (f32, the default) or compact");
  SourceImportOptions import_options;
  import_options.keep_compact_weights = a.keep_weights == "compact";
  auto imp = import_source(in, import_options);  // .onnx, .h5 or TF.js, by the file name
  if (!imp.ok()) return fail(imp.status().with_context(in));
  tfjs::ImportResult& r = imp.value();

  Model model;
  model.graph = std::move(r.graph);
  model.meta.name = a.name.empty() ? (r.model_name.empty() ? base_name(dir_of(in)) : r.model_name) : a.name;
  model.meta.description = a.description;
  model.meta.provenance.source_format = r.kind;
  model.meta.provenance.source = base_name(in);
  std::vector<std::string> notes = r.notes;
  const size_t imported_ops = model.graph.nodes.size();
  if (!a.no_optimize) {
    auto stats = passes::optimize_graph(model.graph);
    if (!stats.ok()) return fail(stats.status().with_context(in));
    std::string done;
    for (const auto& s : stats.value())
      if (s.rewrites) done += str_printf("%s%s %d", done.empty() ? "" : ", ", s.pass.c_str(), s.rewrites);
    notes.push_back(str_printf("optimized %zu -> %zu ops (%s)", imported_ops, model.graph.nodes.size(),
                               done.empty() ? "nothing to do" : done.c_str()));
  }

  const Shape in_shape = model.graph.values[static_cast<size_t>(model.graph.inputs[0])].shape;
  if (Status st = apply_preprocess_args(a, in_shape, &model.meta.preprocess, &notes); !st.ok())
    return fail(st);

  // Labels: --labels, else labels.json / labels.txt beside the model.
  std::string labels_path = a.labels_path;
  if (labels_path.empty()) {
    for (const char* cand : {"labels.json", "labels.txt"}) {
      std::string p = dir_of(in) + "/" + cand;
      struct stat st;
      if (stat(p.c_str(), &st) == 0) {
        labels_path = p;
        break;
      }
    }
  }
  if (!labels_path.empty()) {
    auto labels = read_labels(labels_path);
    if (!labels.ok()) return fail(labels.status());
    model.meta.labels = std::move(labels.value());
  } else {
    notes.push_back("no labels given (--labels FILE): predictions will say class_<index>");
  }
  const Shape& out_shape = model.graph.values[static_cast<size_t>(model.graph.outputs[0])].shape;
  if (!model.meta.labels.empty() && out_shape.size() == 2 && out_shape[1] >= 0 &&
      static_cast<int64_t>(model.meta.labels.size()) != out_shape[1])
    return fail(str_printf("%zu labels in %s but the model has %lld outputs",
                           model.meta.labels.size(), labels_path.c_str(), (long long)out_shape[1]));

  if (Status st = apply_quantization(a.quantize, &model, &notes); !st.ok()) return fail(st.with_context(in));
  if (import_options.keep_compact_weights) {
    const passes::CompactWeightStats cs = passes::compact_weight_stats(model.graph);
    if (cs.affine + cs.f16 == 0)
      notes.push_back(
          "--keep-weights compact: the source has no uint8/uint16/float16-stored weights "
          "(or quantization expanded them); every weight is stored as before");
    else
      notes.push_back(str_printf(
          "compact weights: %d of %d weight tensors stay as the source stored them (%d qu8/qu16 "
          "affine, %.2f MB, %d of them with per-channel scales from folded BatchNorms; %d f16, "
          "%.2f MB); "
          "%d are f32 (%.2f MB: values the passes computed, such as folded biases)",
          cs.affine + cs.f16, cs.affine + cs.f16 + cs.f32, cs.affine, cs.affine_bytes / 1e6,
          cs.per_channel, cs.f16, cs.f16_bytes / 1e6, cs.f32, cs.f32_bytes / 1e6));
  }
  std::string out = a.output;
  if (out.empty()) out = base_name(dir_of(in)) + ".morsel";
  if (Status st = model_save_file(model, out); !st.ok()) return fail(st);
  struct stat st;
  long long size = stat(out.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  std::printf("%s: %s, %zu ops, %lld parameters, input %s, output %s, %zu labels -> %s (%.2f MB)\n",
              in.c_str(), r.kind.c_str(), model.graph.nodes.size(),
              (long long)model.graph.param_count(), shape_str(in_shape).c_str(),
              shape_str(out_shape).c_str(), model.meta.labels.size(), out.c_str(), size / 1e6);
  for (const std::string& n : notes) std::printf("note: %s\n", n.c_str());
  return 0;
}

}  // namespace

void register_convert(CLI::App& app, Action* run) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* c = app.add_subcommand("convert", "Convert a TF.js, Keras .h5 or ONNX model to .morsel");
  c->add_option("input", args->input,
                "model.onnx, model.h5 (Keras 2), or a TF.js model directory / model.json")
      ->required();
  c->add_option("-o,--output", args->output, "output .morsel file (default: <input name>.morsel)");
  c->add_option("--labels", args->labels_path,
                "class labels: a JSON array or one label per line (default: labels.json or "
                "labels.txt next to the model)");
  c->add_option("--name", args->name, "model name stored in the file");
  c->add_option(
      "--keep-weights", args->keep_weights,
      "expand (default): weights stored as f32; compact: TF.js weights stored as uint8/"
      "uint16 (affine) or float16 stay that size in the file (a quarter of f32 for uint8) "
      "and are expanded to the same f32 values when a session starts");
  c->add_flag("--no-optimize", args->no_optimize,
              "store the graph as imported (skip BatchNorm folding, activation fusion, ...)");
  c->add_option("--description", args->description, "free text stored in the file");
  c->add_option("--input-size", args->input_size, "HxW, must match the model's input when fixed");
  c->add_option("--resize", args->resize,
                "bilinear (default), bilinear_align_corners, bilinear_asymmetric, nearest, area");
  c->add_option("--crop", args->crop, "none (stretch, default) or center");
  c->add_option("--crop-fraction", args->crop_fraction, "with --crop center (default 0.875)");
  c->add_option("--channel-order", args->channel_order, "rgb (default) or bgr");
  c->add_option("--normalize", args->normalize,
                "unit [0,1] (default), symmetric [-1,1], imagenet (mean/std), raw [0,255]");
  c->add_option("--mean", args->mean, "per-channel mean in 0..255 units (1 or 3 values)")->delimiter(',');
  c->add_option("--std", args->std, "per-channel std in 0..255 units (1 or 3 values)")->delimiter(',');
  add_quantize_options(c, &args->quantize);
  c->callback([args, run] { *run = [args] { return run_convert(*args); }; });
}

}  // namespace morsel::cli
