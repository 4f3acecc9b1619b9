// The tiny classifier of the server tests and the request fuzz target (see tiny-model.h).
#include "server/tiny-model.h"

namespace morsel::test {

Model tiny_model(const std::string& label_suffix, const std::string& name) {
  Model m;
  Graph& g = m.graph;
  const int x = g.add_input("image", DType::F32, {-1, 8, 8, 3});
  Attrs ma;
  ma.set("axes", std::vector<int64_t>{1, 2});
  ma.set("keepdims", int64_t{0});
  const int mean = g.add_node(OpType::MEAN, "mean_colour", {x}, ma);
  g.values[static_cast<size_t>(mean)].shape = {-1, 3};
  // logits = 10 * rgb for the three colours, and 4 for "other".
  Tensor w(DType::F32, {3, 4});
  Tensor b(DType::F32, {4});
  for (int i = 0; i < 3; i++) w.mut<float>()[i * 4 + i] = 10.f;
  b.mut<float>()[3] = 4.f;
  const int wi = g.add_const("fc/w", w);
  const int bi = g.add_const("fc/b", b);
  const int fc = g.add_node(OpType::DENSE, "fc", {mean, wi, bi}, Attrs());
  g.values[static_cast<size_t>(fc)].shape = {-1, 4};
  Attrs sa;
  sa.set("axis", int64_t{-1});
  const int sm = g.add_node(OpType::SOFTMAX, "probs", {fc}, sa);
  g.values[static_cast<size_t>(sm)].shape = {-1, 4};
  g.outputs = {sm};
  m.meta.name = name;
  m.meta.labels = {"red" + label_suffix, "green" + label_suffix, "blue" + label_suffix,
                   "other" + label_suffix};
  m.meta.preprocess.height = 8;
  m.meta.preprocess.width = 8;
  m.meta.preprocess.resize = ResizeMethod::BILINEAR;
  m.meta.provenance.source_format = "morsel-test";
  return m;
}

}  // namespace morsel::test
