// Reference concatenation along one axis, f32, seen as [outer, axis_i, inner] views.
#include "kernels/ref/ref.h"

namespace morsel::ref {

// xs[i]: [outer, sizes[i]] (sizes[i] = axis_i * inner)  y: [outer, sum_i sizes[i]]
// For each outer row, the rows of the inputs are copied one after another.
void concat(int64_t outer, int num_inputs, const float* const* xs, const int64_t* sizes, float* y) {
  for (int64_t o = 0; o < outer; o++) {
    for (int i = 0; i < num_inputs; i++) {
      const float* src = xs[i] + o * sizes[i];
      for (int64_t j = 0; j < sizes[i]; j++) *y++ = src[j];
    }
  }
}

}  // namespace morsel::ref
