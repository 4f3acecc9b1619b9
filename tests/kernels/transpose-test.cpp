// Tests for ref::transpose: hand-worked 2-D and 3-D permutations, NHWC -> NCHW against nested
// loops, and every rank-4 permutation followed by its inverse returning the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(Transpose, Matrix) {
  // [[1,2,3],[4,5,6]] -> [[1,4],[2,5],[3,6]]
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const int64_t shape[2] = {2, 3}, perm[2] = {1, 0};
  std::vector<float> y(6);
  transpose(2, shape, perm, x.data(), y.data());
  expect_close(y, {1, 4, 2, 5, 3, 6});
}

TEST(Transpose, Rank3) {
  // x [2,2,3], x[i][j][k] = 6i + 3j + k. perm [2,0,1]: y [3,2,2], y[k][i][j] = x[i][j][k]:
  // k=0: 0 3 6 9, k=1: 1 4 7 10, k=2: 2 5 8 11.
  std::vector<float> x(12);
  std::iota(x.begin(), x.end(), 0.f);
  const int64_t shape[3] = {2, 2, 3}, perm[3] = {2, 0, 1};
  std::vector<float> y(12);
  transpose(3, shape, perm, x.data(), y.data());
  expect_close(y, {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
}

TEST(Transpose, NhwcToNchw) {
  const int64_t n = 2, h = 3, w = 5, c = 4;
  const auto x = random_vec(n * h * w * c, 17);
  const int64_t shape[4] = {n, h, w, c}, perm[4] = {0, 3, 1, 2};
  std::vector<float> y(x.size()), want(x.size());
  transpose(4, shape, perm, x.data(), y.data());
  for (int64_t i = 0; i < n; i++)
    for (int64_t yy = 0; yy < h; yy++)
      for (int64_t xx = 0; xx < w; xx++)
        for (int64_t ch = 0; ch < c; ch++)
          want[((i * c + ch) * h + yy) * w + xx] = x[((i * h + yy) * w + xx) * c + ch];
  EXPECT_EQ(y, want);  // a pure data movement: exact
}

TEST(Transpose, EveryRank4PermThenInverseIsIdentity) {
  const int64_t shape[4] = {2, 3, 4, 5};
  const auto x = random_vec(120, 18);
  int64_t perm[4] = {0, 1, 2, 3};
  int count = 0;
  do {
    int64_t inv[4], mid_shape[4];
    for (int i = 0; i < 4; i++) inv[perm[i]] = i, mid_shape[i] = shape[perm[i]];
    std::vector<float> mid(120), back(120);
    transpose(4, shape, perm, x.data(), mid.data());
    transpose(4, mid_shape, inv, mid.data(), back.data());
    EXPECT_EQ(back, x) << "perm " << perm[0] << perm[1] << perm[2] << perm[3];
    count++;
  } while (std::next_permutation(perm, perm + 4));
  EXPECT_EQ(count, 24);
}

}  // namespace
}  // namespace morsel::ref::test
