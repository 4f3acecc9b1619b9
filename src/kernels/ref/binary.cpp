// Reference element-wise binary ops (add, sub, mul, div) with numpy broadcasting, f32, any rank.
// Walks the output in row-major order; an input dimension of size 1 is read with stride 0.
#include <vector>

#include "kernels/ref/ref.h"

namespace morsel::ref {

namespace {

// Row-major strides of `shape`, with stride 0 on every dimension of size 1 (broadcast).
std::vector<int64_t> broadcast_strides(int rank, const int64_t* shape) {
  std::vector<int64_t> s(rank);
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; d--) {
    s[d] = shape[d] == 1 ? 0 : stride;
    stride *= shape[d];
  }
  return s;
}

float apply(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::ADD:
      return a + b;
    case BinaryOp::SUB:
      return a - b;
    case BinaryOp::MUL:
      return a * b;
    case BinaryOp::DIV:
      return a / b;
  }
  return 0.f;
}

}  // namespace

// a: a_shape, b: b_shape, y: y_shape, all of `rank` dims (leading 1s for lower-rank inputs);
// for each d, a_shape[d] and b_shape[d] are y_shape[d] or 1. rank 0 is a scalar.
void binary(BinaryOp op, int rank, const int64_t* a_shape, const float* a, const int64_t* b_shape,
            const float* b, const int64_t* y_shape, float* y) {
  const std::vector<int64_t> as = broadcast_strides(rank, a_shape);
  const std::vector<int64_t> bs = broadcast_strides(rank, b_shape);
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= y_shape[d];
  std::vector<int64_t> idx(rank, 0);  // multi-index of output element i
  for (int64_t i = 0; i < total; i++) {
    int64_t ai = 0, bi = 0;
    for (int d = 0; d < rank; d++) {
      ai += idx[d] * as[d];
      bi += idx[d] * bs[d];
    }
    y[i] = apply(op, a[ai], b[bi]);
    for (int d = rank - 1; d >= 0; d--) {  // increment the multi-index, last axis fastest
      if (++idx[d] < y_shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace morsel::ref
