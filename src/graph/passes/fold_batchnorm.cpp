// fold_batchnorm: y = (conv(x) - mean) / sqrt(var + eps) * gamma + beta is a conv with its
// output channels scaled by s = gamma / sqrt(var + eps) and bias (bias - mean) * s + beta.
// Compact (qu8/qu16) weights keep their bytes and take s as per-channel factors.
#include <cmath>

#include "graph/passes/passes.h"

namespace morsel::passes {

namespace {

const Value* const_input(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
  const Value& v = g.values[static_cast<size_t>(n.inputs[i])];
  return v.is_const() ? &v : nullptr;
}

// Compact (qu8/qu16) weights stay compact: the per-channel factors go into the AffineQuant's
// channel_scale, which expands to exactly the f32 weights times `scale` (see AffineQuant). The
// output channel must be one axis: the last for Conv2D and Dense, the C of a depthwise
// [KH,KW,C,1]. Returns an empty tensor where that does not hold (the caller expands to f32).
Tensor scale_compact_channels(const Tensor& w, OpType op, const std::vector<float>& scale) {
  if (w.dtype() != DType::QU8 && w.dtype() != DType::QU16) return Tensor();
  int axis = w.rank() - 1;
  if (op == OpType::DEPTHWISE_CONV2D) {
    if (w.dim(-1) != 1) return Tensor();
    axis = w.rank() - 2;
  }
  AffineQuant q = w.affine() ? *w.affine() : AffineQuant();
  if (q.channel_scale.empty()) {
    q.axis = axis;
    q.channel_scale = scale;
  } else {
    if (q.axis != axis) return Tensor();
    for (size_t c = 0; c < scale.size(); c++) q.channel_scale[c] *= scale[c];
  }
  return w.with_affine(std::move(q));
}

}  // namespace

Result<int> fold_batchnorm(Graph& g) {
  std::vector<bool> remove(g.nodes.size(), false);
  const std::vector<int> uses = use_counts(g);
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const Node bn = g.nodes[i];
    if (bn.op != OpType::BATCHNORM) continue;
    const int in = bn.inputs[0];
    const Value& iv = g.values[static_cast<size_t>(in)];
    if (iv.producer < 0 || uses[static_cast<size_t>(in)] != 1 || is_graph_output(g, in)) continue;
    const size_t pi = static_cast<size_t>(iv.producer);
    {
      const Node& p = g.nodes[pi];
      if (p.op != OpType::CONV2D && p.op != OpType::DEPTHWISE_CONV2D && p.op != OpType::DENSE) continue;
      if (p.attrs.get_str("act", "none") != "none") continue;
      if (!const_input(g, p, 1)) continue;
      if (p.inputs.size() > 2 && p.inputs[2] >= 0 && !const_input(g, p, 2)) continue;
    }
    const Value *gamma = const_input(g, bn, 1), *beta = const_input(g, bn, 2),
                *mean = const_input(g, bn, 3), *var = const_input(g, bn, 4);
    if (!gamma || !beta || !mean || !var) continue;
    const Tensor gm = tensor_to_f32(gamma->data), bt = tensor_to_f32(beta->data),
                 mn = tensor_to_f32(mean->data), vr = tensor_to_f32(var->data);
    const float eps = static_cast<float>(bn.attrs.get_float("epsilon", 1e-3));
    const int64_t channels = gm.numel();
    std::vector<float> scale(static_cast<size_t>(channels)), shift(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; c++) {
      scale[static_cast<size_t>(c)] = gm.data<float>()[c] / std::sqrt(vr.data<float>()[c] + eps);
      shift[static_cast<size_t>(c)] = bt.data<float>()[c] - mn.data<float>()[c] * scale[static_cast<size_t>(c)];
    }
    Node& p = g.nodes[pi];
    const Value& wv = g.values[static_cast<size_t>(p.inputs[1])];
    if (wv.data.rank() < 2 ||
        wv.data.dim(-1) * (p.op == OpType::DEPTHWISE_CONV2D ? wv.data.dim(-2) : 1) != channels)
      continue;
    Tensor w = scale_compact_channels(wv.data, p.op, scale);
    if (w.empty()) {
      w = tensor_to_f32(wv.data).clone();
      // The output channel is the last weight axis; for depthwise [KH,KW,C,M] it is c*M+m, which
      // is also the flattened index of the last two axes.
      const int64_t inner = p.op == OpType::DEPTHWISE_CONV2D ? w.dim(-2) * w.dim(-1) : w.dim(-1);
      float* wd = w.mut<float>();
      for (int64_t j = 0; j < w.numel(); j++) wd[j] *= scale[static_cast<size_t>(j % inner)];
    }
    Tensor bias(DType::F32, {channels});
    float* bd = bias.mut<float>();
    const Value* old_bias = const_input(g, p, 2);
    const Tensor ob = old_bias ? tensor_to_f32(old_bias->data) : Tensor();
    for (int64_t c = 0; c < channels; c++)
      bd[c] = (old_bias ? ob.data<float>()[c] : 0.0f) * scale[static_cast<size_t>(c)] + shift[static_cast<size_t>(c)];
    const std::string base = p.name;
    const int w_id = g.add_const(base + "/folded_weights", std::move(w));
    const int b_id = g.add_const(base + "/folded_bias", std::move(bias));
    Node& p2 = g.nodes[pi];  // add_const does not touch nodes, but keep the reference fresh
    p2.inputs[1] = w_id;
    if (p2.inputs.size() < 3) p2.inputs.resize(3, -1);
    p2.inputs[2] = b_id;
    for (int& o : p2.outputs)
      if (o == in) o = bn.outputs[0];
    remove[i] = true;
    count++;
  }
  if (count) erase_nodes(g, remove);
  return count;
}

}  // namespace morsel::passes
