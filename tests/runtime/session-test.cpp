// Session tests: batch > 1 equals per-image runs, re-prepare on a new batch, per-op profile,
// input validation; Classifier top-k ordering.
#include <gtest/gtest.h>

#include "runtime/classifier.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

// conv3x3(SAME, relu6) -> depthwise -> mean(H,W) -> dense -> softmax, random weights.
std::shared_ptr<const Graph> small_classifier_graph() {
  auto g = std::make_shared<Graph>();
  int x = g->add_input("image", DType::F32, {-1, 8, 8, 3});
  Attrs c;
  c.set("padding", std::string("SAME"));
  c.set("strides", std::vector<int64_t>{2, 2});
  c.set("act", std::string("relu6"));
  int y = g->add_node(OpType::CONV2D, "conv", {x, g->add_const("w1", test::random_tensor({3, 3, 3, 4}, 1)),
                                               g->add_const("b1", test::random_tensor({4}, 2))}, c);
  Attrs d;
  d.set("padding", std::string("SAME"));
  y = g->add_node(OpType::DEPTHWISE_CONV2D, "dw", {y, g->add_const("w2", test::random_tensor({3, 3, 4, 1}, 3)), -1}, d);
  Attrs m;
  m.set("axes", std::vector<int64_t>{1, 2});
  y = g->add_node(OpType::MEAN, "pool", {y}, m);
  y = g->add_node(OpType::DENSE, "fc", {y, g->add_const("w3", test::random_tensor({4, 5}, 4)),
                                         g->add_const("b3", test::random_tensor({5}, 5))}, Attrs());
  Attrs s;
  s.set("axis", int64_t{-1});
  y = g->add_node(OpType::SOFTMAX, "softmax", {y}, s);
  g->outputs = {y};
  return g;
}

TEST(Session, BatchEqualsSingleRuns) {
  auto g = small_classifier_graph();
  auto s = Session::create(g);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  Tensor batch = test::random_tensor({3, 8, 8, 3}, 42, 0, 1);
  std::vector<Tensor> out;
  ASSERT_TRUE(s.value()->run({batch}, &out).ok());
  ASSERT_EQ(out[0].shape(), (Shape{3, 5}));
  EXPECT_EQ(s.value()->batch(), 3);
  for (int i = 0; i < 3; i++) {
    Tensor one(DType::F32, {1, 8, 8, 3});
    std::memcpy(one.raw_mut(), batch.data<float>() + i * 192, 192 * sizeof(float));
    std::vector<Tensor> o1;
    ASSERT_TRUE(s.value()->run({one}, &o1).ok());
    float sum = 0;
    for (int j = 0; j < 5; j++) {
      EXPECT_FLOAT_EQ(o1[0].data<float>()[j], out[0].data<float>()[i * 5 + j]);
      sum += o1[0].data<float>()[j];
    }
    EXPECT_NEAR(sum, 1.0f, 1e-5);
  }
}

// input_tensor(): the session's input storage. Written in place it gives the same outputs as a
// separate tensor; run() reads it where it is (changing it changes the next run's output
// without another call); after a prepare for another batch a stale one is still read right.
TEST(Session, InputTensorIsReadInPlace) {
  auto g = small_classifier_graph();
  auto s = Session::create(g);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  Session& session = *s.value();
  EXPECT_TRUE(session.input_tensor(0).empty());  // before prepare
  ASSERT_TRUE(session.prepare(1).ok());
  EXPECT_TRUE(session.input_tensor(1).empty());  // no second input
  const Tensor a = test::random_tensor({1, 8, 8, 3}, 61, 0, 1);
  const Tensor b = test::random_tensor({1, 8, 8, 3}, 62, 0, 1);
  std::vector<Tensor> want_a, want_b, got;
  ASSERT_TRUE(session.run({a}, &want_a).ok());
  ASSERT_TRUE(session.run({b}, &want_b).ok());
  Tensor in = session.input_tensor(0);
  ASSERT_EQ(in.shape(), (Shape{1, 8, 8, 3}));
  std::memcpy(in.raw_mut(), a.raw(), a.nbytes());
  ASSERT_TRUE(session.run({in}, &got).ok());
  EXPECT_EQ(test::max_abs_diff(got[0], want_a[0]), 0.0);
  // The storage run() reads: writing b into it changes what the next run sees.
  Tensor again = session.input_tensor(0);
  std::memcpy(again.raw_mut(), b.raw(), b.nbytes());
  ASSERT_TRUE(session.run({in}, &got).ok());
  EXPECT_EQ(test::max_abs_diff(got[0], want_b[0]), 0.0);
  // Another batch replaces the storage; the old tensor is then copied like any other.
  Tensor two = test::random_tensor({2, 8, 8, 3}, 63, 0, 1);
  ASSERT_TRUE(session.run({two}, &got).ok());
  ASSERT_TRUE(session.run({in}, &got).ok());
  EXPECT_EQ(test::max_abs_diff(got[0], want_b[0]), 0.0);
}

