// Helpers shared by the passes, and the pass pipeline.
#include "graph/passes/passes.h"

namespace morsel::passes {

std::vector<int> use_counts(const Graph& g) {
  std::vector<int> uses(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int id : n.inputs)
      if (id >= 0) uses[static_cast<size_t>(id)]++;
  for (int id : g.outputs) uses[static_cast<size_t>(id)]++;
  return uses;
}

void erase_nodes(Graph& g, const std::vector<bool>& remove) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); i++)
    if (!remove[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  for (Value& v : g.values) v.producer = -1;
  for (size_t i = 0; i < g.nodes.size(); i++)
    for (int o : g.nodes[i].outputs) g.values[static_cast<size_t>(o)].producer = static_cast<int>(i);
  g.remove_dead();
}

bool is_graph_output(const Graph& g, int id) {
  for (int o : g.outputs)
    if (o == id) return true;
  return false;
}

void replace_uses(Graph& g, int from, int to) {
  for (Node& n : g.nodes)
    for (int& id : n.inputs)
      if (id == from) id = to;
}

Result<int> eliminate_dead_code(Graph& g) {
  const size_t nodes = g.nodes.size(), values = g.values.size();
  g.remove_dead();
  return static_cast<int>((nodes - g.nodes.size()) + (values - g.values.size()));
}

Result<std::vector<PassStat>> optimize_graph(Graph& g) {
  struct Pass {
    const char* name;
    Result<int> (*fn)(Graph&);
  };
  static const Pass kPasses[] = {
      {"drop_identity", &drop_identity},     {"fold_constants", &fold_constants},
      {"fold_pad", &fold_pad},               {"fold_batchnorm", &fold_batchnorm},
      {"fuse_activation", &fuse_activation}, {"eliminate_dead_code", &eliminate_dead_code},
  };
  std::vector<PassStat> stats;
  for (const Pass& p : kPasses) stats.push_back(PassStat{p.name, 0});
  MORSEL_RETURN_IF_ERROR(g.infer_shapes());
  for (int round = 0; round < 8; round++) {
    int changed = 0;
    for (size_t i = 0; i < std::size(kPasses); i++) {
      MORSEL_ASSIGN_OR_RETURN(int n, kPasses[i].fn(g));
      stats[i].rewrites += n;
      changed += n;
      MORSEL_RETURN_IF_ERROR(g.validate());
    }
    MORSEL_RETURN_IF_ERROR(g.infer_shapes());
    if (changed == 0) break;
  }
  return stats;
}

}  // namespace morsel::passes
