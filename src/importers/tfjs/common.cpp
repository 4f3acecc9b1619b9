// Shared TF.js importer helpers: activation mapping and the unsupported-construct report.
#include "importers/tfjs/common.h"

namespace morsel::tfjs {

Status Unsupported::to_status(const std::string& model_kind) const {
  if (items.empty()) return Status();
  std::string msg = model_kind + " uses " + std::to_string(items.size()) +
                    " unsupported construct(s):";
  for (const std::string& s : items) msg += "\n  " + s;
  return Status(StatusCode::UNSUPPORTED, msg);
}

bool fusable_activation(const std::string& act) { return act == "relu" || act == "relu6"; }

int add_activation(Graph& g, const std::string& name, const std::string& act, int x,
                   Unsupported* unsupported) {
  Attrs a;
  if (act == "linear" || act.empty()) return x;
  if (act == "relu") return g.add_node(OpType::RELU, name, {x}, a);
  if (act == "relu6") {
    a.set("min", 0.0);
    a.set("max", 6.0);
    return g.add_node(OpType::CLIP, name, {x}, a);
  }
  if (act == "sigmoid") return g.add_node(OpType::SIGMOID, name, {x}, a);
  if (act == "tanh") return g.add_node(OpType::TANH, name, {x}, a);
  if (act == "swish" || act == "silu") return g.add_node(OpType::SWISH, name, {x}, a);
  if (act == "hard_swish" || act == "hard_silu") return g.add_node(OpType::HARD_SWISH, name, {x}, a);
  if (act == "hard_sigmoid") {  // Keras 2 / TF.js: clip(0.2 * x + 0.5, 0, 1)
    Tensor slope(DType::F32, {}), offset(DType::F32, {});
    slope.mut<float>()[0] = 0.2f;
    offset.mut<float>()[0] = 0.5f;
    int s = g.add_node(OpType::MUL, name + "/scale", {x, g.add_const(name + "/slope", slope)}, a);
    int o = g.add_node(OpType::ADD, name + "/shift", {s, g.add_const(name + "/offset", offset)}, a);
    a.set("min", 0.0);
    a.set("max", 1.0);
    return g.add_node(OpType::CLIP, name, {o}, a);
  }
  if (act == "softmax") {
    a.set("axis", int64_t{-1});
    return g.add_node(OpType::SOFTMAX, name, {x}, a);
  }
  unsupported->add(name, "activation '" + act + "'");
  return -1;
}

}  // namespace morsel::tfjs
