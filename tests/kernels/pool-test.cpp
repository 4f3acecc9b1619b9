// Tests for ref::max_pool and ref::avg_pool: hand-worked SAME/VALID windows on a 3x3 image,
// padded taps ignored (MAX) or counted only on request (AVG), global average pool == mean_reduce,
// and random shapes against windows gathered into explicit vectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

using PoolFn = void (*)(const Pool2DParams&, const float*, float*);

std::vector<float> run_pool(PoolFn f, const Pool2DParams& p, const std::vector<float>& x) {
  std::vector<float> y(static_cast<size_t>(p.n * p.oh * p.ow * p.c), -12345.f);
  f(p, x.data(), y.data());
  return y;
}

// 3x3 image, one channel, k x k window, stride s, output and padding as given.
Pool2DParams p3x3(int64_t k, int64_t s, int64_t out, int64_t pad_before) {
  Pool2DParams p{};
  p.n = 1, p.h = p.w = 3, p.c = 1, p.kh = p.kw = k, p.sh = p.sw = s;
  p.pad_top = p.pad_left = pad_before, p.oh = p.ow = out;
  return p;
}

// x = 1 2 3
//     4 5 6
//     7 8 9
const std::vector<float> k3x3 = {1, 2, 3, 4, 5, 6, 7, 8, 9};

TEST(MaxPool, Valid2x2) {
  // 2x2 windows at stride 1: max of each block = its bottom-right: 5, 6, 8, 9.
  expect_close(run_pool(max_pool, p3x3(2, 1, 2, 0), k3x3), {5, 6, 8, 9});
}

TEST(MaxPool, SamePadsBottomRight) {
  // SAME k=2 s=1: one padded row/column after. The last column sees (3,6)/(6,9)/(9): 6, 9, 9.
  expect_close(run_pool(max_pool, p3x3(2, 1, 3, 0), k3x3), {5, 6, 6, 8, 9, 9, 8, 9, 9});
}

TEST(MaxPool, PaddedTapsIgnoredForNegativeInput) {
  // x = -(1..9): each 2x2 window's max is its top-left element, so SAME output == x. Had the
  // padded taps counted as 0, the last row and column would be 0.
  std::vector<float> neg;
  for (float v : k3x3) neg.push_back(-v);
  expect_close(run_pool(max_pool, p3x3(2, 1, 3, 0), neg), neg);
}

TEST(MaxPool, SameStride2) {
  // SAME k=3 s=2: out 2, one padded row/column before. Windows cover rows/cols {-1..1} and
  // {1..3}: max(1,2,4,5)=5, max(2,3,5,6)=6, max(4,5,7,8)=8, max(5,6,8,9)=9.
  expect_close(run_pool(max_pool, p3x3(3, 2, 2, 1), k3x3), {5, 6, 8, 9});
}

TEST(AvgPool, SameExcludesPadding) {
  // SAME k=2 s=1; divide by in-bounds taps:
  // (1+2+4+5)/4=3  (2+3+5+6)/4=4  (3+6)/2=4.5
  // (4+5+7+8)/4=6  (5+6+8+9)/4=7  (6+9)/2=7.5
  // (7+8)/2=7.5    (8+9)/2=8.5    9/1=9
  expect_close(run_pool(avg_pool, p3x3(2, 1, 3, 0), k3x3), {3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9});
}

TEST(AvgPool, SameCountIncludePad) {
  // Same windows, always divided by 4: 9/4, 15/4, 15/4, 17/4, 9/4 on the padded border.
  Pool2DParams p = p3x3(2, 1, 3, 0);
  p.count_include_pad = true;
  expect_close(run_pool(avg_pool, p, k3x3), {3, 4, 2.25f, 6, 7, 3.75f, 3.75f, 4.25f, 2.25f});
}

TEST(AvgPool, SameStride2TwoChannels) {
  // Channel 0 = x, channel 1 = 10x. SAME k=3 s=2 (pad 1 before), each window has 4 in-bounds
  // taps: (1+2+4+5)/4=3, (2+3+5+6)/4=4, (4+5+7+8)/4=6, (5+6+8+9)/4=7; channel 1 is 10x that.
  Pool2DParams p = p3x3(3, 2, 2, 1);
  p.c = 2;
  std::vector<float> x;
  for (float v : k3x3) x.insert(x.end(), {v, 10 * v});
  expect_close(run_pool(avg_pool, p, x), {3, 30, 4, 40, 6, 60, 7, 70});
}

