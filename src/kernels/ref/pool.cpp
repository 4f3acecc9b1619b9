// Reference 2-D max and average pooling, f32 NHWC, per channel.
// Padded taps are never read: MAX ignores them, AVG counts them only with count_include_pad.
#include <algorithm>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: [N,H,W,C]  y: [N,OH,OW,C]
// Window of output (oy,ox): rows oy*sh - pad_top + [0,KH), cols ox*sw - pad_left + [0,KW),
// clipped to the image. Taps are visited ky outer, kx inner.

// A window with no in-bounds tap (only possible with pads >= the kernel) yields -inf.
void max_pool(const Pool2DParams& p, const float* x, float* y) {
  for (int64_t n = 0; n < p.n; n++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      for (int64_t ox = 0; ox < p.ow; ox++) {
        for (int64_t c = 0; c < p.c; c++) {
          float m = -__builtin_inff();
          for (int64_t ky = 0; ky < p.kh; ky++) {
            const int64_t iy = oy * p.sh - p.pad_top + ky;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t kx = 0; kx < p.kw; kx++) {
              const int64_t ix = ox * p.sw - p.pad_left + kx;
              if (ix < 0 || ix >= p.w) continue;
              m = std::max(m, x[((n * p.h + iy) * p.w + ix) * p.c + c]);
            }
          }
          y[((n * p.oh + oy) * p.ow + ox) * p.c + c] = m;
        }
      }
    }
  }
}

// Sum in float over the in-bounds taps, then divide by their count (or by KH*KW with
// count_include_pad). A window with no in-bounds tap yields 0.
void avg_pool(const Pool2DParams& p, const float* x, float* y) {
  for (int64_t n = 0; n < p.n; n++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      for (int64_t ox = 0; ox < p.ow; ox++) {
        for (int64_t c = 0; c < p.c; c++) {
          float sum = 0.f;
          int64_t count = 0;
          for (int64_t ky = 0; ky < p.kh; ky++) {
            const int64_t iy = oy * p.sh - p.pad_top + ky;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t kx = 0; kx < p.kw; kx++) {
              const int64_t ix = ox * p.sw - p.pad_left + kx;
              if (ix < 0 || ix >= p.w) continue;
              sum += x[((n * p.h + iy) * p.w + ix) * p.c + c];
              count++;
            }
          }
          const int64_t divisor = p.count_include_pad ? p.kh * p.kw : count;
          y[((n * p.oh + oy) * p.ow + ox) * p.c + c] =
              divisor > 0 ? sum / static_cast<float>(divisor) : 0.f;
        }
      }
    }
  }
}

}  // namespace morsel::ref
