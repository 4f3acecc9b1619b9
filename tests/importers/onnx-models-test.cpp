// ONNX importer against onnxruntime-node on whole models: small graphs that mix
// layout-sensitive ops, and torchvision MobileNetV2 / ResNet50 (random init) on real food
// photos. The models come from tests/data/onnx/export-models.py (cached in the build tree), the
// goldens from tests/data/onnx/ort-predict.js, both run at test time.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "format/model.h"
#include "format/writer.h"
#include "image/decode/decode.h"
#include "importers/onnx/onnx.h"
#include "runtime/classifier.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

// Exports (once per build tree) and returns the directory holding the test models.
const std::string& models_dir() {
  static const std::string dir = [] {
    const std::string d = std::string(MORSEL_BINARY_DIR) + "/onnx-models";
    int rc;
    std::string log = test::run_command("/usr/bin/python3 '" + test::source_path("tests/data/onnx/export-models.py") +
                                      "' '" + d + "' 2>&1",
                                  &rc);
    if (rc != 0) {
      std::fprintf(stderr, "export-models.py failed:\n%s\n", log.c_str());
      return std::string();
    }
    return d;
  }();
  return dir;
}

// onnxruntime-node's outputs for `input` (ONNX layout).
std::vector<Tensor> ort_outputs(const std::string& model, const Tensor& input, const std::string& tag,
                                size_t count) {
  const std::string dir = ::testing::TempDir() + "/onnx_ort_" + tag;
  EXPECT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  EXPECT_TRUE(test::write_npy(dir + "/input.npy", input).ok());
  int rc;
  std::string log = test::run_command("node '" + test::source_path("tests/data/onnx/ort-predict.js") + "' '" +
                                    model + "' '" + dir + "/input.npy' '" + dir + "/out' 2>&1",
                                &rc);
  EXPECT_EQ(rc, 0) << log;
  std::vector<Tensor> outs;
  for (size_t i = 0; i < count; i++) {
    auto t = test::read_npy(dir + "/out." + std::to_string(i) + ".npy");
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    outs.push_back(t.ok() ? t.value() : Tensor());
  }
  return outs;
}

// [N,C,H,W] -> [N,H,W,C]
Tensor to_nhwc(const Tensor& x) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor y(DType::F32, {N, H, W, C});
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          y.mut<float>()[((n * H + h) * W + w) * C + c] = x.data<float>()[((n * C + c) * H + h) * W + w];
  return y;
}

struct LayoutCase {
  const char* model;
  Shape input;
  size_t outputs;
};

