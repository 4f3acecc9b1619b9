// Reference int8 kernels (QConv2D, QDepthwiseConv2D, QDense: i8 weights with one scale per output
// channel, f32 input quantized to u8 per tensor, f32 output) and the quantization arithmetic
// that every optimized int8 kernel must reproduce bit for bit. See graph/ops.inc for the ops.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// How the input is quantized: a calibrated (scale, zero) pair, or per run from its range.
struct QuantInput {
  bool dynamic = false;
  float scale = 1.f;  // x ~= scale * (q - zero)
  int32_t zero = 0;   // 0..255
};

// q(x) = clamp(round_half_even(clamp(x * inv_scale, -256, 256)) + zero, 0, 255); NaN -> 0 before
// the zero point. inv_scale = 1.0f / scale, computed in float.
inline int32_t quantize_u8(float x, float inv_scale, int32_t zero) {
  float r = x * inv_scale;
  if (!(r > -256.f)) r = -256.f;
  if (r > 256.f) r = 256.f;
  int32_t q = static_cast<int32_t>(std::nearbyint(r)) + zero;
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

// Per-tensor parameters from a range (calibration and dynamic quantization): the range is
// widened to contain 0, so 0 (padding) is exact. Non-finite or empty ranges give scale 1.
inline QuantInput quant_params_from_range(float lo, float hi) {
  QuantInput q;
  lo = lo < 0.f ? lo : 0.f;
  hi = hi > 0.f ? hi : 0.f;
  float scale = (hi - lo) / 255.f;
  if (!(scale > 1e-30f) || !std::isfinite(scale)) scale = 1.f;
  float z = std::nearbyint(-lo / scale);
  q.scale = scale;
  q.zero = z < 0.f ? 0 : z > 255.f ? 255 : static_cast<int32_t>(z);
  return q;
}

// Output of one channel from its integer sum: clamp(float(acc) * (x_scale * w_scale) + bias).
// Multiply, then add (never fused), so every kernel rounds the same way.
inline float dequantize_output(int32_t acc, float x_scale, float w_scale, float bias, Activation act) {
  const float s = x_scale * w_scale;
  float t = static_cast<float>(acc) * s;
  t = t + bias;
  return t < act.min ? act.min : t > act.max ? act.max : t;
}

// An int8 node's f32 output as the next int8 node reads it, centred on the zero point:
// float(q(x) - zero). Integer-valued, |value| <= 255, so sums of its products with i8 weights
// are exact in f32 while below 2^24 (the fused int8 depthwise conv relies on this).
inline float requantize_centered(float x, float inv_scale, int32_t zero) {
  return static_cast<float>(quantize_u8(x, inv_scale, zero) - zero);
}

// The range of x[0..n) (NaN ignored), for dynamic quantization.
void min_max(int64_t n, const float* x, float* lo, float* hi);

// x: [N,H,W,C] f32  w: [KH,KW,C/groups,CO] i8  bias: [CO] or null  w_scale: [CO]  y f32.
// Accumulation in int32: sum over taps of (q(x) - zero) * w; padding taps contribute 0.
void qconv2d(const Conv2DParams& p, const float* x, const int8_t* w, const float* bias,
             const float* w_scale, QuantInput q, float* y);
// w: [KH,KW,C,M] i8, output channel c*M+m.
void qdepthwise_conv2d(const DepthwiseConv2DParams& p, const float* x, const int8_t* w,
                       const float* bias, const float* w_scale, QuantInput q, float* y);
// x: [rows,K]  w: [K,M] i8  y: [rows,M]
void qdense(int64_t rows, int64_t k, int64_t m, const float* x, const int8_t* w, const float* bias,
            const float* w_scale, QuantInput q, Activation act, float* y);

}  // namespace morsel::ref
