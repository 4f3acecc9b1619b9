// fold_constants: a node whose inputs are all constants is computed once, here, with the
// reference kernel, and its output becomes a constant.
#include "graph/passes/passes.h"
#include "runtime/bind.h"

namespace morsel::passes {

namespace {
constexpr int64_t kMaxFoldedElements = int64_t{16} << 20;  // don't grow the file unboundedly
}

Result<int> fold_constants(Graph& g) {
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const Node& n = g.nodes[i];
    if (n.outputs.size() != 1 || n.inputs.empty()) continue;
    bool all_const = true;
    for (int id : n.inputs)
      all_const = all_const && id >= 0 && g.values[static_cast<size_t>(id)].is_const();
    if (!all_const) continue;
    std::vector<Shape> shapes;
    std::vector<DType> dtypes;
    if (!infer_node(g, n, &shapes, &dtypes).ok() || !shape_is_static(shapes[0]) ||
        dtypes[0] != DType::F32 || shape_numel(shapes[0]) > kMaxFoldedElements)
      continue;
    // A scratch graph with concrete shapes for the binding.
    std::vector<Tensor> inputs_f32;
    std::vector<float*> ptrs(g.values.size(), nullptr);
    for (int id : n.inputs) {
      inputs_f32.push_back(tensor_to_f32(g.values[static_cast<size_t>(id)].data));
      ptrs[static_cast<size_t>(id)] = const_cast<float*>(inputs_f32.back().data<float>());
    }
    Tensor out(DType::F32, shapes[0]);
    const int out_id = n.outputs[0];
    ptrs[static_cast<size_t>(out_id)] = out.mut<float>();
    Shape saved = g.values[static_cast<size_t>(out_id)].shape;
    g.values[static_cast<size_t>(out_id)].shape = shapes[0];
    auto fn = bind_reference(g, n, ptrs);
    if (!fn.ok()) {
      g.values[static_cast<size_t>(out_id)].shape = saved;
      continue;
    }
    (*fn)();
    Value& v = g.values[static_cast<size_t>(out_id)];
    v.data = std::move(out);
    v.dtype = DType::F32;
    v.producer = -1;
    remove[i] = true;
    count++;
  }
  if (count) erase_nodes(g, remove);
  return count;
}

}  // namespace morsel::passes
