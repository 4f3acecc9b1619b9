// Optimized f32 kernels, one set per ISA (generic, avx2, avx512), all built from the same
// templates in *.inc with GCC/Clang vector extensions. The runtime picks one table once per
// session (dispatch.cpp) and calls the kernels on ranges of output tiles from its thread pool.
// Kernels do not validate: the runtime checks shapes at prepare time. Every kernel is tested
// against its reference in tests/kernels/.
#pragma once

#include <array>
#include <cstdint>

#include "core/cpu.h"

namespace morsel::kernels {

// C[m,n] = clamp(A[m,k] · B[k,n] + bias[n], lo, hi). B is packed by pack_gemm_b() into panels of
// `nr` columns: panel p holds rows 0..k-1 of columns p*nr..p*nr+nr-1 (zero-padded), k*nr floats.
// bias is padded to panels*nr (zeros when the op has none).
// K is processed in blocks of kGemmKc rows (the last block takes up to 1.5x), so a block of a
// B panel stays in L1 while the row tiles pass over it.
constexpr int64_t kGemmKc = 256;
// The K up to which F32Kernels::gemm_short is chosen.
constexpr int64_t kGemmShortK = 32;

struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  const float* bias = nullptr;
  float* c = nullptr;
  int64_t ldc = 0;
  float lo = -__builtin_inff(), hi = __builtin_inff();
  // Optional residual R[m, n] (stride ldr) added before the clamp: C = clamp(A·B + bias + R).
  const float* res = nullptr;
  int64_t ldr = 0;
  // Optional: memory the caller reads right after this call (the next op's weights), fetched
  // into L2 by the row tiles of the range's last panel while they compute (the tiles of
  // earlier panels fetch the next panel of B).
  const char* prefetch = nullptr;
  int64_t prefetch_bytes = 0;
};

// Depthwise conv, multiplier 1, NHWC. w is [KH*KW, C], bias [C] (never null). cs: the distance
// between pixels in floats, in the input rows, the weights and the output (0: c); a channel
// range of a wider tensor is c channels with cs = the tensor's channels.
struct DwConvArgs {
  int64_t n = 0, h = 0, w = 0, c = 0, cs = 0;
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, dh = 1, dw = 1, pad_top = 0, pad_left = 0;
  int64_t oh = 0, ow = 0;
  const float* x = nullptr;
  const float* wt = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
  float lo = -__builtin_inff(), hi = __builtin_inff();
};

// Max / average pooling, NHWC.
struct PoolArgs {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, pad_top = 0, pad_left = 0;
  int64_t oh = 0, ow = 0;
  bool count_include_pad = false;
  const float* x = nullptr;
  float* y = nullptr;
};

// Direct convolution for a few input channels (a network's first conv, on the RGB image), NHWC,
// no dilation: every output channel of output rows [r0, r1) of the flattened [N*OH]. w is
// [KH*KW*CI][cop] and bias [cop], with cop = CO rounded up to the vector width (zero padded).
struct ConvArgs {
  int64_t n = 0, h = 0, w = 0, ci = 0, co = 0, cop = 0;
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, pad_top = 0, pad_left = 0;
  int64_t oh = 0, ow = 0;
  const float* x = nullptr;
  const float* wt = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
  float lo = -__builtin_inff(), hi = __builtin_inff();
};

// Winograd F(4x4, 3x3) convolution: 3x3 window, stride 1, no dilation, NHWC. The output is cut
// into 4x4 tiles, flattened as [N][ceil(OH/4)][ceil(OW/4)]; each reads a 6x6 input patch at
// (4*ty - pad_top, 4*tx - pad_left) of x [N, H, W, CI], zeros outside the image; y is
// [N, OH, OW, CO]. wt: the 36 transformed weight matrices G g G^T, each [CI, CO] packed by
// pack_gemm_b() for `gemm` (panels of gemm_nr columns), wt_stride floats apart; gemm_bias:
// gemm_panels(co, gemm_nr) * gemm_nr zeros; bias [CO]; res (optional) a residual
// [N, OH, OW, CO] added before the clamp.
constexpr int kWinogradPoints = 36;  // 6x6 transformed positions
struct WinogradArgs {
  int64_t n = 0, h = 0, w = 0, ci = 0, co = 0, pad_top = 0, pad_left = 0, oh = 0, ow = 0;
  const float* x = nullptr;
  const float* wt = nullptr;
  int64_t wt_stride = 0;
  const float* gemm_bias = nullptr;
  int gemm_nr = 0;
  void (*gemm)(const GemmArgs&, int64_t, int64_t, int64_t, int64_t) = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
  const float* res = nullptr;
  float lo = -__builtin_inff(), hi = __builtin_inff();
};
inline int64_t winograd_tiles(int64_t n, int64_t oh, int64_t ow) {
  return n * ((oh + 3) / 4) * ((ow + 3) / 4);
}
// Floats between two of the 36 [tiles][c] matrices of a block in scratch: one cache line more
// than tiles * c, so the 36 rows a tile transform reads or writes do not share a cache set.
inline int64_t winograd_stride(int64_t tiles, int64_t c) {
  return (tiles * c + 15) / 16 * 16 + 16;
}
// Scratch for a block of `tiles` tiles: the transformed inputs and the GEMM outputs.
inline int64_t winograd_scratch_floats(int64_t tiles, int64_t ci, int64_t co) {
  return kWinogradPoints * (winograd_stride(tiles, ci) + winograd_stride(tiles, co));
}

enum class BinOp { ADD, SUB, MUL, DIV };

