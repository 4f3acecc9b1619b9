// Tests for ref::conv2d: hand-worked cases, a sweep against an independent patch-gathering
// oracle, and cross-checks against dense, pad, and a zero-expanded (undilated) kernel.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

constexpr float kInf = __builtin_inff();

std::vector<float> run_conv(const Conv2DParams& p, const std::vector<float>& x,
                            const std::vector<float>& w, const float* bias) {
  std::vector<float> y(static_cast<size_t>(p.n * p.oh * p.ow * p.co), -12345.f);
  conv2d(p, x.data(), w.data(), bias, y.data());
  return y;
}

// Single image, single channel, groups 1, stride 1, no dilation; caller sets kernel/output/pads.
Conv2DParams plain(int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t oh, int64_t ow) {
  Conv2DParams p{};
  p.n = 1, p.h = h, p.w = w, p.c = 1, p.kh = kh, p.kw = kw, p.co = 1, p.groups = 1;
  p.sh = p.sw = p.dh = p.dw = 1;
  p.oh = oh, p.ow = ow;
  return p;
}

// Independent oracle: gather each receptive field into an explicit patch vector ordered
// (ky, kx, ci), zeros where it falls on padding, view the weights as a [KH*KW*C/groups, CO]
// matrix and take one dot product per output channel.
std::vector<float> conv_by_patches(const Conv2DParams& p, const std::vector<float>& x,
                                   const std::vector<float>& w, const float* bias) {
  const int64_t cig = p.c / p.groups, cog = p.co / p.groups;
  std::vector<float> y;
  std::vector<float> patch;
  for (int64_t n = 0; n < p.n; n++)
    for (int64_t oy = 0; oy < p.oh; oy++)
      for (int64_t ox = 0; ox < p.ow; ox++) {
        std::vector<float> pixel(static_cast<size_t>(p.co));
        for (int64_t g = 0; g < p.groups; g++) {
          patch.clear();
          for (int64_t ky = 0; ky < p.kh; ky++)
            for (int64_t kx = 0; kx < p.kw; kx++) {
              const int64_t iy = oy * p.sh - p.pad_top + ky * p.dh;
              const int64_t ix = ox * p.sw - p.pad_left + kx * p.dw;
              const bool inside = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
              for (int64_t ci = 0; ci < cig; ci++)
                patch.push_back(inside ? x[((n * p.h + iy) * p.w + ix) * p.c + g * cig + ci] : 0.f);
            }
          for (int64_t oo = 0; oo < cog; oo++) {
            const int64_t o = g * cog + oo;
            float dot = 0.f;
            for (size_t r = 0; r < patch.size(); r++) dot += patch[r] * w[r * p.co + o];
            if (bias) dot += bias[o];
            pixel[o] = std::clamp(dot, p.act.min, p.act.max);
          }
        }
        y.insert(y.end(), pixel.begin(), pixel.end());
      }
  return y;
}

// x = 1 2 3   (3x3, one channel)
//     4 5 6
//     7 8 9
const std::vector<float> k3x3 = {1, 2, 3, 4, 5, 6, 7, 8, 9};

TEST(Conv2D, Valid3x3With2x2Ones) {
  // Each output is the sum of a 2x2 block: 1+2+4+5=12, 2+3+5+6=16, 4+5+7+8=24, 5+6+8+9=28.
  const Conv2DParams p = plain(3, 3, 2, 2, 2, 2);
  expect_close(run_conv(p, k3x3, {1, 1, 1, 1}, nullptr), {12, 16, 24, 28});
}

TEST(Conv2D, ValidWeightedKernelBiasAndClamp) {
  // w = [[1,2],[3,4]]: out(0,0) = 1*1+2*2+3*4+4*5 = 37, out(0,1) = 2+6+15+24 = 47,
  // out(1,0) = 4+10+21+32 = 67, out(1,1) = 5+12+24+36 = 77. Bias -40 -> -3, 7, 27, 37,
  // clamped to [-1, 30] -> -1, 7, 27, 30.
  Conv2DParams p = plain(3, 3, 2, 2, 2, 2);
  p.act = {-1.f, 30.f};
  const float bias = -40.f;
  expect_close(run_conv(p, k3x3, {1, 2, 3, 4}, &bias), {-1, 7, 27, 30});
}

TEST(Conv2D, SameStride1PadsBottomRight) {
  // SAME, k=2, s=1 on 3 pixels: total pad 1, all of it after (bottom/right). Outputs on the last
  // row/column see only their in-bounds taps: 3+6=9, 6+9=15, 7+8=15, 8+9=17, 9.
  const Axis a = same_axis(3, 2, 1);
  ASSERT_EQ(a.out, 3);
  ASSERT_EQ(a.pad_before, 0);
  const Conv2DParams p = plain(3, 3, 2, 2, 3, 3);
  expect_close(run_conv(p, k3x3, {1, 1, 1, 1}, nullptr), {12, 16, 9, 24, 28, 15, 15, 17, 9});
}

