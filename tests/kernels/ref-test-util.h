// Helpers for the reference-kernel tests: seeded random buffers, SAME/VALID geometry, and an
// element-wise comparison with a 1e-5 relative tolerance.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace morsel::ref::test {

// n floats uniform in [lo, hi), reproducible from `seed`.
inline std::vector<float> random_vec(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

// Output size along one axis and the padding before it, TensorFlow's SAME/VALID rules:
// SAME: out = ceil(in/s), total pad = max((out-1)*s + (k-1)*d + 1 - in, 0), before = total/2.
// VALID: out = floor((in - (k-1)*d - 1)/s) + 1, no padding.
struct Axis {
  int64_t out, pad_before;
};
inline Axis same_axis(int64_t in, int64_t k, int64_t s, int64_t d = 1) {
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + (k - 1) * d + 1 - in, 0);
  return {out, total / 2};
}
inline Axis valid_axis(int64_t in, int64_t k, int64_t s, int64_t d = 1) {
  return {(in - (k - 1) * d - 1) / s + 1, 0};
}

// |got - want| <= rel * max(1, |got|, |want|) for every element: relative above magnitude 1,
// absolute below it (sums of signed random terms can cancel to near zero).
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                         float rel = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 10; i++) {
    const float tol = rel * std::max({1.f, std::fabs(got[i]), std::fabs(want[i])});
    if (!(std::fabs(got[i] - want[i]) <= tol)) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
      failures++;
    }
  }
}

}  // namespace morsel::ref::test
