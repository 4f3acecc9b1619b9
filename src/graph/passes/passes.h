// Graph passes: rewrites that keep every graph output unchanged (within float rounding) and
// make the graph cheaper to run. One pass per file; optimize_graph() runs them all until none
// changes anything. Each returns how many rewrites it made.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace morsel::passes {

// Dropout/Identity nodes: consumers read the node's input instead.
Result<int> drop_identity(Graph& g);
// Nodes whose inputs are all constants become constants (computed with the reference kernels).
Result<int> fold_constants(Graph& g);
// A zero PAD over H and W that feeds only convolutions (or average pools that count padding)
// becomes their padding.
Result<int> fold_pad(Graph& g);
// BATCHNORM after a conv / depthwise conv / dense (constant weights, no fused activation, no
// other consumer) is folded into that node's weights and bias.
Result<int> fold_batchnorm(Graph& g);
// RELU (alpha 0) and CLIP after a conv / depthwise conv / dense / element-wise binary op with no
// fused activation and no other consumer become the node's fused activation (relu, relu6, clip).
Result<int> fuse_activation(Graph& g);
// Removes nodes and constants that no output depends on.
Result<int> eliminate_dead_code(Graph& g);

// Constants by storage: qu8/qu16 affine (kept compact from the source; per_channel of them carry
// channel scales from a folded BatchNorm), f16, f32 and the rest (i8, i32, ...).
struct CompactWeightStats {
  int affine = 0, per_channel = 0, f16 = 0, f32 = 0, other = 0;
  int64_t affine_bytes = 0, f16_bytes = 0, f32_bytes = 0, other_bytes = 0;
};
CompactWeightStats compact_weight_stats(const Graph& g);
// Every qu8/qu16 and f16 constant becomes the f32 tensor it stands for; returns how many.
int expand_compact_weights(Graph& g);

struct PassStat {
  std::string pass;
  int rewrites = 0;
};

// Runs every pass to a fixed point; returns the rewrites per pass (summed over rounds).
Result<std::vector<PassStat>> optimize_graph(Graph& g);

// ---- helpers shared by the passes ----
// How many times each value is read: node inputs plus graph outputs.
std::vector<int> use_counts(const Graph& g);
// Removes the marked nodes (their outputs must be unused by then), then dead values.
void erase_nodes(Graph& g, const std::vector<bool>& remove);
bool is_graph_output(const Graph& g, int id);
// Replaces every read of value `from` (node inputs) with `to`.
void replace_uses(Graph& g, int from, int to);

}  // namespace morsel::passes
