// Reference softmax over one axis, f32, seen as [outer, axis, inner]. The row maximum is
// subtracted before exp, so large logits never overflow.
#include <algorithm>
#include <cmath>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x, y: [outer,axis,inner]; normalized along `axis` for each (outer, inner).
// y = exp(x - max) / sum(exp(x - max)), the sum in float over the axis ascending.
void softmax(int64_t outer, int64_t axis, int64_t inner, const float* x, float* y) {
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      const float* xr = x + o * axis * inner + i;  // element a of the row is xr[a * inner]
      float* yr = y + o * axis * inner + i;
      float mx = -__builtin_inff();
      for (int64_t a = 0; a < axis; a++) mx = std::max(mx, xr[a * inner]);
      float sum = 0.f;
      for (int64_t a = 0; a < axis; a++) {
        yr[a * inner] = std::exp(xr[a * inner] - mx);
        sum += yr[a * inner];
      }
      for (int64_t a = 0; a < axis; a++) yr[a * inner] /= sum;
    }
  }
}

}  // namespace morsel::ref