class OnnxLayout : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(OnnxLayout, MatchesOnnxRuntimeInBothInputLayouts) {
  const LayoutCase& c = GetParam();
  ASSERT_FALSE(models_dir().empty());
  const std::string path = models_dir() + "/" + c.model + ".onnx";
  Tensor x = test::random_tensor(c.input, 11);
  std::vector<Tensor> want = ort_outputs(path, x, c.model, c.outputs);
  for (bool nhwc : {false, true}) {
    onnx_import::ImportOptions opt;
    opt.nhwc_inputs = nhwc;
    auto imp = onnx_import::import_model(path, opt);
    ASSERT_TRUE(imp.ok()) << imp.status().to_string();
    auto graph = std::make_shared<const Graph>(std::move(imp.value().graph));
    auto sess = Session::create(graph);
    ASSERT_TRUE(sess.ok()) << sess.status().to_string();
    std::vector<Tensor> got;
    Status st = sess.value()->run({nhwc ? to_nhwc(x) : x}, &got);
    ASSERT_TRUE(st.ok()) << st.to_string();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++) {
      EXPECT_EQ(shape_str(got[i].shape()), shape_str(want[i].shape())) << c.model << " output " << i;
      EXPECT_LE(test::max_abs_diff(got[i], want[i]), 1e-5) << c.model << " output " << i
                                                           << (nhwc ? " (NHWC input)" : "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxLayout,
                         ::testing::Values(LayoutCase{"layout_branches", {2, 3, 17, 15}, 1},
                                           LayoutCase{"layout_reshapes", {3, 3, 11, 9}, 2}),
                         [](const auto& info) { return std::string(info.param.model); });

class TorchvisionParity : public ::testing::TestWithParam<const char*> {};

// What `morsel convert model.onnx --normalize imagenet` produces: NHWC input, imagenet
// preprocessing, written to a .morsel file and read back; then the real photos through the
// Classifier's preprocessing, the same tensors (NCHW) to onnxruntime-node.
TEST_P(TorchvisionParity, MatchesOnnxRuntimeOnRealPhotos) {
  constexpr int kPhotos = 6;
  ASSERT_FALSE(models_dir().empty());
  const std::string path = models_dir() + "/" + GetParam() + ".onnx";
  const std::vector<std::string> photos = test::photo_paths(kPhotos);
  ASSERT_EQ(photos.size(), static_cast<size_t>(kPhotos)) << "scripts/photos.js failed: run scripts/setup";

  onnx_import::ImportOptions opt;
  opt.nhwc_inputs = true;
  auto imp = onnx_import::import_model(path, opt);
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  Model m;
  m.graph = std::move(imp.value().graph);
  int transposes = 0;
  for (const Node& n : m.graph.nodes) transposes += n.op == OpType::TRANSPOSE;
  EXPECT_EQ(transposes, 0) << "NCHW -> NHWC should cost no TRANSPOSE node in a CNN classifier";
  m.meta.preprocess.height = m.meta.preprocess.width = 224;
  const float mean[3] = {123.675f, 116.28f, 103.53f}, stdv[3] = {58.395f, 57.12f, 57.375f};
  for (int c = 0; c < 3; c++) m.meta.preprocess.mean[c] = mean[c], m.meta.preprocess.std[c] = stdv[c];
  auto bytes = model_save_buffer(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto loaded = model_load_buffer(bytes.value().data(), bytes.value().size(), /*copy=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  auto cls = Classifier::create(std::make_shared<const Model>(std::move(loaded.value())));
  ASSERT_TRUE(cls.ok()) << cls.status().to_string();

  const int64_t per = 224 * 224 * 3;
  Tensor batch(DType::F32, {kPhotos, 224, 224, 3});
  for (int i = 0; i < kPhotos; i++) {
    auto img = image_decode_file(photos[static_cast<size_t>(i)]);
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    auto x = cls.value()->preprocess_image(img.value().rgb.data(), img.value().width,
                                           img.value().height, 3, int64_t{img.value().width} * 3);
    ASSERT_TRUE(x.ok()) << x.status().to_string();
    std::memcpy(batch.mut<float>() + i * per, x.value().raw(), x.value().nbytes());
  }
  // NHWC -> NCHW for onnxruntime.
  Tensor nchw(DType::F32, {kPhotos, 3, 224, 224});
  for (int64_t n = 0; n < kPhotos; n++)
    for (int64_t h = 0; h < 224; h++)
      for (int64_t w = 0; w < 224; w++)
        for (int64_t c = 0; c < 3; c++)
          nchw.mut<float>()[((n * 3 + c) * 224 + h) * 224 + w] = batch.data<float>()[((n * 224 + h) * 224 + w) * 3 + c];
  std::vector<Tensor> want = ort_outputs(path, nchw, GetParam(), 1);
  ASSERT_EQ(want.size(), 1u);

  std::vector<Tensor> got;
  Status st = cls.value()->session().run({batch}, &got);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(shape_str(got[0].shape()), shape_str(want[0].shape()));
  // Logits: within 1e-4 of onnxruntime's, relative to their size where they exceed 1 (f32
  // sums over thousands of terms differ in the last bits). Probabilities (what the classifier
  // reports): within 1e-4 absolute. Top-1: equal on every photo.
  const int64_t classes = want[0].dim(1);
  double worst = 0, worst_rel = 0, worst_prob = 0, scale = 0;
  for (int i = 0; i < kPhotos; i++) {
    const float* a = got[0].data<float>() + i * classes;
    const float* b = want[0].data<float>() + i * classes;
    const float ma = *std::max_element(a, a + classes), mb = *std::max_element(b, b + classes);
    double sa = 0, sb = 0;
    for (int64_t j = 0; j < classes; j++) sa += std::exp(a[j] - ma), sb += std::exp(b[j] - mb);
    for (int64_t j = 0; j < classes; j++) {
      const double d = std::fabs(static_cast<double>(a[j]) - b[j]);
      worst = std::max(worst, d);
      worst_rel = std::max(worst_rel, d / std::max(1.0, std::fabs(static_cast<double>(b[j]))));
      scale = std::max(scale, std::fabs(static_cast<double>(b[j])));
      worst_prob = std::max(worst_prob, std::fabs(std::exp(a[j] - ma) / sa - std::exp(b[j] - mb) / sb));
    }
    EXPECT_EQ(std::max_element(a, a + classes) - a, std::max_element(b, b + classes) - b)
        << photos[static_cast<size_t>(i)];
  }
  EXPECT_LE(worst_rel, 1e-4) << GetParam();
  EXPECT_LE(worst_prob, 1e-4) << GetParam();
  std::printf("[ parity ] %s: %d photos, logits up to %.3g: max |morsel - onnxruntime| = %.3g "
              "(relative %.3g), probabilities %.3g\n",
              GetParam(), kPhotos, scale, worst, worst_rel, worst_prob);
}

INSTANTIATE_TEST_SUITE_P(Models, TorchvisionParity, ::testing::Values("mobilenet_v2", "resnet50"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace morsel
