// BatchNorm folding on compact (qu8/qu16) weights: the bytes stay, the fold becomes per-channel
// scales on the output-channel axis (Conv2D, Dense, depthwise with multiplier 1; a second fold
// multiplies them), a depthwise kernel with multiplier 2 is expanded to f32, and the folded graph
// computes what the unfolded one does.
#include <gtest/gtest.h>

#include "graph/passes/passes.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

Tensor compact(DType dt, Shape shape, uint32_t seed, double scale, double offset) {
  Tensor t(dt, std::move(shape));
  uint32_t x = seed;
  for (int64_t i = 0; i < t.numel(); i++) {
    x = x * 1664525u + 1013904223u;
    if (dt == DType::QU8) t.mut<uint8_t>()[i] = static_cast<uint8_t>(x >> 24);
    else t.mut<uint16_t>()[i] = static_cast<uint16_t>(x >> 16);
  }
  AffineQuant q;
  q.scale = scale;
  q.offset = offset;
  return t.with_affine(q);
}

Attrs same_conv() {
  Attrs a;
  a.set("strides", std::vector<int64_t>{1, 1});
  a.set("padding", std::string("SAME"));
  return a;
}

int add_bn(Graph& g, int x, int64_t c, uint32_t seed, const std::string& name) {
  Attrs a;
  a.set("epsilon", 1e-3);
  return g.add_node(OpType::BATCHNORM, name,
                    {x, g.add_const(name + "/g", test::random_tensor({c}, seed, -1.5f, 1.5f)),
                     g.add_const(name + "/b", test::random_tensor({c}, seed + 1)),
                     g.add_const(name + "/m", test::random_tensor({c}, seed + 2)),
                     g.add_const(name + "/v", test::random_tensor({c}, seed + 3, 0.1f, 2.f))},
                    a);
}

// x -> Conv2D(qu8) -> BN -> BN -> DepthwiseConv2D(qu8, multiplier 2) -> BN -> mean -> Dense(qu16)
// -> BN -> out; plus a Dense(qu8) -> BN branch from the mean.
Graph make_graph() {
  Graph g;
  const int x = g.add_input("x", DType::F32, {-1, 6, 6, 3});
  int y = g.add_node(OpType::CONV2D, "conv",
                     {x, g.add_const("conv/w", compact(DType::QU8, {3, 3, 3, 8}, 1, 0.004, -0.5))},
                     same_conv());
  y = add_bn(g, y, 8, 10, "bn1");
  y = add_bn(g, y, 8, 20, "bn2");  // folds in the next round: channel scales multiply
  y = g.add_node(OpType::DEPTHWISE_CONV2D, "dw",
                 {y, g.add_const("dw/w", compact(DType::QU8, {3, 3, 8, 2}, 2, 0.01, -1.2))},
                 same_conv());
  y = add_bn(g, y, 16, 30, "bn3");
  Attrs ma;
  ma.set("axes", std::vector<int64_t>{1, 2});
  ma.set("keepdims", int64_t{0});
  const int m = g.add_node(OpType::MEAN, "gap", {y}, ma);
  Attrs da;
  da.set("act", std::string("none"));
  int d = g.add_node(OpType::DENSE, "fc",
                     {m, g.add_const("fc/w", compact(DType::QU16, {16, 5}, 3, 2e-5, -0.6))}, da);
  d = add_bn(g, d, 5, 40, "bn4");
  int e = g.add_node(OpType::DENSE, "fc2",
                     {m, g.add_const("fc2/w", compact(DType::QU8, {16, 5}, 4, 0.01, -1.0))}, da);
  e = add_bn(g, e, 5, 50, "bn5");
  g.outputs = {d, e};
  return g;
}

std::vector<Tensor> run(const Graph& g, const Tensor& x) {
  SessionOptions so;
  so.reference_kernels = true;
  auto s = Session::create(std::make_shared<Graph>(g), so);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  std::vector<Tensor> out;
  if (s.ok()) EXPECT_TRUE(s.value()->run({x}, &out).ok());
  return out;
}

const Value& weights_of(const Graph& g, const std::string& node) {
  for (const Node& n : g.nodes)
    if (n.name == node) return g.values[static_cast<size_t>(n.inputs[1])];
  ADD_FAILURE() << "no node " << node;
  return g.values[0];
}

TEST(CompactFold, BatchNormBecomesChannelScales) {
  const Graph original = make_graph();
  Graph folded = original, folded_f32 = original;
  ASSERT_TRUE(passes::optimize_graph(folded).ok());
  EXPECT_EQ(passes::expand_compact_weights(folded_f32), 4);
  ASSERT_TRUE(passes::optimize_graph(folded_f32).ok());
  for (const Node& n : folded.nodes) EXPECT_NE(n.op, OpType::BATCHNORM) << n.name;

  const Value& conv = weights_of(folded, "conv");
  ASSERT_EQ(conv.dtype, DType::QU8);
  ASSERT_NE(conv.data.affine(), nullptr);
  EXPECT_EQ(conv.data.affine()->axis, 3);
  EXPECT_EQ(conv.data.affine()->channel_scale.size(), 8u);
  // The integers are the source's.
  EXPECT_EQ(conv.data.raw(), original.values[static_cast<size_t>(original.find_value("conv/w"))].data.raw());
  const Value& fc = weights_of(folded, "fc");
  ASSERT_EQ(fc.dtype, DType::QU16);
  EXPECT_EQ(fc.data.affine()->axis, 1);
  EXPECT_EQ(weights_of(folded, "fc2").data.affine()->axis, 1);
  EXPECT_EQ(weights_of(folded, "dw").dtype, DType::F32);  // multiplier 2: expanded
  const passes::CompactWeightStats st = passes::compact_weight_stats(folded);
  EXPECT_EQ(st.affine, 3);
  EXPECT_EQ(st.per_channel, 3);

  const Tensor x = test::random_tensor({2, 6, 6, 3}, 7);
  const std::vector<Tensor> a = run(original, x), b = run(folded, x), c = run(folded_f32, x);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  ASSERT_EQ(c.size(), 2u);
  for (size_t i = 0; i < 2; i++) {
    EXPECT_LE(test::max_abs_diff(a[i], b[i]), 1e-4) << "output " << i;
    EXPECT_LE(test::max_abs_diff(b[i], c[i]), 1e-5) << "output " << i;
  }
  // One fold: exactly the weights that folding the f32 weights gives (two folds round twice).
  for (const char* node : {"fc", "fc2"}) {
    const Tensor w = tensor_to_f32(weights_of(folded, node).data);
    const Tensor w32 = weights_of(folded_f32, node).data;
    ASSERT_EQ(w.nbytes(), w32.nbytes());
    EXPECT_EQ(std::memcmp(w.raw(), w32.raw(), w.nbytes()), 0) << node;
  }
  EXPECT_LE(test::max_abs_diff(tensor_to_f32(conv.data), weights_of(folded_f32, "conv").data), 1e-5);
}

}  // namespace
}  // namespace morsel
