// Tests for ref::depthwise_conv2d: hand-worked cases, a sweep against a per-channel gathering
// oracle, and the identity with grouped conv2d (groups = C, CO = C*M).
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

std::vector<float> run_dw(const DepthwiseConv2DParams& p, const std::vector<float>& x,
                          const std::vector<float>& w, const float* bias) {
  std::vector<float> y(static_cast<size_t>(p.n * p.oh * p.ow * p.c * p.m), -12345.f);
  depthwise_conv2d(p, x.data(), w.data(), bias, y.data());
  return y;
}

DepthwiseConv2DParams dw_params(int64_t h, int64_t w, int64_t c, int64_t k, int64_t m) {
  DepthwiseConv2DParams p{};
  p.n = 1, p.h = h, p.w = w, p.c = c, p.kh = p.kw = k, p.m = m;
  p.sh = p.sw = p.dh = p.dw = 1;
  return p;
}

// Independent oracle: split out channel c as its own [H,W] plane, gather each window of it into
// a patch vector (zeros on padding), and dot it with filter (c, m) gathered the same way.
std::vector<float> dw_by_planes(const DepthwiseConv2DParams& p, const std::vector<float>& x,
                                const std::vector<float>& w, const float* bias) {
  const int64_t cm = p.c * p.m;
  std::vector<float> y(static_cast<size_t>(p.n * p.oh * p.ow * cm));
  for (int64_t n = 0; n < p.n; n++)
    for (int64_t c = 0; c < p.c; c++) {
      std::vector<float> plane;
      for (int64_t iy = 0; iy < p.h; iy++)
        for (int64_t ix = 0; ix < p.w; ix++)
          plane.push_back(x[((n * p.h + iy) * p.w + ix) * p.c + c]);
      for (int64_t m = 0; m < p.m; m++) {
        std::vector<float> filter;
        for (int64_t t = 0; t < p.kh * p.kw; t++) filter.push_back(w[t * cm + c * p.m + m]);
        for (int64_t oy = 0; oy < p.oh; oy++)
          for (int64_t ox = 0; ox < p.ow; ox++) {
            std::vector<float> patch;
            for (int64_t ky = 0; ky < p.kh; ky++)
              for (int64_t kx = 0; kx < p.kw; kx++) {
                const int64_t iy = oy * p.sh - p.pad_top + ky * p.dh;
                const int64_t ix = ox * p.sw - p.pad_left + kx * p.dw;
                const bool inside = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
                patch.push_back(inside ? plane[iy * p.w + ix] : 0.f);
              }
            float dot = 0.f;
            for (size_t t = 0; t < patch.size(); t++) dot += patch[t] * filter[t];
            if (bias) dot += bias[c * p.m + m];
            y[((n * p.oh + oy) * p.ow + ox) * cm + c * p.m + m] =
                std::clamp(dot, p.act.min, p.act.max);
          }
      }
    }
  return y;
}

TEST(DepthwiseConv2D, TwoChannelsMultiplierTwo) {
  // x 2x2, C=2: pixels (0,0)=[1,10] (0,1)=[2,20] (1,0)=[3,30] (1,1)=[4,40].
  // w [2,2,2,2], per tap [c0m0, c0m1, c1m0, c1m1]:
  //   m=0 is all ones for both channels; c0m1 is 1 only at tap (1,1); c1m1 is -1 only at (0,0).
  // VALID 1x1 output, channel c*M+m: c0m0 = 1+2+3+4 = 10, c0m1 = 4, c1m0 = 10+20+30+40 = 100,
  // c1m1 = -10. Bias [0.5, 0, 0, 1] -> [10.5, 4, 100, -9].
  DepthwiseConv2DParams p = dw_params(2, 2, 2, 2, 2);
  p.oh = p.ow = 1;
  const std::vector<float> x = {1, 10, 2, 20, 3, 30, 4, 40};
  const std::vector<float> w = {1, 0, 1, -1,  // tap (0,0)
                                1, 0, 1, 0,   // tap (0,1)
                                1, 0, 1, 0,   // tap (1,0)
                                1, 1, 1, 0};  // tap (1,1)
  const std::vector<float> bias = {0.5f, 0, 0, 1};
  expect_close(run_dw(p, x, w, bias.data()), {10.5f, 4, 100, -9});
}

TEST(DepthwiseConv2D, Same3x3OnesSumsNeighbourhoods) {
  // x = 1..9 (3x3), 3x3 ones kernel, SAME stride 1 (pad 1 each side): each output is the sum of
  // its in-bounds 3x3 neighbourhood. Corner (0,0) = 1+2+4+5 = 12, (0,1) = 1+2+3+4+5+6 = 21,
  // (0,2) = 2+3+5+6 = 16, (1,0) = 1+2+4+5+7+8 = 27, centre = 45, (1,2) = 2+3+5+6+8+9 = 33,
  // (2,0) = 4+5+7+8 = 24, (2,1) = 4+5+6+7+8+9 = 39, (2,2) = 5+6+8+9 = 28.
  DepthwiseConv2DParams p = dw_params(3, 3, 1, 3, 1);
  p.oh = p.ow = 3, p.pad_top = p.pad_left = 1;
  expect_close(run_dw(p, {1, 2, 3, 4, 5, 6, 7, 8, 9}, std::vector<float>(9, 1.f), nullptr),
               {12, 21, 16, 27, 45, 33, 24, 39, 28});
}

