// f32 kernels for avx512: the templates in f32-kernels.inc with 16-float vectors and an
// 8 x 32 GEMM register tile (6 x 64 and 12 x 16 beside it).
#define MORSEL_KNS avx512
#define MORSEL_ISA_ENUM Isa::AVX512
#define MORSEL_VW 16
#define MORSEL_GEMM_MR 8
#define MORSEL_GEMM_MR_NARROW 12
#define MORSEL_GEMM_NV 2
#define MORSEL_GEMM_MR_WIDE 6
#define MORSEL_GEMM_NV_WIDE 4
#define MORSEL_GEMM_MR_3 8
#define MORSEL_GEMM_MR_SHORT 4
#define MORSEL_GEMM_NV_SHORT 3
#include <array>
#include <utility>
#include "kernels/f32/f32-kernels.inc"
