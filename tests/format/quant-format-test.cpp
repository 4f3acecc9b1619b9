// Quantized models through the file format: fp16 and int8 (dynamic and calibrated) models are
// written, read back bit for bit and run close to the f32 model; corrupt quantization parameters
// in a file are load errors that name the node.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/fp16.h"
#include "format-test-util.h"
#include "quant/quantize.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

// input [N,12,12,3] -> conv 3x3/2 (relu6) -> depthwise 3x3 -> conv 1x1 -> mean -> dense -> softmax
Model small_cnn() {
  Model m;
  Graph& g = m.graph;
  const int x = g.add_input("x", DType::F32, {-1, 12, 12, 3});
  auto conv = [&](int in, const std::string& name, Shape w, OpType op, int64_t stride, const std::string& act) {
    const int wi = g.add_const(name + "/w", test::random_tensor(w, static_cast<uint32_t>(w[3] * 7 + w[2]), -0.5f, 0.5f));
    const int64_t co = op == OpType::DEPTHWISE_CONV2D ? w[2] * w[3] : w[3];
    const int bi = g.add_const(name + "/b", test::random_tensor({co}, 3, -0.1f, 0.1f));
    Attrs a;
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("padding", std::string("SAME"));
    a.set("act", act);
    return g.add_node(op, name, {in, wi, bi}, a);
  };
  int y = conv(x, "c1", {3, 3, 3, 16}, OpType::CONV2D, 2, "relu6");
  y = conv(y, "dw", {3, 3, 16, 1}, OpType::DEPTHWISE_CONV2D, 1, "relu6");
  y = conv(y, "c2", {1, 1, 16, 64}, OpType::CONV2D, 1, "none");
  Attrs ma;
  ma.set("axes", std::vector<int64_t>{1, 2});
  ma.set("keepdims", int64_t{0});
  y = g.add_node(OpType::MEAN, "gap", {y}, ma);
  const int dw = g.add_const("fc/w", test::random_tensor({64, 5}, 9, -0.3f, 0.3f));
  Attrs da;
  da.set("act", std::string("none"));
  y = g.add_node(OpType::DENSE, "fc", {y, dw}, da);
  Attrs sa;
  sa.set("axis", int64_t{-1});
  g.outputs.push_back(g.add_node(OpType::SOFTMAX, "probs", {y}, sa));
  EXPECT_TRUE(g.infer_shapes().ok());
  m.meta.name = "small";
  m.meta.provenance.created = "2024-05-01T12:00:00Z";
  return m;
}

Tensor run(const Model& m, const Tensor& x) {
  auto s = Session::create(std::make_shared<Graph>(m.graph));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  std::vector<Tensor> out;
  EXPECT_TRUE(s.value()->run({x}, &out).ok());
  return out[0];
}

