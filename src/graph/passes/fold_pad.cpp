// fold_pad: PAD with value 0 over H and W only (NHWC), read only by convolutions, becomes the
// convolutions' explicit padding (TF.js and ONNX exports often pad before a stride-2 conv), or an
// average pool's padding, counted (ONNX exports of count_include_pad pooling).
#include "graph/passes/passes.h"

namespace morsel::passes {

Result<int> fold_pad(Graph& g) {
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const Node& pad = g.nodes[i];
    if (pad.op != OpType::PAD || pad.attrs.get_float("value", 0) != 0) continue;
    const std::vector<int64_t> p = pad.attrs.get_ints("pads");
    if (p.size() != 8 || p[0] || p[3] || p[4] || p[7]) continue;  // [N,H,W,C] begins, then ends
    const int out = pad.outputs[0];
    bool ok = !is_graph_output(g, out);
    std::vector<size_t> consumers;
    for (size_t j = 0; j < g.nodes.size() && ok; j++) {
      const Node& c = g.nodes[j];
      for (size_t k = 0; k < c.inputs.size(); k++) {
        if (c.inputs[k] != out) continue;
        const bool conv = c.op == OpType::CONV2D || c.op == OpType::DEPTHWISE_CONV2D;
        // An average pool that counts padded zeros (or has no padding of its own) gives the
        // same result with the zeros as its own padding, counted.
        const bool avg = c.op == OpType::AVG_POOL;
        if (k != 0 || (!conv && !avg)) ok = false;
        else consumers.push_back(j);
      }
    }
    if (!ok || consumers.empty()) continue;
    const Shape& ps = g.values[static_cast<size_t>(out)].shape;
    if (ps.size() != 4 || ps[1] < 0 || ps[2] < 0) continue;
    // Every consumer's own padding must be resolvable now (static H, W).
    std::vector<Window2D> wins;
    for (size_t j : consumers) {
      const Node& c = g.nodes[j];
      Window2D win;
      if (c.op == OpType::AVG_POOL) {
        const std::vector<int64_t> kk = c.attrs.get_ints("kernel");
        if (kk.size() != 2 || !resolve_window(c, ps[1], ps[2], kk[0], kk[1], &win).ok()) {
          ok = false;
          break;
        }
        const bool own_pad = win.pad_top || win.pad_left || win.pad_bottom || win.pad_right;
        if (own_pad && c.attrs.get_int("count_include_pad", 0) == 0) {
          ok = false;
          break;
        }
      } else {
        const Shape& ws = g.values[static_cast<size_t>(c.inputs[1])].shape;
        if (ws.size() != 4 || !resolve_window(c, ps[1], ps[2], ws[0], ws[1], &win).ok()) {
          ok = false;
          break;
        }
      }
      wins.push_back(win);
    }
    if (!ok) continue;
    for (size_t k = 0; k < consumers.size(); k++) {
      Node& c = g.nodes[consumers[k]];
      const Window2D& w = wins[k];
      c.attrs.set("padding", std::string("EXPLICIT"));
      c.attrs.set("pads", std::vector<int64_t>{w.pad_top + p[1], w.pad_left + p[2],
                                               w.pad_bottom + p[5], w.pad_right + p[6]});
      c.inputs[0] = pad.inputs[0];
      if (c.op == OpType::AVG_POOL) c.attrs.set("count_include_pad", int64_t{1});
    }
    remove[i] = true;
    count++;
  }
  if (count) erase_nodes(g, remove);
  return count;
}

}  // namespace morsel::passes
