// fp16 and int8 quantization passes. int8: per-output-channel symmetric weights (-127..127,
// scale = max|w| / 127), per-tensor asymmetric u8 activations whose range comes from calibration
// (min/max, percentile or MSE over a histogram) or, in dynamic mode, from each run.
#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "core/fp16.h"
#include "kernels/ref/qref.h"
#include "runtime/session.h"

namespace morsel::quant {

namespace {

bool is_q_op(OpType op) {
  return op == OpType::QCONV2D || op == OpType::QDEPTHWISE_CONV2D || op == OpType::QDENSE;
}

OpType q_op_of(OpType op) {
  return op == OpType::CONV2D ? OpType::QCONV2D
         : op == OpType::DENSE ? OpType::QDENSE
                               : OpType::QDEPTHWISE_CONV2D;
}

}  // namespace

int quantize_fp16(Graph& g, int64_t min_elements) {
  std::vector<bool> skip(g.values.size(), false);  // int8 nodes keep their scales and biases as quantize_int8 stored them
  for (const Node& n : g.nodes)
    if (is_q_op(n.op))
      for (int id : n.inputs)
        if (id >= 0) skip[static_cast<size_t>(id)] = true;
  int converted = 0;
  for (size_t i = 0; i < g.values.size(); i++) {
    Value& v = g.values[i];
    if (!v.is_const() || v.data.dtype() != DType::F32 || skip[i]) continue;
    // Small tensors stay f32: most biases and the first layers' kernels (the stem conv, the
    // first depthwise). One fp16 rounding step there moves every later activation. Measured on
    // the Fashion-MNIST model (docs/benchmarks.md): top-1 agreement with f32 99.87% with every
    // tensor fp16, 99.94% keeping tensors under 512 elements, 99.96% under 1,024 or 2,048; the
    // default is the smallest that reaches 99.9%, as the kept tensors cost size (50.2% of f32
    // there, 50.9% on the smaller food model, against 50.4% / 51.3% at 1,024).
    if (v.data.numel() < min_elements) continue;
    const float* src = v.data.data<float>();
    const int64_t n = v.data.numel();
    bool fits = true;
    for (int64_t k = 0; k < n && fits; k++) fits = !(std::fabs(src[k]) > 65504.f) || std::isinf(src[k]);
    if (!fits) continue;
    Tensor h(DType::F16, v.data.shape());
    uint16_t* dst = h.mut<uint16_t>();
    for (int64_t k = 0; k < n; k++) dst[k] = f32_to_fp16(src[k]);
    v.data = std::move(h);
    v.dtype = DType::F16;
    converted++;
  }
  return converted;
}

bool calibration_method_from_name(const std::string& s, CalibrationMethod* out) {
  if (s == "minmax") *out = CalibrationMethod::MINMAX;
  else if (s == "percentile") *out = CalibrationMethod::PERCENTILE;
  else if (s == "mse") *out = CalibrationMethod::MSE;
  else return false;
  return true;
}

namespace {

constexpr int kBins = 2048;

struct Candidate {
  int node = -1;
  int x = -1, y = -1;  // value ids of the input and output
  int out_x = -1, out_y = -1;  // their indices in the calibration session's outputs
  Tensor wq, wscale;   // i8 weights, [CO] scales (f16 when every one is a normal fp16 number, else f32)
  float lo = 0, hi = 0;
  std::vector<double> hist;
  ref::QuantInput q;
  double err_num = 0, err_den = 0;
  double error = -1;
};

// Per output channel (the last dim; c*M+m for depthwise [KH,KW,C,M]): scale = max|w| / 127.
void quantize_weights(const Tensor& w32, int64_t co, Tensor* wq, Tensor* scale) {
  const float* w = w32.data<float>();
  const int64_t n = w32.numel();
  std::vector<float> mx(static_cast<size_t>(co), 0.f), s(static_cast<size_t>(co));
  for (int64_t i = 0; i < n; i++) mx[static_cast<size_t>(i % co)] = std::max(mx[static_cast<size_t>(i % co)], std::fabs(w[i]));
  bool half = true;  // every scale a normal fp16 number: stored as fp16, half the bytes
  for (size_t c = 0; c < s.size(); c++) {
    s[c] = mx[c] > 0 && std::isfinite(mx[c]) ? mx[c] / 127.f : 1.f;
    half = half && s[c] >= 6.103515625e-05f && s[c] <= 32768.f;
  }
  if (half) {
    // Each scale rounded up to the next fp16 value (so no weight clips), and the int8 values
    // computed with the rounded scale: the stored pair is exactly what the kernels use.
    *scale = Tensor(DType::F16, {co});
    uint16_t* h = scale->mut<uint16_t>();
    for (size_t c = 0; c < s.size(); c++) {
      h[c] = f32_to_fp16(s[c]);
      if (fp16_to_f32(h[c]) < s[c]) h[c]++;
      s[c] = fp16_to_f32(h[c]);
    }
  } else {
    *scale = Tensor(DType::F32, {co});
    std::copy(s.begin(), s.end(), scale->mut<float>());
  }
  *wq = Tensor(DType::I8, w32.shape());
  int8_t* q = wq->mut<int8_t>();
  for (int64_t i = 0; i < n; i++) {
    float r = std::nearbyint(w[i] / s[static_cast<size_t>(i % co)]);
    r = std::min(127.f, std::max(-127.f, r));
    q[i] = static_cast<int8_t>(std::isfinite(r) ? r : 0.f);
  }
}

// An int8 node's bias as fp16 when every value fits (its rounding, 2^-11 relative, is far below
// the int8 arithmetic's own error), else unchanged.
Tensor bias_f16(const Tensor& b) {
  const float* p = b.data<float>();
  for (int64_t i = 0; i < b.numel(); i++)
    if (!(std::fabs(p[i]) <= 65504.f)) return b;
  Tensor h(DType::F16, b.shape());
  uint16_t* d = h.mut<uint16_t>();
  for (int64_t i = 0; i < b.numel(); i++) d[i] = f32_to_fp16(p[i]);
  return h;
}

// The clipping range for a histogram over [lo, hi].
void choose_range(const Candidate& c, const Int8Options& o, float* lo, float* hi) {
  *lo = c.lo;
  *hi = c.hi;
  if (o.method == CalibrationMethod::MINMAX || c.hist.empty() || !(c.hi > c.lo)) return;
  double total = 0;
  for (double h : c.hist) total += h;
  if (total <= 0) return;
  const double width = (static_cast<double>(c.hi) - c.lo) / kBins;
  auto edge = [&](int b) { return static_cast<float>(c.lo + width * b); };
  if (o.method == CalibrationMethod::PERCENTILE) {
    const double tail = total * (1.0 - o.percentile / 100.0);
    double acc = 0;
    int b0 = 0;
    while (b0 < kBins - 1 && acc + c.hist[static_cast<size_t>(b0)] <= tail) acc += c.hist[static_cast<size_t>(b0++)];
    acc = 0;
    int b1 = kBins;
    while (b1 > 1 && acc + c.hist[static_cast<size_t>(b1 - 1)] <= tail) acc += c.hist[static_cast<size_t>(--b1)];
    *lo = std::min(0.f, edge(b0));
    *hi = std::max(0.f, edge(b1));
    return;
  }
  // MSE: shrink the range by a factor and keep the one with the least expected squared error
  // (clipping error outside, scale^2 / 12 rounding error inside).
  double best = INFINITY;
  for (int step = 0; step <= 16; step++) {
    const float f = 1.f - step * 0.05f;
    const float l = std::min(0.f, c.lo * f), h = std::max(0.f, c.hi * f);
    const double s = (static_cast<double>(h) - l) / 255.0;
    double e = 0;
    for (int b = 0; b < kBins; b++) {
      const double v = c.lo + width * (b + 0.5);
      const double d = v < l ? l - v : v > h ? v - h : 0;
      e += c.hist[static_cast<size_t>(b)] * (d > 0 ? d * d : s * s / 12);
    }
    if (e < best) {
      best = e;
      *lo = l;
      *hi = h;
    }
  }
}

}  // namespace

Result<std::vector<LayerReport>> quantize_int8(Graph& g, const Int8Options& o) {
  for (const Node& n : g.nodes)
    if (is_q_op(n.op)) return MORSEL_ERROR(INVALID_ARGUMENT, "the model is already quantized to int8");
  if (!o.dynamic && o.calibration.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "static int8 quantization needs calibration inputs");
  MORSEL_RETURN_IF_ERROR(g.infer_shapes());
  auto is_const_input = [&](const Node& n, size_t i) {
    return i < n.inputs.size() && n.inputs[i] >= 0 && g.values[static_cast<size_t>(n.inputs[i])].is_const();
  };
  std::vector<Candidate> cands;
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const Node& n = g.nodes[i];
    const bool conv = n.op == OpType::CONV2D && n.attrs.get_int("groups", 1) == 1;
    const bool dw = n.op == OpType::DEPTHWISE_CONV2D && o.depthwise;
    if (!conv && !dw && n.op != OpType::DENSE) continue;
    if (n.inputs.size() < 2 || n.inputs.size() > 3 || !is_const_input(n, 1)) continue;
    if (n.inputs.size() == 3 && n.inputs[2] >= 0 && !is_const_input(n, 2)) continue;
    const Value& wv = g.values[static_cast<size_t>(n.inputs[1])];
    const int64_t co = n.op == OpType::DEPTHWISE_CONV2D ? wv.shape[2] * wv.shape[3] : wv.shape.back();
    const int64_t k = wv.data.numel() / std::max<int64_t>(1, co);
    if (co < 1 || k > 65536) continue;  // int32 sums must not overflow
    Candidate c;
    c.node = static_cast<int>(i);
    c.x = n.inputs[0];
    c.y = n.outputs[0];
    quantize_weights(tensor_to_f32(wv.data), co, &c.wq, &c.wscale);
    cands.push_back(std::move(c));
  }

