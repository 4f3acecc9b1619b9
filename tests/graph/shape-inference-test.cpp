// Graph IR tests: shape inference per op, SAME/VALID windows, structural validation, and that
// malformed graphs become INVALID_MODEL errors that name the node.
#include <gtest/gtest.h>

#include "graph/graph.h"

namespace morsel {
namespace {

Tensor zeros(Shape s) { return Tensor(DType::F32, std::move(s)); }

Attrs conv_attrs(const std::string& padding, int64_t stride, int64_t dilation = 1) {
  Attrs a;
  a.set("padding", padding);
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("dilations", std::vector<int64_t>{dilation, dilation});
  return a;
}

TEST(ShapeInference, ConvSameAndValidMatchTensorFlow) {
  struct Case {
    int64_t in, k, stride, dil;
    std::string pad;
    int64_t out, pad_before, pad_after;
  };
  // TF: SAME -> ceil(in/stride), total pad split with the extra pixel after.
  const Case cases[] = {
      {224, 3, 2, 1, "SAME", 112, 0, 1},  // MobileNetV2 stem: pad total 1, all at the end
      {7, 3, 1, 1, "SAME", 7, 1, 1},     {8, 3, 2, 1, "SAME", 4, 0, 1},
      {299, 3, 2, 1, "VALID", 149, 0, 0}, {7, 3, 1, 2, "SAME", 7, 2, 2},
      {7, 3, 1, 2, "VALID", 3, 0, 0},    {1, 1, 1, 1, "VALID", 1, 0, 0},
  };
  for (const Case& c : cases) {
    Graph g;
    int x = g.add_input("x", DType::F32, {-1, c.in, c.in, 4});
    int w = g.add_const("w", zeros({c.k, c.k, 4, 8}));
    int y = g.add_node(OpType::CONV2D, "conv", {x, w, -1}, conv_attrs(c.pad, c.stride, c.dil));
    g.outputs = {y};
    ASSERT_TRUE(g.validate().ok());
    Status st = g.infer_shapes();
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(g.values[y].shape, (Shape{-1, c.out, c.out, 8})) << c.in << " " << c.pad;
    Window2D win;
    ASSERT_TRUE(resolve_window(g.nodes[0], c.in, c.in, c.k, c.k, &win).ok());
    EXPECT_EQ(win.pad_top, c.pad_before);
    EXPECT_EQ(win.pad_bottom, c.pad_after);
  }
}

TEST(ShapeInference, GroupedAndDepthwiseChannels) {
  Graph g;
  int x = g.add_input("x", DType::F32, {1, 5, 5, 6});
  int wg = g.add_const("wg", zeros({3, 3, 2, 9}));  // 3 groups of 2 -> 9 outputs
  Attrs a = conv_attrs("SAME", 1);
  a.set("groups", int64_t{3});
  int y = g.add_node(OpType::CONV2D, "grouped", {x, wg, -1}, a);
  int wd = g.add_const("wd", zeros({3, 3, 9, 2}));
  int z = g.add_node(OpType::DEPTHWISE_CONV2D, "dw", {y, wd, -1}, conv_attrs("VALID", 1));
  g.outputs = {z};
  ASSERT_TRUE(g.infer_shapes().ok());
  EXPECT_EQ(g.values[y].shape, (Shape{1, 5, 5, 9}));
  EXPECT_EQ(g.values[z].shape, (Shape{1, 3, 3, 18}));
}

TEST(ShapeInference, ChannelMismatchNamesTheNode) {
  Graph g;
  int x = g.add_input("x", DType::F32, {1, 5, 5, 3});
  int w = g.add_const("w", zeros({3, 3, 4, 8}));
  g.outputs = {g.add_node(OpType::CONV2D, "block_3/conv", {x, w, -1}, conv_attrs("SAME", 1))};
  Status st = g.infer_shapes();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::INVALID_MODEL);
  EXPECT_NE(st.message().find("block_3/conv"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("3 channels"), std::string::npos) << st.message();
}

TEST(ShapeInference, WindowLargerThanInputIsAnError) {
  Graph g;
  int x = g.add_input("x", DType::F32, {1, 2, 2, 3});
  int w = g.add_const("w", zeros({3, 3, 3, 1}));
  g.outputs = {g.add_node(OpType::CONV2D, "c", {x, w, -1}, conv_attrs("VALID", 1))};
  EXPECT_FALSE(g.infer_shapes().ok());
}

TEST(ShapeInference, ReshapeFlattenSqueezeMeanConcat) {
  Graph g;
  int x = g.add_input("x", DType::F32, {-1, 4, 4, 8});
  Attrs flat;
  flat.set("shape", std::vector<int64_t>{0, -1});
  int f = g.add_node(OpType::RESHAPE, "flatten", {x}, flat);
  Attrs mean;
  mean.set("axes", std::vector<int64_t>{1, 2});
  mean.set("keepdims", int64_t{1});
  int m = g.add_node(OpType::MEAN, "mean", {x}, mean);
  Attrs sq;
  sq.set("axes", std::vector<int64_t>{1, 2});
  int s = g.add_node(OpType::SQUEEZE, "squeeze", {m}, sq);
  Attrs cat;
  cat.set("axis", int64_t{-1});
  int c = g.add_node(OpType::CONCAT, "cat", {x, x}, cat);
  g.outputs = {f, s, c};
  ASSERT_TRUE(g.infer_shapes().ok());
  EXPECT_EQ(g.values[f].shape, (Shape{-1, 128}));
  EXPECT_EQ(g.values[m].shape, (Shape{-1, 1, 1, 8}));
  EXPECT_EQ(g.values[s].shape, (Shape{-1, 8}));
  EXPECT_EQ(g.values[c].shape, (Shape{-1, 4, 4, 16}));
  // With a concrete batch the -1 in the reshape resolves.
  g.values[x].shape[0] = 2;
  ASSERT_TRUE(g.infer_shapes().ok());
  EXPECT_EQ(g.values[f].shape, (Shape{2, 128}));
}

TEST(ShapeInference, BadReshapeAndBroadcastAreErrors) {
  Graph g;
  int x = g.add_input("x", DType::F32, {2, 3, 5});
  Attrs r;
  r.set("shape", std::vector<int64_t>{7, -1});
  g.outputs = {g.add_node(OpType::RESHAPE, "r", {x}, r)};
  EXPECT_FALSE(g.infer_shapes().ok());

  Graph h;
  int a = h.add_input("a", DType::F32, {2, 3});
  int b = h.add_const("b", zeros({4}));
  h.outputs = {h.add_node(OpType::ADD, "add", {a, b}, Attrs())};
  Status st = h.infer_shapes();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("broadcast"), std::string::npos);
}

TEST(ShapeInference, BroadcastShapes) {
  Graph g;
  int a = g.add_input("a", DType::F32, {-1, 1, 3});
  int b = g.add_const("b", zeros({4, 1}));
  int y = g.add_node(OpType::MUL, "mul", {a, b}, Attrs());
  g.outputs = {y};
  ASSERT_TRUE(g.infer_shapes().ok());
  EXPECT_EQ(g.values[y].shape, (Shape{-1, 4, 3}));
}

TEST(GraphValidate, CatchesStructuralErrors) {
  {
    Graph g;  // no inputs
    g.add_const("c", zeros({1}));
    EXPECT_FALSE(g.validate().ok());
  }
  {
    Graph g;  // reads a value before it is computed
    int x = g.add_input("x", DType::F32, {1, 2});
    int later = g.add_value("later");
    Node n;
    n.op = OpType::RELU;
    n.name = "relu";
    n.inputs = {later};
    n.outputs = {g.add_value("y")};
    g.nodes.push_back(n);
    g.outputs = {n.outputs[0]};
    (void)x;
    Status st = g.validate();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("before it is computed"), std::string::npos);
  }
  {
    Graph g;  // id out of range
    int x = g.add_input("x", DType::F32, {1, 2});
    g.outputs = {g.add_node(OpType::ADD, "add", {x, 99}, Attrs())};
    EXPECT_FALSE(g.validate().ok());
  }
  {
    Graph g;  // output never computed
    g.add_input("x", DType::F32, {1, 2});
    g.outputs = {g.add_value("ghost")};
    EXPECT_FALSE(g.validate().ok());
  }
}

