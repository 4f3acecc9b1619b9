// Tests for ref::mean_reduce over the middle axis of [outer, reduce, inner].
#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(MeanReduce, HandWorked) {
  // x [2,3,2] = [[[1,2],[3,4],[5,6]], [[-1,0],[0,0],[1,3]]]
  // y[0] = [(1+3+5)/3, (2+4+6)/3] = [3, 4];  y[1] = [(-1+0+1)/3, (0+0+3)/3] = [0, 1].
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, -1, 0, 0, 0, 1, 3};
  std::vector<float> y(4);
  mean_reduce(2, 3, 2, x.data(), y.data());
  expect_close(y, {3, 4, 0, 1});
}

TEST(MeanReduce, InnerOneAndReduceOne) {
  // inner 1: plain row means, [1,2,3,6] -> 3. reduce 1: a copy.
  const std::vector<float> x = {1, 2, 3, 6};
  float m = 0;
  mean_reduce(1, 4, 1, x.data(), &m);
  EXPECT_FLOAT_EQ(m, 3.f);
  std::vector<float> y(4);
  mean_reduce(2, 1, 2, x.data(), y.data());
  expect_close(y, x);
}

TEST(MeanReduce, RandomAgainstDouble) {
  // Oracle: sum in double, visiting the reduced axis through a strided index.
  const int64_t outer = 3, reduce = 49, inner = 17;
  const auto x = random_vec(outer * reduce * inner, 3, 0.f, 2.f);
  std::vector<float> y(static_cast<size_t>(outer * inner)), want;
  mean_reduce(outer, reduce, inner, x.data(), y.data());
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0;
      for (int64_t idx = o * reduce * inner + i; idx < (o + 1) * reduce * inner; idx += inner)
        s += x[idx];
      want.push_back(static_cast<float>(s / reduce));
    }
  expect_close(y, want);
}

}  // namespace
}  // namespace morsel::ref::test