  // The f32 graph with every candidate's input and output as extra outputs.
  const bool have_inputs = !o.calibration.empty();
  std::shared_ptr<Graph> cg = std::make_shared<Graph>(g);
  std::map<int, int> out_index;
  auto output_of = [&](int v) {
    auto it = out_index.find(v);
    if (it != out_index.end()) return it->second;
    cg->outputs.push_back(v);
    return out_index[v] = static_cast<int>(cg->outputs.size() - 1);
  };
  for (Candidate& c : cands) {
    c.out_x = output_of(c.x);
    c.out_y = output_of(c.y);
  }
  std::unique_ptr<Session> fs;
  if (have_inputs) {
    SessionOptions so;
    so.threads = o.threads;
    MORSEL_ASSIGN_OR_RETURN(fs, Session::create(cg, so));
  }
  std::vector<Tensor> outs;
  // Pass 1: ranges. Pass 2: histograms over them.
  if (!o.dynamic) {
    for (const Tensor& in : o.calibration) {
      MORSEL_RETURN_IF_ERROR(fs->run({in}, &outs));
      for (Candidate& c : cands) {
        float lo, hi;
        const Tensor& t = outs[static_cast<size_t>(c.out_x)];
        ref::min_max(t.numel(), t.data<float>(), &lo, &hi);
        c.lo = std::min(c.lo, lo);
        c.hi = std::max(c.hi, hi);
      }
    }
    if (o.method != CalibrationMethod::MINMAX) {
      for (Candidate& c : cands) c.hist.assign(kBins, 0.0);
      for (const Tensor& in : o.calibration) {
        MORSEL_RETURN_IF_ERROR(fs->run({in}, &outs));
        for (Candidate& c : cands) {
          if (!(c.hi > c.lo)) continue;
          const Tensor& t = outs[static_cast<size_t>(c.out_x)];
          const float* p = t.data<float>();
          const double inv = kBins / (static_cast<double>(c.hi) - c.lo);
          for (int64_t i = 0; i < t.numel(); i++) {
            if (!std::isfinite(p[i])) continue;
            int b = static_cast<int>((p[i] - c.lo) * inv);
            c.hist[static_cast<size_t>(std::clamp(b, 0, kBins - 1))] += 1;
          }
        }
      }
    }
    for (Candidate& c : cands) {
      float lo, hi;
      choose_range(c, o, &lo, &hi);
      c.q = ref::quant_params_from_range(lo, hi);
    }
  } else {
    for (Candidate& c : cands) c.q.dynamic = true;
  }

