// Quantized nsfwjs MobileNetV2 against its f32 self on real food photos: fp16, dynamic int8 and
// calibrated int8 (calibrated on other photos than the ones compared). File sizes, top-1
// agreement and the largest probability difference are checked against stated bounds, and the
// measured values are printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>

#include "format/model.h"
#include "format/writer.h"
#include "graph/passes/passes.h"
#include "image/decode/decode.h"
#include "importers/tfjs/tfjs.h"
#include "quant/quantize.h"
#include "runtime/classifier.h"
#include "util/test_util.h"

namespace morsel {
namespace {

constexpr int kPhotos = 24, kCalibration = 32;

struct Loaded {
  std::shared_ptr<const Model> model;
  size_t file_bytes = 0;
};

Loaded save_and_load(const Model& m) {
  auto bytes = model_save_buffer(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto loaded = model_load_buffer(bytes.value().data(), bytes.value().size(), /*copy=*/true);
  EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
  return {std::make_shared<const Model>(std::move(loaded.value())), bytes.value().size()};
}

Tensor preprocess_file(Classifier& c, const std::string& path) {
  auto img = image_decode_file(path);
  EXPECT_TRUE(img.ok()) << path;
  const Image& im = img.value();
  auto x = c.preprocess_image(im.rgb.data(), im.width, im.height, 3, int64_t{im.width} * 3);
  EXPECT_TRUE(x.ok());
  return x.value();
}

TEST(QuantNsfwjs, MobileNetV2Fp16DynamicInt8AgreeWithF32) {
  const std::string dir = test::source_path("models/nsfwjs/mobilenet_v2");
  ASSERT_TRUE(test::file_exists(dir + "/model.json")) << "run scripts/setup";
  const std::vector<std::string> photos = test::photo_paths(kPhotos);
  ASSERT_EQ(photos.size(), static_cast<size_t>(kPhotos)) << "run scripts/setup";
  auto imp = tfjs::import_model(dir);
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  Model f32;
  f32.graph = std::move(imp.value().graph);
  ASSERT_TRUE(passes::optimize_graph(f32.graph).ok());
  f32.meta.preprocess.resize = ResizeMethod::BILINEAR_ALIGN_CORNERS;
  for (int c = 0; c < 3; c++) f32.meta.preprocess.mean[c] = 0, f32.meta.preprocess.std[c] = 255;
  f32.meta.provenance.created = "2024-05-01T12:00:00Z";
  const Loaded base = save_and_load(f32);
  auto base_cls = Classifier::create(base.model);
  ASSERT_TRUE(base_cls.ok());

  // Calibration photos: the other photos of the same package, evenly spread.
  const std::string assets = photos[0].substr(0, photos[0].rfind('/'));
  std::vector<std::string> others;
  if (DIR* d = opendir(assets.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string p = assets + "/" + e->d_name;
      if (p.size() > 5 && p.compare(p.size() - 5, 5, ".jpeg") == 0 &&
          std::find(photos.begin(), photos.end(), p) == photos.end())
        others.push_back(p);
    }
    closedir(d);
  }
  std::sort(others.begin(), others.end());
  ASSERT_GE(others.size(), static_cast<size_t>(kCalibration));
  std::vector<Tensor> calib;
  for (int i = 0; i < kCalibration; i++)
    calib.push_back(preprocess_file(*base_cls.value(), others[static_cast<size_t>(i) * others.size() / kCalibration]));

  std::vector<Tensor> inputs;
  std::vector<Tensor> want;
  for (const std::string& p : photos) {
    inputs.push_back(preprocess_file(*base_cls.value(), p));
    auto y = base_cls.value()->run_batch(inputs.back());
    ASSERT_TRUE(y.ok());
    want.push_back(y.value());
  }

  struct Case {
    const char* name;
    double max_size_ratio;  // of the f32 file
    int min_top1_agree;     // of kPhotos
    double max_prob_diff;
  };
  for (const Case& c : {Case{"fp16", 0.51, kPhotos, 0.02}, Case{"dynamic", 0.27, kPhotos, 0.06},
                        Case{"int8", 0.27, kPhotos, 0.06}}) {
    Model q = f32;
    const std::string mode = c.name;
    if (mode == "fp16") {
      quant::quantize_fp16(q.graph);
    } else {
      quant::Int8Options o;
      o.dynamic = mode == "dynamic";
      if (!o.dynamic) o.calibration = calib;
      auto rep = quant::quantize_int8(q.graph, o);
      ASSERT_TRUE(rep.ok()) << rep.status().to_string();
      quant::quantize_fp16(q.graph);  // what stays f32, as `convert` does
    }
    q.meta.provenance.quantization = mode == "fp16" ? "fp16" : "int8";
    const Loaded l = save_and_load(q);
    const double ratio = static_cast<double>(l.file_bytes) / static_cast<double>(base.file_bytes);
    EXPECT_LE(ratio, c.max_size_ratio) << c.name;
    auto cls = Classifier::create(l.model);
    ASSERT_TRUE(cls.ok()) << cls.status().to_string();
    int agree = 0;
    double worst = 0;
    for (int i = 0; i < kPhotos; i++) {
      auto y = cls.value()->run_batch(inputs[static_cast<size_t>(i)]);
      ASSERT_TRUE(y.ok());
      const float* a = y.value().data<float>();
      const float* b = want[static_cast<size_t>(i)].data<float>();
      const int64_t n = y.value().numel();
      agree += std::max_element(a, a + n) - a == std::max_element(b, b + n) - b;
      for (int64_t j = 0; j < n; j++) worst = std::max(worst, std::fabs(double(a[j]) - b[j]));
    }
    EXPECT_GE(agree, c.min_top1_agree) << c.name;
    EXPECT_LE(worst, c.max_prob_diff) << c.name;
    std::printf("[ quant ] mobilenet_v2 %-8s file %.1f%% of f32, top-1 agreement %d/%d, max |p - p_f32| = %.4f\n",
                c.name, 100 * ratio, agree, kPhotos, worst);
  }
}

}  // namespace
}  // namespace morsel
