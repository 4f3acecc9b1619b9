// Tests for ref::dense: a hand-worked product with bias and clamp, and random shapes against a
// dot product over pre-transposed weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(Dense, HandWorked) {
  // x = [[1,2,3],[4,5,6]], w = [[1,0],[0,1],[1,1]]:
  // x·w = [[1+3, 2+3], [4+6, 5+6]] = [[4,5],[10,11]]; + bias [1,-1] = [[5,4],[11,10]].
  const std::vector<float> x = {1, 2, 3, 4, 5, 6}, w = {1, 0, 0, 1, 1, 1}, b = {1, -1};
  std::vector<float> y(4);
  dense(2, 3, 2, x.data(), w.data(), b.data(), Activation{}, y.data());
  expect_close(y, {5, 4, 11, 10});
  // Without bias, clamped to relu6: [[4,5],[10,11]] -> [[4,5],[6,6]].
  dense(2, 3, 2, x.data(), w.data(), nullptr, Activation{0.f, 6.f}, y.data());
  expect_close(y, {4, 5, 6, 6});
}

TEST(Dense, NegativeClampedByRelu) {
  // x = [1, -2], w = [[3],[4]]: 3 - 8 = -5 -> relu 0; bias 6 -> 1.
  const std::vector<float> x = {1, -2}, w = {3, 4};
  const float bias = 6.f;
  float y = -1.f;
  dense(1, 2, 1, x.data(), w.data(), nullptr, Activation{0.f, __builtin_inff()}, &y);
  EXPECT_EQ(y, 0.f);
  dense(1, 2, 1, x.data(), w.data(), &bias, Activation{0.f, __builtin_inff()}, &y);
  EXPECT_EQ(y, 1.f);
}

TEST(Dense, RandomAgainstTransposedWeights) {
  // Oracle: transpose w to [M,K] first, so each output is a dot of two contiguous rows.
  for (const auto& [rows, k, m] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                                   {3, 17, 5},
                                   {7, 64, 10},
                                   {2, 1280, 11},
                                   {13, 3, 31}}) {
    const auto x = random_vec(rows * k, static_cast<uint32_t>(k));
    const auto w = random_vec(k * m, static_cast<uint32_t>(k + 1));
    const auto b = random_vec(m, static_cast<uint32_t>(k + 2));
    std::vector<float> wt(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < m; j++) wt[j * k + i] = w[i * m + j];
    std::vector<float> want;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < m; j++) {
        float dot = 0.f;
        for (int64_t i = 0; i < k; i++) dot += x[r * k + i] * wt[j * k + i];
        want.push_back(std::clamp(dot + b[j], -1.f, 1.f));
      }
    std::vector<float> y(static_cast<size_t>(rows * m));
    dense(rows, k, m, x.data(), w.data(), b.data(), Activation{-1.f, 1.f}, y.data());
    SCOPED_TRACE(::testing::Message() << rows << "x" << k << "x" << m);
    expect_close(y, want);
  }
}

}  // namespace
}  // namespace morsel::ref::test
