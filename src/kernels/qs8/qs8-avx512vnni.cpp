// qs8 GEMM, AVX-512 VNNI: A as u8 (with the zero point), B panels of 16 columns as [K/4][16][4]
// i8, vpdpbusd (u8 x i8, 4 products into each int32, wrapping); the zero point comes off in the
// epilogue as zero * colsum[n]. Tile 4 rows x up to 4 panels (64 columns, 16 accumulators), or
// 8 rows x up to 2 panels for narrow outputs; partial row blocks compute only their rows.
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni; used only when the CPU has them.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/qs8/qs8.h"
#include "kernels/ref/qref.h"

namespace morsel::kernels {

namespace {

constexpr int kNr = 16, kMr = 4;

// Four vectors of 16 int32 in [0, 255] -> their 64 bytes, in order.
inline __m512i pack_u8(__m512i a, __m512i b, __m512i c, __m512i d) {
  // packs/packus work per 128-bit lane: dword 4L + j holds elements 4L..4L+3 of a, b, c, d (j).
  const __m512i v = _mm512_packus_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v);
}

// Rows of k values (ldx floats apart) -> u8 rows (lda bytes apart, zero-padded to a multiple of
// 4): q(f(x)) with f applied to each 16 floats at column i. q for finite or NaN input: clamp
// r = v * inv to [-zero, 255 - zero] (NaN -> -zero, as ref::quantize_u8), round, add zero.
// [qlo, qhi]: that range, or a narrower one that folds in a clamp applied before (see
// qs8_requant_bounds).
template <typename F>
inline void quantize_rows_with(F f, const float* x, int64_t rows, int64_t k, int64_t ldx,
                               float inv_scale, int32_t zero, float qlo, float qhi, void* a,
                               int64_t lda) {
  const __m512 inv = _mm512_set1_ps(inv_scale);
  const __m512i z = _mm512_set1_epi32(zero);
  const __m512 lo = _mm512_set1_ps(qlo), hi = _mm512_set1_ps(qhi);
  auto q16 = [&](__m512 v) {
    v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, inv), lo), hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(v), z);
  };
  const int64_t kp = qs8_round_up(k, 4);
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * ldx;
    uint8_t* ar = static_cast<uint8_t*>(a) + r * lda;
    int64_t i = 0;
    for (; i + 64 <= k; i += 64)
      _mm512_storeu_si512(ar + i, pack_u8(q16(f(_mm512_loadu_ps(xr + i), i, 0xffff)),
                                          q16(f(_mm512_loadu_ps(xr + i + 16), i + 16, 0xffff)),
                                          q16(f(_mm512_loadu_ps(xr + i + 32), i + 32, 0xffff)),
                                          q16(f(_mm512_loadu_ps(xr + i + 48), i + 48, 0xffff))));
    for (; i < k; i += 16) {
      const __mmask16 mk = k - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - i)) - 1);
      _mm512_mask_cvtepi32_storeu_epi8(ar + i, mk, q16(f(_mm512_maskz_loadu_ps(mk, xr + i), i, mk)));
    }
    for (i = k; i < kp; i++) ar[i] = static_cast<uint8_t>(zero);
  }
}

void quantize_rows(const float* x, int64_t rows, int64_t k, int64_t ldx, float inv_scale,
                   int32_t zero, void* a, int64_t lda) {
  quantize_rows_with([](__m512 v, int64_t, __mmask16) { return v; }, x, rows, k, ldx, inv_scale,
                     zero, static_cast<float>(-zero), static_cast<float>(255 - zero), a, lda);
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

// round(clamp(t * inv, lo, hi)) as float: ref::requantize_centered in value (-0 may stay -0).
inline __m512 requantize16(__m512 t, __m512 inv, __m512 lo, __m512 hi) {
  const __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(t, inv), lo), hi);
  return _mm512_roundscale_ps(r, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// c += u8 a x i8 b (vpdpbusd). Written as asm so the accumulator stays in its register: with the
// intrinsic, GCC 12 copies every accumulator each iteration and spills some.
inline __m512i dpbusd(__m512i c, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));
  return c;
}

// MR rows (exactly) x NP panels of 16 columns; REQ: the requantized output (g.requant).
template <int MR, int NP, bool REQ>
void tile(const Qs8GemmArgs& g, int64_t m, int64_t p, int64_t kp) {
  const uint8_t* abase = static_cast<const uint8_t*>(g.a);
  const int32_t* ar[MR];
  for (int r = 0; r < MR; r++) ar[r] = reinterpret_cast<const int32_t*>(abase + (m + r) * g.lda);
  const __m512i* bp[NP];
  for (int q = 0; q < NP; q++)
    bp[q] = reinterpret_cast<const __m512i*>(static_cast<const int8_t*>(g.b) + (p + q) * kp * kNr);
  __m512i c[MR][NP];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int q = 0; q < NP; q++) c[r][q] = _mm512_setzero_si512();
  for (int64_t i = 0; i < kp / 4; i++) {
    __m512i b[NP];
#pragma GCC unroll 4
    for (int q = 0; q < NP; q++) b[q] = _mm512_loadu_si512(bp[q] + i);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m512i av = _mm512_set1_epi32(ar[r][i]);
#pragma GCC unroll 4
      for (int q = 0; q < NP; q++) c[r][q] = dpbusd(c[r][q], av, b[q]);
    }
  }
  const __m512 xs = _mm512_set1_ps(g.x_scale);
  const __m512i zero = _mm512_set1_epi32(g.x_zero);
  __m512 lo, hi, oinv;
  if constexpr (REQ) {
    float qlo = 0.f, qhi = 0.f;
    qs8_requant_bounds(g.lo, g.hi, g.out_inv_scale, g.out_zero, &qlo, &qhi);
    lo = _mm512_set1_ps(qlo), hi = _mm512_set1_ps(qhi), oinv = _mm512_set1_ps(g.out_inv_scale);
  } else {
    lo = _mm512_set1_ps(g.lo), hi = _mm512_set1_ps(g.hi);
  }
