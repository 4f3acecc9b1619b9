// Shared fixtures for the training tests: temporary datasets and a tiny backbone model.
#pragma once

#include <filesystem>
#include <string>

#include "core/random.h"
#include "format/model.h"
#include "image/decode/decode.h"

namespace morsel::test {

inline std::string train_tmp(const std::string& name) {
  std::string d = std::filesystem::temp_directory_path().string() + "/morsel_train_" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// A w x h image whose colour depends on `cls` (so classes are separable) plus seeded noise.
inline Image class_image(int cls, int w, int h, uint64_t seed) {
  Rng rng(seed);
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(size_t(w) * h * 3);
  const int base[4][3] = {{200, 40, 40}, {40, 200, 40}, {40, 40, 200}, {200, 200, 40}};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        int v = base[cls % 4][c] + static_cast<int>(rng.below(41)) - 20 + (x * 20) / w;
        img.rgb[(size_t(y) * w + x) * 3 + c] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  return img;
}

// A tiny classifier: input [N,16,16,3] -> Conv 3x3 (8 ch, relu) -> AvgPool 16x16 -> Reshape
// [N,8] -> Dense 4 -> Softmax. Random seeded weights; "pixel / 255" preprocessing.
inline Model tiny_model(uint64_t seed) {
  Model m;
  Graph& g = m.graph;
  Rng rng(seed);
  auto rand_tensor = [&](Shape s, float scale) {
    Tensor t(DType::F32, s);
    for (int64_t i = 0; i < t.numel(); i++) t.mut<float>()[i] = scale * rng.uniform(-1, 1);
    return t;
  };
  int x = g.add_input("image", DType::F32, {-1, 16, 16, 3});
  int w = g.add_const("conv/kernel", rand_tensor({3, 3, 3, 8}, 0.5f));
  int b = g.add_const("conv/bias", rand_tensor({8}, 0.1f));
  Attrs ca;
  ca.set("strides", std::vector<int64_t>{1, 1});
  ca.set("dilations", std::vector<int64_t>{1, 1});
  ca.set("padding", std::string("SAME"));
  ca.set("act", std::string("relu"));
  x = g.add_node(OpType::CONV2D, "conv", {x, w, b}, ca, "conv");
  Attrs pa;
  pa.set("kernel", std::vector<int64_t>{16, 16});
  pa.set("strides", std::vector<int64_t>{16, 16});
  pa.set("padding", std::string("VALID"));
  x = g.add_node(OpType::AVG_POOL, "pool", {x}, pa, "pool");
  Attrs ra;
  ra.set("shape", std::vector<int64_t>{0, -1});
  x = g.add_node(OpType::RESHAPE, "flatten", {x}, ra, "flatten");
  int dw = g.add_const("dense/kernel", rand_tensor({8, 4}, 0.5f));
  int db = g.add_const("dense/bias", rand_tensor({4}, 0.1f));
  Attrs da;
  da.set("act", std::string("none"));
  x = g.add_node(OpType::DENSE, "dense", {x, dw, db}, da, "dense");
  Attrs sa;
  sa.set("axis", int64_t{-1});
  x = g.add_node(OpType::SOFTMAX, "softmax", {x}, sa, "probs");
  g.outputs = {x};
  (void)g.infer_shapes();
  m.meta.name = "tiny";
  m.meta.labels = {"a", "b", "c", "d"};
  m.meta.preprocess.height = 16;
  m.meta.preprocess.width = 16;
  return m;
}

}  // namespace morsel::test
