// ONNX importer: a .onnx file (protobuf, the onnx.proto that libonnx-dev ships; opsets 11..17)
// -> Graph. Activations are converted from ONNX's NCHW to morsel's NHWC once, here: weights are
// transposed at import, rank-4 tensors flow NHWC between layout-aware ops, and TRANSPOSE nodes
// appear only where an op needs the ONNX order (Reshape/Flatten of a spatial tensor, graph
// outputs). Every unsupported op, opset or attribute is listed, with node names, in one error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace morsel::onnx_import {

struct ImportOptions {
  // false: rank-4 graph inputs keep ONNX's [N,C,H,W] and the importer inserts one TRANSPOSE to
  // NHWC after them (the graph computes exactly what ONNX Runtime computes for the same tensors).
  // true: rank-4 inputs become NHWC [N,H,W,C] and the leading TRANSPOSE is dropped: what a
  // classifier .morsel file wants (`morsel convert` sets it).
  bool nhwc_inputs = false;
  // Treat a graph input's first dim as the batch (-1, fixed at prepare time) even when the file
  // gives it a fixed size. Only safe when nothing in the model bakes the batch into a shape.
  bool dynamic_batch = false;
};

struct ImportResult {
  Graph graph;
  std::string kind = "onnx";
  std::string model_name;          // graph.name or producer, if any
  int64_t opset = 0;               // default-domain opset
  std::vector<std::string> notes;  // things the user may want to know
};

// Reads `path` (external data files are looked up relative to its directory).
Result<ImportResult> import_model(const std::string& path, const ImportOptions& options = {});
// Parses an in-memory model. `dir` is where external data files live ("" forbids external data).
Result<ImportResult> import_model_buffer(const uint8_t* data, size_t size, const std::string& dir,
                                         const ImportOptions& options = {});

// The ONNX op types the importer converts (for docs and the conformance table).
const std::vector<std::string>& supported_ops();

}  // namespace morsel::onnx_import
