// Picks the kernel table for an ISA, plus the ISA-independent helpers (packing, im2col).
#include <algorithm>
#include <cstring>

#include "kernels/f32/f32.h"

namespace morsel::kernels {

namespace generic { const F32Kernels& table(); }
#if defined(MORSEL_HAVE_X86_KERNELS)
namespace avx2 { const F32Kernels& table(); }
namespace avx512 { const F32Kernels& table(); }
#endif
#if defined(MORSEL_HAVE_WASMSIMD_KERNELS)
namespace wasmsimd { const F32Kernels& table(); }
#endif

const F32Kernels& f32_kernels(Isa isa) {
#if defined(MORSEL_HAVE_X86_KERNELS)
  if (isa == Isa::AVX512) return avx512::table();
  if (isa == Isa::AVX2) return avx2::table();
#endif
#if defined(MORSEL_HAVE_WASMSIMD_KERNELS)
  if (isa == Isa::WASM_SIMD128) return wasmsimd::table();
#endif
  (void)isa;
  return generic::table();
}

void pack_gemm_b(int64_t k, int64_t n, int nr, const float* b, float* out) {
  const int64_t panels = gemm_panels(n, nr);
  for (int64_t p = 0; p < panels; p++) {
    const int64_t n0 = p * nr, cols = std::min<int64_t>(nr, n - n0);
    float* dst = out + p * k * nr;
    for (int64_t r = 0; r < k; r++) {
      std::memcpy(dst + r * nr, b + r * n + n0, sizeof(float) * static_cast<size_t>(cols));
      std::fill(dst + r * nr + cols, dst + r * nr + nr, 0.0f);
    }
  }
}

void pack_gemm_b_kpair(int64_t k, int64_t n, const float* b, const float* bias, float* out,
                       float* bias_out) {
  const int64_t pairs = (k + 1) / 2, nv = n / 8;
  for (int64_t p = 0; p < pairs; p++)
    for (int64_t j = 0; j < nv; j++)
      for (int64_t c = 0; c < 8; c++)
        for (int64_t h = 0; h < 2; h++) {
          const int64_t r = 2 * p + h;
          out[(p * nv + j) * 16 + 2 * c + h] = r < k ? b[r * n + 8 * j + c] : 0.0f;
        }
  for (int64_t j = 0; j < nv; j++)
    for (int64_t c = 0; c < 8; c++) {
      bias_out[j * 16 + 2 * c] = bias ? bias[8 * j + c] : 0.0f;
      bias_out[j * 16 + 2 * c + 1] = 0.0f;
    }
}

void im2col(const Im2ColArgs& a, const float* x, int64_t m0, int64_t m1, float* out) {
  const int64_t C = a.c, row = a.kh * a.kw * C;
  const size_t cbytes = sizeof(float) * static_cast<size_t>(C);
  for (int64_t m = m0; m < m1; m++) {
    const int64_t n = m / (a.oh * a.ow), rem = m % (a.oh * a.ow);
    const int64_t oy = rem / a.ow, ox = rem % a.ow;
    float* dst = out + (m - m0) * row;
    const int64_t ix0 = ox * a.sw - a.pad_left;
    // With no dilation and the window inside horizontally, the KW taps of a row are one
    // contiguous run of KW*C floats in NHWC.
    const bool span = a.dw == 1 && ix0 >= 0 && ix0 + a.kw <= a.w;
    for (int64_t ky = 0; ky < a.kh; ky++) {
      const int64_t iy = oy * a.sh - a.pad_top + ky * a.dh;
      if (iy < 0 || iy >= a.h) {
        std::memset(dst, 0, cbytes * static_cast<size_t>(a.kw));
        dst += a.kw * C;
        continue;
      }
      const float* xrow = x + (n * a.h + iy) * a.w * C;
      if (span) {
        std::memcpy(dst, xrow + ix0 * C, cbytes * static_cast<size_t>(a.kw));
        dst += a.kw * C;
        continue;
      }
      for (int64_t kx = 0; kx < a.kw; kx++, dst += C) {
        const int64_t ix = ix0 + kx * a.dw;
        if (ix < 0 || ix >= a.w) std::memset(dst, 0, cbytes);
        else std::memcpy(dst, xrow + ix * C, cbytes);
      }
    }
  }
}

}  // namespace morsel::kernels
