// Graph passes: each rewrite happens where it should, leaves the graph alone where it must not,
// and never changes the outputs (checked by running both graphs on the reference kernels).
#include <gtest/gtest.h>

#include "graph/passes/passes.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

Tensor run_ref(const Graph& g, const Tensor& x) {
  SessionOptions o;
  o.reference_kernels = true;
  auto s = Session::create(std::make_shared<Graph>(g), o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (!s.ok()) return Tensor();
  std::vector<Tensor> out;
  Status st = s.value()->run({x}, &out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out.empty() ? Tensor() : std::move(out[0]);
}

int count(const Graph& g, OpType op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == op;
  return n;
}

// Runs `pass` on a copy; expects `rewrites` rewrites and unchanged outputs.
Graph apply(const Graph& g, Result<int> (*pass)(Graph&), int rewrites, const Shape& in) {
  Graph h = g;
  EXPECT_TRUE(h.infer_shapes().ok());
  auto r = pass(h);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.ok() ? r.value() : -1, rewrites);
  EXPECT_TRUE(h.validate().ok());
  EXPECT_TRUE(h.infer_shapes().ok());
  Tensor x = test::random_tensor(in, 11, -2, 2);
  EXPECT_LE(test::max_abs_diff(run_ref(g, x), run_ref(h, x)), 1e-5);
  return h;
}

Attrs conv(const std::string& padding = "SAME", int64_t stride = 1) {
  Attrs a;
  a.set("padding", padding);
  a.set("strides", std::vector<int64_t>{stride, stride});
  return a;
}

int add_bn(Graph& g, int x, int64_t c, uint32_t seed, const std::string& name) {
  Attrs a;
  a.set("epsilon", 1e-3);
  return g.add_node(OpType::BATCHNORM, name,
                    {x, g.add_const(name + "/g", test::random_tensor({c}, seed, 0.5f, 1.5f)),
                     g.add_const(name + "/b", test::random_tensor({c}, seed + 1)),
                     g.add_const(name + "/m", test::random_tensor({c}, seed + 2)),
                     g.add_const(name + "/v", test::random_tensor({c}, seed + 3, 0.1f, 2.f))},
                    a);
}

TEST(Passes, FoldBatchNormIntoConvDepthwiseDense) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 6, 6, 3});
  int y = g.add_node(OpType::CONV2D, "conv", {x, g.add_const("w", test::random_tensor({3, 3, 3, 8}, 1))}, conv());
  y = add_bn(g, y, 8, 10, "bn1");
  y = g.add_node(OpType::DEPTHWISE_CONV2D, "dw",
                 {y, g.add_const("dw/w", test::random_tensor({3, 3, 8, 2}, 2)),
                  g.add_const("dw/b", test::random_tensor({16}, 3))}, conv("SAME", 2));
  y = add_bn(g, y, 16, 20, "bn2");
  Attrs m;
  m.set("axes", std::vector<int64_t>{1, 2});
  y = g.add_node(OpType::MEAN, "mean", {y}, m);
  y = g.add_node(OpType::DENSE, "fc", {y, g.add_const("fc/w", test::random_tensor({16, 4}, 4))}, Attrs());
  y = add_bn(g, y, 4, 30, "bn3");
  g.outputs = {y};
  Graph h = apply(g, &passes::fold_batchnorm, 3, {2, 6, 6, 3});
  EXPECT_EQ(count(h, OpType::BATCHNORM), 0);
  EXPECT_EQ(h.values[static_cast<size_t>(h.outputs[0])].name, g.values[static_cast<size_t>(g.outputs[0])].name);
}

TEST(Passes, FoldBatchNormLeavesSharedOrActivatedProducers) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 5, 5, 4});
  Attrs relu = conv();
  relu.set("act", std::string("relu"));
  int a = g.add_node(OpType::CONV2D, "conv_relu", {x, g.add_const("w", test::random_tensor({1, 1, 4, 4}, 1))}, relu);
  int b = add_bn(g, a, 4, 10, "bn_after_relu");  // relu(conv) then BN: not foldable
  int c = g.add_node(OpType::CONV2D, "conv2", {x, g.add_const("w2", test::random_tensor({1, 1, 4, 4}, 2))}, conv());
  int d = add_bn(g, c, 4, 20, "bn_shared");  // conv2 also read by the add below
  int e = g.add_node(OpType::ADD, "add", {b, d}, Attrs());
  g.outputs = {g.add_node(OpType::ADD, "add2", {e, c}, Attrs())};
  Graph h = apply(g, &passes::fold_batchnorm, 0, {1, 5, 5, 4});
  EXPECT_EQ(count(h, OpType::BATCHNORM), 2);
}