  // The int8 node of a candidate, in graph `dst`, reading value x.
  auto add_q_node = [&](Graph& dst, const Candidate& c, int x, const std::string& out_name) {
    const Node& n = g.nodes[static_cast<size_t>(c.node)];
    const int wi = dst.add_const(n.name + "/w_q", c.wq);
    int bi = -1;
    if (n.inputs.size() > 2 && n.inputs[2] >= 0)
      bi = dst.add_const(n.name + "/b", bias_f16(tensor_to_f32(g.values[static_cast<size_t>(n.inputs[2])].data)));
    const int si = dst.add_const(n.name + "/w_scale", c.wscale);
    Attrs at = n.attrs;
    at.erase("q_error");
    if (!c.q.dynamic) {
      at.set("x_scale", static_cast<double>(c.q.scale));
      at.set("x_zero", static_cast<int64_t>(c.q.zero));
    }
    return dst.add_node(q_op_of(n.op), n.name, {x, wi, bi, si}, at, out_name);
  };

  // Each layer alone: the int8 node on the f32 input vs the f32 output.
  if (have_inputs) {
    std::vector<std::unique_ptr<Session>> qs(cands.size());
    const size_t samples = std::min(o.calibration.size(), static_cast<size_t>(std::max(1, o.error_samples)));
    for (size_t s = 0; s < samples; s++) {
      MORSEL_RETURN_IF_ERROR(fs->run({o.calibration[s]}, &outs));
      for (size_t ci = 0; ci < cands.size(); ci++) {
        Candidate& c = cands[ci];
        const Tensor& x = outs[static_cast<size_t>(c.out_x)];
        const Tensor& y = outs[static_cast<size_t>(c.out_y)];
        if (!qs[ci]) {
          auto mg = std::make_shared<Graph>();
          const int xi = mg->add_input("x", DType::F32, x.shape());
          mg->outputs.push_back(add_q_node(*mg, c, xi, "y"));
          SessionOptions so;
          so.threads = o.threads;
          MORSEL_ASSIGN_OR_RETURN(qs[ci], Session::create(mg, so));
        }
        std::vector<Tensor> qo;
        MORSEL_RETURN_IF_ERROR(qs[ci]->run({x}, &qo));
        const float* a = qo[0].data<float>();
        const float* b = y.data<float>();
        for (int64_t i = 0; i < y.numel(); i++) {
          const double d = static_cast<double>(a[i]) - b[i];
          c.err_num += d * d;
          c.err_den += static_cast<double>(b[i]) * b[i];
        }
      }
    }
    for (Candidate& c : cands)
      c.error = c.err_den > 0 ? std::sqrt(c.err_num / c.err_den) : (c.err_num > 0 ? INFINITY : 0.0);
  }

