// Binding of the int8 nodes (QConv2D, QDepthwiseConv2D, QDense): the reference kernels of
// kernels/ref/qref.h, and the qs8 GEMM (kernels/qs8/) for QConv2D with one group and QDense.
// The quantized-input matrix lives in the session's shared scratch; weights are packed once.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/qs8/qs8.h"
#include "kernels/ref/qref.h"
#include "runtime/bind.h"

namespace morsel {

namespace {

const float* in_ptr(const Node& n, const std::vector<float*>& b, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
  return b[static_cast<size_t>(n.inputs[i])];
}
const Value& in_value(const Graph& g, const Node& n, size_t i) {
  return g.values[static_cast<size_t>(n.inputs[i])];
}

ref::QuantInput quant_input_of(const Node& n) {
  ref::QuantInput q;
  if (n.attrs.has("x_scale")) {
    q.scale = static_cast<float>(n.attrs.get_float("x_scale", 1));
    q.zero = static_cast<int32_t>(n.attrs.get_int("x_zero", 0));
  } else {
    q.dynamic = true;
  }
  return q;
}


// Dynamic mode: the input's quantization parameters from its range on this run (min/max over
// `reduce`'s chunks in parallel).
ref::QuantInput measure_input(ThreadPool* pool, const Chunks& reduce, const float* x) {
  std::vector<float> lo(static_cast<size_t>(reduce.count)), hi(static_cast<size_t>(reduce.count));
  pool->parallel_for(reduce.count, [&](int64_t t, int) {
    ref::min_max(reduce.end(t) - reduce.begin(t), x + reduce.begin(t), &lo[static_cast<size_t>(t)],
                 &hi[static_cast<size_t>(t)]);
  });
  float l = 0, h = 0;
  for (size_t i = 0; i < lo.size(); i++) l = std::min(l, lo[i]), h = std::max(h, hi[i]);
  return ref::quant_params_from_range(l, h);
}

// Packed weights, and after them in `bias`: bias | w_scale | colsum (int32 bits), each padded.
std::shared_ptr<PackedWeights> pack_qs8(const kernels::Qs8Kernels& qk, int64_t K, int64_t N,
                                        const int8_t* w, const float* bias, const float* w_scale,
                                        std::shared_ptr<PackedWeights>* slot) {
  const std::string layout = std::string("qs8-") + qk.name;
  if (*slot && (*slot)->layout == layout) return *slot;
  auto p = std::make_shared<PackedWeights>();
  p->layout = layout;
  p->data.assign(static_cast<size_t>(ceil_div(qk.packed_bytes(K, N), 4)), 0.f);
  qk.pack_b(K, N, w, p->data.data());
  const int64_t np = kernels::qs8_round_up(N, qk.nr);
  p->bias.assign(static_cast<size_t>(3 * np), 0.f);
  if (bias) std::copy(bias, bias + N, p->bias.begin());
  std::copy(w_scale, w_scale + N, p->bias.begin() + np);
  for (int64_t j = 0; j < N; j++) {
    int32_t s = 0;
    for (int64_t i = 0; i < K; i++) s += w[i * N + j];
    std::memcpy(&p->bias[static_cast<size_t>(2 * np + j)], &s, 4);
  }
  *slot = p;
  return p;
}

// Dequantized f32 copies of a node's weights (w * w_scale[co]).
std::vector<float> dequantized_weights(const Graph& g, const Node& n, const std::vector<float*>& b) {
  const Value& wv = in_value(g, n, 1);
  const float* ws = in_ptr(n, b, 3);
  const int64_t co = n.op == OpType::QDEPTHWISE_CONV2D ? wv.shape[2] * wv.shape[3] : wv.shape.back();
  const int8_t* w = wv.data.data<int8_t>();
  std::vector<float> wf(static_cast<size_t>(wv.data.numel()));
  for (size_t i = 0; i < wf.size(); i++) wf[i] = static_cast<float>(w[i]) * ws[static_cast<int64_t>(i) % co];
  return wf;
}

// The f32 node with weights w * w_scale[co] (packed by the f32 binding, so the f32 copy is
// only needed while binding).
Result<OptimizedKernel> bind_dequantized(const Graph& g, const Node& n, const std::vector<float*>& b,
                                         const OptimizedBindContext& ctx,
                                         std::shared_ptr<PackedWeights>* packed) {
  std::vector<float> wf = dequantized_weights(g, n, b);
  std::vector<float*> b2 = b;
  b2[static_cast<size_t>(n.inputs[1])] = wf.data();
  Node f = n;
  f.op = n.op == OpType::QCONV2D ? OpType::CONV2D
         : n.op == OpType::QDENSE ? OpType::DENSE
                                  : OpType::DEPTHWISE_CONV2D;
  f.inputs.resize(3);
  for (const char* key : {"x_scale", "x_zero", "q_error"}) f.attrs.erase(key);
  MORSEL_ASSIGN_OR_RETURN(OptimizedKernel out, bind_optimized(g, f, b2, ctx, packed));
  if (out.fn) out.name += "(dequantized)";
  return out;
}

// expand (optional) -> depthwise -> project, all int8 with static input parameters, as one
// kernel over the depthwise output rows. Expanded rows (or the block's input rows, without an
// expand) go to a per-thread ring as centred integers: float(q - zero) with the depthwise's input
// parameters (requantize). The depthwise conv is the f32 row kernel on them with the i8 weights
// as floats: every partial sum is an integer below 2^24, so it equals the int32 sum. Each output
// row is dequantized and quantized for the project GEMM in one pass (dequantize_rows). So the
// block equals the reference nodes bit for bit, and neither wide tensor leaves the cache.
Result<OptimizedKernel> bind_block_q_project(const Graph& g, const FusedBlock& blk,
                                             const std::vector<float*>& b,
                                             const OptimizedBindContext& ctx,
                                             std::vector<std::shared_ptr<PackedWeights>>* packed) {
  OptimizedKernel out;
  const kernels::Qs8Kernels& qk = kernels::qs8_kernels(ctx.k->isa);
  ThreadPool* pool = ctx.pool;
  const Node& dw = g.nodes[static_cast<size_t>(blk.dw)];
  const Node& pj = g.nodes[static_cast<size_t>(blk.project)];
  const Node* ex = blk.expand >= 0 ? &g.nodes[static_cast<size_t>(blk.expand)] : nullptr;
  const ref::QuantInput qdw = quant_input_of(dw), qpj = quant_input_of(pj);
  if (qdw.dynamic || qpj.dynamic || qk.mr == 1)
    return MORSEL_ERROR(INTERNAL, "node '%s': not an int8 block with a projection", dw.name.c_str());
  auto slot = [&](int node) { return &(*packed)[static_cast<size_t>(node)]; };
  const Shape& ds = in_value(g, dw, 0).shape;  // [N,H,W,Cexp]
  const Shape& dws = in_value(g, dw, 1).shape;
  const int64_t H = ds[1], Wd = ds[2], Cexp = ds[3], taps = dws[0] * dws[1];
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(dw, H, Wd, dws[0], dws[1], &win));
  const int64_t Cin = ex ? in_value(g, *ex, 0).shape[3] : Cexp;
  const int64_t Cout = in_value(g, pj, 1).shape[3];