TEST(Conv2D, SameStride2With3x3Kernel) {
  // SAME, k=3, s=2 on 3 pixels: out 2, total pad (2-1)*2+3-3 = 2, one before. The windows start
  // at -1 and 1, so each output sums one 2x2 block of x: 12, 16, 24, 28.
  const Axis a = same_axis(3, 3, 2);
  ASSERT_EQ(a.out, 2);
  ASSERT_EQ(a.pad_before, 1);
  Conv2DParams p = plain(3, 3, 3, 3, 2, 2);
  p.sh = p.sw = 2;
  p.pad_top = p.pad_left = 1;
  expect_close(run_conv(p, k3x3, std::vector<float>(9, 1.f), nullptr), {12, 16, 24, 28});
}

TEST(Conv2D, ChannelsMixThrough1x1) {
  // One pixel x = [1, 2], w [1,1,2,3] = [[1,2,3],[4,5,6]]:
  // y = [1*1+2*4, 1*2+2*5, 1*3+2*6] = [9, 12, 15].
  Conv2DParams p = plain(1, 1, 1, 1, 1, 1);
  p.c = 2, p.co = 3;
  expect_close(run_conv(p, {1, 2}, {1, 2, 3, 4, 5, 6}, nullptr), {9, 12, 15});
}

TEST(Conv2D, GroupsSplitChannels) {
  // x = [1,2,3,4], groups 2, CO 2, w [1,1,2,2] = [[1,10],[100,1000]] (rows: ci in group).
  // Output 0 (group 0) reads x[0..1] with w[:,0]: 1*1 + 2*100 = 201.
  // Output 1 (group 1) reads x[2..3] with w[:,1]: 3*10 + 4*1000 = 4030.
  Conv2DParams p = plain(1, 1, 1, 1, 1, 1);
  p.c = 4, p.co = 2, p.groups = 2;
  expect_close(run_conv(p, {1, 2, 3, 4}, {1, 10, 100, 1000}, nullptr), {201, 4030});
}

TEST(Conv2D, DilationSkipsPixels) {
  // x = [1 2 3 4 5] (1x5), w = [1 1] (1x2), dilation 2: taps at ox and ox+2.
  // VALID width = 5 - (2-1)*2 = 3: [1+3, 2+4, 3+5] = [4, 6, 8].
  Conv2DParams p = plain(1, 5, 1, 2, 1, 3);
  p.dw = 2;
  expect_close(run_conv(p, {1, 2, 3, 4, 5}, {1, 1}, nullptr), {4, 6, 8});
}

TEST(Conv2D, PaddingOnlyWindowGivesBias) {
  // pads of 2 with a 1x1 kernel: the border outputs read nothing, so they equal the bias.
  Conv2DParams p = plain(1, 1, 1, 1, 5, 5);
  p.pad_top = p.pad_left = 2;
  const float bias = 0.5f;
  std::vector<float> want(25, 0.5f);
  want[12] = 3.f * 2.f + 0.5f;  // the centre reads x = 3
  expect_close(run_conv(p, {3}, {2}, &bias), want);
}

struct ConvCase {
  int64_t n, h, w, c, kh, kw, co, groups, sh, sw, dh, dw;
  bool same, use_bias;
  Activation act;
};

void PrintTo(const ConvCase& k, std::ostream* os) {
  *os << "x[" << k.n << "," << k.h << "," << k.w << "," << k.c << "] k" << k.kh << "x" << k.kw
      << " co" << k.co << " g" << k.groups << " s" << k.sh << "," << k.sw << " d" << k.dh << ","
      << k.dw << (k.same ? " SAME" : " VALID") << (k.use_bias ? " bias" : "") << " act["
      << k.act.min << "," << k.act.max << "]";
}

