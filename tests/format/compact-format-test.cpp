// Compact weights in the file (format 1.2): qu8/qu16 tensors and their affine records round-trip
// bit for bit, expand to the f32 values docs/model-format.md defines, run exactly like their f32
// expansion, and every corrupt record is a load error that names the tensor (never an abort).
#include <gtest/gtest.h>

#include <cmath>

#include "format-test-util.h"
#include "graph/passes/passes.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

using namespace morsel::test;

// Index of the tensor-table entry named `name` in a file's metadata.
size_t tensor_index(const json& meta, const std::string& name) {
  const json& ts = meta.at("tensors");
  for (size_t i = 0; i < ts.size(); i++)
    if (ts[i].at("name") == name) return i;
  ADD_FAILURE() << "no tensor " << name;
  return 0;
}

TEST(CompactFormat, RoundTripsBitForBitAsFormat12) {
  const Model m = make_compact_test_model();
  const std::vector<uint8_t> bytes = save_or_die(m);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(header_of(bytes).version_major, 1);
  EXPECT_EQ(header_of(bytes).version_minor, 2);  // a 1.1 reader meets dtype "qu8" and refuses
  const json meta = json::parse(metadata_text(bytes));
  const json& conv = meta.at("tensors")[tensor_index(meta, "conv/w")];
  EXPECT_EQ(conv.at("dtype"), "qu8");
  EXPECT_EQ(conv.at("nbytes"), 3 * 3 * 3 * 4);
  EXPECT_EQ(conv.at("affine").at("axis"), 3);
  const json& cs = meta.at("tensors")[conv.at("affine").at("channel_scale").get<size_t>()];
  EXPECT_EQ(cs.at("dtype"), "f32");
  EXPECT_EQ(cs.at("shape"), json::array({4}));
  const json& fc = meta.at("tensors")[tensor_index(meta, "fc/w")];
  EXPECT_EQ(fc.at("dtype"), "qu16");
  EXPECT_FALSE(fc.at("affine").contains("channel_scale"));

  Result<Model> r = model_load_buffer(bytes.data(), bytes.size(), /*copy=*/false);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_graph_eq(m.graph, r->graph);
  // Saving what was read gives the same bytes.
  EXPECT_EQ(save_or_die(r.value()), bytes);
}

TEST(CompactFormat, ExpandsByTheSpecFormula) {
  const Model m = make_compact_test_model();
  const Value& conv = m.graph.values[static_cast<size_t>(m.graph.find_value("conv/w"))];
  const Tensor f = tensor_to_f32(conv.data);
  ASSERT_EQ(f.dtype(), DType::F32);
  const AffineQuant& q = *conv.data.affine();
  for (int64_t i = 0; i < f.numel(); i++) {
    // value = float(q * scale + offset) (double math), times the f32 scale of channel i % 4.
    const float base = static_cast<float>(conv.data.data<uint8_t>()[i] * q.scale + q.offset);
    const float want = base * q.channel_scale[static_cast<size_t>(i % 4)];
    ASSERT_EQ(std::memcmp(&want, f.data<float>() + i, 4), 0) << i;
  }
  const Value& dw = m.graph.values[static_cast<size_t>(m.graph.find_value("dw/w"))];
  const Tensor g = tensor_to_f32(dw.data);  // [3,3,4,1], channel axis 2
  const AffineQuant& qd = *dw.data.affine();
  for (int64_t i = 0; i < g.numel(); i++) {
    const float want = static_cast<float>(dw.data.data<uint8_t>()[i] * qd.scale + qd.offset) *
                       qd.channel_scale[static_cast<size_t>(i % 4)];
    ASSERT_EQ(want, g.data<float>()[i]) << i;
  }
  const Value& fc = m.graph.values[static_cast<size_t>(m.graph.find_value("fc/w"))];
  const Tensor h = tensor_to_f32(fc.data);
  for (int64_t i = 0; i < h.numel(); i++)
    ASSERT_EQ(static_cast<float>(fc.data.data<uint16_t>()[i] * 3e-5 + -0.9), h.data<float>()[i])
        << i;
  // Tensors larger than the 2^bits levels expand through a table of the levels: same formula.
  for (DType dt : {DType::QU8, DType::QU16}) {
    const int64_t rows = dt == DType::QU8 ? 61 : 9400, cols = 7;  // past 256 / 65536 elements
    Tensor big(dt, {rows, cols});
    uint32_t x = 99;
    for (int64_t i = 0; i < big.numel(); i++) {
      x = x * 1664525u + 1013904223u;
      if (dt == DType::QU8)
        big.mut<uint8_t>()[i] = static_cast<uint8_t>(x >> 24);
      else
        big.mut<uint16_t>()[i] = static_cast<uint16_t>(x >> 16);
    }
    for (int axis : {-1, 0, 1}) {
      AffineQuant bq;
      bq.scale = 0.0123456789012345;
      bq.offset = -0.987654321;
      if (axis >= 0) {
        bq.axis = axis;
        for (int64_t c = 0; c < big.dim(axis); c++)
          bq.channel_scale.push_back(0.5f + 0.01f * static_cast<float>(c));
      }
      const Tensor b = big.with_affine(bq);
      const Tensor bf = tensor_to_f32(b);
      for (int64_t i = 0; i < b.numel(); i++) {
        const double qv = dt == DType::QU8 ? b.data<uint8_t>()[i] : b.data<uint16_t>()[i];
        float want = static_cast<float>(qv * bq.scale + bq.offset);
        if (axis == 0) want *= bq.channel_scale[static_cast<size_t>(i / cols)];
        if (axis == 1) want *= bq.channel_scale[static_cast<size_t>(i % cols)];
        ASSERT_EQ(std::memcmp(&want, bf.data<float>() + i, 4), 0)
            << dtype_name(dt) << " axis " << axis << " element " << i;
      }
    }
  }
  // A reshape keeps the channel axis where it survives, and expands where it does not.
  const Tensor r1 = conv.data.reshaped({9, 3, 4});
  ASSERT_NE(r1.affine(), nullptr);
  EXPECT_EQ(r1.affine()->axis, 2);
  EXPECT_EQ(std::memcmp(tensor_to_f32(r1).raw(), f.raw(), f.nbytes()), 0);
  const Tensor r2 = conv.data.reshaped({27, 2, 2});
  EXPECT_EQ(r2.dtype(), DType::F32);
  EXPECT_EQ(std::memcmp(r2.raw(), f.raw(), f.nbytes()), 0);
}

