// Calibrated fp16 rounding (`--quantize fp16 --calibrate DIR`). Every weight still becomes one
// of the two IEEE fp16 values around its f32 value, but instead of always the nearer one, each
// layer's roundings are chosen together to bring the layer's output in the fp16 model close to
// the f32 model's on the calibration inputs. Layers go in graph order; layer L sees x~, its
// input in the model with layers before L already rounded, while the target is W x with x its
// input in the f32 model, so the choice also offsets error arriving from earlier layers. For
// one output channel with weights w and rounding errors e, the mean square output error over
// the sampled input patches is
//     (w + e)' H~ (w + e) - 2 (w + e)' C w + w' H w,   H~ = sum x~ x~',  C = sum x~ x',  H = sum x x'
// and starting from round-to-nearest, a few passes of coordinate descent switch single weights
// to their other fp16 neighbour while that lowers it (gradient g = H~ e + (H~ - C) w, updated in
// O(K) per switch). H~ is damped by 1% of its mean diagonal, so directions the samples do not
// cover keep round-to-nearest's behaviour.
//
// Adaptive rounding, as done for integer grids, on the fp16 grid. Layers: Conv2D (groups = 1,
// up to kMaxK patch values), DepthwiseConv2D (per input channel) and Dense whose weight tensor
// is read by that node alone. Each layer costs two runs per sample (the f32 and the partly
// rounded model), so at most kMaxRuns runs are spent: fewer samples on deep models.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/fp16.h"
#include "quant/quantize.h"
#include "runtime/session.h"

