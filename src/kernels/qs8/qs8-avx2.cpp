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

// (q - zero) as int32 for 8 floats x: clamp x * inv to [qlo, qhi] (qs8_requant_bounds; NaN -> qlo)
// and round.
inline __m256i centered8(__m256 x, __m256 inv, __m256 qlo, __m256 qhi) {
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(x, inv), qlo), qhi));
}

// Rows of k values (ldx floats apart) -> int16 rows of (q - zero) (lda bytes apart, padded to
// even k), with f applied to each 8 floats at column i first.
template <typename F>
inline void quantize_rows_with(F f, const float* x, int64_t rows, int64_t k, int64_t ldx,
                               float inv_scale, float qlo, float qhi, void* a, int64_t lda) {
  const __m256 inv = _mm256_set1_ps(inv_scale);
  const __m256 lo = _mm256_set1_ps(qlo), hi = _mm256_set1_ps(qhi);
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * ldx;
    int16_t* ar = reinterpret_cast<int16_t*>(static_cast<uint8_t*>(a) + r * lda);
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
      __m256i q0 = centered8(f(_mm256_loadu_ps(xr + i), i), inv, lo, hi);
      __m256i q1 = centered8(f(_mm256_loadu_ps(xr + i + 8), i + 8), inv, lo, hi);
      __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xd8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(ar + i), p);
    }
    if (i < k) {  // the tail through a zero-padded buffer
      alignas(32) float buf[16] = {0};
      alignas(32) int32_t q[16];
      for (int64_t j = i; j < k; j++) buf[j - i] = xr[j];
      _mm256_store_si256(reinterpret_cast<__m256i*>(q), centered8(f(_mm256_load_ps(buf), i), inv, lo, hi));
      _mm256_store_si256(reinterpret_cast<__m256i*>(q + 8), centered8(f(_mm256_load_ps(buf + 8), i + 8), inv, lo, hi));
      for (int64_t j = i; j < k; j++) ar[j] = static_cast<int16_t>(q[j - i]);
    }
    if (k & 1) ar[k] = 0;
  }
}

void quantize_rows(const float* x, int64_t rows, int64_t k, int64_t ldx, float inv_scale,
                   int32_t zero, void* a, int64_t lda) {
  quantize_rows_with([](__m256 v, int64_t) { return v; }, x, rows, k, ldx, inv_scale,
                     static_cast<float>(-zero), static_cast<float>(255 - zero), a, lda);
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
  __m256 lo = _mm256_set1_ps(g.lo), hi = _mm256_set1_ps(g.hi);
  const __m256 oinv = _mm256_set1_ps(g.out_inv_scale);
  if (g.requant) {  // the clamp to [lo, hi] folds into the requantization's
    float qlo = 0.f, qhi = 0.f;
    qs8_requant_bounds(g.lo, g.hi, g.out_inv_scale, g.out_zero, &qlo, &qhi);
    lo = _mm256_set1_ps(qlo);
    hi = _mm256_set1_ps(qhi);
  }
  float* c = g.c + m * g.ldc + n0;
  alignas(32) float tmp[kNr];
  float* dst = cols == kNr ? c : tmp;
  __m256i accs[2] = {acc0, acc1};
  for (int h = 0; h < 2; h++) {
    const __m256 s = _mm256_mul_ps(xs, _mm256_loadu_ps(g.w_scale + n0 + 8 * h));
    __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(accs[h]), s);
    t = _mm256_add_ps(t, _mm256_loadu_ps(g.bias + n0 + 8 * h));
    if (g.requant)  // round(clamp(t * inv)): ref::requantize_centered in value (-0 may stay)
      t = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(t, oinv), lo), hi),
                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    else
      t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
    _mm256_storeu_ps(dst + 8 * h, t);
  }
  if (cols < kNr)
    for (int64_t j = 0; j < cols; j++) c[j] = tmp[j];
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

void requantize(const float* x, int64_t n, float inv_scale, int32_t zero, float* y) {
  const __m256 inv = _mm256_set1_ps(inv_scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(-zero)), hi = _mm256_set1_ps(static_cast<float>(255 - zero));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtepi32_ps(centered8(_mm256_loadu_ps(x + i), inv, lo, hi)));
  for (; i < n; i++) y[i] = ref::requantize_centered(x[i], inv_scale, zero);
}

void dequantize_rows(const float* acc, int64_t rows, int64_t k, int64_t ldacc, const float* scale,
                     const float* bias, float lo, float hi, float inv_scale, int32_t zero, void* a,
                     int64_t lda) {
  // t = acc * scale + bias at columns [i, i + 8), zero past k (the tail buffer's padding).
  auto value = [&](__m256 v, int64_t i) {
    if (i + 8 > k) {
      alignas(32) float s[8] = {0}, b[8] = {0};
      for (int64_t j = i; j < k; j++) s[j - i] = scale[j], b[j - i] = bias[j];
      return _mm256_add_ps(_mm256_mul_ps(v, _mm256_load_ps(s)), _mm256_load_ps(b));
    }
    return _mm256_add_ps(_mm256_mul_ps(v, _mm256_loadu_ps(scale + i)), _mm256_loadu_ps(bias + i));
  };
  float qlo = 0.f, qhi = 0.f;  // the clamp to [lo, hi] folded into the quantization's
  qs8_requant_bounds(lo, hi, inv_scale, zero, &qlo, &qhi);
  quantize_rows_with(value, acc, rows, k, ldacc, inv_scale, qlo, qhi, a, lda);
}

}  // namespace

namespace avx2 {
const Qs8Kernels& qs8_table() {
  static const Qs8Kernels t{"avx2", kMr, kNr, 2, 2, quantize_rows, packed_bytes, pack_b, gemm,
                            requantize, dequantize_rows, nullptr};
  return t;
}
}  // namespace avx2

}  // namespace morsel::kernels
