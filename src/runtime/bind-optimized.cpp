// Node -> optimized kernel binding: picks the kernel, prepacks weights once, and splits the
// work into tasks for the thread pool. Nodes without an optimized kernel return an empty fn and
// run on their reference kernel.
#include <algorithm>
#include <cstring>

#include "runtime/bind.h"

namespace morsel {

namespace {

using kernels::F32Kernels;

const float* in_ptr(const Node& n, const std::vector<float*>& b, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
  return b[static_cast<size_t>(n.inputs[i])];
}
const Shape& in_shape(const Graph& g, const Node& n, size_t i) {
  return g.values[static_cast<size_t>(n.inputs[i])].shape;
}
bool in_is_const(const Graph& g, const Node& n, size_t i) {
  return i < n.inputs.size() && n.inputs[i] >= 0 && g.values[static_cast<size_t>(n.inputs[i])].is_const();
}


}  // namespace

GemmVariant gemm_variant(const F32Kernels& k, int64_t n, bool kpair, int64_t kdim) {
  const int64_t mid = kernels::gemm_panels(n, k.gemm_nr) * k.gemm_nr;
  const int64_t narrow = kernels::gemm_panels(n, k.gemm_narrow_nr) * k.gemm_narrow_nr;
  // Small K (MobileNetV2's expansions from 16, 24 and 32 channels) with a tile that pads no
  // more than the default one: 4 x 48 on AVX-512. On Zen 4, alternating in one microbenchmark:
  // 112 x 16 x 96 3.28 against 3.52 us (8 x 32), 56 x 24 x 144 3.58 against 3.74 (8 x 48),
  // 28 x 32 x 192 3.15 against 3.22 (6 x 64).
  if (kdim > 0 && kdim <= kernels::kGemmShortK && k.gemm_short &&
      kernels::gemm_panels(n, k.gemm_short_nr) * k.gemm_short_nr <= mid)
    return {k.gemm_short_mr, k.gemm_short_nr, k.gemm_short, "gemm-short"};
  if (k.gemm_wide && kernels::gemm_panels(n, k.gemm_wide_nr) * k.gemm_wide_nr <= mid)
    return {k.gemm_wide_mr, k.gemm_wide_nr, k.gemm_wide, "gemm-wide"};
  // 8 or 24 columns in K pairs (MobileNetV2's 24-channel projections, 112 x 144 x 24 on Zen 4:
  // 7.0 against 11.1 us for the 32-column tile, alternating in one microbenchmark). 16 columns
  // keep the narrow tile, which measured as fast.
  if (kpair && (n == 8 || n == 24) && k.gemm_kpair)
    return {k.gemm_kpair_mr[static_cast<size_t>(n / 8 - 1)], static_cast<int>(2 * n), k.gemm_kpair, "gemm-kpair", true};
  if (narrow * 5 < mid * 4) return {k.gemm_narrow_mr, k.gemm_narrow_nr, k.gemm_narrow, "gemm-narrow"};
  // Three vectors where that pads less (MobileNetV2's 144-channel expansions on AVX-512: 91
  // against 105 us for the 3136 x 24 x 144 GEMM, alternating in one microbenchmark).
  if (k.gemm3 && kernels::gemm_panels(n, k.gemm3_nr) * k.gemm3_nr < mid)
    return {k.gemm3_mr, k.gemm3_nr, k.gemm3, "gemm-3v"};
  return {k.gemm_mr, k.gemm_nr, k.gemm, "gemm"};
}

namespace {

// Packs [K, N] weights (and bias) for the GEMM; reuses the node's cached packing.
std::shared_ptr<PackedWeights> pack_for_gemm(const GemmVariant& v, int64_t K, int64_t N,
                                             const float* w, const float* bias,
                                             std::shared_ptr<PackedWeights>* slot) {
  const std::string layout = std::string("gemm-nr") + std::to_string(v.nr) + (v.kpair ? "-kpair" : "");
  if (*slot && (*slot)->layout == layout) return *slot;
  auto p = std::make_shared<PackedWeights>();
  p->layout = layout;
  if (v.kpair) {
    p->data.resize(static_cast<size_t>((K + 1) / 2 * 2 * N));
    p->bias.resize(static_cast<size_t>(2 * N));
    kernels::pack_gemm_b_kpair(K, N, w, bias, p->data.data(), p->bias.data());
    *slot = p;
    return p;
  }
  const int64_t panels = kernels::gemm_panels(N, v.nr);
  p->data.resize(static_cast<size_t>(panels * K * v.nr));
  kernels::pack_gemm_b(K, N, v.nr, w, p->data.data());
  p->bias.assign(static_cast<size_t>(panels * v.nr), 0.0f);
  if (bias) std::copy(bias, bias + N, p->bias.begin());
  *slot = p;
  return p;
}

// Depthwise weights [KH,KW,C,1] are already [KH*KW, C]; the bias is made explicit.
bool is_pointwise(const Graph& g, const Node& n) {
  if ((n.op != OpType::CONV2D && n.op != OpType::QCONV2D) || n.attrs.get_int("groups", 1) != 1) return false;
  if (!in_is_const(g, n, 1) || (n.inputs.size() > 2 && n.inputs[2] >= 0 && !in_is_const(g, n, 2)))
    return false;
  const Shape& xs = in_shape(g, n, 0);
  const Shape& ws = in_shape(g, n, 1);
  if (xs.size() != 4 || ws.size() != 4 || ws[0] != 1 || ws[1] != 1) return false;
  Window2D win;
  if (!resolve_window(n, xs[1], xs[2], 1, 1, &win).ok()) return false;
  return win.sh == 1 && win.sw == 1 && win.pad_top == 0 && win.pad_left == 0 && win.oh == xs[1] &&
         win.ow == xs[2];
}

// A short K (a network's first conv on the image, 3x3x3) and a real window: the direct conv
// kernel, where im2col would copy K floats per output pixel for a GEMM too short to pay for it.
// Measured at 1 thread (morsel bench --profile): MobileNetV2's 3x3x3->32 0.26 -> 0.17 ms,
// InceptionV3's 0.47 -> 0.32 ms; ResNet50's 7x7x3->64 (K = 147) was faster through im2col
// (1.29 against 1.36 ms), hence K < 32.
bool is_direct_conv(const Graph& g, const Node& n) {
  if (n.op != OpType::CONV2D || n.attrs.get_int("groups", 1) != 1) return false;
  if (!in_is_const(g, n, 1) || (n.inputs.size() > 2 && n.inputs[2] >= 0 && !in_is_const(g, n, 2)))
    return false;
  if (n.inputs.size() > 3 && n.inputs[3] >= 0) return false;  // a fused residual
  const Shape& xs = in_shape(g, n, 0);
  const Shape& ws = in_shape(g, n, 1);
  if (xs.size() != 4 || ws.size() != 4) return false;
  Window2D win;
  if (!resolve_window(n, xs[1], xs[2], ws[0], ws[1], &win).ok()) return false;
  return ws[0] * ws[1] * ws[2] < 32 && xs[3] <= 4 && (ws[0] > 1 || ws[1] > 1) && win.dh == 1 &&
         win.dw == 1;
}

// The direct conv's arguments for node n (is_direct_conv), its weights packed into *slot
// ([K][cop], cop = CO rounded up to the vector width).
Result<kernels::ConvArgs> direct_conv_args(const Graph& g, const Node& n, const std::vector<float*>& b,
                                           const F32Kernels& k, std::shared_ptr<PackedWeights>* slot) {
  const Shape& xs = in_shape(g, n, 0);
  const Shape& ws = in_shape(g, n, 1);
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], ws[0], ws[1], &win));
  const int64_t K = ws[0] * ws[1] * ws[2], N = ws[3];
  const std::string layout = std::string("conv-direct-") + std::to_string(k.gemm_narrow_nr);
  const int64_t cop = ceil_div(N, k.gemm_narrow_nr) * k.gemm_narrow_nr;
  if (!*slot || (*slot)->layout != layout) {
    auto pw = std::make_shared<PackedWeights>();
    pw->layout = layout;
    pw->data.assign(static_cast<size_t>(K * cop), 0.f);
    pw->bias.assign(static_cast<size_t>(cop), 0.f);
    const float* w = in_ptr(n, b, 1);
    for (int64_t r = 0; r < K; r++) std::copy(w + r * N, w + (r + 1) * N, pw->data.begin() + r * cop);
    if (const float* bias = in_ptr(n, b, 2)) std::copy(bias, bias + N, pw->bias.begin());
    *slot = pw;
  }
  const ref::Activation act = activation_of(n.attrs);
  kernels::ConvArgs ca;
  ca.n = xs[0]; ca.h = xs[1]; ca.w = xs[2]; ca.ci = xs[3]; ca.co = N; ca.cop = cop;
  ca.kh = ws[0]; ca.kw = ws[1]; ca.sh = win.sh; ca.sw = win.sw;
  ca.pad_top = win.pad_top; ca.pad_left = win.pad_left; ca.oh = win.oh; ca.ow = win.ow;
  ca.x = in_ptr(n, b, 0); ca.wt = (*slot)->data.data(); ca.bias = (*slot)->bias.data();
  ca.lo = act.min; ca.hi = act.max;
  return ca;
}

}  // namespace

