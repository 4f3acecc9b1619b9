// Tests for ref::concat: a hand-worked two-input concat and a random NHWC channel concat.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(Concat, HandWorkedAxis1) {
  // [2,1] ++ [2,2] along axis 1: x0 = [[1],[2]], x1 = [[10,20],[30,40]] -> [[1,10,20],[2,30,40]].
  const std::vector<float> x0 = {1, 2}, x1 = {10, 20, 30, 40};
  const float* xs[2] = {x0.data(), x1.data()};
  const int64_t sizes[2] = {1, 2};
  std::vector<float> y(6);
  concat(2, 2, xs, sizes, y.data());
  expect_close(y, {1, 10, 20, 2, 30, 40});
}

TEST(Concat, Axis0Appends) {
  // outer 1: the inputs follow one another whole.
  const std::vector<float> x0 = {1, 2, 3}, x1 = {4}, x2 = {5, 6};
  const float* xs[3] = {x0.data(), x1.data(), x2.data()};
  const int64_t sizes[3] = {3, 1, 2};
  std::vector<float> y(6);
  concat(1, 3, xs, sizes, y.data());
  expect_close(y, {1, 2, 3, 4, 5, 6});
}

TEST(Concat, RandomNhwcChannels) {
  // [2,3,4,C_i] with C = 3, 1, 4 along the channel axis: outer = N*H*W = 24, inner = 1.
  const int64_t pixels = 2 * 3 * 4, cs[3] = {3, 1, 4}, ctotal = 8;
  std::vector<std::vector<float>> in;
  for (int i = 0; i < 3; i++) in.push_back(random_vec(pixels * cs[i], 40 + i));
  const float* xs[3] = {in[0].data(), in[1].data(), in[2].data()};
  std::vector<float> y(static_cast<size_t>(pixels * ctotal)), want(y.size());
  concat(pixels, 3, xs, cs, y.data());
  // Oracle: output channel oc comes from input i at channel oc - (channels before input i).
  for (int64_t px = 0; px < pixels; px++)
    for (int64_t oc = 0; oc < ctotal; oc++) {
      int i = 0;
      int64_t c = oc;
      while (c >= cs[i]) c -= cs[i++];
      want[px * ctotal + oc] = in[i][px * cs[i] + c];
    }
  expect_close(y, want);
}

}  // namespace
}  // namespace morsel::ref::test