Model reload(const Model& m) {
  auto bytes = model_save_buffer(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto loaded = model_load_buffer(bytes.value().data(), bytes.value().size(), /*copy=*/true);
  EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
  return std::move(loaded.value());
}

TEST(QuantFormat, Fp16RoundTripHalvesTheWeights) {
  Model f32 = small_cnn();
  Model h = small_cnn();
  EXPECT_EQ(quant::quantize_fp16(h.graph, 0), 7);  // 4 weights + 3 biases
  h.meta.provenance.quantization = "fp16";
  Model back = reload(h);
  test::expect_graph_eq(h.graph, back.graph);
  EXPECT_EQ(back.meta.provenance.quantization, "fp16");
  for (size_t i = 0; i < f32.graph.values.size(); i++) {
    const Value& a = f32.graph.values[i];
    if (!a.is_const()) continue;
    const Value& b = back.graph.values[i];
    ASSERT_EQ(b.dtype, DType::F16) << a.name;
    for (int64_t k = 0; k < a.data.numel(); k++)
      ASSERT_EQ(b.data.data<uint16_t>()[k], f32_to_fp16(a.data.data<float>()[k])) << a.name << "[" << k << "]";
  }
  EXPECT_LE(back.graph.const_bytes() * 100, f32.graph.const_bytes() * 51);
  Tensor x = test::random_tensor({2, 12, 12, 3}, 5, 0, 1);
  EXPECT_LT(test::max_abs_diff(run(f32, x), run(back, x)), 1e-3);
}

TEST(QuantFormat, Fp16KeepsSmallTensorsF32ByDefault) {
  Model h = small_cnn();
  int64_t small = 0, large = 0;
  for (const Value& v : h.graph.values)
    if (v.is_const()) (v.data.numel() < quant::kFp16MinElements ? small : large)++;
  ASSERT_GT(small, 0);
  EXPECT_EQ(quant::quantize_fp16(h.graph), large);
  for (const Value& v : h.graph.values)
    if (v.is_const())
      EXPECT_EQ(v.dtype, v.data.numel() < quant::kFp16MinElements ? DType::F32 : DType::F16) << v.name;
}

// Calibrated fp16: every weight is one of the two fp16 values around it, the layers' output
// error energy on the samples is below round-to-nearest's, and so is the model's output error.
TEST(QuantFormat, Fp16CalibratedRoundingBeatsNearestOnTheSamples) {
  Model f32 = small_cnn(), nearest = small_cnn(), tuned = small_cnn();
  std::vector<Tensor> cal;
  for (uint32_t i = 0; i < 12; i++) cal.push_back(test::random_tensor({1, 12, 12, 3}, 100 + i, 0, 1));
  EXPECT_EQ(quant::quantize_fp16(nearest.graph, 0), 7);
  auto r = quant::quantize_fp16_calibrated(tuned.graph, cal, 0);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().tuned, 4);  // c1, dw, c2, fc
  EXPECT_EQ(r.value().converted, 7);
  EXPECT_GT(r.value().error_nearest, 0);
  EXPECT_LT(r.value().error_chosen, 0.8 * r.value().error_nearest);
  EXPECT_LE(r.value().worst_layer_ratio, 1.0);
  int moved = 0;
  for (size_t i = 0; i < f32.graph.values.size(); i++) {
    const Value& a = f32.graph.values[i];
    if (!a.is_const()) continue;
    const Value& b = tuned.graph.values[i];
    ASSERT_EQ(b.dtype, DType::F16) << a.name;
    for (int64_t k = 0; k < a.data.numel(); k++) {
      const float w = a.data.data<float>()[k];
      const uint16_t q = b.data.data<uint16_t>()[k], n = f32_to_fp16(w);
      if (q == n) continue;
      moved++;
      // The other neighbour: same sign, one step away, on the other side of w.
      ASSERT_EQ(q & 0x8000, n & 0x8000) << a.name << "[" << k << "]";
      ASSERT_EQ(std::abs(static_cast<int>(q) - static_cast<int>(n)), 1) << a.name << "[" << k << "]";
      ASSERT_LT((fp16_to_f32(q) - w) * (fp16_to_f32(n) - w), 0.f) << a.name << "[" << k << "]";
    }
  }
  EXPECT_GT(moved, 0);
  Model back = reload(tuned);
  double e_nearest = 0, e_tuned = 0;
  for (const Tensor& x : cal) {
    const Tensor y = run(f32, x), yn = run(nearest, x), yt = run(back, x);
    for (int64_t k = 0; k < y.numel(); k++) {
      e_nearest += std::pow(double(yn.data<float>()[k]) - y.data<float>()[k], 2);
      e_tuned += std::pow(double(yt.data<float>()[k]) - y.data<float>()[k], 2);
    }
  }
  EXPECT_LT(e_tuned, e_nearest);
  EXPECT_FALSE(quant::quantize_fp16_calibrated(tuned.graph, {}, 0).ok());
}

TEST(QuantFormat, Int8DynamicAndCalibratedRoundTrip) {
  Model f32 = small_cnn();
  std::vector<Tensor> calib;
  for (uint32_t i = 0; i < 6; i++) calib.push_back(test::random_tensor({1, 12, 12, 3}, 100 + i, 0, 1));
  for (bool dynamic : {true, false}) {
    Model q = small_cnn();
    quant::Int8Options o;
    o.dynamic = dynamic;
    o.calibration = calib;
    auto rep = quant::quantize_int8(q.graph, o);
    ASSERT_TRUE(rep.ok()) << rep.status().to_string();
    ASSERT_EQ(rep.value().size(), 4u);  // c1, dw, c2, fc
    int int8_ops = 0;
    for (const Node& n : q.graph.nodes) {
      if (n.op == OpType::QCONV2D || n.op == OpType::QDEPTHWISE_CONV2D || n.op == OpType::QDENSE) {
        int8_ops++;
        EXPECT_EQ(n.attrs.has("x_scale"), !dynamic) << n.name;
        EXPECT_TRUE(n.attrs.has("q_error")) << n.name;
        EXPECT_EQ(q.graph.values[static_cast<size_t>(n.inputs[1])].dtype, DType::I8);
      }
    }
    EXPECT_EQ(int8_ops, 4);
    for (const auto& r : rep.value()) EXPECT_LT(r.error, 0.05) << r.node;
    q.meta.provenance.quantization = "int8";
    Model back = reload(q);
    test::expect_graph_eq(q.graph, back.graph);
    // 1 byte per weight plus an f32 scale and bias per output channel: 34% in this tiny model
    // (MobileNetV2: 27%, tests/parity/quant-nsfwjs-test.cpp).
    EXPECT_LE(back.graph.const_bytes() * 100, f32.graph.const_bytes() * 35);
    Tensor x = test::random_tensor({1, 12, 12, 3}, 77, 0, 1);
    EXPECT_LT(test::max_abs_diff(run(f32, x), run(back, x)), 0.02) << (dynamic ? "dynamic" : "static");
  }
}