  // Expand: qs8 GEMM, one image row at a time.
  kernels::Qs8GemmArgs ga_ex;
  std::shared_ptr<PackedWeights> pex;
  int64_t panels_ex = 0;
  ref::QuantInput q0;
  if (ex) {
    pex = pack_qs8(qk, Cin, Cexp, in_value(g, *ex, 1).data.data<int8_t>(), in_ptr(*ex, b, 2),
                   in_ptr(*ex, b, 3), slot(blk.expand));
    const int64_t np = kernels::qs8_round_up(Cexp, qk.nr);
    panels_ex = np / qk.nr;
    const ref::Activation act = activation_of(ex->attrs);
    ga_ex.m = Wd; ga_ex.n = Cexp; ga_ex.k = Cin;
    ga_ex.lda = kernels::qs8_round_up(kernels::qs8_round_up(Cin, qk.kr) * qk.a_bytes, 16);
    ga_ex.b = pex->data.data(); ga_ex.bias = pex->bias.data(); ga_ex.w_scale = pex->bias.data() + np;
    ga_ex.colsum = reinterpret_cast<const int32_t*>(pex->bias.data() + 2 * np);
    ga_ex.ldc = Cexp; ga_ex.lo = act.min; ga_ex.hi = act.max;
    q0 = quant_input_of(*ex);
  }

