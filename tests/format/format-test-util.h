// Helpers for the .morsel format tests: a small model that uses every dtype and attribute
// kind, exact graph comparison, and surgery on a valid file's bytes (patch the header, edit the
// metadata JSON, re-seal the checksum) to reach each of the reader's checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/lz4.h"
#include "format/model.h"
#include "format/writer.h"

namespace morsel::test {

using json = nlohmann::json;

template <typename T>
inline Tensor make_tensor(DType dt, Shape shape, uint32_t seed) {
  Tensor t(dt, std::move(shape));
  uint32_t x = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < t.numel(); i++) {
    x = x * 1664525u + 1013904223u;
    T v;
    if constexpr (std::is_same_v<T, float>) {
      v = static_cast<float>(static_cast<int32_t>(x >> 8)) / 65536.f;
    } else {
      v = static_cast<T>(x >> 13);
    }
    t.mut<T>()[i] = v;
  }
  return t;
}

// x[-1,4,4,3] -> Conv2D(w f32) -> Mean -> Dense(w2 f32, b2 f16) -> Softmax -> Identity(+ i8/u8/i32
// constants) -> probs[-1,5]. Shapes are set by hand (the format does not infer them).
inline Model make_test_model() {
  Model m;
  Graph& g = m.graph;
  const int x = g.add_input("x", DType::F32, {-1, 4, 4, 3});
  const int w = g.add_const("conv/w", make_tensor<float>(DType::F32, {1, 1, 3, 4}, 1));
  Attrs ca;
  ca.set("strides", std::vector<int64_t>{1, 1});
  ca.set("dilations", std::vector<int64_t>{1, 1});
  ca.set("padding", std::string("SAME"));
  ca.set("groups", int64_t{1});
  ca.set("act", std::string("relu6"));
  ca.set("act_min", 0.0);
  ca.set("act_max", 6.0);
  ca.set("big", int64_t{INT64_MIN});
  ca.set("big2", int64_t{INT64_MAX});
  ca.set("tenth", 0.1);
  ca.set("neg_zero", -0.0);
  ca.set("tiny", 4.9406564584124654e-324);  // smallest subnormal
  ca.set("huge", 1.7976931348623157e308);
  ca.set("inf", std::numeric_limits<double>::infinity());
  ca.set("nan", std::numeric_limits<double>::quiet_NaN());
  ca.set("empty_ints", std::vector<int64_t>{});
  ca.set("empty_floats", std::vector<double>{});
  ca.set("floats", std::vector<double>{0.1, -2.5, 1e-310, -std::numeric_limits<double>::infinity(),
                                       3.0, 1.0 / 3.0});
  ca.set("unicode", std::string("caf\xc3\xa9 \xe2\x86\x92 \"quoted\"\n"));
  const int conv = g.add_node(OpType::CONV2D, "conv", {x, w, -1}, ca, "conv:0");
  g.values[static_cast<size_t>(conv)].shape = {-1, 4, 4, 4};
  Attrs ma;
  ma.set("axes", std::vector<int64_t>{1, 2});
  ma.set("keepdims", int64_t{0});
  const int mean = g.add_node(OpType::MEAN, "gap", {conv}, ma);
  g.values[static_cast<size_t>(mean)].shape = {-1, 4};
  const int w2 = g.add_const("fc/w", make_tensor<float>(DType::F32, {4, 5}, 2));
  const int b2 = g.add_const("fc/b", make_tensor<uint16_t>(DType::F16, {5}, 3));
  const int fc = g.add_node(OpType::DENSE, "fc", {mean, w2, b2}, Attrs());
  g.values[static_cast<size_t>(fc)].shape = {-1, 5};
  Attrs sa;
  sa.set("axis", int64_t{-1});
  const int sm = g.add_node(OpType::SOFTMAX, "softmax", {fc}, sa);
  g.values[static_cast<size_t>(sm)].shape = {-1, 5};
  const int q = g.add_const("extra/i8", make_tensor<int8_t>(DType::I8, {7}, 4));
  const int u = g.add_const("extra/u8", make_tensor<uint8_t>(DType::U8, {3, 5}, 5));
  const int s = g.add_const("extra/i32", make_tensor<int32_t>(DType::I32, {2, 1, 3}, 6));
  const int out = g.add_node(OpType::IDENTITY, "probs", {sm, q, u, s}, Attrs());
  g.values[static_cast<size_t>(out)].shape = {-1, 5};
  g.outputs = {out};

  m.meta.name = "test-net";
  m.meta.description = "five classes \xe2\x9c\x93";
  m.meta.labels = {"apple", "banana", "cherry", "d\xc3\xa1til", "elderberry"};
  PreprocessSpec& p = m.meta.preprocess;
  p.height = 4;
  p.width = 4;
  p.resize = ResizeMethod::BILINEAR_ALIGN_CORNERS;
  p.crop = CropMode::CENTER;
  p.crop_fraction = 0.875f;
  p.channel_order = ChannelOrder::BGR;
  p.mean[0] = 123.675f;
  p.mean[1] = 116.28f;
  p.mean[2] = 103.53f;
  p.std[0] = 58.395f;
  p.std[1] = 57.12f;
  p.std[2] = 57.375f;
  m.meta.provenance = {"tfjs-layers", "model.json", "morsel 0.1.0", "2024-05-01T12:00:00Z", "fp16"};
  return m;
}

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Compact weights (format 1.2): x[-1,6,6,3] -> Conv2D(w qu8, per-channel scales on axis 3) ->
// DepthwiseConv2D(w qu8 [3,3,4,1], scales on axis 2) -> Mean -> Dense(w qu16 per tensor, b qu8)
// -> Softmax -> probs[-1,5].
inline Model make_compact_test_model() {
  Model m;
  Graph& g = m.graph;
  auto affine = [](Tensor t, double scale, double offset, int axis, std::vector<float> cs) {
    AffineQuant q;
    q.scale = scale;
    q.offset = offset;
    q.axis = axis;
    q.channel_scale = std::move(cs);
    return t.with_affine(std::move(q));
  };
  auto fill = [](DType dt, Shape shape, uint32_t seed) {
    Tensor t(dt, std::move(shape));
    uint32_t x = seed * 2654435761u + 7u;
    for (int64_t i = 0; i < t.numel(); i++) {
      x = x * 1664525u + 1013904223u;
      if (dt == DType::QU8) t.mut<uint8_t>()[i] = static_cast<uint8_t>(x >> 24);
      else t.mut<uint16_t>()[i] = static_cast<uint16_t>(x >> 16);
    }
    return t;
  };
  const int x = g.add_input("x", DType::F32, {-1, 6, 6, 3});
  const int w = g.add_const("conv/w", affine(fill(DType::QU8, {3, 3, 3, 4}, 1), 0.01, -1.2, 3,
                                            {0.5f, -1.25f, 2.0f, 0.75f}));
  Attrs ca;
  ca.set("strides", std::vector<int64_t>{1, 1});
  ca.set("padding", std::string("SAME"));
  ca.set("act", std::string("relu"));
  int y = g.add_node(OpType::CONV2D, "conv", {x, w, -1}, ca, "conv");
  g.values[static_cast<size_t>(y)].shape = {-1, 6, 6, 4};
  const int dw = g.add_const("dw/w", affine(fill(DType::QU8, {3, 3, 4, 1}, 2), 0.02, -2.5, 2,
                                            {1.5f, 0.25f, -0.5f, 1.0f}));
  Attrs da;
  da.set("strides", std::vector<int64_t>{1, 1});
  da.set("padding", std::string("SAME"));
  da.set("act", std::string("relu6"));
  y = g.add_node(OpType::DEPTHWISE_CONV2D, "dw", {y, dw, -1}, da, "dw");
  g.values[static_cast<size_t>(y)].shape = {-1, 6, 6, 4};
  Attrs ma;
  ma.set("axes", std::vector<int64_t>{1, 2});
  ma.set("keepdims", int64_t{0});
  y = g.add_node(OpType::MEAN, "gap", {y}, ma, "gap");
  g.values[static_cast<size_t>(y)].shape = {-1, 4};
  const int fw = g.add_const("fc/w", affine(fill(DType::QU16, {4, 5}, 3), 3e-5, -0.9, -1, {}));
  const int fb = g.add_const("fc/b", affine(fill(DType::QU8, {5}, 4), 0.002, -0.25, -1, {}));
  Attrs fa;
  fa.set("act", std::string("none"));
  y = g.add_node(OpType::DENSE, "fc", {y, fw, fb}, fa, "fc");
  g.values[static_cast<size_t>(y)].shape = {-1, 5};
  Attrs sa;
  sa.set("axis", int64_t{-1});
  y = g.add_node(OpType::SOFTMAX, "probs", {y}, sa, "probs");
  g.values[static_cast<size_t>(y)].shape = {-1, 5};
  g.outputs.push_back(y);
  m.meta.name = "compact";
  m.meta.labels = {"a", "b", "c", "d", "e"};
  m.meta.provenance.source_format = "tfjs-layers";
  m.meta.provenance.created = "2026-11-27T12:00:00Z";
  return m;
}