std::string kname(const F32Kernels& k, const char* op) {
  return std::string("f32-") + op + "-" + isa_name(k.isa);
}

namespace {

// C = A · B over M rows: tasks are (row chunk, panel group) pairs. `a_slot`, when set, holds A's
// address, read at run time (a buffer allocated after binding).
KernelFn gemm_fn(const GemmVariant& k, ThreadPool* pool, kernels::GemmArgs g,
                 float* const* a_slot = nullptr) {
  const int64_t panels = kernels::gemm_panels(g.n, k.nr);
  const int threads = pool->threads();
  // Row chunks whose K block of A (rows x min(K, Kc) floats) stays in L2 while every panel
  // passes over it; B streams through once per chunk, so chunks are as long as L2 allows.
  const int64_t kblock = std::min(std::max<int64_t>(1, g.k), kernels::kGemmKc + kernels::kGemmKc / 2);
  const int64_t rows_l2 = std::max<int64_t>(k.mr * 4, (int64_t{256} << 10) / (kblock * 4));
  Chunks rows(g.m, std::max<int64_t>(ceil_div(g.m, rows_l2), 1), k.mr, k.mr);
  // Enough tasks to balance the threads: split panels when there are few row chunks.
  const int64_t want = threads > 1 ? 4 * threads : 1;
  Chunks cols(panels, std::max<int64_t>(1, ceil_div(want, rows.count)), 1);
  if (rows.count * cols.count < want && threads > 1)
    rows = Chunks(g.m, ceil_div(want, cols.count), k.mr, k.mr);
  auto fn = k.fn;
  return [=] {
    kernels::GemmArgs ga = g;
    if (a_slot) ga.a = *a_slot;
    pool->parallel_for(rows.count * cols.count, [&](int64_t t, int) {
      const int64_t r = t / cols.count, c = t % cols.count;
      fn(ga, rows.begin(r), rows.end(r), cols.begin(c), cols.end(c));
    });
  };
}

}  // namespace

std::shared_ptr<PackedWeights> pack_depthwise(int64_t taps, int64_t C, const float* w,
                                              const float* bias,
                                              std::shared_ptr<PackedWeights>* slot) {
  if (*slot && (*slot)->layout == "dw") return *slot;
  auto p = std::make_shared<PackedWeights>();
  p->layout = "dw";
  p->data.assign(w, w + taps * C);
  p->bias.assign(static_cast<size_t>(C), 0.0f);
  if (bias) std::copy(bias, bias + C, p->bias.begin());
  *slot = p;
  return p;
}

kernels::DwConvArgs depthwise_row_args(const Shape& in, const Shape& w_shape, const Window2D& win,
                                       const PackedWeights& p, const ref::Activation& act) {
  kernels::DwConvArgs da;
  da.n = in[0]; da.h = in[1]; da.w = in[2]; da.c = in[3];
  da.kh = w_shape[0]; da.kw = w_shape[1]; da.sh = win.sh; da.sw = win.sw; da.dh = win.dh; da.dw = win.dw;
  da.pad_top = win.pad_top; da.pad_left = win.pad_left; da.oh = win.oh; da.ow = win.ow;
  da.wt = p.data.data(); da.bias = p.bias.data();
  da.lo = act.min; da.hi = act.max;
  return da;
}

namespace {

// Readers of value v: (node index, input slot); graph outputs count as a reader at -1.
std::vector<std::pair<int, int>> readers_of(const Graph& g, int v) {
  std::vector<std::pair<int, int>> r;
  for (size_t i = 0; i < g.nodes.size(); i++)
    for (size_t k = 0; k < g.nodes[i].inputs.size(); k++)
      if (g.nodes[i].inputs[k] == v) r.push_back({static_cast<int>(i), static_cast<int>(k)});
  for (int o : g.outputs)
    if (o == v) r.push_back({-1, -1});
  return r;
}

bool fusable_depthwise(const Graph& g, const Node& dw) {
  if ((dw.op != OpType::DEPTHWISE_CONV2D && dw.op != OpType::QDEPTHWISE_CONV2D) || !in_is_const(g, dw, 1))
    return false;
  if (dw.inputs.size() > 2 && dw.inputs[2] >= 0 && !in_is_const(g, dw, 2)) return false;
  const Shape& xs = in_shape(g, dw, 0);
  const Shape& ws = in_shape(g, dw, 1);
  if (xs.size() != 4 || ws.size() != 4 || ws[3] != 1 || ws[0] > 7) return false;
  Window2D win;
  if (!resolve_window(dw, xs[1], xs[2], ws[0], ws[1], &win).ok()) return false;
  return win.dh == 1 && win.dw == 1 && win.sh <= ws[0];
}

}  // namespace

