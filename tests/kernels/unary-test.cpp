// Tests for the element-wise activations: hand-worked points, extremes that must stay finite,
// and random inputs against the textbook formulas evaluated in double.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

using UnaryFn = void (*)(int64_t, const float*, float*);

std::vector<float> run_unary(UnaryFn f, const std::vector<float>& x) {
  std::vector<float> y(x.size(), -12345.f);
  f(static_cast<int64_t>(x.size()), x.data(), y.data());
  return y;
}

void expect_all_finite(const std::vector<float>& y) {
  for (size_t i = 0; i < y.size(); i++) EXPECT_TRUE(std::isfinite(y[i])) << "element " << i;
}

TEST(Relu, PlainAndLeaky) {
  const std::vector<float> x = {-2, -0.5f, 0, 3};
  std::vector<float> y(4);
  relu(4, x.data(), 0.f, y.data());
  expect_close(y, {0, 0, 0, 3});
  // alpha 0.1: negatives scale, -2 -> -0.2 and -0.5 -> -0.05; non-negatives pass.
  relu(4, x.data(), 0.1f, y.data());
  expect_close(y, {-0.2f, -0.05f, 0, 3});
}

TEST(Clip, ClampsToRange) {
  const std::vector<float> x = {-5, -1, 0.25f, 1, 7};
  std::vector<float> y(5);
  clip(5, x.data(), -1.f, 1.f, y.data());
  expect_close(y, {-1, -1, 0.25f, 1, 1});
  clip(5, x.data(), 0.f, 6.f, y.data());  // relu6
  expect_close(y, {0, 0, 0.25f, 1, 6});
}

TEST(Sigmoid, KnownValues) {
  // sigmoid(0) = 1/2; sigmoid(ln 3) = 1/(1 + 1/3) = 3/4; sigmoid(-ln 3) = 1/4.
  const float ln3 = std::log(3.f);
  expect_close(run_unary(sigmoid, {0.f, ln3, -ln3}), {0.5f, 0.75f, 0.25f});
}

TEST(Sigmoid, LargeMagnitudesStayFinite) {
  // e^100 and e^1000 overflow float; the stable form never computes them.
  const auto y = run_unary(sigmoid, {100.f, -100.f, 1000.f, -1000.f, 3.4e38f, -3.4e38f});
  expect_all_finite(y);
  EXPECT_EQ(y[0], 1.f);
  EXPECT_GE(y[1], 0.f);
  EXPECT_LT(y[1], 1e-40f);  // e^-100 ~ 3.7e-44, a float denormal
  EXPECT_EQ(y[2], 1.f);
  EXPECT_EQ(y[3], 0.f);
  EXPECT_EQ(y[4], 1.f);
  EXPECT_EQ(y[5], 0.f);
}

TEST(Sigmoid, RandomAgainstDoubleAndSymmetric) {
  const auto x = random_vec(1000, 7, -20.f, 20.f);
  const auto y = run_unary(sigmoid, x);
  std::vector<float> want, neg_x;
  for (float v : x) want.push_back(static_cast<float>(1.0 / (1.0 + std::exp(-double{v}))));
  expect_close(y, want);
  // sigmoid(x) + sigmoid(-x) = 1
  for (float v : x) neg_x.push_back(-v);
  const auto y_neg = run_unary(sigmoid, neg_x);
  for (size_t i = 0; i < x.size(); i++) EXPECT_NEAR(y[i] + y_neg[i], 1.f, 1e-6f) << x[i];
}

TEST(Tanh, KnownValuesAndExtremes) {
  // tanh(0) = 0; tanh(ln 2) = (2 - 1/2)/(2 + 1/2) = 0.6; saturates to +-1 without nan.
  const float ln2 = std::log(2.f);
  const auto y = run_unary(tanh, {0.f, ln2, -ln2, 100.f, -100.f});
  expect_close(y, {0.f, 0.6f, -0.6f, 1.f, -1.f});
}

TEST(Swish, KnownValuesAndExtremes) {
  // swish(0) = 0; swish(ln 3) = ln3 * 3/4; swish(-ln 3) = -ln3 / 4; swish(+-100) = 100, ~-0.
  const float ln3 = std::log(3.f);
  const auto y = run_unary(swish, {0.f, ln3, -ln3, 100.f, -100.f, -1000.f});
  expect_all_finite(y);
  expect_close(y, {0.f, ln3 * 0.75f, -ln3 * 0.25f, 100.f, 0.f, 0.f});
}

TEST(Swish, RandomAgainstDouble) {
  const auto x = random_vec(500, 8, -12.f, 12.f);
  std::vector<float> want;
  for (float v : x) want.push_back(static_cast<float>(v / (1.0 + std::exp(-double{v}))));
  expect_close(run_unary(swish, x), want);
}

TEST(HardSwish, Breakpoints) {
  // x * relu6(x+3) / 6: -4 -> -4*0/6 = 0; -3 -> -3*0/6 = 0; -1 -> -1*2/6 = -1/3; 0 -> 0;
  // 1 -> 1*4/6 = 2/3; 3 -> 3*6/6 = 3; 6 -> 6*6/6 = 6 (relu6 saturated); 10 -> 10.
  expect_close(run_unary(hard_swish, {-4, -3, -1, 0, 1, 3, 6, 10}),
               {0, 0, -1.f / 3, 0, 2.f / 3, 3, 6, 10});
}

}  // namespace
}  // namespace morsel::ref::test
