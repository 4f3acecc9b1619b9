// Tests for ref::softmax: hand-worked rows, a strided (inner > 1) axis, huge logits, rows summing
// to 1, shift invariance, and random rows against a double-precision evaluation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(Softmax, HandWorkedRow) {
  // [1,2,3]: e^-2 = 0.1353353, e^-1 = 0.3678794, e^0 = 1, sum 1.5032147
  // -> [0.0900306, 0.2447285, 0.6652410].
  const std::vector<float> x = {1, 2, 3};
  std::vector<float> y(3);
  softmax(1, 3, 1, x.data(), y.data());
  expect_close(y, {0.09003057f, 0.24472847f, 0.66524096f});
}

TEST(Softmax, StridedAxis) {
  // [outer 1, axis 2, inner 2]: x = [[0, 0], [ln3, 0]]. Column 0 is (0, ln3) -> (1/4, 3/4);
  // column 1 is (0, 0) -> (1/2, 1/2). Flattened y = [1/4, 1/2, 3/4, 1/2].
  const std::vector<float> x = {0, 0, std::log(3.f), 0};
  std::vector<float> y(4);
  softmax(1, 2, 2, x.data(), y.data());
  expect_close(y, {0.25f, 0.5f, 0.75f, 0.5f});
}

TEST(Softmax, HugeLogitsDoNotOverflow) {
  // exp(1000) is inf in float; after subtracting the max the row is [0, 0, -2000].
  const std::vector<float> x = {1000, 1000, -1000, 3e38f, 3e38f - 0.f, -3e38f};
  std::vector<float> y(6);
  softmax(2, 3, 1, x.data(), y.data());
  expect_close(y, {0.5f, 0.5f, 0.f, 0.5f, 0.5f, 0.f});
}

TEST(Softmax, RowsSumToOneAndMatchDouble) {
  const int64_t outer = 4, axis = 1001, inner = 3;  // ImageNet-sized rows
  const auto x = random_vec(outer * axis * inner, 5, -8.f, 8.f);
  std::vector<float> y(x.size()), want(x.size());
  softmax(outer, axis, inner, x.data(), y.data());
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double sum_y = 0, sum_e = 0;
      for (int64_t a = 0; a < axis; a++) {
        sum_y += y[(o * axis + a) * inner + i];
        sum_e += std::exp(double{x[(o * axis + a) * inner + i]});
      }
      EXPECT_NEAR(sum_y, 1.0, 1e-5) << "row " << o << "," << i;
      for (int64_t a = 0; a < axis; a++) {
        const int64_t j = (o * axis + a) * inner + i;
        want[j] = static_cast<float>(std::exp(double{x[j]}) / sum_e);
      }
    }
  expect_close(y, want);
}

TEST(Softmax, ShiftInvariant) {
  // softmax(x + s) == softmax(x) for a per-row constant s. Shifts are powers of two so x + s
  // rounds by at most 1e-6 for x in [-4, 4).
  const int64_t outer = 3, axis = 10;
  const float shifts[3] = {16.f, -16.f, 64.f};
  const auto x = random_vec(outer * axis, 6, -4.f, 4.f);
  std::vector<float> shifted(x.size()), y(x.size()), y_shifted(x.size());
  for (int64_t o = 0; o < outer; o++)
    for (int64_t a = 0; a < axis; a++) shifted[o * axis + a] = x[o * axis + a] + shifts[o];
  softmax(outer, axis, 1, x.data(), y.data());
  softmax(outer, axis, 1, shifted.data(), y_shifted.data());
  expect_close(y_shifted, y);
}

}  // namespace
}  // namespace morsel::ref::test