TEST(Passes, FuseActivations) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 6, 6, 3});
  int y = g.add_node(OpType::CONV2D, "conv", {x, g.add_const("w", test::random_tensor({3, 3, 3, 8}, 1))}, conv());
  y = g.add_node(OpType::RELU, "relu", {y}, Attrs());
  y = g.add_node(OpType::DEPTHWISE_CONV2D, "dw", {y, g.add_const("dw/w", test::random_tensor({3, 3, 8, 1}, 2))}, conv());
  Attrs six;
  six.set("min", 0.0);
  six.set("max", 6.0);
  y = g.add_node(OpType::CLIP, "relu6", {y}, six);
  y = g.add_node(OpType::CONV2D, "pw", {y, g.add_const("pw/w", test::random_tensor({1, 1, 8, 5}, 3))}, conv());
  Attrs clip;
  clip.set("min", -0.5);
  clip.set("max", 0.25);
  y = g.add_node(OpType::CLIP, "clip", {y}, clip);
  Attrs leaky;
  leaky.set("alpha", 0.1);
  y = g.add_node(OpType::RELU, "leaky", {y}, leaky);  // alpha != 0: stays
  g.outputs = {y};
  Graph h = apply(g, &passes::fuse_activation, 3, {2, 6, 6, 3});
  EXPECT_EQ(count(h, OpType::CLIP), 0);
  EXPECT_EQ(count(h, OpType::RELU), 1);
  EXPECT_EQ(h.nodes[0].attrs.get_str("act"), "relu");
  EXPECT_EQ(h.nodes[1].attrs.get_str("act"), "relu6");
  EXPECT_EQ(h.nodes[2].attrs.get_str("act"), "clip");
}

TEST(Passes, FuseActivationKeepsValuesOthersRead) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 4, 4, 2});
  int c = g.add_node(OpType::CONV2D, "conv", {x, g.add_const("w", test::random_tensor({1, 1, 2, 2}, 1))}, conv());
  int r = g.add_node(OpType::RELU, "relu", {c}, Attrs());
  g.outputs = {g.add_node(OpType::ADD, "add", {r, c}, Attrs())};  // the pre-activation is read too
  apply(g, &passes::fuse_activation, 0, {1, 4, 4, 2});
}

TEST(Passes, FuseReluIntoResidualAdd) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 5, 5, 4});
  int c = g.add_node(OpType::CONV2D, "conv", {x, g.add_const("w", test::random_tensor({1, 1, 4, 4}, 1))}, conv());
  int a = g.add_node(OpType::ADD, "add", {c, x}, Attrs());
  g.outputs = {g.add_node(OpType::RELU, "relu", {a}, Attrs())};
  Graph h = apply(g, &passes::fuse_activation, 1, {2, 5, 5, 4});
  EXPECT_EQ(count(h, OpType::RELU), 0);
  EXPECT_EQ(h.nodes.back().attrs.get_str("act"), "relu");
}

TEST(Passes, FoldZeroPadIntoConvs) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 8, 8, 3});
  Attrs pad;
  pad.set("pads", std::vector<int64_t>{0, 1, 0, 0, 0, 1, 2, 0});  // H: 1/1, W: 0/2
  int p = g.add_node(OpType::PAD, "pad", {x}, pad);
  int a = g.add_node(OpType::CONV2D, "conv_valid", {p, g.add_const("w", test::random_tensor({3, 3, 3, 4}, 1))}, conv("VALID", 2));
  int b = g.add_node(OpType::DEPTHWISE_CONV2D, "dw_same", {p, g.add_const("w2", test::random_tensor({3, 3, 3, 1}, 2))}, conv("SAME", 2));
  Attrs m;
  m.set("axes", std::vector<int64_t>{1, 2});
  int ma = g.add_node(OpType::MEAN, "ma", {a}, m);
  int mb = g.add_node(OpType::MEAN, "mb", {b}, m);
  Attrs cat;
  cat.set("axis", int64_t{-1});
  g.outputs = {g.add_node(OpType::CONCAT, "cat", {ma, mb}, cat)};
  Graph h = apply(g, &passes::fold_pad, 1, {2, 8, 8, 3});
  EXPECT_EQ(count(h, OpType::PAD), 0);
  EXPECT_EQ(h.nodes[0].attrs.get_str("padding"), "EXPLICIT");
}

