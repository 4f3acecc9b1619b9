// fuse_activation: RELU / CLIP after a conv, depthwise conv, dense or element-wise binary op
// becomes its fused activation (the kernels clamp their output as they store it).
#include <cmath>
#include <limits>

#include "graph/passes/passes.h"

namespace morsel::passes {

Result<int> fuse_activation(Graph& g) {
  std::vector<bool> remove(g.nodes.size(), false);
  const std::vector<int> uses = use_counts(g);
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const Node& act = g.nodes[i];
    if (act.op != OpType::RELU && act.op != OpType::CLIP) continue;
    if (act.op == OpType::RELU && act.attrs.get_float("alpha", 0) != 0) continue;
    const int in = act.inputs[0];
    if (in < 0) continue;
    const Value& iv = g.values[static_cast<size_t>(in)];
    if (iv.producer < 0 || uses[static_cast<size_t>(in)] != 1 || is_graph_output(g, in)) continue;
    Node& p = g.nodes[static_cast<size_t>(iv.producer)];
    if (p.op != OpType::CONV2D && p.op != OpType::DEPTHWISE_CONV2D && p.op != OpType::DENSE &&
        p.op != OpType::ADD && p.op != OpType::SUB && p.op != OpType::MUL && p.op != OpType::DIV)
      continue;
    if (p.attrs.get_str("act", "none") != "none") continue;
    if (act.op == OpType::RELU) {
      p.attrs.set("act", std::string("relu"));
    } else {
      const double lo = act.attrs.get_float("min", 0), hi = act.attrs.get_float("max", 0);
      if (lo == 0 && hi == 6) {
        p.attrs.set("act", std::string("relu6"));
      } else if (lo == 0 && std::isinf(hi) && hi > 0) {
        p.attrs.set("act", std::string("relu"));
      } else {
        p.attrs.set("act", std::string("clip"));
        p.attrs.set("act_min", lo);
        p.attrs.set("act_max", hi);
      }
    }
    // The producer now writes the activation's output value.
    for (int& o : p.outputs)
      if (o == in) o = act.outputs[0];
    remove[i] = true;
    count++;
  }
  if (count) erase_nodes(g, remove);
  return count;
}

}  // namespace morsel::passes
