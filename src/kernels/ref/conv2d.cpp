// Reference 2-D convolution, f32 NHWC, any kernel size, stride, dilation, padding and groups.
// One loop nest, no tricks: the oracle that every optimized convolution is tested against.
#include <algorithm>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: [N,H,W,C]  w: [KH,KW,C/groups,CO]  bias: [CO] or null  y: [N,OH,OW,CO]
// Output channel o belongs to group g = o / (CO/groups) and reads input channels
// [g*C/groups, (g+1)*C/groups). Input tap for output (oy,ox) and kernel tap (ky,kx):
//   iy = oy*sh - pad_top + ky*dh,  ix = ox*sw - pad_left + kx*dw
// taps outside the image are padding and contribute zero.
// Accumulation: one float accumulator per output, summed over ky, then kx, then ci (innermost),
// starting from 0; the bias is added after the sum, then the fused activation clamps.
void conv2d(const Conv2DParams& p, const float* x, const float* w, const float* bias, float* y) {
  const int64_t cig = p.c / p.groups;   // input channels per group
  const int64_t cog = p.co / p.groups;  // output channels per group
  for (int64_t n = 0; n < p.n; n++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      for (int64_t ox = 0; ox < p.ow; ox++) {
        for (int64_t o = 0; o < p.co; o++) {
          const int64_t g = o / cog;
          float acc = 0.f;
          for (int64_t ky = 0; ky < p.kh; ky++) {
            const int64_t iy = oy * p.sh - p.pad_top + ky * p.dh;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t kx = 0; kx < p.kw; kx++) {
              const int64_t ix = ox * p.sw - p.pad_left + kx * p.dw;
              if (ix < 0 || ix >= p.w) continue;
              const float* xp = x + ((n * p.h + iy) * p.w + ix) * p.c + g * cig;
              const float* wp = w + (ky * p.kw + kx) * cig * p.co + o;
              for (int64_t ci = 0; ci < cig; ci++) acc += xp[ci] * wp[ci * p.co];
            }
          }
          if (bias) acc += bias[o];
          y[((n * p.oh + oy) * p.ow + ox) * p.co + o] =
              std::min(std::max(acc, p.act.min), p.act.max);
        }
      }
    }
  }
}

}  // namespace morsel::ref