class Conv2DSweep : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DSweep, MatchesPatchOracle) {
  const ConvCase& k = GetParam();
  Conv2DParams p{};
  p.n = k.n, p.h = k.h, p.w = k.w, p.c = k.c, p.kh = k.kh, p.kw = k.kw, p.co = k.co;
  p.groups = k.groups, p.sh = k.sh, p.sw = k.sw, p.dh = k.dh, p.dw = k.dw, p.act = k.act;
  const Axis ay = k.same ? same_axis(k.h, k.kh, k.sh, k.dh) : valid_axis(k.h, k.kh, k.sh, k.dh);
  const Axis ax = k.same ? same_axis(k.w, k.kw, k.sw, k.dw) : valid_axis(k.w, k.kw, k.sw, k.dw);
  p.oh = ay.out, p.ow = ax.out, p.pad_top = ay.pad_before, p.pad_left = ax.pad_before;
  ASSERT_GT(p.oh, 0);
  ASSERT_GT(p.ow, 0);
  const uint32_t seed = static_cast<uint32_t>(k.h * 131 + k.c * 17 + k.kh * 7 + k.groups);
  const auto x = random_vec(k.n * k.h * k.w * k.c, seed);
  const auto w = random_vec(k.kh * k.kw * (k.c / k.groups) * k.co, seed + 1);
  const auto b = random_vec(k.co, seed + 2);
  const float* bias = k.use_bias ? b.data() : nullptr;
  expect_close(run_conv(p, x, w, bias), conv_by_patches(p, x, w, bias));
}

const Activation kNone{};
const Activation kRelu{0.f, kInf};
const Activation kRelu6{0.f, 6.f};
const Activation kTight{-0.3f, 0.4f};

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DSweep,
    ::testing::Values(  // {n, h, w, c, kh, kw, co, groups, sh, sw, dh, dw, same, bias, act}
        ConvCase{1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, true, false, kNone},
        ConvCase{2, 7, 6, 3, 3, 3, 8, 1, 1, 1, 1, 1, true, true, kRelu},
        ConvCase{1, 9, 9, 3, 3, 3, 16, 1, 2, 2, 1, 1, true, true, kRelu6},  // stem-like
        ConvCase{1, 8, 8, 4, 3, 3, 5, 1, 2, 2, 1, 1, false, true, kNone},
        ConvCase{1, 11, 13, 5, 5, 3, 7, 1, 3, 2, 1, 1, true, true, kTight},
        ConvCase{1, 10, 9, 4, 3, 3, 6, 2, 1, 1, 2, 2, true, true, kNone},
        ConvCase{1, 12, 12, 6, 3, 2, 9, 3, 2, 1, 2, 3, false, false, kRelu},
        ConvCase{1, 6, 6, 8, 1, 1, 8, 8, 1, 1, 1, 1, false, true, kNone},
        ConvCase{2, 5, 7, 6, 2, 2, 12, 6, 1, 1, 1, 1, true, true, kRelu6},
        ConvCase{1, 4, 4, 2, 7, 7, 3, 1, 1, 1, 1, 1, true, true, kNone},     // kernel > image
        ConvCase{1, 13, 1, 3, 5, 1, 4, 1, 2, 1, 1, 1, true, false, kNone},   // 1-D along H
        ConvCase{1, 7, 7, 2, 2, 2, 3, 1, 3, 3, 1, 1, false, true, kNone}));  // stride > kernel

TEST(Conv2D, OneByOneEqualsDense) {
  // A 1x1, stride-1 convolution is a matrix multiply of the [N*H*W, C] pixels by w [C, CO].
  Conv2DParams p{};
  p.n = 2, p.h = 5, p.w = 7, p.c = 13, p.kh = p.kw = 1, p.co = 11, p.groups = 1;
  p.sh = p.sw = p.dh = p.dw = 1, p.oh = 5, p.ow = 7, p.act = {-0.5f, 0.5f};
  const auto x = random_vec(2 * 5 * 7 * 13, 11);
  const auto w = random_vec(13 * 11, 12);
  const auto b = random_vec(11, 13);
  std::vector<float> want(2 * 5 * 7 * 11);
  dense(2 * 5 * 7, 13, 11, x.data(), w.data(), b.data(), p.act, want.data());
  expect_close(run_conv(p, x, w, b.data()), want);
}

TEST(Conv2D, DilationEqualsZeroExpandedKernel) {
  // A kh x kw kernel with dilation (dh, dw) is the ((kh-1)*dh+1) x ((kw-1)*dw+1) kernel with its
  // taps at multiples of the dilation and zeros between, run without dilation.
  Conv2DParams p{};
  p.n = 1, p.h = 11, p.w = 10, p.c = 4, p.kh = 3, p.kw = 2, p.co = 6, p.groups = 2;
  p.sh = 1, p.sw = 2, p.dh = 2, p.dw = 3;
  const Axis ay = same_axis(p.h, p.kh, p.sh, p.dh), ax = same_axis(p.w, p.kw, p.sw, p.dw);
  p.oh = ay.out, p.ow = ax.out, p.pad_top = ay.pad_before, p.pad_left = ax.pad_before;
  const int64_t cig = p.c / p.groups;
  const auto x = random_vec(p.h * p.w * p.c, 21);
  const auto w = random_vec(p.kh * p.kw * cig * p.co, 22);
  const auto b = random_vec(p.co, 23);

  Conv2DParams q = p;
  q.kh = (p.kh - 1) * p.dh + 1, q.kw = (p.kw - 1) * p.dw + 1, q.dh = q.dw = 1;
  std::vector<float> wide(static_cast<size_t>(q.kh * q.kw * cig * q.co), 0.f);
  for (int64_t ky = 0; ky < p.kh; ky++)
    for (int64_t kx = 0; kx < p.kw; kx++)
      for (int64_t r = 0; r < cig * p.co; r++)
        wide[((ky * p.dh) * q.kw + kx * p.dw) * cig * q.co + r] =
            w[(ky * p.kw + kx) * cig * p.co + r];
  expect_close(run_conv(p, x, w, b.data()), run_conv(q, x, wide, b.data()));
}