  // Depthwise: integer weights [taps][Cexp] as floats, no bias or clamp (exact sums); then per
  // channel scale x_scale * w_scale, bias and the clamp (dequantize_rows).
  const int8_t* wdw = in_value(g, dw, 1).data.data<int8_t>();
  std::vector<float> wi(static_cast<size_t>(taps * Cexp));
  for (size_t i = 0; i < wi.size(); i++) wi[i] = static_cast<float>(wdw[i]);
  auto pdw = pack_depthwise(taps, Cexp, wi.data(), nullptr, slot(blk.dw));
  const kernels::DwConvArgs da = depthwise_row_args(ds, dws, win, *pdw, ref::Activation{});
  auto dq = std::make_shared<std::vector<float>>(static_cast<size_t>(2 * Cexp));
  {
    const float* ws = in_ptr(dw, b, 3);
    const float* bias = in_ptr(dw, b, 2);
    for (int64_t c = 0; c < Cexp; c++) {
      (*dq)[static_cast<size_t>(c)] = qdw.scale * ws[c];
      (*dq)[static_cast<size_t>(Cexp + c)] = bias ? bias[c] : 0.f;
    }
  }
  const ref::Activation act_dw = activation_of(dw.attrs);

  // Project: qs8 GEMM on each depthwise output row.
  auto ppj = pack_qs8(qk, Cexp, Cout, in_value(g, pj, 1).data.data<int8_t>(), in_ptr(pj, b, 2),
                      in_ptr(pj, b, 3), slot(blk.project));
  const int64_t np_pj = kernels::qs8_round_up(Cout, qk.nr), panels_pj = np_pj / qk.nr;
  const ref::Activation act_pj = activation_of(pj.attrs);
  kernels::Qs8GemmArgs ga_pj;
  ga_pj.m = win.ow; ga_pj.n = Cout; ga_pj.k = Cexp;
  ga_pj.lda = kernels::qs8_round_up(kernels::qs8_round_up(Cexp, qk.kr) * qk.a_bytes, 16);
  ga_pj.b = ppj->data.data(); ga_pj.bias = ppj->bias.data(); ga_pj.w_scale = ppj->bias.data() + np_pj;
  ga_pj.colsum = reinterpret_cast<const int32_t*>(ppj->bias.data() + 2 * np_pj);
  ga_pj.x_scale = qpj.scale; ga_pj.x_zero = qpj.zero;
  ga_pj.ldc = Cout; ga_pj.lo = act_pj.min; ga_pj.hi = act_pj.max;

  // Narrow rows go to the projection GEMM in groups of `group` output rows (at least 16 GEMM
  // rows), so its register tiles fill: MobileNetV2's 14- and 7-wide blocks.
  const int64_t group = std::max<int64_t>(1, std::min<int64_t>(4, ceil_div(16, win.ow)));
  // Per-thread scratch, 64-byte aligned parts: ring | depthwise sums | expand A | project A.
  auto part = [](int64_t floats) { return kernels::qs8_round_up(floats, 16); };
  const int64_t kh = da.kh, row_floats = Wd * Cexp;
  const int64_t ring_floats = part(kh * row_floats), acc_floats = part(group * win.ow * Cexp);
  const int64_t aex_floats = ex ? part(ceil_div(kernels::qs8_round_up(Wd, qk.mr) * ga_ex.lda, 4)) : 0;
  const int64_t apj_floats = part(ceil_div(kernels::qs8_round_up(group * win.ow, qk.mr) * ga_pj.lda, 4));
  out.scratch_floats = ring_floats + acc_floats + aex_floats + apj_floats;

