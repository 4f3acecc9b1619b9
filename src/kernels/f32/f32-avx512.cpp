// f32 kernels for avx512: the templates in f32-kernels.inc with 16-float vectors and a
// 8 x 32 GEMM register tile.
#define MORSEL_KNS avx512
#define MORSEL_ISA_ENUM Isa::AVX512
#define MORSEL_VW 16
#define MORSEL_GEMM_MR 8
#define MORSEL_GEMM_MR_NARROW 12
#define MORSEL_GEMM_NV 2
#include <array>
#include <utility>
#include "kernels/f32/f32-kernels.inc"