std::vector<FusedBlock> find_fused_blocks(const Graph& g) {
  std::vector<FusedBlock> blocks;
  for (size_t j = 0; j < g.nodes.size(); j++) {
    const Node& dw = g.nodes[j];
    if (!fusable_depthwise(g, dw)) continue;
    FusedBlock b;
    b.dw = static_cast<int>(j);
    const Value& in = g.values[static_cast<size_t>(dw.inputs[0])];
    if (in.producer >= 0 && readers_of(g, dw.inputs[0]).size() == 1) {
      const Node& p = g.nodes[static_cast<size_t>(in.producer)];
      if (is_pointwise(g, p)) {
        b.expand = in.producer;
      } else if (dw.op == OpType::DEPTHWISE_CONV2D && is_direct_conv(g, p)) {
        b.expand = in.producer;
        b.direct_expand = true;
      }
    }
    const auto r = readers_of(g, dw.outputs[0]);
    if (r.size() == 1 && r[0].first > b.dw && r[0].second == 0 &&
        is_pointwise(g, g.nodes[static_cast<size_t>(r[0].first)]))
      b.project = r[0].first;
    // int8 blocks: QConv2D expand and project with a QDepthwiseConv2D (bind_fused_block_q;
    // the session keeps the project only where int8_block_projects); no mixing.
    const bool q = dw.op == OpType::QDEPTHWISE_CONV2D;
    if (b.expand >= 0 && (g.nodes[static_cast<size_t>(b.expand)].op == OpType::QCONV2D) != q) b.expand = -1;
    if (b.project >= 0 && (g.nodes[static_cast<size_t>(b.project)].op == OpType::QCONV2D) != q) b.project = -1;
    if (b.expand >= 0 || b.project >= 0) blocks.push_back(b);
  }
  return blocks;
}

