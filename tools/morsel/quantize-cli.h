// `morsel convert --quantize ...`: the options, and applying them to a model about to be saved.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "format/model.h"
#include "quant/quantize.h"

namespace morsel::cli {

struct QuantizeArgs {
  std::string mode;  // "", "none", "fp16", "dynamic", "int8"
  std::string calibrate_dir;
  int calibrate_count = 100;
  std::string calibrate_method = "percentile";
  double max_layer_error = 0.05;
  int64_t fp16_min_elements = quant::kFp16MinElements;
  bool keep_depthwise_f32 = false;
  bool report = false;
  int threads = 0;
};

void add_quantize_options(CLI::App* c, QuantizeArgs* q);
// Quantizes model->graph as asked (nothing for "" / "none") and sets the provenance; notes for
// the user are appended.
Status apply_quantization(const QuantizeArgs& q, Model* model, std::vector<std::string>* notes);

}  // namespace morsel::cli