TEST(GraphPasses, RemoveDeadAndToposort) {
  Graph g;
  int x = g.add_input("x", DType::F32, {1, 4});
  g.add_const("unused_weight", zeros({100}));
  int dead = g.add_node(OpType::SIGMOID, "dead", {x}, Attrs());
  int y = g.add_node(OpType::RELU, "relu", {x}, Attrs());
  g.outputs = {y};
  (void)dead;
  g.remove_dead();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].name, "relu");
  EXPECT_EQ(g.find_value("unused_weight"), -1);
  EXPECT_TRUE(g.validate().ok());

  // Reverse the node order; toposort restores a valid order.
  Graph h;
  int a = h.add_input("a", DType::F32, {1, 4});
  int b = h.add_node(OpType::RELU, "first", {a}, Attrs());
  int c = h.add_node(OpType::TANH, "second", {b}, Attrs());
  h.outputs = {c};
  std::swap(h.nodes[0], h.nodes[1]);
  EXPECT_FALSE(h.validate().ok());
  ASSERT_TRUE(h.toposort().ok());
  EXPECT_TRUE(h.validate().ok());
  EXPECT_EQ(h.nodes[0].name, "first");
}

TEST(Attrs, TypedGettersConvertIntsAndFloats) {
  Attrs a;
  a.set("i", int64_t{3});
  a.set("f", 2.5);
  a.set("ints", std::vector<int64_t>{1, 2});
  EXPECT_EQ(a.get_int("i"), 3);
  EXPECT_EQ(a.get_float("i"), 3.0);
  EXPECT_EQ(a.get_int("f"), 2);
  EXPECT_EQ(a.get_floats("ints"), (std::vector<double>{1, 2}));
  EXPECT_EQ(a.get_int("missing", 7), 7);
  EXPECT_EQ(a.get_str("i", "dflt"), "dflt");  // wrong type -> default
}

}  // namespace
}  // namespace morsel
