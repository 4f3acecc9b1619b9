// `morsel convert --quantize fp16|dynamic|int8`: options, calibration images (decoded and
// preprocessed exactly as the model will see them), and the per-layer report.
#include "quantize-cli.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "graph/passes/passes.h"
#include "image/decode/decode.h"
#include "quant/quantize.h"

namespace morsel::cli {

namespace {

bool is_image_name(std::string n) {
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : {".jpg", ".jpeg", ".png", ".webp"})
    if (n.size() > std::strlen(ext) && n.compare(n.size() - std::strlen(ext), std::string::npos, ext) == 0)
      return true;
  return false;
}

// Image files under `dir` (recursively, class folders included), sorted by path.
void list_images(const std::string& dir, int depth, std::vector<std::string>* out) {
  if (depth > 4) return;
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) list_images(path, depth + 1, out);
    else if (S_ISREG(st.st_mode) && is_image_name(name)) out->push_back(path);
  }
  closedir(d);
}

// The calibration images of --calibrate, decoded and preprocessed as the model will see them.
Status load_calibration(const QuantizeArgs& q, const Model& model, std::vector<Tensor>* out,
                        std::vector<std::string>* notes) {
  if (q.calibrate_count < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "--calibrate-count must be >= 1");
  std::vector<std::string> files;
  list_images(q.calibrate_dir, 0, &files);
  std::sort(files.begin(), files.end());
  if (files.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "--calibrate %s: no .jpg/.jpeg/.png/.webp images found",
                        q.calibrate_dir.c_str());
  const size_t want = std::min(files.size(), static_cast<size_t>(q.calibrate_count));
  const PreprocessSpec& pp = model.meta.preprocess;
  int skipped = 0;
  for (size_t i = 0; i < want; i++) {
    const std::string& f = files[i * files.size() / want];  // evenly spread over the list
    auto img = image_decode_file(f);
    if (!img.ok()) {
      skipped++;
      continue;
    }
    Tensor t(DType::F32, {1, pp.height, pp.width, 3});
    Status st = preprocess(img.value(), pp, t.mut<float>());
    if (!st.ok()) {
      skipped++;
      continue;
    }
    out->push_back(std::move(t));
  }
  if (out->empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "--calibrate %s: none of the images could be decoded",
                        q.calibrate_dir.c_str());
  notes->push_back(str_printf("calibrated on %zu images from %s (%s)%s", out->size(), q.calibrate_dir.c_str(),
                              q.mode == "fp16" ? "fp16 roundings" : q.calibrate_method.c_str(),
                              skipped ? str_printf(", %d skipped (not decodable)", skipped).c_str() : ""));
  return Status();
}

}  // namespace

void add_quantize_options(CLI::App* c, QuantizeArgs* q) {
  c->add_option("--quantize", q->mode,
                "none (default), fp16 (weights stored as fp16), dynamic (int8 weights, input ranges "
                "measured per run), int8 (int8 weights and calibrated activations; needs --calibrate)");
  c->add_option("--calibrate", q->calibrate_dir,
                "folder of sample images (searched recursively): activation ranges for --quantize int8; "
                "with --quantize fp16, each layer's fp16 roundings are chosen to minimize its output "
                "error on them");
  c->add_option("--calibrate-count", q->calibrate_count,
                "how many calibration images to use, spread over the sorted list (default 100)");
  c->add_option("--calibrate-method", q->calibrate_method,
                "activation ranges: minmax, percentile (99.99%, default) or mse");
  c->add_option("--max-layer-error", q->max_layer_error,
                "layers whose int8 output differs from f32 by more than this relative error stay "
                "f32 (default 0.05; 0 keeps all)");
  c->add_option("--fp16-min-elements", q->fp16_min_elements,
                "--quantize fp16: tensors with fewer elements (biases, the first layers' small "
                "kernels) stay f32 (default " + std::to_string(quant::kFp16MinElements) + "; 0 converts all)");
  c->add_flag("--keep-depthwise-f32", q->keep_depthwise_f32,
              "leave depthwise convolutions f32 (stored as fp16) instead of int8");
  c->add_flag("--quantize-report", q->report, "print every layer's int8 error");
}

