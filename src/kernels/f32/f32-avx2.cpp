// f32 kernels for avx2: the templates in f32-kernels.inc with 8-float vectors and a
// 6 x 16 GEMM register tile.
#define MORSEL_KNS avx2
#define MORSEL_ISA_ENUM Isa::AVX2
#define MORSEL_VW 8
#define MORSEL_GEMM_MR 6
#define MORSEL_GEMM_MR_NARROW 12
#define MORSEL_GEMM_NV 2
#include <array>
#include <utility>
#include "kernels/f32/f32-kernels.inc"
