// drop_identity: IDENTITY nodes (Keras Dropout and friends import as IDENTITY) are bypassed.
#include "graph/passes/passes.h"

namespace morsel::passes {

Result<int> drop_identity(Graph& g) {
  std::vector<bool> remove(g.nodes.size(), false);
  std::vector<int> uses = use_counts(g);
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    Node& n = g.nodes[i];
    if (n.op != OpType::IDENTITY || n.inputs.size() != 1 || n.inputs[0] < 0) continue;
    const int in = n.inputs[0], out = n.outputs[0];
    if (!is_graph_output(g, out)) {
      replace_uses(g, out, in);
    } else {
      // Keep the graph output's value (and name): its input's producer writes it directly,
      // when nothing else reads the input.
      const Value& iv = g.values[static_cast<size_t>(in)];
      if (iv.producer < 0 || uses[static_cast<size_t>(in)] != 1) continue;
      if (is_graph_output(g, in)) continue;
      Node& p = g.nodes[static_cast<size_t>(iv.producer)];
      for (int& o : p.outputs)
        if (o == in) o = out;
    }
    remove[i] = true;
    count++;
  }
  if (count) erase_nodes(g, remove);
  return count;
}

}  // namespace morsel::passes