Result<OptimizedKernel> bind_fused_block(const Graph& g, const FusedBlock& blk,
                                         const std::vector<float*>& b,
                                         const OptimizedBindContext& ctx,
                                         std::vector<std::shared_ptr<PackedWeights>>* packed) {
  if (g.nodes[static_cast<size_t>(blk.dw)].op == OpType::QDEPTHWISE_CONV2D)
    return bind_fused_block_q(g, blk, b, ctx, packed);
  OptimizedKernel out;
  const F32Kernels& k = *ctx.k;
  ThreadPool* pool = ctx.pool;
  const Node& dw = g.nodes[static_cast<size_t>(blk.dw)];
  const Node* ex = blk.expand >= 0 ? &g.nodes[static_cast<size_t>(blk.expand)] : nullptr;
  const Node* pj = blk.project >= 0 ? &g.nodes[static_cast<size_t>(blk.project)] : nullptr;
  const Shape& ds = in_shape(g, dw, 0);  // depthwise input [N,H,W,Cexp]
  const Shape& dws = in_shape(g, dw, 1);
  const int64_t H = ds[1], Wd = ds[2], Cexp = ds[3];
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(dw, H, Wd, dws[0], dws[1], &win));
  auto slot = [&](int node) { return &(*packed)[static_cast<size_t>(node)]; };

  // Expand: rows of the block input -> expanded rows.
  GemmVariant gv_ex{};
  kernels::GemmArgs ga_ex;
  std::shared_ptr<PackedWeights> pex;
  int64_t panels_ex = 0, Cin = Cexp;
  const float* x = in_ptr(dw, b, 0);
  kernels::ConvArgs ca_ex;  // blk.direct_expand: the direct conv that makes the rows
  if (ex && blk.direct_expand) {
    MORSEL_ASSIGN_OR_RETURN(ca_ex, direct_conv_args(g, *ex, b, k, slot(blk.expand)));
    pex = *slot(blk.expand);
    x = ca_ex.x;
  } else if (ex) {
    Cin = in_shape(g, *ex, 0)[3];
    gv_ex = gemm_variant(k, Cexp, true, Cin);
    pex = pack_for_gemm(gv_ex, Cin, Cexp, in_ptr(*ex, b, 1), in_ptr(*ex, b, 2), slot(blk.expand));
    const ref::Activation act = activation_of(ex->attrs);
    ga_ex.m = Wd; ga_ex.n = Cexp; ga_ex.k = Cin; ga_ex.lda = Cin;
    ga_ex.b = pex->data.data(); ga_ex.bias = pex->bias.data(); ga_ex.ldc = Cexp;
    ga_ex.lo = act.min; ga_ex.hi = act.max;
    panels_ex = kernels::gemm_panels(Cexp, gv_ex.nr);
    x = in_ptr(*ex, b, 0);
  }
  auto pdw = pack_depthwise(dws[0] * dws[1], Cexp, in_ptr(dw, b, 1), in_ptr(dw, b, 2), slot(blk.dw));
  const kernels::DwConvArgs da = depthwise_row_args(ds, dws, win, *pdw, activation_of(dw.attrs));

  // Project: each depthwise output row -> block output row.
  GemmVariant gv_pj{};
  kernels::GemmArgs ga_pj;
  std::shared_ptr<PackedWeights> ppj;
  int64_t panels_pj = 0, Cout = Cexp;
  if (pj) {
    Cout = in_shape(g, *pj, 1)[3];
    gv_pj = gemm_variant(k, Cout, true, Cexp);
    ppj = pack_for_gemm(gv_pj, Cexp, Cout, in_ptr(*pj, b, 1), in_ptr(*pj, b, 2), slot(blk.project));
    const ref::Activation act = activation_of(pj->attrs);
    ga_pj.m = win.ow; ga_pj.n = Cout; ga_pj.k = Cexp; ga_pj.lda = Cexp;
    ga_pj.b = ppj->data.data(); ga_pj.bias = ppj->bias.data(); ga_pj.ldc = Cout;
    ga_pj.lo = act.min; ga_pj.hi = act.max;
    panels_pj = kernels::gemm_panels(Cout, gv_pj.nr);
  }
  // A residual ADD after the projection (the session checked that the projection is linear):
  // its other input is added in the projection GEMM's epilogue, under the ADD's activation.
  const Node* add = pj && blk.add >= 0 ? &g.nodes[static_cast<size_t>(blk.add)] : nullptr;
  const float* res = add ? in_ptr(*add, b, add->inputs[0] == pj->outputs[0] ? 1 : 0) : nullptr;
  if (add) {
    const ref::Activation act = activation_of(add->attrs);
    ga_pj.lo = act.min;
    ga_pj.hi = act.max;
    ga_pj.ldr = Cout;
  }
  float* y = b[static_cast<size_t>((add ? *add : pj ? *pj : dw).outputs[0])];

  const int64_t kh = da.kh, row_floats = Wd * Cexp;
  // Output rows in pairs (dwconv_row2: the rows they share are read once) on images 16 or more
  // pixels wide; on 14-pixel rows the pair measured slower than single rows.
  const bool pairs = da.dh == 1 && da.ow >= 16 && kh + da.sh <= 8;
  const int64_t slots = pairs ? kh + da.sh : kh;
  const int64_t ring_floats = ex ? slots * row_floats : 0;
  const int threads = pool->threads();
  // Chunks of output rows, two per thread when there are enough rows, for balance on a busy
  // machine. Each chunk restarts the ring; the rows two chunks share are computed once (below).
  const int64_t total_rows = da.n * da.oh;
  Chunks rows(total_rows, threads > 1 ? std::max<int64_t>(threads, std::min<int64_t>(2 * threads, total_rows / 14)) : 1, 1);
  const bool has_ex = ex != nullptr, has_pj = pj != nullptr, direct = blk.direct_expand;
  // Small images (few rows per thread) without a projection: split the channels instead of
  // the rows, so no expanded row is computed twice. Each task owns whole GEMM panels.
  const bool channel_groups = has_ex && !direct && !has_pj && threads > 1 &&
                              total_rows < 12 * threads && panels_ex >= 2 * threads;
  out.scratch_floats = ring_floats + (pj ? (pairs ? 2 : 1) * win.ow * Cexp : 0);
  float* const* scratch = ctx.scratch;
  auto gemm_ex = gv_ex.fn;
  auto gemm_pj = gv_pj.fn;
  auto dwrow = k.dwconv_row;
  auto dwrow2 = k.dwconv_row2;
  auto conv_direct = k.conv_direct;
  // Expanded row iy of image n, panels [p0, p1) of its channels, into dst.
  auto expand_row = [=](int64_t n, int64_t iy, int64_t p0, int64_t p1, float* dst) {
    if (direct) {  // output row iy of image n: a one-row conv whose padding starts above it
      kernels::ConvArgs c1 = ca_ex;
      c1.n = 1;
      c1.oh = 1;
      c1.x = ca_ex.x + n * ca_ex.h * ca_ex.w * ca_ex.ci;
      c1.pad_top = ca_ex.pad_top - iy * ca_ex.sh;
      c1.y = dst;
      conv_direct(c1, 0, 1);
      return;
    }
    kernels::GemmArgs gr = ga_ex;
    gr.a = x + ((n * H + iy) * Wd) * Cin;
    gr.c = dst;
    gemm_ex(gr, 0, Wd, p0, p1);
  };
  // Expanded rows that two row chunks both read (the kh - sh rows around a chunk boundary
  // inside an image), as n * H + iy, ascending: computed once, by all threads, before the
  // chunks run, into the shared scratch, where the chunks' rings read them. Otherwise each
  // chunk would compute them again: 8 expanded rows for 7 output rows on a 14-row image split
  // over 2 threads.
  std::vector<int64_t> edge;
  if (has_ex && !channel_groups && rows.count > 1) {
    for (int64_t t = 1; t < rows.count; t++) {
      const int64_t r = rows.begin(t);
      if (r <= 0 || r >= total_rows || (r - 1) / da.oh != r / da.oh) continue;
      const int64_t n = r / da.oh;
      const int64_t lo = std::max<int64_t>(0, (r % da.oh) * da.sh - da.pad_top);
      const int64_t hi = std::min<int64_t>(H - 1, ((r - 1) % da.oh) * da.sh - da.pad_top + kh - 1);
      for (int64_t iy = lo; iy <= hi; iy++) edge.push_back(n * H + iy);
    }
    std::sort(edge.begin(), edge.end());
    edge.erase(std::unique(edge.begin(), edge.end()), edge.end());
  }
  const int64_t n_edge = static_cast<int64_t>(edge.size());
  // Edge rows that do not split evenly over the threads (one per boundary at stride 2) are
  // split by expansion panels too.
  const Chunks edge_parts(std::max<int64_t>(1, panels_ex),
                          !direct && n_edge % threads != 0 ? threads : 1, 1);
  out.shared_scratch_floats = n_edge * row_floats;
  float* const* shared = ctx.shared_scratch;
  // The kh input rows of depthwise output row r, panels [p0, p1) of the expanded channels,
  // offset by c0 floats; nullptr for padding rows. With an expand conv, expanded rows live in a
  // per-thread ring (RowRing: `slots` rows) and are computed on first use; rows in `edge`
  // (all panels only) are read where the first phase put them.
  auto input_rows = [=](int64_t r, int64_t p0, int64_t p1, int64_t c0, RowRing& ring,
                        const float** rowp) {
    if (!has_ex) {  // the depthwise conv reads its input tensor directly
      const int64_t n = r / da.oh, oy = r % da.oh;
      for (int64_t ky = 0; ky < kh; ky++) {
        const int64_t iy = oy * da.sh - da.pad_top + ky;
        rowp[ky] = iy < 0 || iy >= H ? nullptr : x + (n * H + iy) * row_floats + c0;
      }
      return;
    }
    ring.rows(da, r, c0, rowp, [&](int64_t n, int64_t iy, float* dst) -> const float* {
      if (n_edge > 0) {
        const auto e = std::lower_bound(edge.begin(), edge.end(), n * H + iy);
        if (e != edge.end() && *e == n * H + iy) return *shared + (e - edge.begin()) * row_floats;
      }
      expand_row(n, iy, p0, p1, dst);
      return dst;
    });
  };
  if (channel_groups) {
    Chunks groups(panels_ex, 2 * threads, 1);
    const int nr = gv_ex.nr;
    out.fn = [=] {
      pool->parallel_for(groups.count, [&](int64_t t, int tid) {
        const int64_t p0 = groups.begin(t), p1 = groups.end(t);
        const int64_t c0 = p0 * nr, c1 = std::min<int64_t>(p1 * nr, Cexp);
        kernels::DwConvArgs d = da;
        d.c = c1 - c0;
        d.cs = Cexp;
        d.wt = da.wt + c0;
        d.bias = da.bias + c0;
        RowRing ring{scratch[tid], row_floats};
        const float* rowp[8];
        for (int64_t r = 0; r < total_rows; r++) {
          input_rows(r, p0, p1, c0, ring, rowp);
          dwrow(d, rowp, y + r * da.ow * Cexp + c0);
        }
      });
      (void)pex;
      (void)pdw;
    };
    out.name = kname(k, "gemm+dwconv");
    return out;
  }
  out.fn = [=] {
    if (n_edge > 0)
      pool->parallel_for(n_edge * edge_parts.count, [&](int64_t i, int) {
        const int64_t e = edge[static_cast<size_t>(i / edge_parts.count)], part = i % edge_parts.count;
        expand_row(e / H, e % H, edge_parts.begin(part), edge_parts.end(part),
                   *shared + i / edge_parts.count * row_floats);
      });
    pool->parallel_for(rows.count, [&](int64_t t, int tid) {
      float* dwout = scratch[tid] + ring_floats;
      RowRing ring{scratch[tid], row_floats, slots};
      const float* rowp[8];
      const float* rowp1[8];
      const float* rows2[16];
      for (int64_t r = rows.begin(t); r < rows.end(t);) {
        // Rows r and r + 1 of one image together: the ring holds both rows' inputs.
        const bool pair = pairs && r + 1 < rows.end(t) && r % da.oh + 1 < da.oh;
        input_rows(r, 0, panels_ex, 0, ring, rowp);
        if (pair) {
          input_rows(r + 1, 0, panels_ex, 0, ring, rowp1);
          for (int64_t i = 0; i < kh + da.sh; i++) rows2[i] = i < kh ? rowp[i] : rowp1[i - da.sh];
        }
        const int64_t nr = pair ? 2 : 1;
        float* dst = has_pj ? dwout : y + r * da.ow * Cexp;
        if (pair) dwrow2(da, rows2, dst, dst + da.ow * Cexp);
        else dwrow(da, rowp, dst);
        if (has_pj) {  // output rows are contiguous ([N*OH*OW, C]): the pair is one GEMM
          kernels::GemmArgs gp = ga_pj;
          gp.m = nr * da.ow;
          gp.a = dwout;
          gp.c = y + r * da.ow * Cout;
          if (res) gp.res = res + r * da.ow * Cout;
          gemm_pj(gp, 0, gp.m, 0, panels_pj);
        }
        r += nr;
      }
    });
    (void)pex;
    (void)pdw;
    (void)ppj;
  };
  std::string name = std::string(ex ? (direct ? "conv-direct+" : "gemm+") : "") + "dwconv" + (pj ? "+gemm" : "") + (add ? "+add" : "");
  out.name = kname(k, name.c_str());
  return out;
}