inline void expect_attr_eq(const AttrValue& a, const AttrValue& b, const std::string& ctx) {
  ASSERT_EQ(a.index(), b.index()) << ctx;
  if (auto* d = std::get_if<double>(&a)) {
    const double e = std::get<double>(b);
    EXPECT_TRUE(same_bits(*d, e) || (std::isnan(*d) && std::isnan(e))) << ctx << ": " << *d << " vs " << e;
  } else if (auto* fs = std::get_if<std::vector<double>>(&a)) {
    const auto& gs = std::get<std::vector<double>>(b);
    ASSERT_EQ(fs->size(), gs.size()) << ctx;
    for (size_t i = 0; i < fs->size(); i++)
      EXPECT_TRUE(same_bits((*fs)[i], gs[i]) || (std::isnan((*fs)[i]) && std::isnan(gs[i])))
          << ctx << "[" << i << "]";
  } else {
    EXPECT_TRUE(a == b) << ctx;
  }
}

inline void expect_graph_eq(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.values.size(), b.values.size());
  for (size_t i = 0; i < a.values.size(); i++) {
    const Value& x = a.values[i];
    const Value& y = b.values[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.dtype, y.dtype) << x.name;
    EXPECT_EQ(x.shape, y.shape) << x.name;
    EXPECT_EQ(x.producer, y.producer) << x.name;
    ASSERT_EQ(x.is_const(), y.is_const()) << x.name;
    if (x.is_const()) {
      EXPECT_EQ(x.data.dtype(), y.data.dtype()) << x.name;
      EXPECT_EQ(x.data.shape(), y.data.shape()) << x.name;
      ASSERT_EQ(x.data.nbytes(), y.data.nbytes()) << x.name;
      EXPECT_EQ(std::memcmp(x.data.raw(), y.data.raw(), x.data.nbytes()), 0) << x.name;
      ASSERT_EQ(x.data.affine() != nullptr, y.data.affine() != nullptr) << x.name;
      if (const AffineQuant* qa = x.data.affine()) {
        const AffineQuant* qb = y.data.affine();
        EXPECT_TRUE(same_bits(qa->scale, qb->scale)) << x.name;
        EXPECT_TRUE(same_bits(qa->offset, qb->offset)) << x.name;
        EXPECT_EQ(qa->axis, qb->axis) << x.name;
        ASSERT_EQ(qa->channel_scale.size(), qb->channel_scale.size()) << x.name;
        for (size_t c = 0; c < qa->channel_scale.size(); c++)
          EXPECT_TRUE(same_bits(qa->channel_scale[c], qb->channel_scale[c])) << x.name << " " << c;
      }
    }
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); i++) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    EXPECT_EQ(x.op, y.op) << x.name;
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.inputs, y.inputs) << x.name;
    EXPECT_EQ(x.outputs, y.outputs) << x.name;
    ASSERT_EQ(x.attrs.all().size(), y.attrs.all().size()) << x.name;
    for (const auto& [k, v] : x.attrs.all()) {
      ASSERT_TRUE(y.attrs.has(k)) << x.name << "." << k;
      expect_attr_eq(v, y.attrs.all().at(k), x.name + "." + k);
    }
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
}