#pragma GCC unroll 4
  for (int q = 0; q < NP; q++) {
    const int64_t n0 = (p + q) * kNr;
    const int64_t cols = std::min<int64_t>(kNr, g.n - n0);
    const __mmask16 mk = cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
    const __m512i zc = _mm512_mullo_epi32(zero, _mm512_loadu_si512(g.colsum + n0));
    const __m512 s = _mm512_mul_ps(xs, _mm512_loadu_ps(g.w_scale + n0));
    const __m512 bias = _mm512_loadu_ps(g.bias + n0);
    float* cp = g.c + m * g.ldc + n0;
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c[r][q], zc)), s);
      t = _mm512_add_ps(t, bias);
      if constexpr (REQ)
        t = requantize16(t, oinv, lo, hi);
      else
        t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
      if (cols >= 16)
        _mm512_storeu_ps(cp + r * g.ldc, t);
      else
        _mm512_mask_storeu_ps(cp + r * g.ldc, mk, t);
    }
  }
}

using TileFn = void (*)(const Qs8GemmArgs&, int64_t, int64_t, int64_t);
template <int NP, bool REQ>
constexpr TileFn kTiles[9] = {nullptr, tile<1, NP, REQ>, tile<2, NP, REQ>, tile<3, NP, REQ>,
                              tile<4, NP, REQ>, tile<5, NP, REQ>, tile<6, NP, REQ>,
                              tile<7, NP, REQ>, tile<8, NP, REQ>};

// Row blocks of 4 with groups of 4 panels (16 accumulators); with at most 2 panels (narrow
// outputs), row blocks of 8, so each B load feeds 8 rows. The last block has the rows left.
template <bool REQ>
void gemm_with(const Qs8GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t kp = qs8_round_up(g.k, 4);
  const int64_t mr = p1 - p0 <= 2 ? 8 : kMr;
  for (int64_t m = m0; m < m1; m += mr) {
    const int rows = static_cast<int>(std::min<int64_t>(mr, m1 - m));
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) kTiles<4, REQ>[rows](g, m, p, kp);
    switch (p1 - p) {
      case 3: kTiles<3, REQ>[rows](g, m, p, kp); break;
      case 2: kTiles<2, REQ>[rows](g, m, p, kp); break;
      case 1: kTiles<1, REQ>[rows](g, m, p, kp); break;
      default: break;
    }
  }
}

void gemm(const Qs8GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  if (g.requant)
    gemm_with<true>(g, m0, m1, p0, p1);
  else
    gemm_with<false>(g, m0, m1, p0, p1);
}

void requantize(const float* x, int64_t n, float inv_scale, int32_t zero, float* y) {
  const __m512 inv = _mm512_set1_ps(inv_scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-zero)), hi = _mm512_set1_ps(static_cast<float>(255 - zero));
  // NaN: max(NaN, lo) is lo, as ref::quantize_u8 maps NaN to 0.
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mk = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, mk, requantize16(_mm512_maskz_loadu_ps(mk, x + i), inv, lo, hi));
  }
}

void dequantize_rows(const float* acc, int64_t rows, int64_t k, int64_t ldacc, const float* scale,
                     const float* bias, float lo, float hi, float inv_scale, int32_t zero, void* a,
                     int64_t lda) {
  auto value = [&](__m512 v, int64_t i, __mmask16 mk) {
    const __m512 t = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, scale + i));
    return _mm512_add_ps(t, _mm512_maskz_loadu_ps(mk, bias + i));
  };
  float qlo = 0.f, qhi = 0.f;  // the clamp to [lo, hi] folded into the quantization's
  qs8_requant_bounds(lo, hi, inv_scale, zero, &qlo, &qhi);
  quantize_rows_with(value, acc, rows, k, ldacc, inv_scale, zero, qlo, qhi, a, lda);
}