struct F32Kernels {
  Isa isa;
  int gemm_mr, gemm_nr;
  // Rows [m0, m1) of C, column panels [p0, p1).
  void (*gemm)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // The same with a narrow tile (gemm_narrow_mr x gemm_narrow_nr): for N whose remainder
  // modulo gemm_nr would waste much of the wide tile.
  int gemm_narrow_mr, gemm_narrow_nr;
  void (*gemm_narrow)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // A wider tile where the ISA has the registers for it (null otherwise): for N that is a
  // multiple of its width it beats the default tile by a few percent.
  int gemm_wide_mr, gemm_wide_nr;
  void (*gemm_wide)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // A tile three vectors wide (null where not built): for N that is a multiple of it but not of
  // the default tile (144 = 3 x 48 columns on AVX-512 pads to 160 in 32-column panels).
  int gemm3_mr, gemm3_nr;
  void (*gemm3)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // A short tile for small K (K <= kGemmShortK; null where not built): with few K steps the
  // bias loads and stores around them weigh more, and a tile of fewer rows lets the next
  // tile's multiply-adds start while this one stores (MobileNetV2's 16- to 32-channel inputs
  // to its expansions).
  int gemm_short_mr, gemm_short_nr;
  void (*gemm_short)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // N = 8, 16 or 24 in K pairs (null where not built; AVX-512): each 64-bit broadcast of two
  // A values meets B packed as K-step pairs interleaved lane by lane (pack_gemm_b_kpair), so
  // no lane is padding (a 32-column tile wastes a quarter of its lanes on N = 24). One panel;
  // gemm_kpair_mr[N / 8 - 1] rows per tile. Rows of C at any stride.
  std::array<int, 3> gemm_kpair_mr;
  void (*gemm_kpair)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // Output rows [r0, r1) of the flattened [N*OH] rows.
  void (*dwconv)(const DwConvArgs& a, int64_t r0, int64_t r1);
  // One output row from a.kh input row pointers (W*C floats each; nullptr = padding row). a.x
  // and a.y are not used.
  void (*dwconv_row)(const DwConvArgs& a, const float* const* rows, float* yrow);
  // Two consecutive output rows from a.kh + a.sh input row pointers: rows[i] for the first,
  // rows[a.sh + i] for the second (nullptr = padding). Rows the two share are read once.
  void (*dwconv_row2)(const DwConvArgs& a, const float* const* rows, float* y0, float* y1);
  void (*max_pool)(const PoolArgs& a, int64_t r0, int64_t r1);
  void (*avg_pool)(const PoolArgs& a, int64_t r0, int64_t r1);
  // y[o, c] = mean over r of x[o, r, c] for o in [o0, o1), with c the innermost axis.
  void (*mean_rows)(int64_t reduce, int64_t c, const float* x, float* y, int64_t o0, int64_t o1);
  // y[i] = a[i] op b[i] (b_len == len) or y[i] = a[i] op b[i % b_len] (b_len divides len,
  // e.g. a per-channel vector) or a scalar (b_len == 1), for i in [i0, i1); clamp(lo, hi) after.
  void (*binary)(BinOp op, const float* a, const float* b, int64_t b_len, float* y, int64_t i0,
                 int64_t i1, float lo, float hi);
  // y = clamp(x, lo, hi) (relu, relu6, clip) for i in [i0, i1).
  void (*clamp)(const float* x, float* y, int64_t i0, int64_t i1, float lo, float hi);
  // ConvArgs; its weights are padded to a multiple of gemm_narrow_nr (the vector width).
  void (*conv_direct)(const ConvArgs& a, int64_t r0, int64_t r1);
  // WinogradArgs: tiles [t0, t1) (winograd_tiles() in all), output channels of GEMM panels
  // [p0, p1), with winograd_scratch_floats(t1 - t0, ci, co) floats of scratch.
  void (*winograd)(const WinogradArgs& a, int64_t t0, int64_t t1, int64_t p0, int64_t p1,
                   float* scratch);
  // y[0, n) += x[0, k) · w for w of k rows of n floats, ldw apart: the rows of a dense layer's
  // weights that meet one panel of its input (a pooled classifier head, runtime/bind-optimized.cpp).
  void (*dense_acc)(int64_t k, int64_t n, const float* x, const float* w, int64_t ldw, float* y);
};

// The table for `isa` (must be supported by this CPU: see isa_supported()).
const F32Kernels& f32_kernels(Isa isa);

// Packs row-major B[k, n] into panels of `nr` columns; out has panels(n, nr) * k * nr floats.
inline int64_t gemm_panels(int64_t n, int nr) { return (n + nr - 1) / nr; }
void pack_gemm_b(int64_t k, int64_t n, int nr, const float* b, float* out);
// Packs B[k, n] (n = 8, 16 or 24) and its bias (may be null) for gemm_kpair: out has
// ceil(k / 2) * 2 * n floats, vector j of pair p holding B[2p + h][8j + c] in lane 2c + h (zero
// past k); bias_out 2 * n floats, bias[8j + c] in lane 2c of vector j, zero in the odd lanes.
void pack_gemm_b_kpair(int64_t k, int64_t n, const float* b, const float* bias, float* out,
                       float* bias_out);

// Rows of the im2col matrix for a conv: for output pixels [m0, m1) of the flattened
// [N*OH*OW] pixels, writes (m1-m0) rows of KH*KW*C floats (zeros outside the image), the
// order that conv weights [KH,KW,C,CO] have when viewed as [KH*KW*C, CO].
struct Im2ColArgs {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, dh = 1, dw = 1, pad_top = 0, pad_left = 0;
  int64_t oh = 0, ow = 0;
};
void im2col(const Im2ColArgs& a, const float* x, int64_t m0, int64_t m1, float* out);

}  // namespace morsel::kernels
