// Reference inference-mode batch normalization over the last (channel) axis, f32.
// Usually folded into the preceding convolution by graph/passes; this is what that fold must match.
#include <cmath>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x, y: [outer,C]  gamma, beta, mean, var: [C]
// y = (x - mean) / sqrt(var + eps) * gamma + beta, evaluated in that order in float.
void batchnorm(int64_t outer, int64_t c, const float* x, const float* gamma, const float* beta,
               const float* mean, const float* var, float eps, float* y) {
  for (int64_t i = 0; i < outer; i++) {
    for (int64_t j = 0; j < c; j++) {
      y[i * c + j] = (x[i * c + j] - mean[j]) / std::sqrt(var[j] + eps) * gamma[j] + beta[j];
    }
  }
}

}  // namespace morsel::ref
