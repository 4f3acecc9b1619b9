// Head training: the analytic gradient against finite differences, reproducibility, and
// learning separable data with each optimizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/random.h"
#include "train/head.h"

namespace morsel::train {
namespace {

// Gaussian blobs: `classes` centers in `dim` dimensions, n samples each.
// Centers come from `seed`, the noise from `noise_seed` (default: seed).
Features blobs(int classes, int dim, int n, float spread, uint64_t seed, uint64_t noise_seed = 0) {
  Rng crng(seed);
  std::vector<std::vector<float>> centers(static_cast<size_t>(classes));
  for (auto& c : centers)
    for (int k = 0; k < dim; k++) c.push_back(3.0f * crng.normal());
  Rng rng(noise_seed ? noise_seed : seed + 1);
  Features f;
  f.dim = dim;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < classes; c++) {
      for (int k = 0; k < dim; k++) f.data.push_back(centers[static_cast<size_t>(c)][static_cast<size_t>(k)] + spread * rng.normal() + 5.0f);
      f.sample.push_back(f.sample.size());
      f.view.push_back(0);
      f.label.push_back(c);
    }
  return f;
}

double loss_only(const Head& h, const Features& f, float eps) {
  Head g;
  return head_loss_and_grad(h, f.data.data(), f.label.data(), static_cast<int64_t>(f.rows()), eps, &g);
}

TEST(HeadTest, GradientMatchesFiniteDifferences) {
  for (float eps : {0.0f, 0.1f}) {
    Features f = blobs(3, 6, 3, 1.0f, 7);
    HeadConfig hc;
    hc.hidden = {5, 4};
    Head h = head_init(6, 3, hc, f.data.data(), static_cast<int64_t>(f.rows()), 3);
    // Move biases off zero so every ReLU is clearly on one side.
    Rng rng(11);
    for (auto& l : h.layers)
      for (float& b : l.b) b = 0.3f * rng.normal();
    Head grad;
    head_loss_and_grad(h, f.data.data(), f.label.data(), static_cast<int64_t>(f.rows()), eps, &grad);
    int checked = 0;
    for (size_t l = 0; l < h.layers.size(); l++) {
      for (int which = 0; which < 2; which++) {
        std::vector<float>& p = which ? h.layers[l].b : h.layers[l].w;
        const std::vector<float>& g = which ? grad.layers[l].b : grad.layers[l].w;
        for (size_t i = 0; i < p.size(); i++) {
          const float keep = p[i], d = 1e-3f;
          p[i] = keep + d;
          const double up = loss_only(h, f, eps);
          p[i] = keep - d;
          const double down = loss_only(h, f, eps);
          p[i] = keep;
          const double numeric = (up - down) / (2.0 * d);
          EXPECT_NEAR(g[i], numeric, 2e-3 + 2e-2 * std::fabs(numeric))
              << "layer " << l << (which ? " bias " : " weight ") << i << " smoothing " << eps;
          checked++;
        }
      }
    }
    EXPECT_EQ(checked, 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
  }
}

TEST(HeadTest, LearnsSeparableDataWithEveryOptimizer) {
  Features train = blobs(4, 16, 60, 1.5f, 1), val = blobs(4, 16, 20, 1.5f, 1, 99);
  for (Optimizer o : {Optimizer::ADAM, Optimizer::ADAMW, Optimizer::SGD}) {
    HeadConfig hc;
    hc.hidden = {32};
    TrainConfig tc;
    tc.optimizer = o;
    tc.epochs = 15;
    tc.lr = o == Optimizer::SGD ? 0.05f : 3e-3f;
    tc.weight_decay = 1e-4f;
    TrainReport rep;
    auto h = train_head(train, &val, 4, hc, tc, &rep);
    ASSERT_TRUE(h.ok()) << h.status().message();
    ASSERT_FALSE(rep.epochs.empty());
    EXPECT_LT(rep.epochs.back().train_loss, rep.epochs.front().train_loss) << optimizer_name(o);
    EXPECT_GE(rep.epochs[static_cast<size_t>(rep.best_epoch - 1)].val_acc, 0.95) << optimizer_name(o);
  }
}

TEST(HeadTest, SameSeedSameWeightsForAnyThreadCount) {
  Features train = blobs(3, 24, 40, 2.0f, 5);
  HeadConfig hc;
  hc.hidden = {16, 8};
  hc.dropout = 0.3f;
  TrainConfig tc;
  tc.epochs = 3;
  tc.seed = 42;
  tc.threads = 1;
  auto a = train_head(train, nullptr, 3, hc, tc, nullptr);
  tc.threads = 3;
  auto b = train_head(train, nullptr, 3, hc, tc, nullptr);
  tc.seed = 43;
  auto c = train_head(train, nullptr, 3, hc, tc, nullptr);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (size_t l = 0; l < a->layers.size(); l++) {
    EXPECT_EQ(a->layers[l].w, b->layers[l].w);
    EXPECT_EQ(a->layers[l].b, b->layers[l].b);
  }
  EXPECT_NE(a->layers[0].w, c->layers[0].w);
}

TEST(HeadTest, EarlyStoppingKeepsTheBestEpoch) {
  // Labels that are pure noise: validation accuracy cannot keep improving.
  Features train = blobs(3, 8, 30, 1.0f, 9), val = blobs(3, 8, 10, 1.0f, 9, 77);
  Rng rng(3);
  for (int& l : train.label) l = static_cast<int>(rng.below(3));
  HeadConfig hc;
  hc.hidden = {64};
  TrainConfig tc;
  tc.epochs = 200;
  tc.patience = 3;
  tc.lr = 1e-2f;
  TrainReport rep;
  auto h = train_head(train, &val, 3, hc, tc, &rep);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(rep.stopped_early);
  EXPECT_EQ(static_cast<int>(rep.epochs.size()), rep.best_epoch + 3);
  // The returned head is the best epoch's: its validation accuracy is reproduced.
  std::vector<float> probs(val.rows() * 3);
  h->predict(val.data.data(), static_cast<int64_t>(val.rows()), probs.data());
  int correct = 0;
  for (size_t r = 0; r < val.rows(); r++) {
    const float* p = probs.data() + r * 3;
    const int arg = static_cast<int>(std::max_element(p, p + 3) - p);
    correct += arg == val.label[r];
  }
  EXPECT_DOUBLE_EQ(double(correct) / double(val.rows()),
                   rep.epochs[static_cast<size_t>(rep.best_epoch - 1)].val_acc);
}

TEST(HeadTest, RejectsBadSettings) {
  Features train = blobs(2, 4, 5, 1.0f, 1);
  HeadConfig hc;
  TrainConfig tc;
  tc.lr = -1;
  EXPECT_FALSE(train_head(train, nullptr, 2, hc, tc, nullptr).ok());
  tc = TrainConfig();
  hc.dropout = 1.0f;
  EXPECT_FALSE(train_head(train, nullptr, 2, hc, tc, nullptr).ok());
  hc = HeadConfig();
  EXPECT_FALSE(train_head(train, nullptr, 1, hc, tc, nullptr).ok());  // label 1 out of range
  Features empty;
  empty.dim = 4;
  EXPECT_FALSE(train_head(empty, nullptr, 2, hc, tc, nullptr).ok());
}

}  // namespace
}  // namespace morsel::train
