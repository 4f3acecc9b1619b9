// Reference int8 convolutions and dense layer: plain loops over the quantized input, int32 sums,
// the dequantization of qref.h. The oracle for src/kernels/qs8/.
#include <vector>

#include "kernels/ref/qref.h"

namespace morsel::ref {

// 16 independent lanes (so the compiler vectorizes it), then the lanes; the same comparisons
// as one running min/max, so the result does not depend on the split (NaN never wins).
void min_max(int64_t n, const float* x, float* lo, float* hi) {
  float a[16] = {0}, b[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) {
      const float v = x[i + j];
      a[j] = v < a[j] ? v : a[j];
      b[j] = v > b[j] ? v : b[j];
    }
  for (; i < n; i++) {
    a[0] = x[i] < a[0] ? x[i] : a[0];
    b[0] = x[i] > b[0] ? x[i] : b[0];
  }
  float l = 0.f, h = 0.f;
  for (int j = 0; j < 16; j++) {
    l = a[j] < l ? a[j] : l;
    h = b[j] > h ? b[j] : h;
  }
  *lo = l;
  *hi = h;
}

namespace {

// The quantized input (q - zero) as int32, and the scale used.
std::vector<int32_t> quantize_all(int64_t n, const float* x, QuantInput* q) {
  if (q->dynamic) {
    float lo, hi;
    min_max(n, x, &lo, &hi);
    *q = quant_params_from_range(lo, hi);
  }
  const float inv = 1.0f / q->scale;
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) out[static_cast<size_t>(i)] = quantize_u8(x[i], inv, q->zero) - q->zero;
  return out;
}

}  // namespace

void qconv2d(const Conv2DParams& p, const float* x, const int8_t* w, const float* bias,
             const float* w_scale, QuantInput q, float* y) {
  const std::vector<int32_t> xq = quantize_all(p.n * p.h * p.w * p.c, x, &q);
  const int64_t cig = p.c / p.groups, cog = p.co / p.groups;
  for (int64_t n = 0; n < p.n; n++)
    for (int64_t oy = 0; oy < p.oh; oy++)
      for (int64_t ox = 0; ox < p.ow; ox++)
        for (int64_t o = 0; o < p.co; o++) {
          const int64_t g = o / cog;
          int32_t acc = 0;
          for (int64_t ky = 0; ky < p.kh; ky++) {
            const int64_t iy = oy * p.sh - p.pad_top + ky * p.dh;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t kx = 0; kx < p.kw; kx++) {
              const int64_t ix = ox * p.sw - p.pad_left + kx * p.dw;
              if (ix < 0 || ix >= p.w) continue;
              const int32_t* xp = xq.data() + ((n * p.h + iy) * p.w + ix) * p.c + g * cig;
              const int8_t* wp = w + (ky * p.kw + kx) * cig * p.co + o;
              for (int64_t ci = 0; ci < cig; ci++) acc += xp[ci] * wp[ci * p.co];
            }
          }
          y[((n * p.oh + oy) * p.ow + ox) * p.co + o] =
              dequantize_output(acc, q.scale, w_scale[o], bias ? bias[o] : 0.f, p.act);
        }
}

void qdepthwise_conv2d(const DepthwiseConv2DParams& p, const float* x, const int8_t* w,
                       const float* bias, const float* w_scale, QuantInput q, float* y) {
  const std::vector<int32_t> xq = quantize_all(p.n * p.h * p.w * p.c, x, &q);
  const int64_t co = p.c * p.m;
  for (int64_t n = 0; n < p.n; n++)
    for (int64_t oy = 0; oy < p.oh; oy++)
      for (int64_t ox = 0; ox < p.ow; ox++)
        for (int64_t c = 0; c < p.c; c++)
          for (int64_t m = 0; m < p.m; m++) {
            const int64_t o = c * p.m + m;
            int32_t acc = 0;
            for (int64_t ky = 0; ky < p.kh; ky++) {
              const int64_t iy = oy * p.sh - p.pad_top + ky * p.dh;
              if (iy < 0 || iy >= p.h) continue;
              for (int64_t kx = 0; kx < p.kw; kx++) {
                const int64_t ix = ox * p.sw - p.pad_left + kx * p.dw;
                if (ix < 0 || ix >= p.w) continue;
                acc += xq[static_cast<size_t>(((n * p.h + iy) * p.w + ix) * p.c + c)] *
                       w[(ky * p.kw + kx) * co + o];
              }
            }
            y[((n * p.oh + oy) * p.ow + ox) * co + o] =
                dequantize_output(acc, q.scale, w_scale[o], bias ? bias[o] : 0.f, p.act);
          }
}

void qdense(int64_t rows, int64_t k, int64_t m, const float* x, const int8_t* w, const float* bias,
            const float* w_scale, QuantInput q, Activation act, float* y) {
  const std::vector<int32_t> xq = quantize_all(rows * k, x, &q);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < m; j++) {
      int32_t acc = 0;
      for (int64_t i = 0; i < k; i++) acc += xq[static_cast<size_t>(r * k + i)] * w[i * m + j];
      y[r * m + j] = dequantize_output(acc, q.scale, w_scale[j], bias ? bias[j] : 0.f, act);
    }
}

}  // namespace morsel::ref
