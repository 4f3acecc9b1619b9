// Helpers shared by the TF.js layers and graph importers (and the Keras .h5 importer later).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace morsel::tfjs {

// Collects every unsupported construct so one error can list them all.
struct Unsupported {
  std::vector<std::string> items;  // "'node name' (Op): reason"
  void add(const std::string& node, const std::string& what) {
    items.push_back("'" + node + "' " + what);
  }
  Status to_status(const std::string& model_kind) const;
};

// Appends an activation by Keras name after `x`; returns the new value id, or -1 (and records
// it in `unsupported`) if the name is unknown. "linear" returns x.
int add_activation(Graph& g, const std::string& name, const std::string& act, int x,
                   Unsupported* unsupported);
// True for activations that can be fused into a conv/dense producer ("relu", "relu6").
bool fusable_activation(const std::string& act);

}  // namespace morsel::tfjs
