// Tests for ref::batchnorm: hand-worked per-channel normalisation and a random check against the
// formula evaluated in double.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(BatchNorm, HandWorked) {
  // x [2,2] = [[1,2],[3,4]], mean [1,2], var [4,0.25], eps 0 -> std [2,0.5], gamma [1,2], beta
  // [0,1] y[0,0] = (1-1)/2*1+0 = 0       y[0,1] = (2-2)/0.5*2+1 = 1 y[1,0] = (3-1)/2*1+0 = 1 y[1,1]
  // = (4-2)/0.5*2+1 = 9
  const std::vector<float> x = {1, 2, 3, 4}, gamma = {1, 2}, beta = {0, 1}, mean = {1, 2},
                           var = {4, 0.25f};
  std::vector<float> y(4);
  batchnorm(2, 2, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 0.f, y.data());
  expect_close(y, {0, 1, 1, 9});
}

TEST(BatchNorm, EpsGuardsZeroVariance) {
  // var 0, eps 1: y = (x - mean) / 1 * gamma + beta = (5-3)*2 + 0.5 = 4.5.
  const float x = 5, gamma = 2, beta = 0.5f, mean = 3, var = 0, eps = 1;
  float y = 0;
  batchnorm(1, 1, &x, &gamma, &beta, &mean, &var, eps, &y);
  EXPECT_FLOAT_EQ(y, 4.5f);
}

TEST(BatchNorm, RandomAgainstDouble) {
  const int64_t outer = 6 * 7, c = 19;
  const float eps = 1e-3f;
  const auto x = random_vec(outer * c, 1, -3.f, 3.f);
  const auto gamma = random_vec(c, 2, 0.5f, 2.f), beta = random_vec(c, 3);
  const auto mean = random_vec(c, 4), var = random_vec(c, 5, 0.01f, 4.f);
  std::vector<float> y(static_cast<size_t>(outer * c)), want;
  batchnorm(outer, c, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), eps, y.data());
  for (int64_t i = 0; i < outer * c; i++) {
    const int64_t j = i % c;
    const double scale = gamma[j] / std::sqrt(static_cast<double>(var[j]) + eps);
    want.push_back(static_cast<float>((x[i] - static_cast<double>(mean[j])) * scale + beta[j]));
  }
  expect_close(y, want);
}

}  // namespace
}  // namespace morsel::ref::test