TEST(AvgPool, WholeImageEqualsMeanReduce) {
  // Global average pooling over [N,H,W,C] is mean_reduce over the [N, H*W, C] view.
  Pool2DParams p{};
  p.n = 2, p.h = 7, p.w = 5, p.c = 6, p.kh = 7, p.kw = 5, p.sh = p.sw = 1, p.oh = p.ow = 1;
  const auto x = random_vec(2 * 7 * 5 * 6, 9);
  std::vector<float> want(12);
  mean_reduce(2, 35, 6, x.data(), want.data());
  expect_close(run_pool(avg_pool, p, x), want);
}

struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  bool same, count_include_pad;
};

void PrintTo(const PoolCase& k, std::ostream* os) {
  *os << "x[" << k.n << "," << k.h << "," << k.w << "," << k.c << "] k" << k.kh << "x" << k.kw
      << " s" << k.sh << "," << k.sw << (k.same ? " SAME" : " VALID")
      << (k.count_include_pad ? " include_pad" : "");
}

class PoolSweep : public ::testing::TestWithParam<PoolCase> {};

// Oracle: collect the in-bounds values of each window into a vector, then take max_element, or
// the sum divided by the vector's size (or kh*kw with count_include_pad).
TEST_P(PoolSweep, MatchesGatheredWindows) {
  const PoolCase& k = GetParam();
  Pool2DParams p{};
  p.n = k.n, p.h = k.h, p.w = k.w, p.c = k.c, p.kh = k.kh, p.kw = k.kw, p.sh = k.sh, p.sw = k.sw;
  p.count_include_pad = k.count_include_pad;
  const Axis ay = k.same ? same_axis(k.h, k.kh, k.sh) : valid_axis(k.h, k.kh, k.sh);
  const Axis ax = k.same ? same_axis(k.w, k.kw, k.sw) : valid_axis(k.w, k.kw, k.sw);
  p.oh = ay.out, p.ow = ax.out, p.pad_top = ay.pad_before, p.pad_left = ax.pad_before;
  const auto x = random_vec(k.n * k.h * k.w * k.c, static_cast<uint32_t>(k.h * 10 + k.kh));
  std::vector<float> want_max, want_avg;
  for (int64_t n = 0; n < p.n; n++)
    for (int64_t oy = 0; oy < p.oh; oy++)
      for (int64_t ox = 0; ox < p.ow; ox++)
        for (int64_t c = 0; c < p.c; c++) {
          std::vector<float> window;
          for (int64_t iy = oy * p.sh - p.pad_top; iy < oy * p.sh - p.pad_top + p.kh; iy++)
            for (int64_t ix = ox * p.sw - p.pad_left; ix < ox * p.sw - p.pad_left + p.kw; ix++)
              if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w)
                window.push_back(x[((n * p.h + iy) * p.w + ix) * p.c + c]);
          ASSERT_FALSE(window.empty());
          float sum = 0.f;
          for (float v : window) sum += v;
          want_max.push_back(*std::max_element(window.begin(), window.end()));
          want_avg.push_back(sum /
                             static_cast<float>(k.count_include_pad ? p.kh * p.kw : window.size()));
        }
  expect_close(run_pool(max_pool, p, x), want_max);
  expect_close(run_pool(avg_pool, p, x), want_avg);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PoolSweep,
    ::testing::Values(  // {n, h, w, c, kh, kw, sh, sw, same, count_include_pad}
        PoolCase{1, 8, 8, 3, 2, 2, 2, 2, false, false},
        PoolCase{2, 7, 9, 4, 3, 3, 2, 2, true, false},  // ResNet-style 3x3/2 SAME
        PoolCase{1, 7, 9, 4, 3, 3, 2, 2, true, true},
        PoolCase{1, 11, 5, 2, 5, 2, 1, 3, true, false},
        PoolCase{1, 6, 6, 5, 3, 3, 1, 1, true, true},
        PoolCase{1, 13, 13, 1, 4, 4, 3, 3, false, false}));

}  // namespace
}  // namespace morsel::ref::test
