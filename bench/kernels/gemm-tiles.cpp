// GEMM register tiles of the AVX-512 kernels on MobileNetV2's shapes, each in isolation with
// its operands in cache: the best of 7 timings of 2000 calls, in microseconds (C rotates over 5
// buffers). The tiles are gemm_impl<rows, vectors> from src/kernels/f32/f32-kernels.inc, built
// here directly (not through the dispatch table), so any tile size can be compared.
//
//   g++ -O2 -std=c++17 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mavx2 \
//       -ffp-contract=fast -Isrc -Iinclude bench/kernels/gemm-tiles.cpp -o /tmp/gemm-tiles
//   /tmp/gemm-tiles
#include "kernels/f32/f32-avx512.cpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace morsel::kernels;
using namespace morsel::kernels::avx512;

namespace {

float* alloc(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, n * sizeof(float) + 256) != 0) std::abort();
  return static_cast<float*>(p);
}

// M x K times K x N with an R x (NVt * 16) tile, relu6.
template <int R, int NVt>
double run(int M, int K, int N) {
  constexpr int nr = NVt * 16;
  const int panels = (N + nr - 1) / nr;
  float *A = alloc(size_t(M) * K), *B = alloc(size_t(panels) * K * nr), *bias = alloc(size_t(panels) * nr),
        *C = alloc(size_t(M) * N * 5);
  for (int i = 0; i < M * K; i++) A[i] = float(rand() % 100) / 50.f - 1;
  for (int i = 0; i < panels * K * nr; i++) B[i] = float(rand() % 100) / 50.f - 1;
  for (int i = 0; i < panels * nr; i++) bias[i] = 0.1f;
  GemmArgs g{};
  g.m = M; g.n = N; g.k = K; g.a = A; g.lda = K; g.b = B; g.bias = bias; g.ldc = N; g.lo = 0; g.hi = 6;
  double best = 1e9;
  for (int rep = 0; rep < 7; rep++) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = 0; it < 2000; it++) {
      g.c = C + size_t(it % 5) * M * N;
      gemm_impl<R, NVt>(g, 0, M, 0, panels);
    }
    best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 2000);
  }
  free(A); free(B); free(bias); free(C);
  return best;
}

}  // namespace

int main() {
  for (int r = 0; r < 2; r++) {
    std::printf("112x16x96   8x32 %.2f  4x48 %.2f\n", run<8, 2>(112, 16, 96), run<4, 3>(112, 16, 96));
    std::printf("56x24x144   8x48 %.2f  4x48 %.2f\n", run<8, 3>(56, 24, 144), run<4, 3>(56, 24, 144));
    std::printf("28x32x192   6x64 %.2f  4x48 %.2f\n", run<6, 4>(28, 32, 192), run<4, 3>(28, 32, 192));
    std::printf("14x64x384   6x64 %.2f  4x48 %.2f\n", run<6, 4>(14, 64, 384), run<4, 3>(14, 64, 384));
  }
}
