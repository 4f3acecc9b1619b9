// TF.js importer: model.json (layers models with a Keras topology, and graph models written by
// the tfjs-converter) plus its weight shards -> Graph.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace morsel::tfjs {

struct ImportResult {
  Graph graph;
  std::string kind;        // "tfjs-layers" or "tfjs-graph"
  std::string model_name;  // from the topology, if any
  std::vector<std::string> notes;  // things the user may want to know (e.g. quantized weights)
};

struct ImportOptions {
  // Keep uint8/uint16-quantized weights as qu8/qu16 tensors (core/tensor.h AffineQuant) and
  // float16 ones as f16 instead of expanding them to f32. They expand to the same f32 values.
  bool keep_compact_weights = false;
};

// `path` is a model.json file or a directory holding one. Shards are read from the same
// directory. Every unsupported layer/op is listed in one UNSUPPORTED error.
Result<ImportResult> import_model(const std::string& path, const ImportOptions& options = {});

// ---- pieces, exposed for tests ----

struct WeightSpec {
  std::string name;
  Shape shape;
  std::string dtype;          // "float32" | "int32" | "float16" | ... as written
  std::string quant_dtype;    // "" | "uint8" | "uint16" | "float16"
  double quant_min = 0, quant_scale = 1;
  size_t offset = 0, nbytes = 0;  // in the concatenated shard bytes
};

// Parses weightsManifest, reads and concatenates the shards (in manifest order) from `dir`
// and decodes every weight: float32/int32 as is, float16 and uint8/uint16 quantized
// (value = q * scale + min) to f32, or with keep_compact to f16 and qu8/qu16 tensors (int32
// weights are always decoded). Returns name -> tensor.
Result<std::map<std::string, Tensor>> load_weights(const std::string& manifest_json,
                                                   const std::string& dir,
                                                   bool keep_compact = false);
// Same, from already concatenated bytes (used by the above and by tests).
Result<std::map<std::string, Tensor>> decode_weights(const std::string& manifest_json,
                                                     const std::vector<uint8_t>& bytes,
                                                     bool keep_compact = false);

}  // namespace morsel::tfjs