TEST(DepthwiseConv2D, Relu6Clamps) {
  // One pixel, C=3, 1x1 kernel [2, -1, 4]: x = [1, 5, 2] -> [2, -5, 8] -> relu6 [2, 0, 6].
  DepthwiseConv2DParams p = dw_params(1, 1, 3, 1, 1);
  p.oh = p.ow = 1, p.act = {0.f, 6.f};
  expect_close(run_dw(p, {1, 5, 2}, {2, -1, 4}, nullptr), {2, 0, 6});
}

struct DwCase {
  int64_t n, h, w, c, kh, kw, m, sh, sw, dh, dw;
  bool same, use_bias;
};

void PrintTo(const DwCase& k, std::ostream* os) {
  *os << "x[" << k.n << "," << k.h << "," << k.w << "," << k.c << "] k" << k.kh << "x" << k.kw
      << " m" << k.m << " s" << k.sh << "," << k.sw << " d" << k.dh << "," << k.dw
      << (k.same ? " SAME" : " VALID") << (k.use_bias ? " bias" : "");
}

class DepthwiseSweep : public ::testing::TestWithParam<DwCase> {};

DepthwiseConv2DParams make(const DwCase& k) {
  DepthwiseConv2DParams p{};
  p.n = k.n, p.h = k.h, p.w = k.w, p.c = k.c, p.kh = k.kh, p.kw = k.kw, p.m = k.m;
  p.sh = k.sh, p.sw = k.sw, p.dh = k.dh, p.dw = k.dw;
  const Axis ay = k.same ? same_axis(k.h, k.kh, k.sh, k.dh) : valid_axis(k.h, k.kh, k.sh, k.dh);
  const Axis ax = k.same ? same_axis(k.w, k.kw, k.sw, k.dw) : valid_axis(k.w, k.kw, k.sw, k.dw);
  p.oh = ay.out, p.ow = ax.out, p.pad_top = ay.pad_before, p.pad_left = ax.pad_before;
  return p;
}

TEST_P(DepthwiseSweep, MatchesPlaneOracle) {
  const DwCase& k = GetParam();
  DepthwiseConv2DParams p = make(k);
  p.act = {-0.6f, 0.7f};
  const uint32_t seed = static_cast<uint32_t>(k.h * 31 + k.c * 7 + k.m);
  const auto x = random_vec(k.n * k.h * k.w * k.c, seed);
  const auto w = random_vec(k.kh * k.kw * k.c * k.m, seed + 1);
  const auto b = random_vec(k.c * k.m, seed + 2);
  const float* bias = k.use_bias ? b.data() : nullptr;
  expect_close(run_dw(p, x, w, bias), dw_by_planes(p, x, w, bias));
}

// Grouped conv with groups = C and CO = C*M is depthwise with multiplier M: conv output o = c*M+m
// is in group o / M = c, and conv weights [KH,KW,1,C*M] have the same layout as [KH,KW,C,M].
TEST_P(DepthwiseSweep, EqualsGroupedConv) {
  const DwCase& k = GetParam();
  const DepthwiseConv2DParams d = make(k);
  Conv2DParams p{};
  p.n = d.n, p.h = d.h, p.w = d.w, p.c = d.c, p.kh = d.kh, p.kw = d.kw;
  p.co = d.c * d.m, p.groups = d.c;
  p.sh = d.sh, p.sw = d.sw, p.dh = d.dh, p.dw = d.dw, p.pad_top = d.pad_top,
  p.pad_left = d.pad_left, p.oh = d.oh, p.ow = d.ow;
  const uint32_t seed = static_cast<uint32_t>(k.w * 37 + k.c * 5 + k.m);
  const auto x = random_vec(k.n * k.h * k.w * k.c, seed);
  const auto w = random_vec(k.kh * k.kw * k.c * k.m, seed + 1);
  const auto b = random_vec(k.c * k.m, seed + 2);
  const float* bias = k.use_bias ? b.data() : nullptr;
  std::vector<float> y_conv(static_cast<size_t>(p.n * p.oh * p.ow * p.co));
  conv2d(p, x.data(), w.data(), bias, y_conv.data());
  expect_close(run_dw(d, x, w, bias), y_conv);
}

// Cases with m = 1 check groups = C, CO = C; m = 2 and 3 check groups = C, CO = 2C and 3C.
INSTANTIATE_TEST_SUITE_P(Shapes, DepthwiseSweep,
                         ::testing::Values(  // {n, h, w, c, kh, kw, m, sh, sw, dh, dw, same, bias}
                             DwCase{1, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, true, true},
                             DwCase{2, 8, 9, 3, 3, 3, 2, 2, 2, 1, 1, true, true},
                             DwCase{1, 11, 10, 4, 5, 5, 1, 2, 1, 1, 1, true, false},
                             DwCase{1, 9, 9, 6, 3, 3, 3, 1, 1, 2, 2, true, true},
                             DwCase{1, 10, 7, 2, 3, 2, 2, 3, 2, 1, 2, false, true},
                             DwCase{1, 5, 5, 7, 1, 1, 1, 1, 1, 1, 1, false, false}));

}  // namespace
}  // namespace morsel::ref::test
