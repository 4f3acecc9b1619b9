// Backbone cut, feature extraction with the on-disk cache, unreadable images, and the exported
// model (backbone + trained head) agreeing with the head it was built from.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "format/writer.h"
#include "runtime/classifier.h"
#include "train/features.h"
#include "train/head.h"
#include "train/test-helpers.h"
#include "train/trainer.h"

namespace morsel::train {
namespace {

namespace fs = std::filesystem;

std::string make_folder(const std::string& name, int per_class) {
  const std::string root = test::train_tmp(name);
  for (int c = 0; c < 3; c++) {
    const std::string dir = root + "/class" + std::to_string(c);
    fs::create_directories(dir);
    for (int i = 0; i < per_class; i++)
      EXPECT_TRUE(image_write_png(dir + "/" + std::to_string(i) + ".png",
                                  test::class_image(c, 20 + i, 18, 100 * c + i)).ok());
  }
  return root;
}

TEST(FeaturesTest, DefaultCutIsTheHeadInput) {
  Model m = test::tiny_model(1);
  EXPECT_EQ(default_cut(m.graph), "flatten");
  auto bb = make_backbone(m, "");
  ASSERT_TRUE(bb.ok()) << bb.status().message();
  EXPECT_EQ(bb->dim, 8);
  // A rank-4 tensor is average-pooled.
  auto conv = make_backbone(m, "conv");
  ASSERT_TRUE(conv.ok()) << conv.status().message();
  EXPECT_EQ(conv->dim, 8);
  EXPECT_NE(conv->hash, bb->hash);
  // Several tensors concatenate; "@G" pools to a G x G grid.
  auto two = make_backbone(m, "conv,flatten");
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->dim, 16);
  auto grid = make_backbone(m, "conv@2,flatten");
  ASSERT_TRUE(grid.ok()) << grid.status().message();
  EXPECT_EQ(grid->dim, 2 * 2 * 8 + 8);
  EXPECT_FALSE(make_backbone(m, "conv@3").ok());   // 16 is not divisible by 3
  EXPECT_FALSE(make_backbone(m, "conv@x").ok());
  EXPECT_FALSE(make_backbone(m, "flatten@2").ok());  // rank 2
  auto missing = make_backbone(m, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_FALSE(make_backbone(m, "dense/kernel").ok());
  // A different weight changes the hash.
  Model m2 = test::tiny_model(2);
  EXPECT_NE(make_backbone(m2, "")->hash, bb->hash);
}

TEST(FeaturesTest, CacheReturnsTheSameFeaturesAndSkipsUnreadableImages) {
  const std::string root = make_folder("feat", 4);
  std::ofstream(root + "/class1/broken.jpg", std::ios::binary) << "\xFF\xD8\xFF\xE0 truncated";
  auto d = load_dataset(root, {});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->samples.size(), 13u);
  auto bb = make_backbone(test::tiny_model(1), "");
  ASSERT_TRUE(bb.ok());
  const std::string cache = test::train_tmp("feat_cache");
  FeatureOptions fo;
  fo.cache_dir = cache;
  fo.progress = false;
  fo.batch = 5;
  FeatureStats s1, s2, s3;
  auto f1 = compute_features(*bb, *d, {}, 2, fo, &s1);
  ASSERT_TRUE(f1.ok()) << f1.status().message();
  EXPECT_EQ(f1->rows(), 24u);  // 12 readable images x 2 views
  ASSERT_EQ(s1.skipped.size(), 1u);
  EXPECT_NE(s1.skipped[0].find("broken.jpg"), std::string::npos);
  EXPECT_EQ(s1.computed, 24);
  EXPECT_EQ(s1.cached, 0);
  // Plain and augmented views differ.
  EXPECT_NE(std::vector<float>(f1->row(0), f1->row(0) + 8), std::vector<float>(f1->row(1), f1->row(1) + 8));

  auto f2 = compute_features(*bb, *d, {}, 2, fo, &s2);
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(s2.cached, 24);
  EXPECT_EQ(s2.computed, 0);
  EXPECT_EQ(f1->data, f2->data);

  // Other augmentation parameters: the plain views come from the cache, the others are new.
  fo.augment.crop_area_min = 0.8f;
  auto f3 = compute_features(*bb, *d, {}, 2, fo, &s3);
  ASSERT_TRUE(f3.ok());
  EXPECT_EQ(s3.cached, 12);
  EXPECT_EQ(s3.computed, 12);

  // Without a cache, the same numbers.
  fo = FeatureOptions();
  fo.progress = false;
  FeatureStats s4;
  auto f4 = compute_features(*bb, *d, {}, 2, fo, &s4);
  ASSERT_TRUE(f4.ok());
  EXPECT_EQ(f4->data, f1->data);

  // A torn cache file (the last record, from the crop 0.8 run, cut short) is still usable:
  // that record is computed again, the rest comes from the cache.
  for (const auto& e : fs::directory_iterator(cache))
    fs::resize_file(e.path(), fs::file_size(e.path()) - 5);
  fo.cache_dir = cache;
  fo.augment.crop_area_min = 0.8f;
  FeatureStats s5;
  auto f5 = compute_features(*bb, *d, {}, 2, fo, &s5);
  ASSERT_TRUE(f5.ok());
  EXPECT_EQ(f5->data, f3->data);
  EXPECT_EQ(s5.computed, 1);
  EXPECT_EQ(s5.cached, 23);
}

TEST(FeaturesTest, ExportedModelMatchesTheHead) {
  const std::string root = make_folder("export", 6);
  auto d = load_dataset(root, {});
  ASSERT_TRUE(d.ok());
  auto bb = make_backbone(test::tiny_model(3), "");
  ASSERT_TRUE(bb.ok());
  FeatureOptions fo;
  fo.progress = false;
  auto f = compute_features(*bb, *d, {}, 1, fo, nullptr);
  ASSERT_TRUE(f.ok());
  HeadConfig hc;
  hc.hidden = {6};
  TrainConfig tc;
  tc.epochs = 20;
  tc.lr = 1e-2f;
  auto head = train_head(*f, nullptr, 3, hc, tc, nullptr);
  ASSERT_TRUE(head.ok());
  auto model = build_trained_model(*bb, *head, d->classes, "trained", "test");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->meta.labels, d->classes);
  EXPECT_EQ(model->meta.provenance.source_format, "morsel-train");
  EXPECT_EQ(model->meta.preprocess.height, 16);
  // Round trip through the file format, then classify every image.
  const std::string path = test::train_tmp("export_model") + "/m.morsel";
  ASSERT_TRUE(model_save_file(*model, path).ok());
  auto loaded = model_load_file(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto clf = Classifier::create(std::make_shared<const Model>(std::move(loaded.value())));
  ASSERT_TRUE(clf.ok()) << clf.status().message();
  std::vector<float> probs(f->rows() * 3);
  head->predict(f->data.data(), static_cast<int64_t>(f->rows()), probs.data());
  for (size_t r = 0; r < f->rows(); r++) {
    auto img = d->load(f->sample[r]);
    ASSERT_TRUE(img.ok());
    auto x = (*clf)->preprocess_image(img->rgb.data(), img->width, img->height, 3, int64_t{img->width} * 3);
    ASSERT_TRUE(x.ok());
    auto y = (*clf)->run_batch(*x);
    ASSERT_TRUE(y.ok());
    for (int c = 0; c < 3; c++) EXPECT_NEAR(y->data<float>()[c], probs[r * 3 + static_cast<size_t>(c)], 1e-5);
  }
}

}  // namespace
}  // namespace morsel::train
