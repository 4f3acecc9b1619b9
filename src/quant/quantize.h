// Model quantization (part of morsel_convert): fp16 weight storage, and int8 with per-output-
// channel weights and per-tensor activations, either calibrated on sample inputs (static) or
// measured on every run (dynamic). The int8 graph form (QConv2D, QDepthwiseConv2D, QDense) is
// described in src/graph/ops.inc and docs/model-format.md; the runtime side is
// runtime/bind-quant.cpp and kernels/qs8/.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace morsel::quant {

// Every f32 constant with at least `min_elements` elements becomes IEEE fp16 (tensors with
// values beyond the fp16 range stay f32). The default keeps most biases and the first layers'
// small kernels f32 (see quantize.cpp); 0 converts everything. Returns how many tensors were
// converted. Sessions compute in f32 (converted once at create).
inline constexpr int64_t kFp16MinElements = 512;
int quantize_fp16(Graph& g, int64_t min_elements = kFp16MinElements);

// fp16 with each layer's roundings chosen on sample inputs (fp16-calibrated.cpp): every weight
// still becomes one of the two fp16 values around it, picked layer by layer so that the layer's
// output, given its input in the model rounded so far, comes closest to the f32 model's on
// `calibration` (inputs [1, ...] like the graph's). Conv2D, DepthwiseConv2D and Dense weights
// with at least `min_elements` elements; the rest as quantize_fp16.
struct Fp16Report {
  int converted = 0;             // tensors stored as fp16 (tuned ones included)
  int tuned = 0;                 // weight tensors whose roundings were chosen on the samples
  int samples = 0;               // calibration inputs used (fewer on deep models)
  double error_nearest = 0;      // sum over tuned layers of the squared output error, nearest rounding
  double error_chosen = 0;       // the same for the chosen roundings
  double worst_layer_ratio = 0;  // max over layers of chosen / nearest
};
Result<Fp16Report> quantize_fp16_calibrated(Graph& g, const std::vector<Tensor>& calibration,
                                            int64_t min_elements = kFp16MinElements, int threads = 0);

enum class CalibrationMethod { MINMAX, PERCENTILE, MSE };
bool calibration_method_from_name(const std::string& s, CalibrationMethod* out);

struct Int8Options {
  // No calibration: every int8 node measures its input range on each run.
  bool dynamic = false;
  CalibrationMethod method = CalibrationMethod::PERCENTILE;
  double percentile = 99.99;  // PERCENTILE: the range keeps this share of the values (each side)
  // Layers whose relative output error on the calibration inputs (see LayerReport) exceeds this
  // stay f32. <= 0 keeps every layer int8.
  double max_layer_error = 0.05;
  // Depthwise convs too (QDepthwiseConv2D); off keeps them f32.
  bool depthwise = true;
  // Inputs for calibration and the error check, each [1, ...] f32 like the graph input.
  std::vector<Tensor> calibration;
  int error_samples = 8;  // inputs used for the per-layer error (the first ones)
  int threads = 0;
};

struct LayerReport {
  std::string node;
  std::string op;        // the f32 op
  bool int8 = false;     // false: kept f32 (error above the limit)
  double error = -1;     // ||y_int8 - y_f32|| / ||y_f32|| with the f32 input; -1 if not measured
  float x_scale = 0;
  int x_zero = 0;
};

// Rewrites conv / dense nodes with constant weights into their int8 forms. Each node's error
// is measured alone (f32 input in, compare with the f32 output), and recorded in the node's
// "q_error" attribute (kept f32 nodes get it too). Static mode needs options.calibration.
Result<std::vector<LayerReport>> quantize_int8(Graph& g, const Int8Options& options);

}  // namespace morsel::quant
