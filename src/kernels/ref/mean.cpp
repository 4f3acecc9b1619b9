// Reference mean over one axis, f32: the global-average-pool at the end of most classifiers is
// mean_reduce over [N, H*W, C].
#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: [outer,reduce,inner]  y: [outer,inner]
// Sum in float over r ascending from 0, then divide by `reduce`.
void mean_reduce(int64_t outer, int64_t reduce, int64_t inner, const float* x, float* y) {
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      float sum = 0.f;
      for (int64_t r = 0; r < reduce; r++) sum += x[(o * reduce + r) * inner + i];
      y[o * inner + i] = sum / static_cast<float>(reduce);
    }
  }
}

}  // namespace morsel::ref