TEST(Passes, FoldZeroPadIntoAveragePool) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 6, 7, 3});
  Attrs pad;
  pad.set("pads", std::vector<int64_t>{0, 1, 1, 0, 0, 1, 1, 0});
  int p = g.add_node(OpType::PAD, "pad", {x}, pad);
  Attrs pool;
  pool.set("kernel", std::vector<int64_t>{3, 3});
  pool.set("padding", std::string("VALID"));
  g.outputs = {g.add_node(OpType::AVG_POOL, "avgpool", {p}, pool)};
  Graph h = apply(g, &passes::fold_pad, 1, {2, 6, 7, 3});
  EXPECT_EQ(count(h, OpType::PAD), 0);
  EXPECT_EQ(h.nodes[0].attrs.get_int("count_include_pad"), 1);
}

TEST(Passes, FoldPadLeavesNonZeroPadsAndPools) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 6, 6, 2});
  Attrs pad;
  pad.set("pads", std::vector<int64_t>{0, 1, 1, 0, 0, 1, 1, 0});
  int p = g.add_node(OpType::PAD, "pad", {x}, pad);
  Attrs pool;
  pool.set("kernel", std::vector<int64_t>{3, 3});
  pool.set("padding", std::string("VALID"));
  int mp = g.add_node(OpType::MAX_POOL, "maxpool", {p}, pool);  // zero pad != -inf pad: keep
  Attrs one = pad;
  one.set("value", 1.0);
  int p1 = g.add_node(OpType::PAD, "pad_one", {x}, one);
  int c = g.add_node(OpType::CONV2D, "conv", {p1, g.add_const("w", test::random_tensor({3, 3, 2, 2}, 1))}, conv("VALID"));
  g.outputs = {g.add_node(OpType::ADD, "add", {mp, c}, Attrs())};
  apply(g, &passes::fold_pad, 0, {1, 6, 6, 2});
}

TEST(Passes, DropIdentityKeepsOutputNames) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 4});
  int a = g.add_node(OpType::IDENTITY, "dropout", {x}, Attrs());
  int d = g.add_node(OpType::DENSE, "fc", {a, g.add_const("w", test::random_tensor({4, 3}, 1))}, Attrs());
  int out = g.add_node(OpType::IDENTITY, "final_identity", {d}, Attrs(), "probs");
  g.outputs = {out};
  Graph h = apply(g, &passes::drop_identity, 2, {3, 4});
  EXPECT_EQ(count(h, OpType::IDENTITY), 0);
  EXPECT_EQ(h.values[static_cast<size_t>(h.outputs[0])].name, "probs");
}

TEST(Passes, FoldConstantsComputesConstSubgraphs) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 3});
  int s = g.add_const("scale", test::random_tensor({3}, 1));
  int t = g.add_const("two", test::random_tensor({3}, 2));
  int c = g.add_node(OpType::MUL, "const_mul", {s, t}, Attrs());
  Attrs r;
  r.set("shape", std::vector<int64_t>{3});
  int c2 = g.add_node(OpType::RELU, "const_relu", {c}, Attrs());
  g.outputs = {g.add_node(OpType::ADD, "add", {x, c2}, Attrs())};
  Graph h = apply(g, &passes::fold_constants, 2, {2, 3});
  EXPECT_EQ(h.nodes.size(), 1u);
}

TEST(Passes, OptimizeGraphRunsAllToFixedPoint) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 8, 8, 3});
  Attrs pad;
  pad.set("pads", std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 0});
  int y = g.add_node(OpType::PAD, "pad", {x}, pad);
  y = g.add_node(OpType::CONV2D, "conv", {y, g.add_const("w", test::random_tensor({3, 3, 3, 6}, 1))}, conv("VALID", 2));
  y = add_bn(g, y, 6, 5, "bn");
  Attrs six;
  six.set("min", 0.0);
  six.set("max", 6.0);
  y = g.add_node(OpType::CLIP, "relu6", {y}, six);
  y = g.add_node(OpType::IDENTITY, "dropout", {y}, Attrs());
  int unused = g.add_node(OpType::SIGMOID, "unused", {y}, Attrs());
  (void)unused;
  Attrs m;
  m.set("axes", std::vector<int64_t>{1, 2});
  g.outputs = {g.add_node(OpType::MEAN, "mean", {y}, m)};
  Graph h = g;
  auto stats = passes::optimize_graph(h);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(h.nodes.size(), 2u);  // conv (pad, BN, relu6 folded in) + mean
  Tensor xin = test::random_tensor({2, 8, 8, 3}, 3, 0, 1);
  EXPECT_LE(test::max_abs_diff(run_ref(g, xin), run_ref(h, xin)), 1e-5);
  int total = 0;
  for (const auto& s : stats.value()) total += s.rewrites;
  EXPECT_GE(total, 4);  // pad, batchnorm, activation, identity (the dead sigmoid goes too)
}

}  // namespace
}  // namespace morsel