TEST(CompactFormat, RunsExactlyLikeItsF32Expansion) {
  const std::vector<uint8_t> bytes = save_or_die(make_compact_test_model());
  Result<Model> r = model_load_buffer(bytes.data(), bytes.size(), /*copy=*/true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Graph expanded = r->graph;
  EXPECT_EQ(passes::expand_compact_weights(expanded), 4);
  EXPECT_EQ(passes::compact_weight_stats(expanded).affine, 0);
  const passes::CompactWeightStats st = passes::compact_weight_stats(r->graph);
  EXPECT_EQ(st.affine, 4);
  EXPECT_EQ(st.per_channel, 2);
  const Tensor x = random_tensor({2, 6, 6, 3}, 5);
  for (bool reference : {false, true}) {
    SessionOptions so;
    so.reference_kernels = reference;
    so.threads = 1;
    auto a = Session::create(std::make_shared<Graph>(r->graph), so);
    auto b = Session::create(std::make_shared<Graph>(expanded), so);
    ASSERT_TRUE(a.ok() && b.ok());
    std::vector<Tensor> ya, yb;
    ASSERT_TRUE(a.value()->run({x}, &ya).ok());
    ASSERT_TRUE(b.value()->run({x}, &yb).ok());
    ASSERT_EQ(ya[0].nbytes(), yb[0].nbytes());
    EXPECT_EQ(std::memcmp(ya[0].raw(), yb[0].raw(), ya[0].nbytes()), 0)
        << "reference " << reference;
  }
}

TEST(CompactFormat, WriterRefusesABadRecord) {
  Model m = make_compact_test_model();
  Value& v = m.graph.values[static_cast<size_t>(m.graph.find_value("conv/w"))];
  AffineQuant q = *v.data.affine();
  q.channel_scale.pop_back();  // 3 scales for 4 channels
  v.data = v.data.with_affine(q);
  Result<std::vector<uint8_t>> r = model_save_buffer(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status().message().find("3 channel scales"), std::string::npos)
      << r.status().to_string();
}

struct Corruption {
  const char* what;
  std::function<void(json&)> edit;
  const char* message;  // a substring of the error
};

TEST(CompactFormat, CorruptRecordsAreClearErrors) {
  const std::vector<uint8_t> good = save_or_die(make_compact_test_model());
  const json meta = json::parse(metadata_text(good));
  const size_t conv = tensor_index(meta, "conv/w"), fc = tensor_index(meta, "fc/w");
  const size_t cs = tensor_index(meta, "conv/w/channel_scale");
  auto conv_affine = [conv](json& j) -> json& { return j["tensors"][conv]["affine"]; };
  const std::vector<Corruption> cases = {
      {"channel scale count",
       [&](json& j) {
         j["tensors"][cs]["shape"] = {3};
         j["tensors"][cs]["nbytes"] = 12;
       },
       "axis 3 of shape [3,3,3,4] wants f32 [4]"},
      {"axis past the rank", [&](json& j) { conv_affine(j)["axis"] = 4; },
       "affine axis 4 is not an axis"},
      {"negative axis", [&](json& j) { conv_affine(j)["axis"] = -1; },
       "affine axis -1 is not an axis"},
      {"axis without scales", [&](json& j) { conv_affine(j).erase("channel_scale"); },
       "needs both \"axis\" and \"channel_scale\""},
      {"scales index out of range", [&](json& j) { conv_affine(j)["channel_scale"] = 999; },
       "channel_scale 999 is not a tensor index"},
      {"scales are not f32", [&](json& j) { conv_affine(j)["channel_scale"] = conv; },
       "wants f32 [4]"},
      {"truncated data", [&](json& j) { j["tensors"][conv]["nbytes"] = 3 * 3 * 3 * 4 - 1; },
       "107 bytes stored, but shape [3,3,3,4] of qu8 needs 108 bytes"},
      {"qu16 data of a qu8 size", [&](json& j) { j["tensors"][fc]["nbytes"] = 20; },
       "of qu16 needs 40 bytes"},
      {"no affine record", [&](json& j) { j["tensors"][fc].erase("affine"); },
       "has no \"affine\" record"},
      {"affine on f32",
       [&](json& j) {
         j["tensors"][cs]["affine"] = {{"scale", 1.0}, {"offset", 0.0}};
       },
       "only qu8 and qu16 tensors do"},
      {"scale not finite", [&](json& j) { j["tensors"][fc]["affine"]["scale"] = "nan"; },
       "must be finite"},
      {"offset missing", [&](json& j) { j["tensors"][fc]["affine"].erase("offset"); }, "offset"},
      {"scale not a number", [&](json& j) { j["tensors"][fc]["affine"]["scale"] = json::array(); },
       "scale"},
      {"affine not an object", [&](json& j) { j["tensors"][fc]["affine"] = 3; },
       "affine must be an object"},
      {"value/tensor dtype mismatch", [&](json& j) { j["tensors"][conv]["dtype"] = "u8"; },
       "has \"affine\" but dtype u8"},
  };
  for (const Corruption& c : cases) {
    const std::vector<uint8_t> bad = with_metadata(good, c.edit);
    const Status st = load_status(bad);
    ASSERT_FALSE(st.ok()) << c.what << " was accepted";
    EXPECT_EQ(st.code(), StatusCode::INVALID_MODEL) << c.what << ": " << st.to_string();
    EXPECT_NE(st.message().find(c.message), std::string::npos) << c.what << ": " << st.to_string();
  }

  // A non-finite channel scale in the data section (checksum resealed).
  {
    std::vector<uint8_t> bad = good;
    const format_detail::FileHeader h = header_of(bad);
    const size_t at =
        static_cast<size_t>(h.data_offset + meta["tensors"][cs]["offset"].get<uint64_t>());
    const float inf = INFINITY;
    std::memcpy(bad.data() + at + 4, &inf, 4);
    reseal(bad);
    const Status st = load_status(bad);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), StatusCode::INVALID_MODEL);
    EXPECT_NE(st.message().find("channel scale 1 is not finite"), std::string::npos)
        << st.to_string();
  }
  // A dtype this build does not know is UNSUPPORTED, as a 1.1 reader treats "qu8".
  {
    const Status st =
        load_status(with_metadata(good, [&](json& j) { j["tensors"][conv]["dtype"] = "qu4"; }));
    EXPECT_EQ(st.code(), StatusCode::UNSUPPORTED) << st.to_string();
  }
}

TEST(CompactFormat, EveryTruncationIsRejected) {
  const std::vector<uint8_t> good = save_or_die(make_compact_test_model());
  for (size_t n = 0; n < good.size(); n += 7) {
    const std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(n));
    const Status st = load_status(b);
    ASSERT_FALSE(st.ok()) << n;
    ASSERT_EQ(st.code(), StatusCode::INVALID_MODEL) << n << ": " << st.to_string();
  }
}

}  // namespace
}  // namespace morsel
