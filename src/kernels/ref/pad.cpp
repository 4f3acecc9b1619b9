// Reference constant padding, f32, any rank. Each output element is either copied from the input
// or set to `value`; a negative pad crops instead.
#include <vector>

#include "kernels/ref/ref.h"

namespace morsel::ref {

// x: in_shape  y: out_shape[d] = pads[d] + in_shape[d] + pads[rank + d]
// Output index o maps to input index o - pads[d] on every axis; outside [0, in_shape[d]) on any
// axis the output is `value`.
void pad(int rank, const int64_t* in_shape, const int64_t* pads, float value, const float* x,
         float* y) {
  std::vector<int64_t> out_shape(rank);
  int64_t total = 1;
  for (int d = 0; d < rank; d++) {
    out_shape[d] = pads[d] + in_shape[d] + pads[rank + d];
    total *= out_shape[d];
  }
  std::vector<int64_t> idx(rank, 0);  // multi-index of output element i
  for (int64_t i = 0; i < total; i++) {
    bool inside = true;
    int64_t xi = 0;
    for (int d = 0; d < rank; d++) {
      const int64_t id = idx[d] - pads[d];
      if (id < 0 || id >= in_shape[d]) inside = false;
      xi = xi * in_shape[d] + id;
    }
    y[i] = inside ? x[xi] : value;
    for (int d = rank - 1; d >= 0; d--) {
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace morsel::ref
