// Binds 3x3 stride-1 convolutions to the Winograd F(4x4, 3x3) kernel (kernels' winograd): the
// weights are transformed (G g G^T) and packed for the GEMM once, and the output tiles are split
// into blocks, one block per task.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "runtime/bind.h"

namespace morsel {

namespace {

// G for F(4x4, 3x3) with points 0, 1, -1, 2, -2 (and infinity).
constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                             {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                             {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {1.0 / 24, -1.0 / 12, 1.0 / 6},
                             {0, 0, 1}};

// Weights [3][3][CI][CO] -> 36 matrices G g G^T [CI][CO], each packed into panels of `nr`
// columns (data: 36 * stride floats); bias: panels*nr zeros, then the bias [CO].
std::shared_ptr<PackedWeights> pack_winograd_weights(int64_t ci, int64_t co, int nr, const float* w,
                                                     const float* bias,
                                                     std::shared_ptr<PackedWeights>* slot) {
  const std::string layout = "winograd-f43-nr" + std::to_string(nr);
  if (*slot && (*slot)->layout == layout) return *slot;
  auto p = std::make_shared<PackedWeights>();
  p->layout = layout;
  const int64_t panels = kernels::gemm_panels(co, nr), stride = panels * ci * nr;
  std::vector<float> mats(static_cast<size_t>(kernels::kWinogradPoints * ci * co));
  for (int64_t i = 0; i < ci; i++)
    for (int64_t o = 0; o < co; o++) {
      double g[3][3], t[6][3];
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) g[ky][kx] = w[((ky * 3 + kx) * ci + i) * co + o];
      for (int k = 0; k < 6; k++)
        for (int j = 0; j < 3; j++)
          t[k][j] = kG[k][0] * g[0][j] + kG[k][1] * g[1][j] + kG[k][2] * g[2][j];
      for (int k = 0; k < 6; k++)
        for (int l = 0; l < 6; l++)
          mats[static_cast<size_t>(((k * 6 + l) * ci + i) * co + o)] =
              static_cast<float>(t[k][0] * kG[l][0] + t[k][1] * kG[l][1] + t[k][2] * kG[l][2]);
    }
  p->data.resize(static_cast<size_t>(kernels::kWinogradPoints * stride));
  for (int64_t q = 0; q < kernels::kWinogradPoints; q++)
    kernels::pack_gemm_b(ci, co, nr, mats.data() + q * ci * co, p->data.data() + q * stride);
  p->bias.assign(static_cast<size_t>(panels * nr + co), 0.0f);
  if (bias) std::copy(bias, bias + co, p->bias.begin() + panels * nr);
  *slot = p;
  return p;
}

}  // namespace

Result<OptimizedKernel> bind_winograd(const Graph& g, const Node& n, const Window2D& win,
                                      const std::vector<float*>& b, const OptimizedBindContext& ctx,
                                      std::shared_ptr<PackedWeights>* packed) {
  OptimizedKernel out;
  const auto& val = [&](size_t i) -> const Value& {
    return g.values[static_cast<size_t>(n.inputs[i])];
  };
  if (n.op != OpType::CONV2D || n.attrs.get_int("groups", 1) != 1 || n.inputs.size() < 2 ||
      n.inputs[1] < 0 || !val(1).is_const() ||
      (n.inputs.size() > 2 && n.inputs[2] >= 0 && !val(2).is_const()))
    return out;
  const Shape& xs = val(0).shape;
  const Shape& ws = val(1).shape;
  if (xs.size() != 4 || ws.size() != 4 || ws[0] != 3 || ws[1] != 3 || win.sh != 1 || win.sw != 1 ||
      win.dh != 1 || win.dw != 1)
    return out;
  const int64_t ci = xs[3], co = ws[3];
  const char* env = std::getenv("MORSEL_WINOGRAD");
  const int mode = env && *env ? std::atoi(env) : -1;  // 0: never, 1: always, else the rule
  if (mode == 0) return out;
  // The rule, from `morsel bench MODEL -t 1|2 --profile` with MORSEL_WINOGRAD=0 and =1 on this
  // project's AVX-512 machine (ms per layer, im2col + GEMM -> Winograd, at 1 thread):
  //   ResNet50   56x56  64->64    1.01 -> 0.36      InceptionV3 147x147 32->32   2.06 -> 0.98
  //              28x28 128->128   1.07 -> 0.38                  147x147 32->64   3.86 -> 1.57
  //              14x14 256->256   1.06 -> 0.57                   71x71 80->192   7.16 -> 1.98
  //               7x7  512->512   1.17 -> 1.70                   35x35 64|96->96 0.59 -> 0.24
  //                                                               8x8  448->384  0.97 -> 0.93
  // At 2 threads (the machine shared and noisy) alike: 56x56 1.12 -> 0.46, 28x28 1.23 -> 0.46,
  // 14x14 1.23 -> 0.73, 7x7 1.39 -> 1.78..2.15, 71x71 7.36 -> 2.05, 8x8 1.19..1.21 -> 1.11..1.24.
  // An image of few tiles turns each of the 36 GEMMs into a few rows against large weights, read
  // from memory: below 16 tiles (4x4 output pixels each) per image, im2col + GEMM. Channel
  // counts below 16 were not measured (the networks have none) and stay on im2col.
  if (mode != 1 && (kernels::winograd_tiles(1, win.oh, win.ow) < 16 || ci < 16 || co < 16))
    return out;
  const kernels::F32Kernels& k = *ctx.k;
  ThreadPool* pool = ctx.pool;
  const int threads = pool->threads();

  // The GEMM tile: the im2col path's choice for CO columns.
  const GemmVariant gv = gemm_variant(k, co);
  const int nr = gv.nr;
  const float* w = b[static_cast<size_t>(n.inputs[1])];
  const float* bias =
      n.inputs.size() > 2 && n.inputs[2] >= 0 ? b[static_cast<size_t>(n.inputs[2])] : nullptr;
  auto pw = pack_winograd_weights(ci, co, nr, w, bias, packed);
  const int64_t panels = kernels::gemm_panels(co, nr);

  const ref::Activation act = activation_of(n.attrs);
  kernels::WinogradArgs a;
  a.n = xs[0];
  a.h = xs[1];
  a.w = xs[2];
  a.ci = ci;
  a.co = co;
  a.pad_top = win.pad_top;
  a.pad_left = win.pad_left;
  a.oh = win.oh;
  a.ow = win.ow;
  a.x = b[static_cast<size_t>(n.inputs[0])];
  a.wt = pw->data.data();
  a.wt_stride = panels * ci * nr;
  a.gemm_bias = pw->bias.data();
  a.gemm_nr = nr;
  a.gemm = gv.fn;
  a.bias = pw->bias.data() + panels * nr;
  a.y = b[static_cast<size_t>(n.outputs[0])];
  if (n.inputs.size() > 3 && n.inputs[3] >= 0) a.res = b[static_cast<size_t>(n.inputs[3])];
  a.lo = act.min;
  a.hi = act.max;

  // Tiles per block: the block's transformed inputs and GEMM outputs (36 * tiles * (CI + CO)
  // floats) within about 1 MB, so they stay in L2 between the three steps; but at least 16 tiles,
  // since each block reads all 36 weight matrices (on ResNet50's 14x14 256->256 layer at 1
  // thread, blocks of 8 tiles ran it in about 0.9 ms, blocks of 16 in 0.6 ms). From 16 to 64
  // tiles the 56x56 and 28x28 layers changed by less than the noise.
  const int64_t tiles = kernels::winograd_tiles(a.n, a.oh, a.ow);
  const int64_t per_block =
      std::clamp<int64_t>((int64_t{1} << 20) / (4 * kernels::kWinogradPoints * (ci + co)), 16, 64);
  const Chunks blocks(tiles, ceil_div(tiles, per_block), 1);
  // Fewer blocks than threads (small images): the threads split the output channels (GEMM
  // panels) of each block instead, each transforming the block's whole input, so the weights,
  // large here, are read once per block in all rather than once per thread.
  const Chunks groups(panels, blocks.count >= threads ? 1 : ceil_div(threads, blocks.count), 1);
  out.scratch_floats = kernels::winograd_scratch_floats(blocks.size, ci, co);
  float* const* scratch = ctx.scratch;
  auto fn = k.winograd;
  out.fn = [=] {
    pool->parallel_for(blocks.count * groups.count, [&](int64_t t, int tid) {
      const int64_t bi = t / groups.count, gi = t % groups.count;
      fn(a, blocks.begin(bi), blocks.end(bi), groups.begin(gi), groups.end(gi), scratch[tid]);
    });
    (void)pw;
  };
  out.name = kname(k, "winograd");
  return out;
}

}  // namespace morsel
