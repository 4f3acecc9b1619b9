// `morsel convert --keep-weights compact` on the nsfwjs MobileNetV2 (uint8-quantized TF.js
// weights): the file is at most 27% of the f32 one and classifies real photos exactly as the f32
// file does (required within 1e-5 on every probability; the format makes it bit-exact). Both go
// through `morsel convert` itself, and `--quantize fp16` of the compact file works.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cstdio>

#include "format/model.h"
#include "graph/passes/passes.h"
#include "image/decode/decode.h"
#include "runtime/classifier.h"
#include "util/test_util.h"

namespace morsel {
namespace {

constexpr int kPhotos = 8;

long long file_size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

Tensor classify_all(const std::string& path, const std::vector<std::string>& photos) {
  auto m = model_load_file(path);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  if (!m.ok()) return Tensor();
  auto cls = Classifier::create(std::make_shared<const Model>(std::move(m.value())));
  EXPECT_TRUE(cls.ok()) << cls.status().to_string();
  if (!cls.ok()) return Tensor();
  Tensor probs;
  for (size_t i = 0; i < photos.size(); i++) {
    auto img = image_decode_file(photos[i]);
    EXPECT_TRUE(img.ok()) << photos[i];
    if (!img.ok()) return Tensor();
    const Image& im = img.value();
    auto x =
        cls.value()->preprocess_image(im.rgb.data(), im.width, im.height, 3, int64_t{im.width} * 3);
    EXPECT_TRUE(x.ok());
    auto y = cls.value()->run_batch(x.value());
    EXPECT_TRUE(y.ok()) << y.status().to_string();
    if (!y.ok()) return Tensor();
    const int64_t k = y.value().numel();
    if (probs.empty()) probs = Tensor(DType::F32, {static_cast<int64_t>(photos.size()), k});
    std::memcpy(probs.mut<float>() + static_cast<int64_t>(i) * k, y.value().raw(),
                y.value().nbytes());
  }
  return probs;
}

TEST(CompactNsfwjs, MobileNetV2KeepsItsUint8Weights) {
  const std::string model_dir = test::source_path("models/nsfwjs/mobilenet_v2");
  ASSERT_TRUE(test::file_exists(model_dir + "/model.json"))
      << model_dir << " is missing: run scripts/setup (it unpacks the nsfwjs package)";
  const std::vector<std::string> photos = test::photo_paths(kPhotos);
  ASSERT_EQ(photos.size(), static_cast<size_t>(kPhotos))
      << "scripts/photos.js failed: run scripts/setup";
  const std::string bin = std::string(MORSEL_BINARY_DIR) + "/morsel";
  const std::string dir = ::testing::TempDir() + "/compact_nsfwjs";
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  const std::string f32 = dir + "/f32.morsel", compact = dir + "/compact.morsel";
  const std::string common = " --normalize unit --resize bilinear_align_corners 2>&1";
  int rc = 0;
  std::string log =
      test::run_command("'" + bin + "' convert '" + model_dir + "' -o '" + f32 + "'" + common, &rc);
  ASSERT_EQ(rc, 0) << log;
  log = test::run_command("'" + bin + "' convert '" + model_dir + "' -o '" + compact +
                              "' --keep-weights compact" + common,
                          &rc);
  ASSERT_EQ(rc, 0) << log;
  // 35 convs, 17 depthwise convs and the dense layers stay uint8; the 52 folded BatchNorms became
  // channel scales.
  EXPECT_NE(log.find("58 qu8/qu16 affine"), std::string::npos) << log;
  EXPECT_NE(log.find("52 of them with per-channel scales"), std::string::npos) << log;

  const long long size_f32 = file_size(f32), size_compact = file_size(compact);
  ASSERT_GT(size_f32, 0);
  ASSERT_GT(size_compact, 0);
  const double ratio = static_cast<double>(size_compact) / static_cast<double>(size_f32);
  std::printf("[ compact ] mobilenet_v2: f32 %lld bytes, compact %lld bytes (%.1f%%)\n", size_f32,
              size_compact, 100 * ratio);
  EXPECT_LE(ratio, 0.27);

  log = test::run_command("'" + bin + "' inspect '" + compact + "' 2>&1", &rc);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("qu8 affine×58"), std::string::npos) << log;
  EXPECT_NE(log.find("(52 per channel)"), std::string::npos) << log;
  log = test::run_command(
      "'" + bin + "' convert '" + model_dir + "' -o '" + dir + "/x.morsel' --keep-weights u8 2>&1",
      &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(log.find("--keep-weights is expand (f32, the default) or compact"), std::string::npos)
      << log;

  auto meta = model_load_file(compact);
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(passes::compact_weight_stats(meta->graph).affine, 58);

  const Tensor a = classify_all(f32, photos), b = classify_all(compact, photos);
  ASSERT_FALSE(a.empty() || b.empty());
  const double diff = test::max_abs_diff(a, b);
  std::printf("[ compact ] mobilenet_v2: %d photos, max |compact - f32| = %.3g\n", kPhotos, diff);
  EXPECT_LE(diff, 1e-5);
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "compact weights are not bit-exact";

  // Quantizing the compact file expands it first: fp16 gives what fp16 of the f32 file gives.
  const std::string h1 = dir + "/f32-fp16.morsel", h2 = dir + "/compact-fp16.morsel";
  log = test::run_command(
      "'" + bin + "' convert '" + f32 + "' --quantize fp16 -o '" + h1 + "' 2>&1", &rc);
  ASSERT_EQ(rc, 0) << log;
  log = test::run_command(
      "'" + bin + "' convert '" + compact + "' --quantize fp16 -o '" + h2 + "' 2>&1", &rc);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("compact weight tensors expanded to f32 before quantizing"), std::string::npos)
      << log;
  const Tensor c = classify_all(h1, photos), d = classify_all(h2, photos);
  ASSERT_FALSE(c.empty() || d.empty());
  EXPECT_EQ(test::max_abs_diff(c, d), 0.0);
  EXPECT_LE(test::max_abs_diff(a, d), 1e-2);  // and fp16 stays close to f32
}

}  // namespace
}  // namespace morsel
