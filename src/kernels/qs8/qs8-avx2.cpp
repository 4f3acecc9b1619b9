// qs8 GEMM, AVX2: A as int16 (q - zero), pairs of K multiplied by vpmaddwd (exact int32, no
// saturation). B panels of 16 columns as [K/2][16][2] int16. Tile 4 rows x 16 columns.
// Compiled with -mavx2 -mfma only; used when the CPU has AVX2 but not AVX512-VNNI.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qs8/qs8.h"
#include "kernels/ref/qref.h"

namespace morsel::kernels {

namespace {

constexpr int kNr = 16, kMr = 4;

// (q - zero) for 8 floats, as int32.
inline __m256i quantize8(__m256 x, __m256 inv, __m256i zero) {
  __m256 r = _mm256_mul_ps(x, inv);
  r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-256.f)), _mm256_set1_ps(256.f));
  __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), zero);
  q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_setzero_si256()), _mm256_set1_epi32(255));
  return _mm256_sub_epi32(q, zero);
}

void quantize_rows(const float* x, int64_t rows, int64_t k, int64_t ldx, float inv_scale,
                   int32_t zero, void* a, int64_t lda) {
  const __m256 inv = _mm256_set1_ps(inv_scale);
  const __m256i z = _mm256_set1_epi32(zero);
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * ldx;
    int16_t* ar = reinterpret_cast<int16_t*>(static_cast<uint8_t*>(a) + r * lda);
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
      __m256i q0 = quantize8(_mm256_loadu_ps(xr + i), inv, z);
      __m256i q1 = quantize8(_mm256_loadu_ps(xr + i + 8), inv, z);
      __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xd8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(ar + i), p);
    }
    for (; i < k; i++) ar[i] = static_cast<int16_t>(ref::quantize_u8(xr[i], inv_scale, zero) - zero);
    if (k & 1) ar[k] = 0;
  }
}

int64_t packed_bytes(int64_t k, int64_t n) { return qs8_round_up(n, kNr) * qs8_round_up(k, 2) * 2; }

void pack_b(int64_t k, int64_t n, const int8_t* w, void* out) {
  int16_t* o = static_cast<int16_t*>(out);
  const int64_t panels = qs8_round_up(n, kNr) / kNr, kp = qs8_round_up(k, 2);
  for (int64_t p = 0; p < panels; p++)
    for (int64_t i = 0; i < kp; i += 2)
      for (int j = 0; j < kNr; j++)
        for (int t = 0; t < 2; t++) {
          const int64_t col = p * kNr + j, row = i + t;
          *o++ = col < n && row < k ? w[row * n + col] : 0;
        }
}

inline void store_row(const Qs8GemmArgs& g, __m256i acc0, __m256i acc1, int64_t m, int64_t n0) {
  const int64_t cols = std::min<int64_t>(kNr, g.n - n0);
  const __m256 xs = _mm256_set1_ps(g.x_scale);
  const __m256 lo = _mm256_set1_ps(g.lo), hi = _mm256_set1_ps(g.hi);
  float tmp[kNr];
  __m256i accs[2] = {acc0, acc1};
  for (int h = 0; h < 2; h++) {
    const __m256 s = _mm256_mul_ps(xs, _mm256_loadu_ps(g.w_scale + n0 + 8 * h));
    __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(accs[h]), s);
    t = _mm256_add_ps(t, _mm256_loadu_ps(g.bias + n0 + 8 * h));
    t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
    _mm256_storeu_ps(tmp + 8 * h, t);
  }
  float* c = g.c + m * g.ldc + n0;
  if (cols == kNr) {
    std::copy(tmp, tmp + kNr, c);
  } else {
    for (int64_t j = 0; j < cols; j++) c[j] = tmp[j];
  }
}

void gemm(const Qs8GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t kp = qs8_round_up(g.k, 2);
  const uint8_t* abase = static_cast<const uint8_t*>(g.a);
  for (int64_t m = m0; m < m1; m += kMr) {
    const int rows = static_cast<int>(std::min<int64_t>(kMr, m1 - m));
    const int32_t* ar[kMr];
    for (int r = 0; r < kMr; r++)
      ar[r] = reinterpret_cast<const int32_t*>(abase + (m + (r < rows ? r : 0)) * g.lda);
    for (int64_t p = p0; p < p1; p++) {
      const __m256i* bp = reinterpret_cast<const __m256i*>(static_cast<const int16_t*>(g.b) + p * kp * kNr);
      __m256i c[kMr][2];
      for (int r = 0; r < kMr; r++) c[r][0] = c[r][1] = _mm256_setzero_si256();
      for (int64_t i = 0; i < kp / 2; i++) {
        const __m256i b0 = _mm256_loadu_si256(bp + 2 * i), b1 = _mm256_loadu_si256(bp + 2 * i + 1);
        for (int r = 0; r < kMr; r++) {
          const __m256i av = _mm256_set1_epi32(ar[r][i]);
          c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(av, b0));
          c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(av, b1));
        }
      }
      for (int r = 0; r < rows; r++) store_row(g, c[r][0], c[r][1], m + r, p * kNr);
    }
  }
}

}  // namespace

namespace avx2 {
const Qs8Kernels& qs8_table() {
  static const Qs8Kernels t{"avx2", kMr, kNr, 2, 2, quantize_rows, packed_bytes, pack_b, gemm};
  return t;
}
}  // namespace avx2

}  // namespace morsel::kernels
