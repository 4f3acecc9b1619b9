// qs8 GEMM, portable C++: A as int16 (q - zero), B in panels of 16 columns [K][16] i8.
// The fallback for CPUs without AVX2 and the WASM/arm64 builds.
#include <algorithm>
#include <cstring>

#include "kernels/qs8/qs8.h"
#include "kernels/ref/qref.h"

namespace morsel::kernels {

namespace {

constexpr int kNr = 16;

void quantize_rows(const float* x, int64_t rows, int64_t k, int64_t ldx, float inv_scale,
                   int32_t zero, void* a, int64_t lda) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * ldx;
    int16_t* ar = reinterpret_cast<int16_t*>(static_cast<uint8_t*>(a) + r * lda);
    for (int64_t i = 0; i < k; i++)
      ar[i] = static_cast<int16_t>(ref::quantize_u8(xr[i], inv_scale, zero) - zero);
  }
}

int64_t packed_bytes(int64_t k, int64_t n) { return qs8_round_up(n, kNr) * k; }

void pack_b(int64_t k, int64_t n, const int8_t* w, void* out) {
  int8_t* o = static_cast<int8_t*>(out);
  const int64_t panels = qs8_round_up(n, kNr) / kNr;
  for (int64_t p = 0; p < panels; p++)
    for (int64_t i = 0; i < k; i++)
      for (int j = 0; j < kNr; j++) {
        const int64_t col = p * kNr + j;
        *o++ = col < n ? w[i * n + col] : 0;
      }
}

void gemm(const Qs8GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const ref::Activation act{g.lo, g.hi};
  for (int64_t m = m0; m < m1; m++) {
    const int16_t* ar = reinterpret_cast<const int16_t*>(static_cast<const uint8_t*>(g.a) + m * g.lda);
    for (int64_t p = p0; p < p1; p++) {
      const int8_t* bp = static_cast<const int8_t*>(g.b) + p * g.k * kNr;
      int32_t acc[kNr] = {0};
      for (int64_t i = 0; i < g.k; i++) {
        const int32_t av = ar[i];
        for (int j = 0; j < kNr; j++) acc[j] += av * bp[i * kNr + j];
      }
      const int64_t n0 = p * kNr, cols = std::min<int64_t>(kNr, g.n - n0);
      float* c = g.c + m * g.ldc + n0;
      for (int64_t j = 0; j < cols; j++) {
        c[j] = ref::dequantize_output(acc[j], g.x_scale, g.w_scale[n0 + j], g.bias[n0 + j], act);
        if (g.requant) c[j] = ref::requantize_centered(c[j], g.out_inv_scale, g.out_zero);
      }
    }
  }
}

void requantize(const float* x, int64_t n, float inv_scale, int32_t zero, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = ref::requantize_centered(x[i], inv_scale, zero);
}

void dequantize_rows(const float* acc, int64_t rows, int64_t k, int64_t ldacc, const float* scale,
                     const float* bias, float lo, float hi, float inv_scale, int32_t zero, void* a,
                     int64_t lda) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = acc + r * ldacc;
    int16_t* ar = reinterpret_cast<int16_t*>(static_cast<uint8_t*>(a) + r * lda);
    for (int64_t i = 0; i < k; i++) {
      float t = xr[i] * scale[i];
      t = t + bias[i];
      t = t < lo ? lo : t > hi ? hi : t;
      ar[i] = static_cast<int16_t>(ref::quantize_u8(t, inv_scale, zero) - zero);
    }
  }
}

}  // namespace

namespace scalar {
const Qs8Kernels& qs8_table() {
  static const Qs8Kernels t{"scalar", 1, kNr, 1, 2, quantize_rows, packed_bytes, pack_b, gemm,
                            requantize, dequantize_rows, nullptr};
  return t;
}
}  // namespace scalar

}  // namespace morsel::kernels
