// `--keep-weights compact` on TF.js models: uint8/uint16 weights stay qu8/qu16 (float16 ones f16)
// through import, the passes (BatchNorm folds into channel scales) and the file, and the model
// computes exactly what the f32 import computes, which matches TF.js's goldens.
#include <gtest/gtest.h>

#include <fstream>

#include "format/model.h"
#include "format/writer.h"
#include "graph/passes/passes.h"
#include "importers/tfjs/tfjs.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

using test::source_path;

TEST(TfjsCompactWeights, DecodeKeepsTheStoredIntegers) {
  // w_u8 [3] uint8, w_u16 [2] uint16, w_f16 [2] float16 "quantization", w_i32q [2] int32
  // uint8-quantized
  const std::vector<uint8_t> bytes = {0,    10,   255,  0xe8, 0x03, 0x01, 0x00,
                                      0x00, 0x38, 0x00, 0xc2, 3,    200};
  const std::string manifest = R"([{"paths": [], "weights": [
    {"name": "w_u8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1.0000001, "scale": 0.0123456789}},
    {"name": "w_u16", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "min": 2.0, "scale": 0.001}},
    {"name": "w_f16", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
    {"name": "w_i32q", "shape": [2], "dtype": "int32", "quantization": {"dtype": "uint8", "min": 0.0, "scale": 2.0}}
  ]}])";
  auto expanded = tfjs::decode_weights(manifest, bytes, /*keep_compact=*/false);
  auto compact = tfjs::decode_weights(manifest, bytes, /*keep_compact=*/true);
  ASSERT_TRUE(expanded.ok()) << expanded.status().to_string();
  ASSERT_TRUE(compact.ok()) << compact.status().to_string();
  const auto& e = expanded.value();
  const auto& c = compact.value();
  EXPECT_EQ(c.at("w_u8").dtype(), DType::QU8);
  EXPECT_EQ(c.at("w_u16").dtype(), DType::QU16);
  EXPECT_EQ(c.at("w_f16").dtype(), DType::F16);
  EXPECT_EQ(c.at("w_i32q").dtype(), DType::I32);  // integers are always decoded
  EXPECT_EQ(c.at("w_u8").data<uint8_t>()[2], 255);
  EXPECT_EQ(c.at("w_u16").data<uint16_t>()[0], 1000);
  ASSERT_NE(c.at("w_u8").affine(), nullptr);
  EXPECT_EQ(c.at("w_u8").affine()->scale, 0.0123456789);
  EXPECT_EQ(c.at("w_u8").affine()->offset, -1.0000001);
  for (const auto& [name, t] : e) {
    EXPECT_NE(t.dtype(), DType::QU8) << name;
    const Tensor back = tensor_to_f32(c.at(name));
    const Tensor want = tensor_to_f32(t);
    ASSERT_EQ(back.nbytes(), want.nbytes()) << name;
    EXPECT_EQ(std::memcmp(back.raw(), want.raw(), want.nbytes()), 0)
        << name << " differs from the f32 import";
  }
  // TF.js's decoding: float(q * scale + min) in double.
  EXPECT_EQ(tensor_to_f32(c.at("w_u8")).data<float>()[1],
            static_cast<float>(10 * 0.0123456789 + -1.0000001));
  EXPECT_EQ(c.at("w_i32q").data<int32_t>()[1], 400);
}

struct CompactCase {
  const char* fixture;
  int per_channel;  // kernels that take a folded BatchNorm as channel scales
  int f16;          // f16 tensors left (float16 sources)
};

void PrintTo(const CompactCase& c, std::ostream* os) {
  *os << c.fixture;
}

class TfjsCompactFixture : public ::testing::TestWithParam<CompactCase> {};

// Imports with and without compact weights, optimizes as `convert` does, writes and re-reads the
// file, runs both: the outputs must be the same bits, and TF.js's within 1e-4.
TEST_P(TfjsCompactFixture, SameOutputsAsTheF32Import) {
  const CompactCase cc = GetParam();
  const std::string dir = source_path(std::string("tests/data/tfjs/") + cc.fixture);
  auto input = test::read_npy(dir + "/input.npy");
  auto expected = test::read_npy(dir + "/expected.npy");
  ASSERT_TRUE(input.ok() && expected.ok()) << dir;
  std::vector<uint8_t> files[2];
  int64_t weight_bytes[2] = {};
  Tensor out[2];
  for (int compact = 0; compact < 2; compact++) {
    tfjs::ImportOptions o;
    o.keep_compact_weights = compact == 1;
    auto imp = tfjs::import_model(dir, o);
    ASSERT_TRUE(imp.ok()) << imp.status().to_string();
    Model m;
    m.graph = std::move(imp.value().graph);
    auto opt = passes::optimize_graph(m.graph);
    ASSERT_TRUE(opt.ok()) << opt.status().to_string();
    const passes::CompactWeightStats st = passes::compact_weight_stats(m.graph);
    if (compact) {
      EXPECT_EQ(st.per_channel, cc.per_channel) << cc.fixture;
      EXPECT_EQ(st.f16, cc.f16) << cc.fixture;
      EXPECT_GT(st.affine + st.f16, 0) << cc.fixture;
    } else {
      EXPECT_EQ(st.affine + st.f16, 0) << cc.fixture;
    }
    weight_bytes[compact] = m.graph.const_bytes();
    auto bytes = model_save_buffer(m);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    files[compact] = std::move(bytes.value());
    auto loaded = model_load_buffer(files[compact].data(), files[compact].size(), /*copy=*/false);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    auto sess = Session::create(std::make_shared<const Graph>(std::move(loaded.value().graph)));
    ASSERT_TRUE(sess.ok()) << sess.status().to_string();
    std::vector<Tensor> y;
    ASSERT_TRUE(sess.value()->run({input.value()}, &y).ok());
    out[compact] = y[0];
  }
  EXPECT_LT(weight_bytes[1], weight_bytes[0]) << cc.fixture;
  ASSERT_EQ(out[0].nbytes(), out[1].nbytes());
  EXPECT_EQ(test::max_abs_diff(out[0], out[1]), 0.0) << cc.fixture;
  EXPECT_EQ(std::memcmp(out[0].raw(), out[1].raw(), out[0].nbytes()), 0)
      << cc.fixture << ": not bit-exact";
  EXPECT_LE(test::max_abs_diff(out[1], expected.value()), 1e-4) << cc.fixture;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, TfjsCompactFixture,
    ::testing::Values(
        // conv + BN, depthwise + BN and 1x1 conv + BN fold into channel scales; the multiplier-2
        // depthwise + BN expands to f32 (its channels span two axes).
        CompactCase{"compact_u8", 3, 0}, CompactCase{"compact_u16", 3, 0},
        // f16 kernels cannot take channel scales: folding expands them (the rest stays f16).
        CompactCase{"compact_f16", 0, 4},
        // conv + relu before BN: nothing folds into a kernel.
        CompactCase{"weights_u8", 0, 0}, CompactCase{"weights_u16", 0, 0},
        // graph model: Mul/Sub scalars, Pad, fused convs and a MatMul, uint8.
        CompactCase{"graph_conv_u8", 0, 0}),
    [](const auto& info) { return std::string(info.param.fixture); });

}  // namespace
}  // namespace morsel
