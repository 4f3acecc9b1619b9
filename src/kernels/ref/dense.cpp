// Reference fully connected layer (matrix multiply plus bias and fused activation), f32.
#include <algorithm>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: [rows,K]  w: [K,M]  bias: [M] or null  y: [rows,M]
// Accumulation: one float per output, summed over k ascending from 0; bias added after the sum,
// then the activation clamps.
void dense(int64_t rows, int64_t k, int64_t m, const float* x, const float* w, const float* bias,
           Activation act, float* y) {
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t j = 0; j < m; j++) {
      float acc = 0.f;
      for (int64_t i = 0; i < k; i++) acc += x[r * k + i] * w[i * m + j];
      if (bias) acc += bias[j];
      y[r * m + j] = std::min(std::max(acc, act.min), act.max);
    }
  }
}

}  // namespace morsel::ref