// dwconv_row + dequantize_rows for 3x3 windows (qs8_dwconv_row_q_fits), channel vector
// outermost like the f32 AVX-512 row kernel: the 9 weight vectors, the scale and the bias of a
// channel vector stay in registers for the row; interior pixels in blocks of kB, each input
// vector loaded once per block; padding rows read a zero row. The sums are exact (integers below
// 2^24, so fused multiply-adds round nothing), and each pixel's vector goes through
// dequantize_rows' operations in the same order, then 16 bytes of its A row.
template <int S>
void dwconv_row_q_impl(const DwConvArgs& d, const float* const* rows, const float* scale,
                       const float* bias, float lo, float hi, float inv_scale, int32_t zero,
                       void* a, int64_t lda) {
  const int64_t C = d.c, CS = C;
  int64_t ox_lo = 0;
  while (ox_lo < d.ow && ox_lo * S - d.pad_left < 0) ox_lo++;
  int64_t ox_hi = d.ow;
  while (ox_hi > ox_lo && (ox_hi - 1) * S - d.pad_left + 2 >= d.w) ox_hi--;
  static thread_local std::vector<float> zeros;
  bool any_null = false;
  for (int ky = 0; ky < 3; ky++) any_null = any_null || !rows[ky];
  if (any_null && static_cast<int64_t>(zeros.size()) < d.w * CS) zeros.assign(static_cast<size_t>(d.w * CS), 0.f);
  float qlo = 0.f, qhi = 0.f;
  qs8_requant_bounds(lo, hi, inv_scale, zero, &qlo, &qhi);
  const __m512 inv = _mm512_set1_ps(inv_scale), vlo = _mm512_set1_ps(qlo), vhi = _mm512_set1_ps(qhi);
  const __m512i z = _mm512_set1_epi32(zero);
  uint8_t* out = static_cast<uint8_t*>(a);
  for (int64_t c0 = 0; c0 < C; c0 += 16) {
    __m512 w[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) w[t] = _mm512_loadu_ps(d.wt + t * CS + c0);
    const __m512 b0 = _mm512_loadu_ps(d.bias + c0);
    const __m512 sc = _mm512_loadu_ps(scale + c0), bi = _mm512_loadu_ps(bias + c0);
    const float* xr[3];
    for (int ky = 0; ky < 3; ky++) xr[ky] = (rows[ky] ? rows[ky] : zeros.data()) + c0;
    auto emit = [&](int64_t ox, __m512 acc) {
      const __m512 t = _mm512_add_ps(_mm512_mul_ps(acc, sc), bi);
      const __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(t, inv), vlo), vhi);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(r), z);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ox * lda + c0), _mm512_cvtusepi32_epi8(q));
    };
    auto border = [&](int64_t ox) {
      __m512 acc = b0;
      const int64_t ix0 = ox * S - d.pad_left;
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
          const int64_t ix = ix0 + kx;
          if (ix >= 0 && ix < d.w) acc = _mm512_fmadd_ps(_mm512_loadu_ps(xr[ky] + ix * CS), w[ky * 3 + kx], acc);
        }
      emit(ox, acc);
    };
    auto blocks = [&](auto kb, int64_t ox) {
      constexpr int kB = decltype(kb)::value;
      constexpr int kSpan = (kB - 1) * S + 3;
      for (; ox + kB <= ox_hi; ox += kB) {
        __m512 acc[kB];
#pragma GCC unroll 8
        for (int j = 0; j < kB; j++) acc[j] = b0;
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
          const float* p = xr[ky] + (ox * S - d.pad_left) * CS;
#pragma GCC unroll 32
          for (int t = 0; t < kSpan; t++) {
            __m512 xv = _mm512_loadu_ps(p + t * CS);
            asm("" : "+v"(xv));  // one load into a register, not a memory operand of each use
#pragma GCC unroll 8
            for (int j = 0; j < kB; j++) {
              const int kx = t - j * S;
              if (kx >= 0 && kx < 3) acc[j] = _mm512_fmadd_ps(xv, w[ky * 3 + kx], acc[j]);
            }
          }
        }
#pragma GCC unroll 8
        for (int j = 0; j < kB; j++) emit(ox + j, acc[j]);
      }
      return ox;
    };
    int64_t ox = 0;
    for (; ox < ox_lo; ox++) border(ox);
    ox = blocks(std::integral_constant<int, 8>{}, ox);
    ox = blocks(std::integral_constant<int, 4>{}, ox);
    ox = blocks(std::integral_constant<int, 2>{}, ox);
    ox = blocks(std::integral_constant<int, 1>{}, ox);
    for (; ox < d.ow; ox++) border(ox);
  }
}

void dwconv_row_q(const DwConvArgs& d, const float* const* rows, const float* scale,
                  const float* bias, float lo, float hi, float inv_scale, int32_t zero, void* a,
                  int64_t lda) {
  if (d.sw == 1) dwconv_row_q_impl<1>(d, rows, scale, bias, lo, hi, inv_scale, zero, a, lda);
  else dwconv_row_q_impl<2>(d, rows, scale, bias, lo, hi, inv_scale, zero, a, lda);
}

}  // namespace

namespace avx512vnni {
const Qs8Kernels& qs8_table() {
  static const Qs8Kernels t{"avx512vnni", kMr, kNr, 4, 1, quantize_rows, packed_bytes, pack_b, gemm,
                            requantize, dequantize_rows, dwconv_row_q};
  return t;
}
}  // namespace avx512vnni

}  // namespace morsel::kernels