inline void expect_meta_eq(const ModelMetadata& a, const ModelMetadata& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.labels, b.labels);
  const PreprocessSpec& p = a.preprocess;
  const PreprocessSpec& q = b.preprocess;
  EXPECT_EQ(p.height, q.height);
  EXPECT_EQ(p.width, q.width);
  EXPECT_EQ(p.resize, q.resize);
  EXPECT_EQ(p.crop, q.crop);
  EXPECT_EQ(p.crop_fraction, q.crop_fraction);
  EXPECT_EQ(p.channel_order, q.channel_order);
  for (int c = 0; c < 3; c++) {
    EXPECT_EQ(p.mean[c], q.mean[c]);
    EXPECT_EQ(p.std[c], q.std[c]);
  }
  EXPECT_EQ(a.provenance.source_format, b.provenance.source_format);
  EXPECT_EQ(a.provenance.source, b.provenance.source);
  EXPECT_EQ(a.provenance.converter, b.provenance.converter);
  EXPECT_EQ(a.provenance.created, b.provenance.created);
  EXPECT_EQ(a.provenance.quantization, b.provenance.quantization);
}

inline std::vector<uint8_t> save_or_die(const Model& m) {
  Result<std::vector<uint8_t>> r = model_save_buffer(m);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r).value() : std::vector<uint8_t>();
}