Result<OptimizedKernel> bind_optimized(const Graph& g, const Node& n,
                                       const std::vector<float*>& b,
                                       const OptimizedBindContext& ctx,
                                       std::shared_ptr<PackedWeights>* packed) {
  OptimizedKernel out;
  if (!ctx.k || !ctx.pool) return out;
  const F32Kernels& k = *ctx.k;
  ThreadPool* pool = ctx.pool;
  const int threads = pool->threads();
  const Shape& ys = g.values[static_cast<size_t>(n.outputs[0])].shape;
  float* y = b[static_cast<size_t>(n.outputs[0])];
  const int64_t numel = shape_numel(ys);

  switch (n.op) {
    case OpType::CONV2D: {
      if (!in_is_const(g, n, 1) || (n.inputs.size() > 2 && n.inputs[2] >= 0 && !in_is_const(g, n, 2)))
        return out;
      if (n.attrs.get_int("groups", 1) != 1) return out;
      const Shape& xs = in_shape(g, n, 0);
      const Shape& ws = in_shape(g, n, 1);
      Window2D win;
      MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], ws[0], ws[1], &win));
      const int64_t K = ws[0] * ws[1] * ws[2], N = ws[3];
      const bool has_res = n.inputs.size() > 3 && n.inputs[3] >= 0;
      if (is_direct_conv(g, n)) {
        MORSEL_ASSIGN_OR_RETURN(kernels::ConvArgs ca, direct_conv_args(g, n, b, k, packed));
        ca.y = y;
        std::shared_ptr<PackedWeights> pw = *packed;
        const int threads = pool->threads();
        const Chunks rows(ca.n * ca.oh, threads > 1 ? 4 * threads : 1, 1);
        auto conv = k.conv_direct;
        out.fn = [=] {
          pool->parallel_for(rows.count, [&](int64_t t, int) { conv(ca, rows.begin(t), rows.end(t)); });
          (void)pw;
        };
        out.name = kname(k, "conv-direct");
        return out;
      }
      if (ws[0] == 3 && ws[1] == 3 && win.sh == 1 && win.sw == 1 && win.dh == 1 && win.dw == 1) {
        MORSEL_ASSIGN_OR_RETURN(OptimizedKernel wk, bind_winograd(g, n, win, b, ctx, packed));
        if (wk.fn) return wk;
      }
      const GemmVariant gv = gemm_variant(k, N, true, K);
      auto pw = pack_for_gemm(gv, K, N, in_ptr(n, b, 1), in_ptr(n, b, 2), packed);
      const ref::Activation act = activation_of(n.attrs);
      kernels::GemmArgs ga;
      ga.m = xs[0] * win.oh * win.ow;
      ga.n = N;
      ga.k = K;
      ga.b = pw->data.data();
      ga.bias = pw->bias.data();
      ga.c = y;
      ga.ldc = N;
      ga.lo = act.min;
      ga.hi = act.max;
      const float* x = in_ptr(n, b, 0);
      const bool pointwise = ws[0] == 1 && ws[1] == 1 && win.sh == 1 && win.sw == 1 &&
                             win.pad_top == 0 && win.pad_left == 0 && win.oh == xs[1] &&
                             win.ow == xs[2];
      if (has_res) {  // a residual add fused by the session
        ga.res = b[static_cast<size_t>(n.inputs[3])];
        ga.ldr = N;
      }
      if (pointwise) {
        ga.a = x;
        ga.lda = K;
        KernelFn inner = gemm_fn(gv, pool, ga);
        out.fn = [inner, pw] { inner(); };
        out.name = kname(k, gv.name);
        return out;
      }
      kernels::Im2ColArgs ia{xs[0], xs[1], xs[2], xs[3], ws[0], ws[1], win.sh, win.sw,
                             win.dh, win.dw, win.pad_top, win.pad_left, win.oh, win.ow};
      const int64_t panels = kernels::gemm_panels(N, gv.nr);
      // Weights too big to stay in L2 (deep 3x3 convs on small images): build the whole im2col
      // matrix once, then one GEMM over it, so the weights stream through once per run instead
      // of once per row chunk.
      const int64_t b_bytes = K * N * 4, a_bytes = ga.m * K * 4;
      if (b_bytes > (int64_t{512} << 10) && a_bytes <= (int64_t{32} << 20)) {
        out.shared_scratch_floats = ga.m * K;
        float* const* shared = ctx.shared_scratch;
        Chunks parts(ga.m, threads > 1 ? 2 * threads : 1, 1);
        KernelFn mm = gemm_fn(gv, pool, [&] {
          kernels::GemmArgs g2 = ga;
          g2.lda = K;
          return g2;
        }(), shared);
        out.fn = [=] {
          float* buf = *shared;
          pool->parallel_for(parts.count, [&](int64_t t, int) {
            kernels::im2col(ia, x, parts.begin(t), parts.end(t), buf + parts.begin(t) * K);
          });
          mm();
          (void)pw;
        };
        out.name = kname(k, (std::string("im2col-") + gv.name).c_str());
        return out;
      }
      // Otherwise one row chunk per task: each thread builds its chunk of the im2col matrix
      // in its scratch buffer and multiplies it at once, while it is in cache.
      const int64_t rows_target = std::max<int64_t>(gv.mr * 2, 32768 / K);
      Chunks rows(ga.m, std::max(ceil_div(ga.m, rows_target), int64_t{threads > 1 ? 4 * threads : 1}),
                  gv.mr, gv.mr);
      out.scratch_floats = rows.size * K;
      float* const* scratch = ctx.scratch;
      auto gemm = gv.fn;
      out.fn = [=] {
        pool->parallel_for(rows.count, [&](int64_t t, int tid) {
          const int64_t m0 = rows.begin(t), m1 = rows.end(t);
          float* buf = scratch[tid];
          kernels::im2col(ia, x, m0, m1, buf);
          kernels::GemmArgs gt = ga;
          gt.a = buf - m0 * K;  // row m of A is buf + (m - m0) * K
          gt.lda = K;
          gemm(gt, m0, m1, 0, panels);
        });
        (void)pw;
      };
      out.name = kname(k, (std::string("im2col-") + gv.name).c_str());
      return out;
    }
    case OpType::DEPTHWISE_CONV2D: {
      const Shape& xs = in_shape(g, n, 0);
      const Shape& ws = in_shape(g, n, 1);
      if (ws[3] != 1 || !in_is_const(g, n, 1)) return out;
      Window2D win;
      MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], ws[0], ws[1], &win));
      const int64_t C = xs[3];
      auto pw = pack_depthwise(ws[0] * ws[1], C, in_ptr(n, b, 1), in_ptr(n, b, 2), packed);
      kernels::DwConvArgs a = depthwise_row_args(xs, ws, win, *pw, activation_of(n.attrs));
      a.x = in_ptr(n, b, 0);
      a.y = y;
      Chunks rows(a.n * a.oh, threads > 1 ? 4 * threads : 1, 1);
      auto fn = k.dwconv;
      out.fn = [=] {
        pool->parallel_for(rows.count, [&](int64_t t, int) { fn(a, rows.begin(t), rows.end(t)); });
        (void)pw;
      };
      out.name = kname(k, "dwconv");
      return out;
    }
    case OpType::DENSE: {
      if (!in_is_const(g, n, 1) || (n.inputs.size() > 2 && n.inputs[2] >= 0 && !in_is_const(g, n, 2)))
        return out;
      const Shape& ws = in_shape(g, n, 1);
      const int64_t K = ws[0], N = ws[1];
      const GemmVariant gv = gemm_variant(k, N, true, K);
      auto pw = pack_for_gemm(gv, K, N, in_ptr(n, b, 1), in_ptr(n, b, 2), packed);
      const ref::Activation act = activation_of(n.attrs);
      kernels::GemmArgs ga;
      ga.m = numel / N;
      ga.n = N;
      ga.k = K;
      if (n.inputs.size() > 3 && n.inputs[3] >= 0) {  // a residual add fused by the session
        ga.res = b[static_cast<size_t>(n.inputs[3])];
        ga.ldr = N;
      }
      ga.a = in_ptr(n, b, 0);
      ga.lda = K;
      ga.b = pw->data.data();
      ga.bias = pw->bias.data();
      ga.c = y;
      ga.ldc = N;
      ga.lo = act.min;
      ga.hi = act.max;
      KernelFn inner = gemm_fn(gv, pool, ga);
      out.fn = [inner, pw] { inner(); };
      out.name = kname(k, gv.name);
      return out;
    }
    case OpType::MAX_POOL:
    case OpType::AVG_POOL: {
      const Shape& xs = in_shape(g, n, 0);
      std::vector<int64_t> kk = n.attrs.get_ints("kernel");
      Window2D win;
      MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], kk[0], kk[1], &win));
      kernels::PoolArgs a;
      a.n = xs[0]; a.h = xs[1]; a.w = xs[2]; a.c = xs[3];
      a.kh = win.kh; a.kw = win.kw; a.sh = win.sh; a.sw = win.sw;
      a.pad_top = win.pad_top; a.pad_left = win.pad_left; a.oh = win.oh; a.ow = win.ow;
      a.count_include_pad = n.attrs.get_int("count_include_pad", 0) != 0;
      a.x = in_ptr(n, b, 0);
      a.y = y;
      Chunks rows(a.n * a.oh, threads > 1 ? 4 * threads : 1, 1);
      auto fn = n.op == OpType::MAX_POOL ? k.max_pool : k.avg_pool;
      out.fn = [=] {
        pool->parallel_for(rows.count, [&](int64_t t, int) { fn(a, rows.begin(t), rows.end(t)); });
      };
      out.name = kname(k, n.op == OpType::MAX_POOL ? "maxpool" : "avgpool");
      return out;
    }
    case OpType::MEAN: {
      // Only the mean over the middle axes of [outer, reduce, C] with C the last axis (global
      // average pooling over H and W in NHWC).
      const Shape& xs = in_shape(g, n, 0);
      std::vector<int64_t> axes = n.attrs.get_ints("axes");
      std::vector<bool> red(xs.size(), false);
      for (int64_t ax : axes) red[static_cast<size_t>(ax < 0 ? ax + static_cast<int64_t>(xs.size()) : ax)] = true;
      if (xs.size() < 2 || red.back()) return out;
      size_t first = xs.size(), last = 0;
      for (size_t i = 0; i < xs.size(); i++)
        if (red[i]) { first = std::min(first, i); last = std::max(last, i); }
      if (first > last || last + 2 != xs.size()) return out;
      for (size_t i = first; i <= last; i++) if (!red[i]) return out;
      int64_t outer = 1, reduce = 1;
      for (size_t i = 0; i < first; i++) outer *= xs[i];
      for (size_t i = first; i <= last; i++) reduce *= xs[i];
      const int64_t C = xs.back();
      const float* x = in_ptr(n, b, 0);
      auto fn = k.mean_rows;
      Chunks rows(outer, threads, 1);
      out.fn = [=] {
        pool->parallel_for(rows.count, [&](int64_t t, int) {
          fn(reduce, C, x, y, rows.begin(t), rows.end(t));
        });
      };
      out.name = kname(k, "mean");
      return out;
    }
    case OpType::ADD:
    case OpType::SUB:
    case OpType::MUL:
    case OpType::DIV: {
      const Shape& as = in_shape(g, n, 0);
      const Shape& bs = in_shape(g, n, 1);
      const float* pa = in_ptr(n, b, 0);
      const float* pb = in_ptr(n, b, 1);
      // b must be a suffix broadcast: its shape (without leading 1s) equals the trailing dims of
      // y, and a has y's full shape. ADD and MUL commute, so a broadcast a is swapped.
      auto is_suffix = [&](const Shape& s) {
        size_t lead = 0;
        while (lead < s.size() && s[lead] == 1) lead++;
        if (s.size() - lead > ys.size()) return false;
        for (size_t i = lead; i < s.size(); i++)
          if (s[i] != ys[ys.size() - (s.size() - i)]) return false;
        return true;
      };
      const bool commutes = n.op == OpType::ADD || n.op == OpType::MUL;
      if (as != ys) {
        if (!commutes || bs != ys) return out;
        std::swap(pa, pb);
        if (!is_suffix(as)) return out;
      } else if (!is_suffix(bs)) {
        return out;
      }
      const int64_t b_len = pb == in_ptr(n, b, 1) ? shape_numel(bs) : shape_numel(as);
      const kernels::BinOp op = n.op == OpType::ADD   ? kernels::BinOp::ADD
                                : n.op == OpType::SUB ? kernels::BinOp::SUB
                                : n.op == OpType::MUL ? kernels::BinOp::MUL
                                                      : kernels::BinOp::DIV;
      const ref::Activation act = activation_of(n.attrs);
      Chunks parts(numel, threads > 1 ? 2 * threads : 1, 16384, 64);
      auto fn = k.binary;
      out.fn = [=] {
        pool->parallel_for(parts.count, [&](int64_t t, int) {
          fn(op, pa, pb, b_len, y, parts.begin(t), parts.end(t), act.min, act.max);
        });
      };
      out.name = kname(k, "binary");
      return out;
    }
    case OpType::PAD: {
      // Constant pad of a 4-D NHWC tensor: output rows are filled and the input rows copied in.
      const Shape& xs = in_shape(g, n, 0);
      const std::vector<int64_t> p = n.attrs.get_ints("pads");
      if (xs.size() != 4 || p.size() != 8) return out;
      const float value = static_cast<float>(n.attrs.get_float("value", 0));
      const float* x = in_ptr(n, b, 0);
      const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3];
      const int64_t OH = ys[1], OW = ys[2], OC = ys[3];
      Chunks rows(ys[0] * OH, threads > 1 ? 2 * threads : 1, 8);
      out.fn = [=] {
        pool->parallel_for(rows.count, [&](int64_t t, int) {
          for (int64_t r = rows.begin(t); r < rows.end(t); r++) {
            const int64_t on = r / OH, oy = r % OH;
            const int64_t in = on - p[0], iy = oy - p[1];
            float* yr = y + r * OW * OC;
            if (in < 0 || in >= N || iy < 0 || iy >= H) {
              std::fill(yr, yr + OW * OC, value);
              continue;
            }
            std::fill(yr, yr + p[2] * OC, value);
            const float* xr = x + (in * H + iy) * W * C;
            for (int64_t ix = 0; ix < W; ix++) {
              float* yp = yr + (p[2] + ix) * OC;
              std::fill(yp, yp + p[3], value);
              std::memcpy(yp + p[3], xr + ix * C, sizeof(float) * static_cast<size_t>(C));
              std::fill(yp + p[3] + C, yp + OC, value);
            }
            std::fill(yr + (p[2] + W) * OC, yr + OW * OC, value);
          }
        });
      };
      out.name = "f32-pad";
      return out;
    }
    case OpType::RELU:
    case OpType::CLIP: {
      float lo = 0, hi = __builtin_inff();
      if (n.op == OpType::RELU) {
        if (n.attrs.get_float("alpha", 0) != 0) return out;
      } else {
        lo = static_cast<float>(n.attrs.get_float("min", 0));
        hi = static_cast<float>(n.attrs.get_float("max", 0));
      }
      const float* x = in_ptr(n, b, 0);
      Chunks parts(numel, threads > 1 ? 2 * threads : 1, 16384, 64);
      auto fn = k.clamp;
      out.fn = [=] {
        pool->parallel_for(parts.count, [&](int64_t t, int) {
          fn(x, y, parts.begin(t), parts.end(t), lo, hi);
        });
      };
      out.name = kname(k, "clamp");
      return out;
    }
    case OpType::QCONV2D:
    case OpType::QDEPTHWISE_CONV2D:
    case OpType::QDENSE:
      return bind_quantized(g, n, b, ctx, packed);
    default:
      return out;
  }
}

