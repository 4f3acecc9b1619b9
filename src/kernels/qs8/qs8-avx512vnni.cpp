// qs8 GEMM, AVX-512 VNNI: A as u8 (with the zero point), B panels of 16 columns as [K/4][16][4]
// i8, vpdpbusd (u8 x i8, 4 products into each int32, wrapping); the zero point comes off in the
// epilogue as zero * colsum[n]. Tile 4 rows x up to 4 panels (64 columns, 16 accumulators).
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni; used only when the CPU has them.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qs8/qs8.h"
#include "kernels/ref/qref.h"

namespace morsel::kernels {

namespace {

constexpr int kNr = 16, kMr = 4;

void quantize_rows(const float* x, int64_t rows, int64_t k, int64_t ldx, float inv_scale,
                   int32_t zero, void* a, int64_t lda) {
  const __m512 inv = _mm512_set1_ps(inv_scale);
  const __m512i z = _mm512_set1_epi32(zero);
  const __m512 lo = _mm512_set1_ps(-256.f), hi = _mm512_set1_ps(256.f);
  const int64_t kp = qs8_round_up(k, 4);
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * ldx;
    uint8_t* ar = static_cast<uint8_t*>(a) + r * lda;
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 mk = k - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - i)) - 1);
      __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + i), inv);
      v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
      __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), z);
      q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_setzero_si512()), _mm512_set1_epi32(255));
      _mm512_mask_cvtepi32_storeu_epi8(ar + i, mk, q);
    }
    for (int64_t i = k; i < kp; i++) ar[i] = static_cast<uint8_t>(zero);
  }
}

int64_t packed_bytes(int64_t k, int64_t n) { return qs8_round_up(n, kNr) * qs8_round_up(k, 4); }

void pack_b(int64_t k, int64_t n, const int8_t* w, void* out) {
  int8_t* o = static_cast<int8_t*>(out);
  const int64_t panels = qs8_round_up(n, kNr) / kNr, kp = qs8_round_up(k, 4);
  for (int64_t p = 0; p < panels; p++)
    for (int64_t i = 0; i < kp; i += 4)
      for (int j = 0; j < kNr; j++)
        for (int t = 0; t < 4; t++) {
          const int64_t col = p * kNr + j, row = i + t;
          *o++ = col < n && row < k ? w[row * n + col] : 0;
        }
}

template <int NP>
inline void tile(const Qs8GemmArgs& g, int64_t m, int rows, int64_t p, int64_t kp) {
  const uint8_t* abase = static_cast<const uint8_t*>(g.a);
  const int32_t* ar[kMr];
  for (int r = 0; r < kMr; r++) ar[r] = reinterpret_cast<const int32_t*>(abase + (m + (r < rows ? r : 0)) * g.lda);
  const __m512i* bp[NP];
  for (int q = 0; q < NP; q++)
    bp[q] = reinterpret_cast<const __m512i*>(static_cast<const int8_t*>(g.b) + (p + q) * kp * kNr);
  __m512i c[kMr][NP];
  for (int r = 0; r < kMr; r++)
    for (int q = 0; q < NP; q++) c[r][q] = _mm512_setzero_si512();
  for (int64_t i = 0; i < kp / 4; i++) {
    __m512i b[NP];
    for (int q = 0; q < NP; q++) b[q] = _mm512_loadu_si512(bp[q] + i);
    for (int r = 0; r < kMr; r++) {
      const __m512i av = _mm512_set1_epi32(ar[r][i]);
      for (int q = 0; q < NP; q++) c[r][q] = _mm512_dpbusd_epi32(c[r][q], av, b[q]);
    }
  }
  const __m512 xs = _mm512_set1_ps(g.x_scale);
  const __m512 lo = _mm512_set1_ps(g.lo), hi = _mm512_set1_ps(g.hi);
  const __m512i zero = _mm512_set1_epi32(g.x_zero);
  for (int q = 0; q < NP; q++) {
    const int64_t n0 = (p + q) * kNr;
    const int64_t cols = std::min<int64_t>(kNr, g.n - n0);
    const __mmask16 mk = cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
    const __m512i zc = _mm512_mullo_epi32(zero, _mm512_loadu_si512(g.colsum + n0));
    const __m512 s = _mm512_mul_ps(xs, _mm512_loadu_ps(g.w_scale + n0));
    const __m512 bias = _mm512_loadu_ps(g.bias + n0);
    for (int r = 0; r < rows; r++) {
      __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c[r][q], zc)), s);
      t = _mm512_add_ps(t, bias);
      t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
      _mm512_mask_storeu_ps(g.c + (m + r) * g.ldc + n0, mk, t);
    }
  }
}

void gemm(const Qs8GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t kp = qs8_round_up(g.k, 4);
  for (int64_t m = m0; m < m1; m += kMr) {
    const int rows = static_cast<int>(std::min<int64_t>(kMr, m1 - m));
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) tile<4>(g, m, rows, p, kp);
    switch (p1 - p) {
      case 3: tile<3>(g, m, rows, p, kp); break;
      case 2: tile<2>(g, m, rows, p, kp); break;
      case 1: tile<1>(g, m, rows, p, kp); break;
      default: break;
    }
  }
}

}  // namespace

namespace avx512vnni {
const Qs8Kernels& qs8_table() {
  static const Qs8Kernels t{"avx512vnni", kMr, kNr, 4, 1, quantize_rows, packed_bytes, pack_b, gemm};
  return t;
}
}  // namespace avx512vnni

}  // namespace morsel::kernels
