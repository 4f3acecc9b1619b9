// Evaluation metrics and training-time augmentation.
#include <gtest/gtest.h>

#include "image/augment.h"
#include "train/test-helpers.h"
#include "train/trainer.h"

namespace morsel::train {
namespace {

TEST(MetricsTest, TopKPrecisionRecallConfusion) {
  Metrics m(3, 2);
  const float p0[] = {0.7f, 0.2f, 0.1f};  // true 0, pred 0
  const float p1[] = {0.5f, 0.3f, 0.2f};  // true 1, pred 0, rank 1 (top-2 hit)
  const float p2[] = {0.5f, 0.1f, 0.4f};  // true 1, pred 0, rank 2 (top-2 miss)
  const float p3[] = {0.1f, 0.1f, 0.8f};  // true 2, pred 2
  m.add(p0, 0);
  m.add(p1, 1);
  m.add(p2, 1);
  m.add(p3, 2);
  EXPECT_EQ(m.count(), 4);
  EXPECT_DOUBLE_EQ(m.top1(), 0.5);
  EXPECT_DOUBLE_EQ(m.topk(), 0.75);
  EXPECT_EQ(m.confusion(1, 0), 2);
  EXPECT_EQ(m.confusion(0, 0), 1);
  EXPECT_DOUBLE_EQ(m.precision(0), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall(0), 1.0);
  EXPECT_DOUBLE_EQ(m.recall(1), 0.0);
  EXPECT_DOUBLE_EQ(m.precision(1), 0.0);  // never predicted
  EXPECT_EQ(m.support(1), 2);
  const std::string r = m.report({"cat", "dog", "eel"});
  EXPECT_NE(r.find("dog"), std::string::npos);
  EXPECT_NE(r.find("confusion matrix"), std::string::npos);
  Image img = m.confusion_image(4);
  EXPECT_EQ(img.width, 3 * 4 + 2);
  // A full-row diagonal cell is darker than an empty cell.
  auto px = [&](int row, int col) { return img.rgb[(size_t(1 + row * 4 + 2) * img.width + 1 + col * 4 + 2) * 3 + 1]; };
  EXPECT_LT(px(0, 0), px(0, 1));
  EXPECT_EQ(px(0, 1), 255);
}

TEST(AugmentTest, DeterministicAndWithinBounds) {
  const Image in = test::class_image(1, 40, 30, 5);
  AugmentParams p;
  const Image a = augment_image(in, p, 123), b = augment_image(in, p, 123), c = augment_image(in, p, 124);
  EXPECT_EQ(a.rgb, b.rgb);
  EXPECT_TRUE(a.rgb != c.rgb || a.width != c.width);
  for (uint64_t s = 0; s < 50; s++) {
    const Image o = augment_image(in, p, s);
    ASSERT_GE(o.width, 1);
    ASSERT_LE(o.width, 40);
    ASSERT_LE(o.height, 30);
    EXPECT_GE(double(o.width) * o.height, 0.5 * 40 * 30 * 0.9);  // area >= crop_area_min (rounding)
    ASSERT_EQ(o.rgb.size(), size_t(o.width) * o.height * 3);
  }
}

TEST(AugmentTest, FlipOnlyMirrorsOrKeeps) {
  const Image in = test::class_image(2, 9, 5, 6);
  AugmentParams p;
  p.crop_area_min = 1;
  p.brightness = p.contrast = p.saturation = 0;
  int flipped = 0, kept = 0;
  for (uint64_t s = 0; s < 40; s++) {
    const Image o = augment_image(in, p, s);
    ASSERT_EQ(o.width, 9);
    bool same = o.rgb == in.rgb, mirror = true;
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 9; x++)
        for (int ch = 0; ch < 3; ch++)
          mirror &= o.rgb[(size_t(y) * 9 + x) * 3 + ch] == in.rgb[(size_t(y) * 9 + (8 - x)) * 3 + ch];
    ASSERT_TRUE(same || mirror);
    flipped += mirror && !same;
    kept += same;
  }
  EXPECT_GT(flipped, 5);
  EXPECT_GT(kept, 5);
  p.flip = false;
  for (uint64_t s = 0; s < 10; s++) EXPECT_EQ(augment_image(in, p, s).rgb, in.rgb);
}

TEST(AugmentTest, ValidatesParameters) {
  AugmentParams p;
  EXPECT_TRUE(augment_params_validate(p).ok());
  p.crop_area_min = 0;
  EXPECT_FALSE(augment_params_validate(p).ok());
  p = AugmentParams();
  p.crop_ratio_min = 2;
  p.crop_ratio_max = 1;
  EXPECT_FALSE(augment_params_validate(p).ok());
  p = AugmentParams();
  p.brightness = 1.5f;
  EXPECT_FALSE(augment_params_validate(p).ok());
  AugmentParams q;
  q.flip = false;
  EXPECT_NE(augment_params_hash(q), augment_params_hash(AugmentParams()));
}

}  // namespace
}  // namespace morsel::train