  const float* x = in_ptr(ex ? *ex : dw, b, 0);
  // With a residual ADD: y = its output, each projected row plus the other input's row.
  const Node* add = blk.add >= 0 ? &g.nodes[static_cast<size_t>(blk.add)] : nullptr;
  float* y = b[static_cast<size_t>((add ? *add : pj).outputs[0])];
  const float* res = add ? in_ptr(*add, b, add->inputs[0] == pj.outputs[0] ? 1 : 0) : nullptr;
  const ref::Activation act_add = add ? activation_of(add->attrs) : ref::Activation{};
  auto binary = ctx.k->binary;
  const int threads = pool->threads();
  const int64_t total_rows = da.n * da.oh;
  Chunks rows(total_rows, threads > 1 ? std::max<int64_t>(threads, std::min<int64_t>(2 * threads, total_rows / 14)) : 1, 1);
  Chunks reduce(ex ? shape_numel(in_value(g, *ex, 0).shape) : 1, threads > 1 ? 2 * threads : 1, 65536);
  float* const* scratch = ctx.scratch;
  const kernels::Qs8Kernels* qkp = &qk;
  auto dwrow = ctx.k->dwconv_row;
  const bool has_ex = ex != nullptr;
  const float inv_dw = 1.0f / qdw.scale, inv_pj = 1.0f / qpj.scale;
  const int32_t zero_dw = qdw.zero, zero_pj = qpj.zero;
  const bool direct = qk.dwconv_row_q && kernels::qs8_dwconv_row_q_fits(da);
  out.fn = [=] {
    ref::QuantInput q = q0;
    if (has_ex && q.dynamic) q = measure_input(pool, reduce, x);
    const float inv = 1.0f / q.scale;
    kernels::Qs8GemmArgs gx = ga_ex;
    gx.x_scale = q.scale;
    gx.x_zero = q.zero;
    gx.requant = true;
    gx.out_inv_scale = inv_dw;
    gx.out_zero = zero_dw;
    pool->parallel_for(rows.count, [&](int64_t t, int tid) {
      RowRing ring{scratch[tid], row_floats};
      float* acc = scratch[tid] + ring_floats;
      void* aex = acc + acc_floats;
      void* apj = acc + acc_floats + aex_floats;
      const float* rowp[8];
      for (int64_t r0 = rows.begin(t); r0 < rows.end(t); r0 += group) {
        const int64_t nr = std::min<int64_t>(group, rows.end(t) - r0), m = nr * da.ow;
        for (int64_t r = r0; r < r0 + nr; r++) {
          ring.rows(da, r, 0, rowp, [&](int64_t n, int64_t iy, float* dst) {
            if (has_ex) {
              qkp->quantize_rows(x + (n * H + iy) * Wd * Cin, Wd, Cin, Cin, inv, q.zero, aex, gx.lda);
              kernels::Qs8GemmArgs gr = gx;
              gr.a = aex;
              gr.c = dst;
              qkp->gemm(gr, 0, Wd, 0, panels_ex);
            } else {
              qkp->requantize(x + (n * H + iy) * row_floats, row_floats, inv_dw, zero_dw, dst);
            }
          });
          if (direct)  // the depthwise row straight to the projection's A rows
            qkp->dwconv_row_q(da, rowp, dq->data(), dq->data() + Cexp, act_dw.min, act_dw.max,
                              inv_pj, zero_pj, static_cast<uint8_t*>(apj) + (r - r0) * da.ow * ga_pj.lda,
                              ga_pj.lda);
          else
            dwrow(da, rowp, acc + (r - r0) * da.ow * Cexp);
        }
        if (!direct)
          qkp->dequantize_rows(acc, m, Cexp, Cexp, dq->data(), dq->data() + Cexp, act_dw.min,
                               act_dw.max, inv_pj, zero_pj, apj, ga_pj.lda);
        kernels::Qs8GemmArgs gp = ga_pj;
        gp.a = apj;
        gp.c = y + r0 * da.ow * Cout;  // output rows r0.. are consecutive in y (also across images)
        qkp->gemm(gp, 0, m, 0, panels_pj);
        if (res)
          binary(kernels::BinOp::ADD, gp.c, res + r0 * da.ow * Cout, m * Cout, gp.c, 0, m * Cout,
                 act_add.min, act_add.max);
      }
    });
    (void)pex;
    (void)pdw;
    (void)ppj;
  };
  out.name = std::string("qs8-") + (ex ? "gemm+" : "") + "dwconv+gemm-" + qk.name + (add ? "+add" : "");
  return out;
}

}  // namespace

int block_residual(const Graph& g, const FusedBlock& blk) {
  if (blk.project < 0) return -1;
  const int v = g.nodes[static_cast<size_t>(blk.project)].outputs[0];
  for (int o : g.outputs)
    if (o == v) return -1;
  int add = -1, readers = 0;
  for (size_t j = 0; j < g.nodes.size(); j++)
    for (int id : g.nodes[j].inputs)
      if (id == v) {
        readers++;
        add = static_cast<int>(j);
      }
  if (readers != 1) return -1;
  const Node& a = g.nodes[static_cast<size_t>(add)];
  if (a.op != OpType::ADD || a.inputs.size() != 2 || a.outputs.size() != 1) return -1;
  const int r = a.inputs[0] == v ? a.inputs[1] : a.inputs[0];
  if (r < 0 || r == v) return -1;
  const Value& rv = g.values[static_cast<size_t>(r)];
  if (rv.producer >= blk.first() || rv.shape != g.values[static_cast<size_t>(v)].shape ||
      g.values[static_cast<size_t>(a.outputs[0])].shape != rv.shape)
    return -1;
  return add;
}