  // Rewrite: the int8 node replaces the f32 one (same output value).
  std::vector<LayerReport> report;
  std::vector<Node> new_nodes;
  std::vector<int> replaced(g.nodes.size(), -1);
  for (size_t ci = 0; ci < cands.size(); ci++) replaced[static_cast<size_t>(cands[ci].node)] = static_cast<int>(ci);
  Graph out = g;
  out.nodes.clear();
  for (size_t i = 0; i < g.nodes.size(); i++) {
    const int ci = replaced[i];
    if (ci < 0) {
      out.nodes.push_back(g.nodes[i]);
      continue;
    }
    const Candidate& c = cands[static_cast<size_t>(ci)];
    const Node& n = g.nodes[i];
    LayerReport r;
    r.node = n.name;
    r.op = op_name(n.op);
    r.error = c.error;
    r.x_scale = c.q.dynamic ? 0.f : c.q.scale;
    r.x_zero = c.q.dynamic ? 0 : c.q.zero;
    r.int8 = !(o.max_layer_error > 0 && c.error > o.max_layer_error);
    if (!r.int8) {
      Node kept = n;
      kept.attrs.set("q_error", c.error);
      out.nodes.push_back(std::move(kept));
    } else {
      // add_node appends a node; move it into place.
      Graph tmp;
      tmp.values = std::move(out.values);
      tmp.nodes.clear();
      const int y_tmp = add_q_node(tmp, c, n.inputs[0], "");
      Node qn = tmp.nodes.back();
      qn.outputs = {n.outputs[0]};
      if (c.error >= 0) qn.attrs.set("q_error", c.error);
      tmp.values.pop_back();  // add_node's fresh output value
      (void)y_tmp;
      out.values = std::move(tmp.values);
      out.nodes.push_back(std::move(qn));
    }
    report.push_back(r);
  }
  for (Value& v : out.values) v.producer = -1;
  for (size_t i = 0; i < out.nodes.size(); i++)
    for (int id : out.nodes[i].outputs) out.values[static_cast<size_t>(id)].producer = static_cast<int>(i);
  out.remove_dead();
  MORSEL_RETURN_IF_ERROR(out.validate());
  MORSEL_RETURN_IF_ERROR(out.infer_shapes());
  g = std::move(out);
  return report;
}

}  // namespace morsel::quant