// ---- Byte surgery ----

inline uint64_t get_le(const std::vector<uint8_t>& b, size_t off, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[off + static_cast<size_t>(i)];
  return v;
}
inline void put_le(std::vector<uint8_t>& b, size_t off, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b[off + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

// Recomputes the trailing XXH64 over everything before the last 8 bytes.
inline void reseal(std::vector<uint8_t>& b) {
  if (b.size() < 8) return;
  put_le(b, b.size() - 8, xxh64(b.data(), b.size() - 8, 0), 8);
}

inline format_detail::FileHeader header_of(const std::vector<uint8_t>& b) {
  format_detail::FileHeader h;
  EXPECT_TRUE(format_detail::decode_header(b.data(), b.size(), &h).ok());
  return h;
}

// The metadata JSON text (decompressed when the file stores it LZ4-compressed).
inline std::string metadata_text(const std::vector<uint8_t>& b) {
  const format_detail::FileHeader h = header_of(b);
  const uint8_t* block = b.data() + h.metadata_offset;
  if (!(h.flags & kFlagMetadataLz4))
    return std::string(reinterpret_cast<const char*>(block), h.metadata_size);
  uint64_t raw = 0;
  for (int i = 7; i >= 0; i--) raw = raw << 8 | block[i];
  std::vector<uint8_t> text;
  EXPECT_TRUE(lz4::decompress(block + 8, h.metadata_size - 8, raw, &text).ok());
  return std::string(text.begin(), text.end());
}

// Rebuilds a valid file around new metadata text (stored plain, not compressed), keeping the
// data section bytes (tensor offsets are relative to it), and reseals the checksum.
inline std::vector<uint8_t> with_metadata_text(const std::vector<uint8_t>& b, const std::string& text) {
  format_detail::FileHeader h = header_of(b);
  h.flags &= ~kFlagMetadataLz4;
  std::vector<uint8_t> data(b.begin() + static_cast<long>(h.data_offset),
                            b.begin() + static_cast<long>(h.data_offset + h.data_size));
  h.metadata_offset = kHeaderSize;
  h.metadata_size = text.size();
  h.data_offset = (kHeaderSize + text.size() + 63) / 64 * 64;
  h.file_size = h.data_offset + h.data_size + 8;
  std::vector<uint8_t> out(h.file_size, 0);
  format_detail::encode_header(h, out.data());
  std::memcpy(out.data() + h.metadata_offset, text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + h.data_offset, data.data(), data.size());
  reseal(out);
  return out;
}

inline std::vector<uint8_t> with_metadata(const std::vector<uint8_t>& b, const std::function<void(json&)>& edit) {
  json j = json::parse(metadata_text(b));
  edit(j);
  return with_metadata_text(b, j.dump());
}

// Header field offsets (docs/model-format.md).
enum HeaderField : size_t {
  H_MAJOR = 8, H_MINOR = 10, H_FLAGS = 12, H_HEADER_SIZE = 16, H_CHECKSUM_ALGO = 20,
  H_META_OFFSET = 24, H_META_SIZE = 32, H_DATA_OFFSET = 40, H_DATA_SIZE = 48, H_FILE_SIZE = 56,
};

inline Status load_status(const std::vector<uint8_t>& b) {
  Result<Model> r = model_load_buffer(b.data(), b.size(), /*copy=*/true);
  return r.status();
}

}  // namespace morsel::test