bool int8_block_projects(const Graph& g, const FusedBlock& blk, const kernels::F32Kernels& k) {
  if (blk.project < 0) return false;
  const char* env = std::getenv("MORSEL_FUSE_Q");  // 0: int8 blocks stop at the depthwise conv
  if (env && *env && std::atoi(env) == 0) return false;
  const Node& dw = g.nodes[static_cast<size_t>(blk.dw)];
  const Node& pj = g.nodes[static_cast<size_t>(blk.project)];
  if (dw.op != OpType::QDEPTHWISE_CONV2D || pj.op != OpType::QCONV2D) return false;
  if (quant_input_of(dw).dynamic || quant_input_of(pj).dynamic) return false;
  if (kernels::qs8_kernels(k.isa).mr == 1) return false;
  const Shape& ws = in_value(g, dw, 1).shape;
  // Exact f32 sums: taps * 255 * 128 < 2^24; the GEMMs' int32 sums as in bind_quantized.
  if (blk.expand >= 0 && in_value(g, g.nodes[static_cast<size_t>(blk.expand)], 0).shape.back() > 65536)
    return false;
  return ws.size() == 4 && ws[0] * ws[1] <= 256 && ws[2] <= 65536;
}

Result<KernelFn> bind_quantized_reference(const Graph& g, const Node& n, const std::vector<float*>& b) {
  const Shape& ys = g.values[static_cast<size_t>(n.outputs[0])].shape;
  float* y = b[static_cast<size_t>(n.outputs[0])];
  const float* x = in_ptr(n, b, 0);
  const int8_t* w = in_value(g, n, 1).data.data<int8_t>();
  const float* bias = in_ptr(n, b, 2);
  const float* ws = in_ptr(n, b, 3);
  const ref::QuantInput q = quant_input_of(n);
  const ref::Activation act = activation_of(n.attrs);
  if (n.op == OpType::QDENSE) {
    const Shape& wsh = in_value(g, n, 1).shape;
    const int64_t k = wsh[0], m = wsh[1], rows = shape_numel(ys) / m;
    return KernelFn([=] { ref::qdense(rows, k, m, x, w, bias, ws, q, act, y); });
  }
  const Shape& xs = in_value(g, n, 0).shape;
  const Shape& wsh = in_value(g, n, 1).shape;
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], wsh[0], wsh[1], &win));
  if (n.op == OpType::QCONV2D) {
    ref::Conv2DParams p{xs[0], xs[1], xs[2], xs[3], wsh[0], wsh[1], wsh[3], n.attrs.get_int("groups", 1),
                        win.sh, win.sw, win.dh, win.dw, win.pad_top, win.pad_left, win.oh, win.ow, act};
    return KernelFn([=] { ref::qconv2d(p, x, w, bias, ws, q, y); });
  }
  ref::DepthwiseConv2DParams p{xs[0], xs[1], xs[2], xs[3], wsh[0], wsh[1], wsh[3], win.sh, win.sw,
                               win.dh, win.dw, win.pad_top, win.pad_left, win.oh, win.ow, act};
  return KernelFn([=] { ref::qdepthwise_conv2d(p, x, w, bias, ws, q, y); });
}

