// Tests for ref::pad: hand-worked constant padding, cropping with negative pads, and a random
// NHWC spatial pad against nested loops that write the input into a filled output.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(Pad, TwoByTwoToThreeByFour) {
  // x = [[1,2],[3,4]], pads begin [1,0] end [0,2], value -1 -> [3,4]:
  //   -1 -1 -1 -1
  //    1  2 -1 -1
  //    3  4 -1 -1
  const std::vector<float> x = {1, 2, 3, 4};
  const int64_t shape[2] = {2, 2}, pads[4] = {1, 0, 0, 2};
  std::vector<float> y(12);
  pad(2, shape, pads, -1.f, x.data(), y.data());
  expect_close(y, {-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1});
}

TEST(Pad, Rank1AndZeroPads) {
  const std::vector<float> x = {5, 6, 7};
  const int64_t shape[1] = {3}, pads[2] = {2, 1}, none[2] = {0, 0};
  std::vector<float> y(6);
  pad(1, shape, pads, 0.f, x.data(), y.data());
  expect_close(y, {0, 0, 5, 6, 7, 0});
  std::vector<float> same(3);
  pad(1, shape, none, 9.f, x.data(), same.data());
  expect_close(same, x);
}

TEST(Pad, NegativePadsCrop) {
  // x [3,3] = 1..9, pads begin [-1, 1] end [0, -2]: rows 1..2 kept, one column of 0 added on
  // the left, the last two columns dropped -> [2,2] = [[0,4],[0,7]].
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int64_t shape[2] = {3, 3}, pads[4] = {-1, 1, 0, -2};
  std::vector<float> y(4);
  pad(2, shape, pads, 0.f, x.data(), y.data());
  expect_close(y, {0, 4, 0, 7});
}

TEST(Pad, RandomNhwcSpatial) {
  const int64_t n = 2, h = 5, w = 4, c = 3, t = 1, b = 2, l = 3, r = 0;
  const int64_t oh = h + t + b, ow = w + l + r;
  const auto x = random_vec(n * h * w * c, 5);
  const int64_t shape[4] = {n, h, w, c}, pads[8] = {0, t, l, 0, 0, b, r, 0};
  std::vector<float> y(static_cast<size_t>(n * oh * ow * c));
  pad(4, shape, pads, 0.25f, x.data(), y.data());
  // Oracle: fill, then scatter every input element to its shifted position.
  std::vector<float> want(y.size(), 0.25f);
  for (int64_t i = 0; i < n; i++)
    for (int64_t yy = 0; yy < h; yy++)
      for (int64_t xx = 0; xx < w; xx++)
        for (int64_t ch = 0; ch < c; ch++)
          want[((i * oh + yy + t) * ow + xx + l) * c + ch] = x[((i * h + yy) * w + xx) * c + ch];
  expect_close(y, want);
}

}  // namespace
}  // namespace morsel::ref::test