Status apply_quantization(const QuantizeArgs& q, Model* model, std::vector<std::string>* notes) {
  if (q.mode.empty() || q.mode == "none") {
    if (!q.calibrate_dir.empty())
      return MORSEL_ERROR(INVALID_ARGUMENT, "--calibrate needs --quantize int8 (or dynamic)");
    return Status();
  }
  if (model->meta.provenance.quantization != "none" && !model->meta.provenance.quantization.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "the model is already quantized (%s)",
                        model->meta.provenance.quantization.c_str());
  // Compact weights (qu8/qu16, f16 kept from the source) become f32 first: the quantizers start
  // from the f32 values they stand for.
  if (const int n = passes::expand_compact_weights(model->graph))
    notes->push_back(str_printf("%d compact weight tensors expanded to f32 before quantizing", n));
  if (q.mode == "fp16") {
    if (q.fp16_min_elements < 0) return MORSEL_ERROR(INVALID_ARGUMENT, "--fp16-min-elements must be >= 0");
    if (!q.calibrate_dir.empty()) {
      std::vector<Tensor> cal;
      MORSEL_RETURN_IF_ERROR(load_calibration(q, *model, &cal, notes));
      MORSEL_ASSIGN_OR_RETURN(quant::Fp16Report r, quant::quantize_fp16_calibrated(
                                                       model->graph, cal, q.fp16_min_elements, q.threads));
      model->meta.provenance.quantization = "fp16";
      notes->push_back(str_printf(
          "fp16: %d weight tensors stored as IEEE half floats (tensors under %lld elements stay f32); "
          "roundings of %d layers chosen on %d of the samples: squared output error %.3g of "
          "round-to-nearest's (worst layer %.3g)", r.converted, (long long)q.fp16_min_elements, r.tuned,
          r.samples, r.error_nearest > 0 ? r.error_chosen / r.error_nearest : 1.0, r.worst_layer_ratio));
      return Status();
    }
    const int n = quant::quantize_fp16(model->graph, q.fp16_min_elements);
    model->meta.provenance.quantization = "fp16";
    notes->push_back(str_printf("fp16: %d weight tensors stored as IEEE half floats (tensors under "
                                "%lld elements stay f32)", n, (long long)q.fp16_min_elements));
    return Status();
  }
  if (q.mode != "dynamic" && q.mode != "int8")
    return MORSEL_ERROR(INVALID_ARGUMENT, "unknown --quantize '%s' (none, fp16, dynamic, int8)", q.mode.c_str());
  quant::Int8Options o;
  o.dynamic = q.mode == "dynamic";
  o.max_layer_error = q.max_layer_error;
  o.depthwise = !q.keep_depthwise_f32;
  o.threads = q.threads;
  if (!quant::calibration_method_from_name(q.calibrate_method, &o.method))
    return MORSEL_ERROR(INVALID_ARGUMENT, "unknown --calibrate-method '%s' (minmax, percentile, mse)",
                        q.calibrate_method.c_str());
  if (!o.dynamic && q.calibrate_dir.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT,
                        "--quantize int8 needs --calibrate DIR: a folder of images like the ones "
                        "the model will see (or use --quantize dynamic)");
  if (!q.calibrate_dir.empty())
    MORSEL_RETURN_IF_ERROR(load_calibration(q, *model, &o.calibration, notes));
  MORSEL_ASSIGN_OR_RETURN(std::vector<quant::LayerReport> rep, quant::quantize_int8(model->graph, o));
  int n8 = 0, n32 = 0;
  double worst = 0;
  for (const auto& r : rep) {
    (r.int8 ? n8 : n32)++;
    if (r.int8) worst = std::max(worst, r.error);
  }
  // What stays f32 (kept layers, biases of f32 ops) is stored as fp16.
  const int n16 = quant::quantize_fp16(model->graph);
  model->meta.provenance.quantization = "int8";
  notes->push_back(str_printf("int8 (%s): %d layers int8, %d kept f32 (error > %g), %d other tensors fp16%s",
                              q.mode.c_str(), n8, n32, q.max_layer_error, n16,
                              o.calibration.empty() ? "" : str_printf("; worst int8 layer error %.4f", worst).c_str()));
  if (q.report)
    for (const auto& r : rep)
      notes->push_back(str_printf("  %-40s %-16s %s error %s x_scale %g x_zero %d", r.node.c_str(), r.op.c_str(),
                                  r.int8 ? "int8" : "f32 ", r.error < 0 ? "-" : str_printf("%.4f", r.error).c_str(),
                                  r.x_scale, r.x_zero));
  return Status();
}

}  // namespace morsel::cli