bool pooled_dense_chain(const Graph& g, int dense, std::vector<int>* chain, int* pooled) {
  chain->clear();
  const Node& d = g.nodes[static_cast<size_t>(dense)];
  if (d.op != OpType::DENSE || d.inputs.size() < 2 || d.inputs.size() > 3 || !in_is_const(g, d, 1))
    return false;
  if (d.inputs.size() > 2 && d.inputs[2] >= 0 && !in_is_const(g, d, 2)) return false;
  const Shape& ws = in_shape(g, d, 1);
  if (ws.size() != 2) return false;
  auto only_reader = [&](int v) {
    const auto r = readers_of(g, v);
    return r.size() == 1 && r[0].first >= 0;
  };
  int v = d.inputs[0];
  for (;;) {
    if (v < 0 || !only_reader(v)) return false;
    const int p = g.values[static_cast<size_t>(v)].producer;
    if (p < 0) return false;
    const Node& n = g.nodes[static_cast<size_t>(p)];
    chain->push_back(p);
    if (n.op == OpType::RESHAPE || n.op == OpType::SQUEEZE) {
      v = n.inputs[0];
      continue;
    }
    if (n.op != OpType::MEAN && n.op != OpType::AVG_POOL) return false;
    const Shape& xs = in_shape(g, n, 0);
    if (xs.size() != 4 || xs[3] != ws[0] || !only_reader(n.inputs[0])) return false;
    if (n.op == OpType::MEAN) {
      std::vector<int64_t> axes = n.attrs.get_ints("axes");
      for (int64_t& a : axes) a = a < 0 ? a + 4 : a;
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<int64_t>{1, 2}) return false;
    } else {  // one window over the whole unpadded image (Keras' AveragePooling2D(7) on 7x7)
      const std::vector<int64_t> kk = n.attrs.get_ints("kernel");
      Window2D win;
      if (kk.size() != 2 || kk[0] != xs[1] || kk[1] != xs[2] ||
          !resolve_window(n, xs[1], xs[2], kk[0], kk[1], &win).ok() || win.oh != 1 ||
          win.ow != 1 || win.pad_top != 0 || win.pad_left != 0)
        return false;
    }
    // The dense layer multiplies each image's pooled vector: its input is [N, C].
    const Shape& ds = in_shape(g, d, 0);
    if (ds.size() != 2 || ds[0] != xs[0] || ds[1] != xs[3]) return false;
    *pooled = n.inputs[0];
    return true;
  }
}

