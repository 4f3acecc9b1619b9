// Reference axis permutation, f32, any rank: y.shape[i] = x.shape[perm[i]].
// Walks the output in row-major order and gathers each element from the input.
#include <vector>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: in_shape  y: out_shape[i] = in_shape[perm[i]]
// Output multi-index o reads input element whose index on axis perm[i] is o[i].
void transpose(int rank, const int64_t* in_shape, const int64_t* perm, const float* x, float* y) {
  std::vector<int64_t> in_strides(rank);  // row-major strides of x
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; d--) {
    in_strides[d] = stride;
    stride *= in_shape[d];
  }
  const int64_t total = stride;
  std::vector<int64_t> out_shape(rank), out_strides_in_x(rank);
  for (int i = 0; i < rank; i++) {
    out_shape[i] = in_shape[perm[i]];
    out_strides_in_x[i] = in_strides[perm[i]];  // stepping output axis i moves this far in x
  }
  std::vector<int64_t> idx(rank, 0);  // multi-index of output element i
  for (int64_t i = 0; i < total; i++) {
    int64_t xi = 0;
    for (int d = 0; d < rank; d++) xi += idx[d] * out_strides_in_x[d];
    y[i] = x[xi];
    for (int d = rank - 1; d >= 0; d--) {
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace morsel::ref