TEST(Conv2D, PadThenValidEqualsExplicitPads) {
  // Asymmetric pads (top 2, bottom 1, left 0, right 3) applied by ref::pad, then a VALID conv,
  // equal the conv reading the unpadded input with pad_top/pad_left and the larger output.
  const int64_t n = 2, h = 6, w = 5, c = 3, top = 2, bottom = 1, left = 0, right = 3;
  const auto x = random_vec(n * h * w * c, 31);
  const int64_t in_shape[4] = {n, h, w, c};
  const int64_t pads[8] = {0, top, left, 0, 0, bottom, right, 0};
  const int64_t ph = h + top + bottom, pw = w + left + right;
  std::vector<float> xp(static_cast<size_t>(n * ph * pw * c));
  pad(4, in_shape, pads, 0.f, x.data(), xp.data());

  Conv2DParams p{};
  p.n = n, p.c = c, p.kh = 3, p.kw = 2, p.co = 4, p.groups = 1, p.sh = 2, p.sw = 1, p.dh = p.dw = 1;
  p.oh = valid_axis(ph, p.kh, p.sh).out, p.ow = valid_axis(pw, p.kw, p.sw).out;
  const auto wt = random_vec(p.kh * p.kw * c * p.co, 32);
  const auto b = random_vec(p.co, 33);

  Conv2DParams valid = p;
  valid.h = ph, valid.w = pw;
  Conv2DParams explicit_pads = p;
  explicit_pads.h = h, explicit_pads.w = w, explicit_pads.pad_top = top,
  explicit_pads.pad_left = left;
  expect_close(run_conv(explicit_pads, x, wt, b.data()), run_conv(valid, xp, wt, b.data()));
}

// SAME output (oy, ox) reads rows from oy*s - pad; VALID output (vy, vx) reads from vy*s. So when
// the SAME pad is a multiple of the stride, VALID is the block of SAME starting at pad/s.
void check_valid_inside_same(int64_t size, int64_t k, int64_t s, uint32_t seed) {
  const Axis same = same_axis(size, k, s), valid = valid_axis(size, k, s);
  ASSERT_EQ(same.out, (size + s - 1) / s);
  ASSERT_EQ(same.pad_before % s, 0);
  const int64_t off = same.pad_before / s;
  Conv2DParams p{};
  p.n = 1, p.h = p.w = size, p.c = 3, p.kh = p.kw = k, p.co = 4, p.groups = 1;
  p.sh = p.sw = s, p.dh = p.dw = 1;
  const auto x = random_vec(size * size * 3, seed);
  const auto w = random_vec(k * k * 3 * 4, seed + 1);
  Conv2DParams ps = p, pv = p;
  ps.oh = ps.ow = same.out, ps.pad_top = ps.pad_left = same.pad_before;
  pv.oh = pv.ow = valid.out;
  const auto ys = run_conv(ps, x, w, nullptr), yv = run_conv(pv, x, w, nullptr);
  std::vector<float> block;
  for (int64_t vy = 0; vy < valid.out; vy++)
    for (int64_t vx = 0; vx < valid.out; vx++)
      for (int64_t o = 0; o < 4; o++)
        block.push_back(ys[((vy + off) * same.out + vx + off) * 4 + o]);
  expect_close(block, yv);
}

TEST(Conv2D, ValidIsInteriorOfSame) {
  check_valid_inside_same(6, 3, 1, 41);  // SAME 6 (pad 1 before), VALID 4 at offset 1
  check_valid_inside_same(8, 3, 2, 42);  // SAME 4 (pad 0 before), VALID 3 at offset 0
  check_valid_inside_same(9, 5, 2, 43);  // SAME 5 (pad 2 before), VALID 3 at offset 1
}

}  // namespace
}  // namespace morsel::ref::test