bool pooled_dense_conv(const Graph& g, const Node& n) {
  if (n.op != OpType::CONV2D || !is_pointwise(g, n)) return false;
  const Shape& xs = in_shape(g, n, 0);
  return xs.size() == 4 && xs[1] * xs[2] <= 1024;
}

Result<OptimizedKernel> bind_pooled_dense(const Graph& g, const Node& conv, const Node& dense,
                                          const std::vector<float*>& b,
                                          const OptimizedBindContext& ctx,
                                          std::shared_ptr<PackedWeights>* conv_slot,
                                          std::shared_ptr<PackedWeights>* dense_slot) {
  OptimizedKernel out;
  const F32Kernels& k = *ctx.k;
  ThreadPool* pool = ctx.pool;
  const int threads = pool->threads();
  const Shape& xs = in_shape(g, conv, 0);
  const Shape& ws = in_shape(g, conv, 1);
  const int64_t B = xs[0], HW = xs[1] * xs[2], K = ws[2], N = ws[3];
  const int64_t Nd = in_shape(g, dense, 1)[1];
  // Panels only: the K-pair kernel has one panel for all columns.
  const GemmVariant gv = gemm_variant(k, N, false, K);
  auto pw = pack_for_gemm(gv, K, N, in_ptr(conv, b, 1), in_ptr(conv, b, 2), conv_slot);
  const ref::Activation act = activation_of(conv.attrs);
  const int64_t nr = gv.nr, panels = kernels::gemm_panels(N, gv.nr);
  kernels::GemmArgs ga;
  ga.m = B * HW;
  ga.k = K;
  ga.a = in_ptr(conv, b, 0);
  ga.lda = K;
  ga.ldc = nr;
  ga.lo = act.min;
  ga.hi = act.max;
  const float* res = conv.inputs.size() > 3 && conv.inputs[3] >= 0 ? b[static_cast<size_t>(conv.inputs[3])] : nullptr;
  ga.ldr = N;
  // Dense weights as [K = N rows][Ndp], rows padded to the vector width: the rows for one
  // panel of conv channels are one contiguous block to fetch.
  const int64_t vw = k.gemm_narrow_nr, Ndp = ceil_div(Nd, vw) * vw;
  const std::string layout = "dense-rows-" + std::to_string(vw);
  if (!*dense_slot || (*dense_slot)->layout != layout) {
    auto p = std::make_shared<PackedWeights>();
    p->layout = layout;
    p->data.assign(static_cast<size_t>(N * Ndp), 0.0f);
    const float* w = in_ptr(dense, b, 1);
    for (int64_t r = 0; r < N; r++) std::copy(w + r * Nd, w + (r + 1) * Nd, p->data.begin() + r * Ndp);
    p->bias.assign(static_cast<size_t>(Nd), 0.0f);
    if (const float* bias = in_ptr(dense, b, 2)) std::copy(bias, bias + Nd, p->bias.begin());
    *dense_slot = p;
  }
  std::shared_ptr<PackedWeights> pd = *dense_slot;
  const ref::Activation dact = activation_of(dense.attrs);
  float* y = b[static_cast<size_t>(dense.outputs[0])];
  // Tasks: (image group, panel range). An image group's rows of A stay in L2 while its panels
  // pass over them. The panel ranges do not depend on the thread count, and each keeps its own
  // sum of the dense layer, added up in range order at the end: the result is the same on every
  // run and at every thread count (per-thread sums would depend on which thread took which task).
  const int64_t imgs_per = std::max<int64_t>(1, (int64_t{256} << 10) / (HW * K * 4));
  const Chunks imgs(B, ceil_div(B, imgs_per), 1);
  const Chunks cols(panels, std::min<int64_t>(panels, 16), 1);
  // Per thread: one panel of conv output for an image group and its means. Shared: each panel
  // range's sum for every image.
  const int64_t out_floats = imgs.size * HW * nr, mean_floats = imgs.size * nr, sum_floats = B * Ndp;
  out.scratch_floats = out_floats + mean_floats;
  out.shared_scratch_floats = cols.count * sum_floats;
  float* const* scratch = ctx.scratch;
  float* const* shared = ctx.shared_scratch;
  auto gemm = gv.fn;
  auto mean_rows = k.mean_rows;
  auto dense_acc = k.dense_acc;
  auto binary = k.binary;
  out.fn = [=] {
    pool->parallel_for(imgs.count * cols.count, [&](int64_t task, int tid) {
      const int64_t i0 = imgs.begin(task / cols.count), i1 = imgs.end(task / cols.count);
      const int64_t c = task % cols.count;
      float* panel = scratch[tid];
      float* means = panel + out_floats;
      float* sum = *shared + c * sum_floats;
      std::fill(sum + i0 * Ndp, sum + i1 * Ndp, 0.0f);
      for (int64_t p = cols.begin(c); p < cols.end(c); p++) {
        const int64_t n0 = p * nr, ncols = std::min(nr, N - n0);
        const float* wd = pd->data.data() + n0 * Ndp;
        kernels::GemmArgs gp = ga;
        gp.n = ncols;
        gp.a = ga.a + i0 * HW * K;
        gp.b = pw->data.data() + p * K * nr;
        gp.bias = pw->bias.data() + n0;
        gp.c = panel;
        if (res) gp.res = res + i0 * HW * N + n0;
        gp.prefetch = reinterpret_cast<const char*>(wd);
        gp.prefetch_bytes = ncols * Ndp * static_cast<int64_t>(sizeof(float));
        gemm(gp, 0, (i1 - i0) * HW, 0, 1);
        mean_rows(HW, nr, panel, means, 0, i1 - i0);
        for (int64_t i = i0; i < i1; i++) dense_acc(ncols, Ndp, means + (i - i0) * nr, wd, Ndp, sum + i * Ndp);
      }
    });
    // y = clamp(((sum_0 + bias) + sum_1) + ...), per image.
    const float* bias = pd->bias.data();
    const float inf = __builtin_inff();
    for (int64_t i = 0; i < B; i++) {
      float* yi = y + i * Nd;
      for (int64_t c = 0; c < cols.count; c++) {
        const bool last = c + 1 == cols.count;
        binary(kernels::BinOp::ADD, c == 0 ? *shared + i * Ndp : yi, c == 0 ? bias : *shared + c * sum_floats + i * Ndp,
               Nd, yi, 0, Nd, last ? dact.min : -inf, last ? dact.max : inf);
      }
    }
  };
  out.name = kname(k, (std::string(gv.name) + (res ? "+add" : "") + "+mean+dense").c_str());
  return out;
}

}  // namespace morsel