Result<OptimizedKernel> bind_quantized(const Graph& g, const Node& n, const std::vector<float*>& b,
                                       const OptimizedBindContext& ctx,
                                       std::shared_ptr<PackedWeights>* packed) {
  OptimizedKernel out;
  if (!ctx.k || !ctx.pool) return out;
  const kernels::Qs8Kernels& qk = kernels::qs8_kernels(ctx.k->isa);
  // Without an int8 kernel that beats f32 (the portable one is ~2x slower than the f32 kernels
  // on MobileNetV2, docs/benchmarks.md), and for depthwise convs, the node runs the f32 kernel
  // on its dequantized weights: the same weights, the input left unrounded.
  if (qk.mr == 1 || n.op == OpType::QDEPTHWISE_CONV2D ||
      (n.op == OpType::QCONV2D && n.attrs.get_int("groups", 1) != 1))
    return bind_dequantized(g, n, b, ctx, packed);
  ThreadPool* pool = ctx.pool;
  const int threads = pool->threads();
  const Value& wv = in_value(g, n, 1);
  const Shape& xs = in_value(g, n, 0).shape;
  const Shape& ys = g.values[static_cast<size_t>(n.outputs[0])].shape;
  int64_t M, K, N;
  bool direct = true;  // A is x itself (dense, pointwise conv)
  kernels::Im2ColArgs ia;
  if (n.op == OpType::QDENSE) {
    K = wv.shape[0];
    N = wv.shape[1];
    M = shape_numel(ys) / N;
  } else {
    Window2D win;
    MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], wv.shape[0], wv.shape[1], &win));
    K = wv.shape[0] * wv.shape[1] * wv.shape[2];
    N = wv.shape[3];
    M = xs[0] * win.oh * win.ow;
    direct = wv.shape[0] == 1 && wv.shape[1] == 1 && win.sh == 1 && win.sw == 1 && win.pad_top == 0 &&
             win.pad_left == 0 && win.oh == xs[1] && win.ow == xs[2];
    ia = kernels::Im2ColArgs{xs[0], xs[1], xs[2], xs[3], wv.shape[0], wv.shape[1], win.sh, win.sw,
                             win.dh, win.dw, win.pad_top, win.pad_left, win.oh, win.ow};
  }
  if (K > 65536) return out;  // int32 sums could overflow: the reference (and the quantizer) decide
  // Through im2col with a short K (a network's first conv on the RGB image: 3x3x3 = 27) the
  // quantize pass and the epilogue outweigh the int8 products: MobileNetV2's Conv1 measured
  // 0.23 ms in f32 against 0.31 ms in int8 (docs/benchmarks.md), so it runs dequantized.
  if (!direct && K < 32) return bind_dequantized(g, n, b, ctx, packed);
  auto pw = pack_qs8(qk, K, N, wv.data.data<int8_t>(), in_ptr(n, b, 2), in_ptr(n, b, 3), packed);
  const int64_t np = kernels::qs8_round_up(N, qk.nr);
  const ref::Activation act = activation_of(n.attrs);
  const ref::QuantInput q0 = quant_input_of(n);
  const float* x = in_ptr(n, b, 0);
  const int64_t in_numel = shape_numel(xs);
  const int64_t kpad = kernels::qs8_round_up(K, qk.kr);
  const int64_t lda = kernels::qs8_round_up(kpad * qk.a_bytes, 16);
  const int64_t m_alloc = kernels::qs8_round_up(M, qk.mr);
  out.shared_scratch_floats = ceil_div(m_alloc * lda, 4);
  constexpr int64_t kIm2colRows = 64;
  if (!direct) out.scratch_floats = kIm2colRows * K;

  kernels::Qs8GemmArgs ga;
  ga.m = M;
  ga.n = N;
  ga.k = K;
  ga.lda = lda;
  ga.b = pw->data.data();
  ga.bias = pw->bias.data();
  ga.w_scale = pw->bias.data() + np;
  ga.colsum = reinterpret_cast<const int32_t*>(pw->bias.data() + 2 * np);
  ga.c = b[static_cast<size_t>(n.outputs[0])];
  ga.ldc = N;
  ga.lo = act.min;
  ga.hi = act.max;

  const int64_t panels = np / qk.nr;
  // Small GEMMs (the dense layers of a classifier head at batch 1: under 2^20 multiply-adds,
  // a few microseconds) run on the calling thread: waking the pool costs more than they take.
  const bool split = threads > 1 && M * N * K >= (int64_t{1} << 20);
  Chunks qrows(M, split ? 2 * threads : 1, 16);
  // GEMM tasks: row chunks, and column groups only when there are too few row tiles for the
  // threads (the register tile spans 4 panels, so groups are multiples of 4 panels if possible).
  const int64_t want = split ? 4 * threads : 1;
  const int64_t row_tiles = ceil_div(M, qk.mr);
  int64_t col_parts = 1;
  if (row_tiles < 2 * want) col_parts = std::min(panels, ceil_div(want, row_tiles));
  Chunks cols(panels, col_parts, 1, panels >= 4 * col_parts ? 4 : 1);
  Chunks mm_rows_final(M, std::max<int64_t>(1, ceil_div(want, cols.count)), qk.mr, qk.mr);
  Chunks reduce(in_numel, threads > 1 ? 2 * threads : 1, 65536);
  float* const* shared = ctx.shared_scratch;
  float* const* scratch = ctx.scratch;
  const kernels::Qs8Kernels* qkp = &qk;
  out.fn = [=] {
    ref::QuantInput q = q0;
    if (q.dynamic) q = measure_input(pool, reduce, x);
    const float inv = 1.0f / q.scale;
    uint8_t* a = reinterpret_cast<uint8_t*>(*shared);
    auto quantize = [&](int64_t m0, int64_t m1, int tid) {
      if (direct) {
        qkp->quantize_rows(x + m0 * K, m1 - m0, K, K, inv, q.zero, a + m0 * lda, lda);
        return;
      }
      float* buf = scratch[tid];
      for (int64_t r = m0; r < m1; r += kIm2colRows) {
        const int64_t r1 = std::min(m1, r + kIm2colRows);
        kernels::im2col(ia, x, r, r1, buf);
        qkp->quantize_rows(buf, r1 - r, K, K, inv, q.zero, a + r * lda, lda);
      }
    };
    kernels::Qs8GemmArgs g2 = ga;
    g2.a = a;
    g2.x_scale = q.scale;
    g2.x_zero = q.zero;
    if (cols.count == 1) {  // each task quantizes its own rows, then multiplies them
      pool->parallel_for(mm_rows_final.count, [&](int64_t t, int tid) {
        const int64_t m0 = mm_rows_final.begin(t), m1 = mm_rows_final.end(t);
        quantize(m0, m1, tid);
        qkp->gemm(g2, m0, m1, 0, panels);
      });
      return;
    }
    pool->parallel_for(qrows.count, [&](int64_t t, int tid) { quantize(qrows.begin(t), qrows.end(t), tid); });
    pool->parallel_for(mm_rows_final.count * cols.count, [&](int64_t t, int) {
      const int64_t r = t / cols.count, c = t % cols.count;
      qkp->gemm(g2, mm_rows_final.begin(r), mm_rows_final.end(r), cols.begin(c), cols.end(c));
    });
    (void)pw;
  };
  out.name = std::string("qs8-") + (direct ? "gemm" : "im2col-gemm") + "-" + qk.name;
  return out;
}

