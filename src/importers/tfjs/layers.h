// Internal: the two model.json flavours, dispatched by import_model() in tfjs.cpp, and the
// Keras layer converter that the Keras .h5 importer shares.
#pragma once

#include <map>
#include <nlohmann/json.hpp>

#include "importers/tfjs/tfjs.h"

namespace morsel::tfjs {

Status import_layers_model(const nlohmann::json& model_json,
                           const std::map<std::string, Tensor>& weights, ImportResult* out);
// The shared Keras layer converter: `topology` is a Keras model config ({"class_name", "config"})
// or an object holding one under "model_config"; weights are named "<layer>/<weight>" (any
// enclosing model names in front are fine). `kind` goes into ImportResult::kind, `what` into
// the unsupported-layers error ("this Keras .h5 model uses 2 unsupported construct(s): ...").
Status import_keras_model(const nlohmann::json& topology, const std::map<std::string, Tensor>& weights,
                          const std::string& kind, const std::string& what, ImportResult* out);
Status import_graph_model(const nlohmann::json& model_json,
                          const std::map<std::string, Tensor>& weights, ImportResult* out);

}  // namespace morsel::tfjs
