// Internal: the two model.json flavours, dispatched by import_model() in tfjs.cpp.
#pragma once

#include <map>
#include <nlohmann/json.hpp>

#include "importers/tfjs/tfjs.h"

namespace morsel::tfjs {

Status import_layers_model(const nlohmann::json& model_json,
                           const std::map<std::string, Tensor>& weights, ImportResult* out);
Status import_graph_model(const nlohmann::json& model_json,
                          const std::map<std::string, Tensor>& weights, ImportResult* out);

}  // namespace morsel::tfjs