TEST(QuantFormat, LayersOverTheErrorLimitStayF32) {
  Model q = small_cnn();
  quant::Int8Options o;
  o.calibration.push_back(test::random_tensor({1, 12, 12, 3}, 1, 0, 1));
  o.max_layer_error = 1e-9;  // nothing is that exact
  auto rep = quant::quantize_int8(q.graph, o);
  ASSERT_TRUE(rep.ok()) << rep.status().to_string();
  for (const auto& r : rep.value()) {
    EXPECT_FALSE(r.int8) << r.node;
    EXPECT_GT(r.error, 0) << r.node;
  }
  for (const Node& n : q.graph.nodes) {
    EXPECT_NE(n.op, OpType::QCONV2D);
    if (n.op == OpType::CONV2D) {
      EXPECT_GT(n.attrs.get_float("q_error", -1), 0) << n.name;
    }
  }
  // Static quantization without calibration inputs is an error, not a guess.
  Model s = small_cnn();
  EXPECT_FALSE(quant::quantize_int8(s.graph, quant::Int8Options{}).ok());
}

TEST(QuantFormat, CorruptQuantParametersAreLoadErrors) {
  Model q = small_cnn();
  quant::Int8Options o;
  o.dynamic = true;
  ASSERT_TRUE(quant::quantize_int8(q.graph, o).ok());
  const std::vector<uint8_t> good = test::save_or_die(q);
  ASSERT_TRUE(test::load_status(good).ok());
  auto node_index = [&](const test::json& j, const char* op) {
    const auto& nodes = j["graph"]["nodes"];
    for (size_t i = 0; i < nodes.size(); i++)
      if (nodes[i]["op"] == op) return i;
    return nodes.size();
  };
  auto expect_error = [&](const std::vector<uint8_t>& b, const std::string& part) {
    Status st = test::load_status(b);
    ASSERT_FALSE(st.ok()) << "accepted: " << part;
    EXPECT_EQ(st.code(), StatusCode::INVALID_MODEL) << st.to_string();
    EXPECT_NE(st.message().find(part), std::string::npos) << st.message();
  };
  expect_error(test::with_metadata(good, [&](test::json& j) {
                 j["graph"]["nodes"][node_index(j, "QConv2D")]["attrs"]["x_scale"] = {{"f", -0.5}};
               }),
               "x_scale");
  expect_error(test::with_metadata(good, [&](test::json& j) {
                 auto& a = j["graph"]["nodes"][node_index(j, "QDense")]["attrs"];
                 a["x_scale"] = {{"f", 0.1}};
                 a["x_zero"] = {{"i", 256}};
               }),
               "x_zero");
  expect_error(test::with_metadata(good, [&](test::json& j) {
                 j["graph"]["nodes"][node_index(j, "QConv2D")]["inputs"].erase(3);
               }),
               "expects 4 inputs");
  // A w_scale tensor with a negative value in the data section (f16 or f32, as written).
  std::vector<uint8_t> bad = good;
  const test::json meta = test::json::parse(test::metadata_text(good));
  const auto h = test::header_of(good);
  bool patched = false;
  for (const auto& t : meta["tensors"]) {
    if (t["name"].get<std::string>() == "c2/w_scale") {
      uint8_t* at = bad.data() + h.data_offset + t["offset"].get<uint64_t>();
      if (t["dtype"] == "f16") {
        const uint16_t neg = 0xbc00;  // -1.0
        std::memcpy(at + 2 * 5, &neg, 2);
      } else {
        const float neg = -1.f;
        std::memcpy(at + 4 * 5, &neg, 4);
      }
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  test::reseal(bad);
  expect_error(bad, "w_scale[5]");
}

// Mutated int8 files (resealed byte flips anywhere, JSON numbers changed): each either fails to
// load with a Status, or loads and then creates and runs a session without crashing (the asan
// preset runs this too).
TEST(QuantFormat, MutatedInt8FilesLoadOrFailCleanly) {
  Model q = small_cnn();
  quant::Int8Options o;
  o.calibration.push_back(test::random_tensor({1, 12, 12, 3}, 1, 0, 1));
  ASSERT_TRUE(quant::quantize_int8(q.graph, o).ok());
  const std::vector<uint8_t> good = test::save_or_die(q);
  const std::string text = test::metadata_text(good);
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const Tensor x = test::random_tensor({1, 12, 12, 3}, 3, 0, 1);
  int loaded = 0, ran = 0;
  for (int iter = 0; iter < 600; iter++) {
    std::vector<uint8_t> b;
    if (iter % 2) {
      b = good;
      const auto h = test::header_of(b);
      for (int i = 0; i < 4; i++)  // mostly in the data section: scales, weights
        b[h.data_offset + pick(h.data_size)] ^= static_cast<uint8_t>(1 + pick(255));
      test::reseal(b);
    } else {
      std::string t = text;
      for (int i = 0; i < 3; i++) {
        const size_t at = pick(t.size());
        if (t[at] >= '0' && t[at] <= '9') t[at] = "0123456789-."[pick(12)];
      }
      b = test::with_metadata_text(good, t);
    }
    Result<Model> r = model_load_buffer(b.data(), b.size(), /*copy=*/true);
    if (!r.ok()) {
      ASSERT_FALSE(r.status().message().empty());
      continue;
    }
    loaded++;
    auto s = Session::create(std::make_shared<Graph>(r.value().graph));
    if (!s.ok()) continue;
    std::vector<Tensor> out;
    if (s.value()->run({x}, &out).ok()) ran++;
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace morsel