namespace morsel::quant {

namespace {

constexpr int64_t kMaxK = 2304;          // patch values (3x3x256): H has K^2 doubles
constexpr double kWorkPerImage = 16e6;   // patch positions per image: about this / K^2
constexpr double kDamp = 0.01;
constexpr int64_t kMaxRuns = 4000;      // model runs for all layers together

enum class Kind { CONV, DEPTHWISE, DENSE };

struct Layer {
  int node = -1, weight = -1, x = -1, out_x = -1;
  Kind kind = Kind::DENSE;
  int64_t k = 0;       // patch length (per input channel for depthwise)
  int64_t groups = 1;  // depthwise: input channels, each with its own H
  int64_t co = 0;      // output channels (per group for depthwise: the multiplier)
  Window2D win;
  // groups x K x K each: H~ and H (upper triangles while accumulating), C (full).
  std::vector<double> h, c, hx;
};

// The fp16 value next to h towards +inf (up) or -inf; 0xffff when there is none (inf / NaN).
uint16_t fp16_next(uint16_t h, bool up) {
  if ((h & 0x7c00u) == 0x7c00u) return 0xffff;
  uint16_t r;
  const bool neg = (h & 0x8000u) != 0;
  if (up) r = h == 0x8000u ? 0x0001u : neg ? h - 1 : h + 1;
  else r = h == 0x0000u ? 0x8001u : neg ? h + 1 : h - 1;
  return (r & 0x7c00u) == 0x7c00u ? 0xffff : r;
}

// Adds the sampled patches' x~ x~', x~ x' and x x' (x~ from xt_q, x from xt) to l.h, l.c, l.hx.
void accumulate(Layer& l, const Tensor& xt_q, const Tensor& xt, const Graph& g) {
  const float* xq = xt_q.data<float>();
  const float* xf = xt.data<float>();
  const int64_t K = l.k;
  auto add_patch = [&](const float* p, const float* f, double* h, double* c, double* hx) {
    for (int64_t i = 0; i < K; i++) {
      const double pi = p[i], fi = f[i];
      double* hr = h + i * K;
      double* cr = c + i * K;
      double* xr = hx + i * K;
      if (pi != 0.0) {
        for (int64_t j = i; j < K; j++) hr[j] += pi * p[j];
        for (int64_t j = 0; j < K; j++) cr[j] += pi * f[j];
      }
      if (fi != 0.0)
        for (int64_t j = i; j < K; j++) xr[j] += fi * f[j];
    }
  };
  if (l.kind == Kind::DENSE) {
    const int64_t rows = xt.numel() / K;
    const int64_t step = std::max<int64_t>(1, static_cast<int64_t>(rows * static_cast<double>(K) * K / kWorkPerImage));
    for (int64_t r = 0; r < rows; r += step) add_patch(xq + r * K, xf + r * K, l.h.data(), l.c.data(), l.hx.data());
    return;
  }
  const Shape& s = xt.shape();  // [N,H,W,C]
  const int64_t N = s[0], H = s[1], W = s[2], C = s[3];
  const Node& n = g.nodes[static_cast<size_t>(l.node)];
  const Shape& ws = g.values[static_cast<size_t>(n.inputs[1])].shape;
  const int64_t KH = ws[0], KW = ws[1];
  const Window2D& w = l.win;
  const int64_t positions = N * w.oh * w.ow;
  const double per = static_cast<double>(K) * K * (l.kind == Kind::DEPTHWISE ? static_cast<double>(C) : 1.0);
  const int64_t step = std::max<int64_t>(1, static_cast<int64_t>(positions * per / kWorkPerImage));
  std::vector<float> pq(static_cast<size_t>(KH * KW * C)), pf(pq.size());
  std::vector<float> tq(static_cast<size_t>(K)), tf(static_cast<size_t>(K));
  for (int64_t p = 0; p < positions; p += step) {
    const int64_t b = p / (w.oh * w.ow), oy = p / w.ow % w.oh, ox = p % w.ow;
    for (int64_t ky = 0; ky < KH; ky++)
      for (int64_t kx = 0; kx < KW; kx++) {
        const int64_t iy = oy * w.sh - w.pad_top + ky * w.dh, ix = ox * w.sw - w.pad_left + kx * w.dw;
        const bool in = iy >= 0 && iy < H && ix >= 0 && ix < W;
        const int64_t at = ((b * H + iy) * W + ix) * C, to = (ky * KW + kx) * C;
        for (int64_t c = 0; c < C; c++) {
          pq[static_cast<size_t>(to + c)] = in ? xq[at + c] : 0.f;
          pf[static_cast<size_t>(to + c)] = in ? xf[at + c] : 0.f;
        }
      }
    if (l.kind == Kind::CONV) {
      add_patch(pq.data(), pf.data(), l.h.data(), l.c.data(), l.hx.data());
    } else {  // per channel: its KH*KW taps
      for (int64_t c = 0; c < C; c++) {
        for (int64_t t = 0; t < K; t++) {
          tq[static_cast<size_t>(t)] = pq[static_cast<size_t>(t * C + c)];
          tf[static_cast<size_t>(t)] = pf[static_cast<size_t>(t * C + c)];
        }
        add_patch(tq.data(), tf.data(), l.h.data() + c * K * K, l.c.data() + c * K * K, l.hx.data() + c * K * K);
      }
    }
  }
}

// Chooses the fp16 roundings of one layer's weights; returns the output error (the objective
// above, summed over output channels) for round-to-nearest and for the chosen roundings.
std::pair<double, double> round_layer(Layer& l, const float* w, uint16_t* out) {
  const int64_t K = l.k;
  double before = 0, after = 0;
  std::vector<double> wv(static_cast<size_t>(K)), e(static_cast<size_t>(K)), gv(static_cast<size_t>(K));
  std::vector<int64_t> idx(static_cast<size_t>(K));
  auto mat_vec = [K](const double* M, const double* v, double* r) {
    for (int64_t i = 0; i < K; i++) {
      double s = 0;
      for (int64_t j = 0; j < K; j++) s += M[i * K + j] * v[j];
      r[i] = s;
    }
  };
  std::vector<double> t1(static_cast<size_t>(K)), t2(static_cast<size_t>(K)), we(static_cast<size_t>(K));
  // The objective for weights w + e.
  auto objective = [&](const double* Ht, const double* C, const double* H) {
    for (int64_t i = 0; i < K; i++) we[static_cast<size_t>(i)] = wv[static_cast<size_t>(i)] + e[static_cast<size_t>(i)];
    double o = 0;
    mat_vec(Ht, we.data(), t1.data());
    mat_vec(C, wv.data(), t2.data());
    for (int64_t i = 0; i < K; i++) o += we[static_cast<size_t>(i)] * (t1[static_cast<size_t>(i)] - 2 * t2[static_cast<size_t>(i)]);
    mat_vec(H, wv.data(), t1.data());
    for (int64_t i = 0; i < K; i++) o += wv[static_cast<size_t>(i)] * t1[static_cast<size_t>(i)];
    return std::max(0.0, o);
  };
  for (int64_t grp = 0; grp < l.groups; grp++) {
    double* Ht = l.h.data() + grp * K * K;
    double* H = l.hx.data() + grp * K * K;
    const double* C = l.c.data() + grp * K * K;
    for (int64_t i = 0; i < K; i++)  // mirror the upper triangles
      for (int64_t j = 0; j < i; j++) {
        Ht[i * K + j] = Ht[j * K + i];
        H[i * K + j] = H[j * K + i];
      }
    double mean_diag = 0;
    for (int64_t i = 0; i < K; i++) mean_diag += Ht[i * K + i];
    const double damp = kDamp * mean_diag / static_cast<double>(K) + 1e-30;  // on e only
    for (int64_t c = 0; c < l.co; c++) {
      // Weight index of patch value i for this output channel.
      for (int64_t i = 0; i < K; i++)
        idx[static_cast<size_t>(i)] = l.kind == Kind::DEPTHWISE ? (i * l.groups + grp) * l.co + c : i * l.co + c;
      for (int64_t i = 0; i < K; i++) {
        const int64_t at = idx[static_cast<size_t>(i)];
        out[at] = f32_to_fp16(w[at]);
        wv[static_cast<size_t>(i)] = w[at];
        e[static_cast<size_t>(i)] = static_cast<double>(fp16_to_f32(out[at])) - w[at];
      }
      before += objective(Ht, C, H);
      // g = H~ (w + e) - C w + damp e
      mat_vec(Ht, we.data(), t1.data());
      mat_vec(C, wv.data(), t2.data());
      for (int64_t i = 0; i < K; i++)
        gv[static_cast<size_t>(i)] = t1[static_cast<size_t>(i)] - t2[static_cast<size_t>(i)] + damp * e[static_cast<size_t>(i)];
      double scale = 0;
      for (int64_t i = 0; i < K; i++) scale += std::fabs(gv[static_cast<size_t>(i)] * e[static_cast<size_t>(i)]);
      for (int pass = 0; pass < 4; pass++) {
        bool changed = false;
        for (int64_t i = 0; i < K; i++) {
          const int64_t at = idx[static_cast<size_t>(i)];
          const double ei = e[static_cast<size_t>(i)];
          if (ei == 0.0) continue;  // exact: no other choice
          // The other neighbour: up when the current value is below w, down when above.
          const uint16_t alt = fp16_next(out[at], ei < 0);
          if (alt == 0xffff) continue;
          const double d = static_cast<double>(fp16_to_f32(alt)) - fp16_to_f32(out[at]);
          const double delta = 2.0 * d * gv[static_cast<size_t>(i)] + d * d * (Ht[i * K + i] + damp);
          if (!(delta < -1e-12 * scale)) continue;
          out[at] = alt;
          e[static_cast<size_t>(i)] += d;
          const double* row = Ht + i * K;
          for (int64_t j = 0; j < K; j++) gv[static_cast<size_t>(j)] += d * row[j];
          gv[static_cast<size_t>(i)] += damp * d;
          changed = true;
        }
        if (!changed) break;
      }
      after += objective(Ht, C, H);
    }
  }
  return {before, after};
}

}  // namespace

Result<Fp16Report> quantize_fp16_calibrated(Graph& g, const std::vector<Tensor>& calibration,
                                            int64_t min_elements, int threads) {
  if (calibration.empty()) return MORSEL_ERROR(INVALID_ARGUMENT, "calibrated fp16 needs calibration inputs");
  MORSEL_RETURN_IF_ERROR(g.infer_shapes());
  std::vector<int> readers(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int id : n.inputs)
      if (id >= 0) readers[static_cast<size_t>(id)]++;
  std::vector<Layer> layers;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const Node& n = g.nodes[i];
    if (n.inputs.size() < 2 || n.inputs[0] < 0 || n.inputs[1] < 0) continue;
    const Value& wv = g.values[static_cast<size_t>(n.inputs[1])];
    if (!wv.is_const() || wv.data.dtype() != DType::F32 || wv.data.numel() < min_elements) continue;
    if (readers[static_cast<size_t>(n.inputs[1])] != 1) continue;
    const float* w = wv.data.data<float>();
    bool fits = true;
    for (int64_t k = 0; k < wv.data.numel() && fits; k++) fits = std::fabs(w[k]) <= 65504.f;
    if (!fits) continue;
    Layer l;
    l.node = static_cast<int>(i);
    l.weight = n.inputs[1];
    l.x = n.inputs[0];
    const Shape& xs = g.values[static_cast<size_t>(l.x)].shape;
    const Shape& ws = wv.shape;
    if (n.op == OpType::DENSE && ws.size() == 2) {
      l.kind = Kind::DENSE;
      l.k = ws[0];
      l.co = ws[1];
    } else if ((n.op == OpType::CONV2D && n.attrs.get_int("groups", 1) == 1) ||
               n.op == OpType::DEPTHWISE_CONV2D) {
      if (ws.size() != 4 || xs.size() != 4 || xs[1] < 0 || xs[2] < 0) continue;
      if (!resolve_window(n, xs[1], xs[2], ws[0], ws[1], &l.win).ok()) continue;
      if (n.op == OpType::CONV2D) {
        l.kind = Kind::CONV;
        l.k = ws[0] * ws[1] * ws[2];
        l.co = ws[3];
      } else {
        l.kind = Kind::DEPTHWISE;
        l.k = ws[0] * ws[1];
        l.groups = ws[2];
        l.co = ws[3];
      }
    } else {
      continue;
    }
    if (l.k < 1 || l.k > kMaxK || l.co < 1) continue;
    layers.push_back(std::move(l));
  }
  Fp16Report rep;
  if (!layers.empty()) {
    // The graph with every tuned layer's input as an extra output: once as it is (f32), and
    // before each layer as rounded so far.
    auto with_inputs = [&](const Graph& from) {
      auto cg = std::make_shared<Graph>(from);
      std::map<int, int> out_index;
      for (Layer& l : layers) {
        auto it = out_index.find(l.x);
        if (it == out_index.end()) {
          cg->outputs.push_back(l.x);
          it = out_index.emplace(l.x, static_cast<int>(cg->outputs.size() - 1)).first;
        }
        l.out_x = it->second;
      }
      return cg;
    };
    SessionOptions so;
    so.threads = threads;
    MORSEL_ASSIGN_OR_RETURN(auto f32_session, Session::create(with_inputs(g), so));
    const size_t samples = std::min(calibration.size(),
                                    static_cast<size_t>(std::max<int64_t>(1, kMaxRuns / (2 * static_cast<int64_t>(layers.size())))));
    rep.samples = static_cast<int>(samples);
    std::vector<Tensor> outs, outs_q;
    for (size_t li = 0; li < layers.size(); li++) {
      Layer& l = layers[li];
      std::unique_ptr<Session> q_session;
      if (li > 0) {
        MORSEL_ASSIGN_OR_RETURN(q_session, Session::create(with_inputs(g), so));
      }
      const size_t m = static_cast<size_t>(l.groups * l.k * l.k);
      l.h.assign(m, 0.0);
      l.c.assign(m, 0.0);
      l.hx.assign(m, 0.0);
      for (size_t i = 0; i < samples; i++) {
        MORSEL_RETURN_IF_ERROR(f32_session->run({calibration[i]}, &outs));
        if (q_session) MORSEL_RETURN_IF_ERROR(q_session->run({calibration[i]}, &outs_q));
        const Tensor& x = outs[static_cast<size_t>(l.out_x)];
        accumulate(l, q_session ? outs_q[static_cast<size_t>(l.out_x)] : x, x, g);
      }
      Value& v = g.values[static_cast<size_t>(l.weight)];
      Tensor h(DType::F16, v.data.shape());
      const auto [before, after] = round_layer(l, v.data.data<float>(), h.mut<uint16_t>());
      rep.error_nearest += before;
      rep.error_chosen += after;
      if (before > 0) rep.worst_layer_ratio = std::max(rep.worst_layer_ratio, after / before);
      v.data = std::move(h);
      v.dtype = DType::F16;
      rep.tuned++;
      std::vector<double>().swap(l.h);
      std::vector<double>().swap(l.c);
      std::vector<double>().swap(l.hx);
    }
  }
  rep.converted = rep.tuned + quantize_fp16(g, min_elements);
  return rep;
}

}  // namespace morsel::quant
