// The fast path equals the oracle on the real nsfwjs models: the graph as imported, run on the
// scalar reference kernels, against the graph after every pass `convert` runs, on the optimized
// kernels of each ISA this CPU has (2 threads, batch 2 so the batch path and the fused kernels'
// image boundaries are covered). Probabilities must agree within 1e-4.
#include <gtest/gtest.h>

#include <cmath>

#include "core/cpu.h"
#include "graph/passes/passes.h"
#include "image/decode/decode.h"
#include "image/preprocess.h"
#include "importers/tfjs/tfjs.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

constexpr int kPhotos = 2;

struct Case {
  const char* model;
  int size;
};

class OptimizedVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(OptimizedVsReference, RealModelsAgreeWithin1e4) {
  const Case c = GetParam();
  const std::string dir = test::source_path(std::string("models/nsfwjs/") + c.model);
  ASSERT_TRUE(test::file_exists(dir + "/model.json")) << dir << " is missing: run scripts/setup";
  const std::vector<std::string> photos = test::photo_paths(kPhotos);
  ASSERT_EQ(photos.size(), static_cast<size_t>(kPhotos)) << "run scripts/setup";
  auto imp = tfjs::import_model(dir);
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  auto raw = std::make_shared<Graph>(std::move(imp.value().graph));
  auto opt = std::make_shared<Graph>(*raw);
  ASSERT_TRUE(passes::optimize_graph(*opt).ok());

  PreprocessSpec pp;
  pp.height = pp.width = c.size;
  pp.resize = ResizeMethod::BILINEAR_ALIGN_CORNERS;
  for (int k = 0; k < 3; k++) pp.mean[k] = 0, pp.std[k] = 255;
  const int64_t per = int64_t{c.size} * c.size * 3;
  Tensor batch(DType::F32, {kPhotos, c.size, c.size, 3});
  for (int i = 0; i < kPhotos; i++) {
    auto img = image_decode_file(photos[static_cast<size_t>(i)]);
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    Status st = preprocess(img.value(), pp, batch.mut<float>() + i * per);
    ASSERT_TRUE(st.ok()) << st.to_string();
  }

  SessionOptions ref_opts;
  ref_opts.reference_kernels = true;
  auto ref = Session::create(raw, ref_opts);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();
  std::vector<Tensor> want;
  ASSERT_TRUE(ref.value()->run({batch}, &want).ok());

  for (int isa = 0; isa <= static_cast<int>(isa_supported()); isa++) {
    SessionOptions o;
    o.isa = isa;
    o.threads = 2;
    auto s = Session::create(opt, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    std::vector<Tensor> got;
    ASSERT_TRUE(s.value()->run({batch}, &got).ok());
    const double diff = test::max_abs_diff(got[0], want[0]);
    EXPECT_LE(diff, 1e-4) << isa_name(static_cast<Isa>(isa));
    std::printf("[ optimized ] %s %s: max |optimized - reference| = %.3g\n", c.model,
                isa_name(static_cast<Isa>(isa)), diff);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, OptimizedVsReference,
                         ::testing::Values(Case{"mobilenet_v2", 224}, Case{"mobilenet_v2_mid", 224},
                                           Case{"inception_v3", 299}),
                         [](const auto& info) { return std::string(info.param.model); });

}  // namespace
}  // namespace morsel
