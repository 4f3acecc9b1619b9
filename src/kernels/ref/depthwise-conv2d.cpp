// Reference depthwise 2-D convolution, f32 NHWC with a depth multiplier M: each input channel c
// is convolved with its own M filters and feeds output channels c*M .. c*M+M-1.
#include <algorithm>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: [N,H,W,C]  w: [KH,KW,C,M]  bias: [C*M] or null  y: [N,OH,OW,C*M]
// Input tap: iy = oy*sh - pad_top + ky*dh, ix = ox*sw - pad_left + kx*dw; taps outside the image
// are padding and contribute zero. Accumulation: one float per output, summed over ky then kx
// (innermost) from 0; bias added after the sum, then the fused activation clamps.
void depthwise_conv2d(const DepthwiseConv2DParams& p, const float* x, const float* w,
                      const float* bias, float* y) {
  const int64_t cm = p.c * p.m;  // output channels
  for (int64_t n = 0; n < p.n; n++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      for (int64_t ox = 0; ox < p.ow; ox++) {
        for (int64_t c = 0; c < p.c; c++) {
          for (int64_t m = 0; m < p.m; m++) {
            const int64_t o = c * p.m + m;
            float acc = 0.f;
            for (int64_t ky = 0; ky < p.kh; ky++) {
              const int64_t iy = oy * p.sh - p.pad_top + ky * p.dh;
              if (iy < 0 || iy >= p.h) continue;
              for (int64_t kx = 0; kx < p.kw; kx++) {
                const int64_t ix = ox * p.sw - p.pad_left + kx * p.dw;
                if (ix < 0 || ix >= p.w) continue;
                acc += x[((n * p.h + iy) * p.w + ix) * p.c + c] * w[(ky * p.kw + kx) * cm + o];
              }
            }
            if (bias) acc += bias[o];
            y[((n * p.oh + oy) * p.ow + ox) * cm + o] =
                std::min(std::max(acc, p.act.min), p.act.max);
          }
        }
      }
    }
  }
}

}  // namespace morsel::ref