Result<OptimizedKernel> bind_fused_block_q(const Graph& g, const FusedBlock& blk,
                                           const std::vector<float*>& b,
                                           const OptimizedBindContext& ctx,
                                           std::vector<std::shared_ptr<PackedWeights>>* packed) {
  const Node& dw = g.nodes[static_cast<size_t>(blk.dw)];
  const kernels::Qs8Kernels& qk = kernels::qs8_kernels(ctx.k->isa);
  if (blk.project >= 0) return bind_block_q_project(g, blk, b, ctx, packed);
  if (blk.expand < 0)
    return MORSEL_ERROR(INTERNAL, "node '%s': int8 blocks are expand + depthwise", dw.name.c_str());
  const Node& ex = g.nodes[static_cast<size_t>(blk.expand)];
  // Depthwise weights: dequantized, as the unfused depthwise runs.
  std::vector<float> dwf = dequantized_weights(g, dw, b);
  std::vector<float*> b2 = b;
  b2[static_cast<size_t>(dw.inputs[1])] = dwf.data();
  if (qk.mr == 1) {  // no int8 GEMM faster than f32 here: the f32 block on dequantized weights
    std::vector<float> exf = dequantized_weights(g, ex, b);
    b2[static_cast<size_t>(ex.inputs[1])] = exf.data();
    Graph g2 = g;
    for (int id : {blk.expand, blk.dw}) {
      Node& n = g2.nodes[static_cast<size_t>(id)];
      n.op = n.op == OpType::QCONV2D ? OpType::CONV2D : OpType::DEPTHWISE_CONV2D;
      n.inputs.resize(3);
    }
    MORSEL_ASSIGN_OR_RETURN(OptimizedKernel out, bind_fused_block(g2, blk, b2, ctx, packed));
    out.name += "(dequantized)";
    return out;
  }
  OptimizedKernel out;
  const kernels::F32Kernels& k = *ctx.k;
  ThreadPool* pool = ctx.pool;
  const Shape& ds = in_value(g, dw, 0).shape;  // [N,H,W,Cexp]
  const Shape& dws = in_value(g, dw, 1).shape;
  const int64_t H = ds[1], Wd = ds[2], Cexp = ds[3];
  const Shape& xs = in_value(g, ex, 0).shape;
  const int64_t Cin = xs[3];
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(dw, H, Wd, dws[0], dws[1], &win));
  if (Cin > 65536) return MORSEL_ERROR(INTERNAL, "node '%s': too many input channels", ex.name.c_str());

  // Expand: qs8 GEMM, one image row (Wd pixels) at a time.
  auto pex = pack_qs8(qk, Cin, Cexp, in_value(g, ex, 1).data.data<int8_t>(), in_ptr(ex, b, 2), in_ptr(ex, b, 3),
                      &(*packed)[static_cast<size_t>(blk.expand)]);
  const int64_t np = kernels::qs8_round_up(Cexp, qk.nr), panels = np / qk.nr;
  const ref::Activation act_ex = activation_of(ex.attrs);
  kernels::Qs8GemmArgs ga;
  ga.m = Wd;
  ga.n = Cexp;
  ga.k = Cin;
  ga.lda = kernels::qs8_round_up(kernels::qs8_round_up(Cin, qk.kr) * qk.a_bytes, 16);
  ga.b = pex->data.data();
  ga.bias = pex->bias.data();
  ga.w_scale = pex->bias.data() + np;
  ga.colsum = reinterpret_cast<const int32_t*>(pex->bias.data() + 2 * np);
  ga.ldc = Cexp;
  ga.lo = act_ex.min;
  ga.hi = act_ex.max;
  const ref::QuantInput q0 = quant_input_of(ex);

  // Depthwise: the f32 row kernel.
  auto pdw = pack_depthwise(dws[0] * dws[1], Cexp, dwf.data(), in_ptr(dw, b, 2),
                            &(*packed)[static_cast<size_t>(blk.dw)]);
  const kernels::DwConvArgs da = depthwise_row_args(ds, dws, win, *pdw, activation_of(dw.attrs));

  const float* x = in_ptr(ex, b, 0);
  float* y = b[static_cast<size_t>(dw.outputs[0])];
  const int64_t kh = da.kh, row_floats = Wd * Cexp;
  const int64_t ring_floats = kh * row_floats;
  const int64_t a_floats = ceil_div(kernels::qs8_round_up(Wd, qk.mr) * ga.lda, 4);
  out.scratch_floats = ring_floats + a_floats;
  const int threads = pool->threads();
  const int64_t total_rows = da.n * da.oh;
  Chunks rows(total_rows, threads > 1 ? std::max<int64_t>(threads, std::min<int64_t>(2 * threads, total_rows / 14)) : 1, 1);
  Chunks reduce(shape_numel(xs), threads > 1 ? 2 * threads : 1, 65536);
  float* const* scratch = ctx.scratch;
  const kernels::Qs8Kernels* qkp = &qk;
  auto dwrow = k.dwconv_row;
  out.fn = [=] {
    ref::QuantInput q = q0;
    if (q.dynamic) q = measure_input(pool, reduce, x);
    const float inv = 1.0f / q.scale;
    kernels::Qs8GemmArgs g2 = ga;
    g2.x_scale = q.scale;
    g2.x_zero = q.zero;
    pool->parallel_for(rows.count, [&](int64_t t, int tid) {
      RowRing ring{scratch[tid], row_floats};
      void* arow = scratch[tid] + ring_floats;
      const float* rowp[8];
      for (int64_t r = rows.begin(t); r < rows.end(t); r++) {
        ring.rows(da, r, 0, rowp, [&](int64_t n, int64_t iy, float* dst) {
          qkp->quantize_rows(x + (n * H + iy) * Wd * Cin, Wd, Cin, Cin, inv, q.zero, arow, g2.lda);
          kernels::Qs8GemmArgs gr = g2;
          gr.a = arow;
          gr.c = dst;
          qkp->gemm(gr, 0, Wd, 0, panels);
        });
        dwrow(da, rowp, y + r * da.ow * Cexp);
      }
    });
    (void)pex;
    (void)pdw;
  };
  out.name = std::string("qs8-gemm-") + qk.name + "+f32-dwconv";
  return out;
}

}  // namespace morsel