// A second session with share_packed_from holds the first one's packed weights (the same
// objects, none of its own) and computes the same outputs at another batch size.
TEST(Session, SharesPackedWeightsWithAnotherSession) {
  auto g = small_classifier_graph();
  auto a = Session::create(g);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(a.value()->prepare(1).ok());
  ASSERT_GT(a.value()->packed_weight_bytes(), 0);
  SessionOptions o;
  o.share_packed_from = a.value().get();
  auto b = Session::create(g, o);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  Tensor batch = test::random_tensor({2, 8, 8, 3}, 43, 0, 1);
  std::vector<Tensor> from_b, from_a;
  ASSERT_TRUE(b.value()->run({batch}, &from_b).ok());
  EXPECT_EQ(b.value()->packed_bytes_shared_with(*a.value()), b.value()->packed_weight_bytes());
  EXPECT_EQ(b.value()->packed_weight_bytes(), a.value()->packed_weight_bytes());
  ASSERT_TRUE(a.value()->run({batch}, &from_a).ok());
  ASSERT_EQ(from_a[0].numel(), from_b[0].numel());
  for (int64_t i = 0; i < from_a[0].numel(); i++)
    EXPECT_FLOAT_EQ(from_a[0].data<float>()[i], from_b[0].data<float>()[i]);
  // Without the option, nothing is shared.
  auto c = Session::create(g);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.value()->prepare(1).ok());
  EXPECT_EQ(c.value()->packed_bytes_shared_with(*a.value()), 0);
}

TEST(Session, RejectsWrongInputs) {
  auto s = Session::create(small_classifier_graph());
  ASSERT_TRUE(s.ok());
  std::vector<Tensor> out;
  EXPECT_FALSE(s.value()->run({Tensor(DType::F32, {1, 9, 8, 3})}, &out).ok());
  EXPECT_FALSE(s.value()->run({Tensor(DType::I32, {1, 8, 8, 3})}, &out).ok());
  EXPECT_FALSE(s.value()->run({}, &out).ok());
  EXPECT_FALSE(s.value()->prepare(0).ok());
  // Still healthy afterwards.
  EXPECT_TRUE(s.value()->run({Tensor(DType::F32, {1, 8, 8, 3})}, &out).ok());
}

TEST(Session, ProfileRecordsEveryNode) {
  SessionOptions o;
  o.profile = true;
  auto s = Session::create(small_classifier_graph(), o);
  ASSERT_TRUE(s.ok());
  std::vector<Tensor> out;
  for (int i = 0; i < 2; i++) ASSERT_TRUE(s.value()->run({Tensor(DType::F32, {1, 8, 8, 3})}, &out).ok());
  auto prof = s.value()->profile();
  ASSERT_EQ(prof.size(), 5u);
  EXPECT_EQ(prof[0].node, "conv");
  EXPECT_EQ(prof[0].op, "Conv2D");
  EXPECT_EQ(prof[0].out_shape, (Shape{1, 4, 4, 4}));
  for (const auto& p : prof) {
    EXPECT_EQ(p.calls, 2);
    EXPECT_GE(p.total_ms, 0.0);
  }
}

TEST(Session, CreateRejectsInvalidGraphs) {
  auto g = std::make_shared<Graph>();
  int x = g->add_input("x", DType::F32, {-1, 4, 4, 3});
  g->outputs = {g->add_node(OpType::CONV2D, "bad", {x, g->add_const("w", Tensor(DType::F32, {3, 3, 5, 2})), -1}, Attrs())};
  auto s = Session::create(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("bad"), std::string::npos);
}

TEST(Classifier, TopKOrdersByScoreThenIndex) {
  const float scores[] = {0.1f, 0.4f, 0.1f, 0.4f, 0.0f};
  auto p = top_k(scores, 5, 3, {"a", "b", "c", "d", "e"});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].index, 1);
  EXPECT_EQ(p[1].index, 3);
  EXPECT_EQ(p[2].index, 0);
  EXPECT_EQ(p[2].label, "a");
  auto q = top_k(scores, 5, 10, {});
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q[4].label, "class_4");
}

}  // namespace
}  // namespace morsel

namespace morsel {
namespace {

TEST(Session, MicroBatchesEqualOneRun) {
  auto g = small_classifier_graph();
  Tensor batch = test::random_tensor({6, 8, 8, 3}, 7, 0, 1);
  auto whole = Session::create(g);
  ASSERT_TRUE(whole.ok());
  std::vector<Tensor> want;
  ASSERT_TRUE(whole.value()->run({batch}, &want).ok());
  for (int64_t cache : {int64_t{1}, int64_t{3000}, int64_t{6000}, int64_t{1} << 30}) {
    auto s = Session::create(g);
    ASSERT_TRUE(s.ok());
    Tensor got;
    ASSERT_TRUE(run_micro_batched(*s.value(), batch, &got, cache).ok());
    ASSERT_EQ(got.shape(), (Shape{6, 5}));
    EXPECT_LE(test::max_abs_diff(got, want[0]), 1e-6) << "cache " << cache;
    // The last run's batch is the micro-batch: a divisor of 6 whose arena fits (1 when nothing fits).
    const int64_t b = s.value()->batch();
    EXPECT_EQ(6 % b, 0);
    if (cache == 1) {
      EXPECT_EQ(b, 1);
    }
    if (cache == (int64_t{1} << 30)) {
      EXPECT_EQ(b, 6);
    }
    // Later calls with the same batch reuse the plan: no prepare per call (a server worker runs
    // the same batch size over and over).
    const int64_t prepares = s.value()->prepare_count();
    for (int i = 0; i < 3; i++) ASSERT_TRUE(run_micro_batched(*s.value(), batch, &got, cache).ok());
    EXPECT_EQ(s.value()->prepare_count(), prepares) << "cache " << cache;
    EXPECT_LE(test::max_abs_diff(got, want[0]), 1e-6) << "cache " << cache;
  }
}

}  // namespace
}  // namespace morsel
