// Reference element-wise activations, f32: relu (leaky), clip, sigmoid, tanh, swish, hard_swish.
// Each is defined for every float input: no inf or nan from finite x.
#include <algorithm>
#include <cmath>

#include "kernels/ref/ref.h"

namespace morsel::ref {

namespace {

// 1 / (1 + e^-x), computed through e^-|x| so that exp never overflows: for x >= 0 it is
// 1 / (1 + e^-x); for x < 0 it is e^x / (1 + e^x). Both forms stay in [0, 1].
float sigmoid_one(float x) {
  const float e = std::exp(-std::fabs(x));  // in (0, 1]
  return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}

}  // namespace

void relu(int64_t n, const float* x, float alpha, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.f ? alpha * x[i] : x[i];
}

void clip(int64_t n, const float* x, float lo, float hi, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = std::min(std::max(x[i], lo), hi);
}

void sigmoid(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = sigmoid_one(x[i]);
}

void tanh(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = std::tanh(x[i]);
}

void swish(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoid_one(x[i]);
}

// x * relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3, a quadratic in between.
void hard_swish(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * std::min(std::max(x[i] + 3.f, 0.f), 6.f) / 6.f;
}

}  // namespace morsel::ref
