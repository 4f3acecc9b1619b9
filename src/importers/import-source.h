// One entry point for every source format, chosen by the file name: .onnx (ONNX), .h5 / .hdf5
// (Keras 2 model.save), otherwise TF.js (a directory with model.json, or model.json itself).
// Used by `morsel convert` and `morsel inspect`.
#pragma once

#include <string>

#include "importers/tfjs/tfjs.h"

namespace morsel {

struct SourceImportOptions {
  // ONNX only: rank-4 inputs [N,C,H,W] become NHWC [N,H,W,C] (a classifier file wants a plain
  // NHWC image input); see onnx_import::ImportOptions::nhwc_inputs.
  bool onnx_nhwc_inputs = true;
  // TF.js only: keep uint8/uint16/float16-stored weights compact (tfjs::ImportOptions).
  bool keep_compact_weights = false;
};

// The result's kind is "tfjs-layers", "tfjs-graph", "keras-h5" or "onnx".
Result<tfjs::ImportResult> import_source(const std::string& path, const SourceImportOptions& options = {});

}  // namespace morsel
