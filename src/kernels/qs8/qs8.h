// Optimized int8 GEMM kernels for QConv2D / QDense: u8 (or zero-point-free i16) activations times
// per-output-channel i8 weights, int32 sums, dequantized to f32 with bias and the fused clamp in
// the epilogue (kernels/ref/qref.h defines the arithmetic; results equal the reference exactly).
// One file per ISA: qs8-scalar.cpp, qs8-avx2.cpp, qs8-avx512vnni.cpp; dispatch.cpp picks one table
// per session from CPU features. A new ISA is a file with a table and one line in dispatch.cpp.
#pragma once

#include <cstdint>

#include "core/cpu.h"
#include "kernels/f32/f32.h"

namespace morsel::kernels {

// C[m, n] = clamp(float(sum_k (A[m,k] - zero) * B[k,n]) * (x_scale * w_scale[n]) + bias[n], lo, hi)
struct Qs8GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;  // quantized rows (quantize_rows' format), lda bytes apart
  int64_t lda = 0;
  const void* b = nullptr;      // pack_b's output
  const int32_t* colsum = nullptr;  // sum_k B[k, n], padded to panels * nr
  const float* w_scale = nullptr;   // padded (zeros)
  const float* bias = nullptr;      // padded (zeros when the op has none)
  float x_scale = 1.f;
  int32_t x_zero = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  float lo = -__builtin_inff(), hi = __builtin_inff();
  // When set, C receives the value as the next int8 node reads it, centred:
  // ref::requantize_centered(value, out_inv_scale, out_zero) (see requantize below; a zero
  // may come out as -0).
  bool requant = false;
  float out_inv_scale = 1.f;
  int32_t out_zero = 0;
};

struct Qs8Kernels {
  const char* name;  // "scalar", "avx2", "avx512vnni"
  int mr, nr;        // register tile; B is packed in panels of nr columns
  int kr;            // K is padded to a multiple of kr
  int a_bytes;       // bytes per quantized A element
  // Quantizes rows [0, rows) of x (k floats each, ldx floats apart) into A rows (lda bytes apart)
  // of kpad = round_up(k, kr) elements; the padding elements contribute nothing.
  void (*quantize_rows)(const float* x, int64_t rows, int64_t k, int64_t ldx, float inv_scale,
                        int32_t zero, void* a, int64_t lda);
  // Bytes of packed B for [k, n] weights, and the packing (w row-major [k, n]).
  int64_t (*packed_bytes)(int64_t k, int64_t n);
  void (*pack_b)(int64_t k, int64_t n, const int8_t* w, void* out);
  // Rows [m0, m1) of C, column panels [p0, p1). A may be read up to row round_up(m1, mr) (the
  // caller allocates those rows; their contents do not matter); C is written for rows < m1 only.
  void (*gemm)(const Qs8GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // The int8 depthwise conv of a fused block runs the f32 depthwise kernel on integer values:
  // inputs (q - zero) and weights as floats, so every partial sum is an integer below 2^24 and
  // exact. These two convert around it (ref::requantize_centered, ref::dequantize_output):
  // y[i] = float(q(x[i]) - zero) for i in [0, n) (y may be x; a zero may come out as -0, which
  // the depthwise sums, starting from +0, do not see).
  void (*requantize)(const float* x, int64_t n, float inv_scale, int32_t zero, float* y);
  // Rows [0, rows) of exact integer sums acc (k per row, ldacc floats apart) to A rows of the
  // next GEMM (quantize_rows' format, lda bytes apart): t = clamp(acc * scale[c] + bias[c], lo,
  // hi), then q(t) with (inv_scale, zero). scale[c] = x_scale * w_scale[c], computed in float.
  void (*dequantize_rows)(const float* acc, int64_t rows, int64_t k, int64_t ldacc,
                          const float* scale, const float* bias, float lo, float hi,
                          float inv_scale, int32_t zero, void* a, int64_t lda);
  // Optional (nullptr where absent): dwconv_row and dequantize_rows in one pass, for the shapes
  // qs8_dwconv_row_q_fits accepts: one depthwise output row from integer-valued rows and
  // weights (exact sums), each pixel's sums turned into its A row (lda bytes apart) with
  // dequantize_rows' arithmetic, without the f32 row in between.
  void (*dwconv_row_q)(const DwConvArgs& d, const float* const* rows, const float* scale,
                       const float* bias, float lo, float hi, float inv_scale, int32_t zero,
                       void* a, int64_t lda);
};

// The shapes dwconv_row_q handles: 3x3, stride 1 or 2, no dilation, channels a multiple of 16
// (so A rows need no padding columns).
inline bool qs8_dwconv_row_q_fits(const DwConvArgs& d) {
  return d.kh == 3 && d.kw == 3 && d.dh == 1 && d.dw == 1 && (d.sw == 1 || d.sw == 2) &&
         d.c % 16 == 0 && (d.cs == 0 || d.cs == d.c);
}

inline int64_t qs8_round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Bounds [qlo, qhi] for r = t * inv (t finite or NaN, inv > 0) such that rounding
// clamp(r, qlo, qhi) gives ref::quantize_u8(clamp(t, lo, hi), inv, zero) - zero: clamping before
// rounding equals clamping after (integer bounds), and t -> t * inv is monotonic in float, so
// the clamp to [lo, hi] folds in as [lo * inv, hi * inv] clamped to [-zero, 255 - zero]. With
// SIMD max(r, qlo) (which returns qlo for NaN), NaN maps to -zero as in the reference.
inline void qs8_requant_bounds(float lo, float hi, float inv, int32_t zero, float* qlo, float* qhi) {
  const float zl = static_cast<float>(-zero), zh = static_cast<float>(255 - zero);
  const float l = lo * inv, h = hi * inv;
  *qlo = l < zl ? zl : l > zh ? zh : l;
  *qhi = h < zl ? zl : h > zh ? zh : h;
}

// The table for `isa` on this CPU: avx512vnni when isa is AVX512 and the CPU has AVX512-VNNI,
// else avx2 when isa >= AVX2, else scalar.
const Qs8Kernels& qs8_kernels(Isa isa);
// All tables this CPU can run (for tests and benchmarks), scalar first.
int qs8_available(const Qs8Kernels** out, int max);

}  // namespace morsel::kernels
