// Shape inference and attribute validation, one case per op. This is where a model's structural
// mistakes become clear errors, so kernels can run unchecked. -1 dims (batch) propagate.
#include <algorithm>
#include <cmath>

#include "graph/graph.h"

namespace morsel {

namespace {

#define NODE_ERROR(...) \
  Status(StatusCode::INVALID_MODEL, "node '" + n.name + "' (" + op_name(n.op) + "): " + str_printf(__VA_ARGS__))

const Value* input_value(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
  return &g.values[static_cast<size_t>(n.inputs[i])];
}

Status check_inputs(const Graph& g, const Node& n, size_t min_count, size_t max_count) {
  if (n.inputs.size() < min_count || n.inputs.size() > max_count)
    return NODE_ERROR("expects %zu..%zu inputs, has %zu", min_count, max_count, n.inputs.size());
  for (size_t i = 0; i < min_count; i++)
    if (!input_value(g, n, i)) return NODE_ERROR("required input %zu is missing", i);
  for (size_t i = 0; i < n.inputs.size(); i++) {
    const Value* v = input_value(g, n, i);
    if (v && v->shape.size() > 8) return NODE_ERROR("input %zu has rank %zu > 8", i, v->shape.size());
  }
  return Status();
}

// a * b for non-negative dims, saturating at INT64_MAX (hostile shapes must not overflow; a
// saturated size fails the output size check below).
int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

// Unknown (-1) dims are compatible with anything.
bool dims_match(int64_t a, int64_t b) { return a < 0 || b < 0 || a == b; }

Status check_act(const Node& n) {
  std::string act = n.attrs.get_str("act", "none");
  if (act != "none" && act != "relu" && act != "relu6" && act != "clip")
    return NODE_ERROR("unknown fused activation '%s'", act.c_str());
  if (act == "clip" && !(n.attrs.get_float("act_min", 0) <= n.attrs.get_float("act_max", 0)))
    return NODE_ERROR("act_min > act_max");
  return Status();
}

Status conv_like(const Graph& g, const Node& n, std::vector<Shape>* out) {
  MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 2, 3));
  MORSEL_RETURN_IF_ERROR(check_act(n));
  const Shape& x = input_value(g, n, 0)->shape;
  const Value* wv = input_value(g, n, 1);
  const Shape& w = wv->shape;
  if (x.size() != 4) return NODE_ERROR("input must be NHWC rank 4, got %s", shape_str(x).c_str());
  if (w.size() != 4) return NODE_ERROR("weights must be rank 4, got %s", shape_str(w).c_str());
  if (!shape_is_static(w)) return NODE_ERROR("weights shape must be static");
  int64_t out_c;
  if (n.op == OpType::CONV2D) {
    int64_t groups = n.attrs.get_int("groups", 1);
    if (groups < 1) return NODE_ERROR("groups must be >= 1");
    if (x[3] >= 0 && w[2] * groups != x[3])
      return NODE_ERROR("input has %lld channels but weights %s with %lld groups expect %lld",
                        (long long)x[3], shape_str(w).c_str(), (long long)groups,
                        (long long)(w[2] * groups));
    if (w[3] % groups != 0)
      return NODE_ERROR("%lld output channels not divisible by %lld groups", (long long)w[3],
                        (long long)groups);
    out_c = w[3];
  } else {
    if (x[3] >= 0 && w[2] != x[3])
      return NODE_ERROR("input has %lld channels but depthwise weights %s expect %lld",
                        (long long)x[3], shape_str(w).c_str(), (long long)w[2]);
    out_c = w[2] * w[3];
  }
  if (const Value* b = input_value(g, n, 2)) {
    if (b->shape.size() != 1 || b->shape[0] != out_c)
      return NODE_ERROR("bias shape %s, expected [%lld]", shape_str(b->shape).c_str(),
                        (long long)out_c);
  }
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(n, x[1], x[2], w[0], w[1], &win));
  out->push_back({x[0], win.oh, win.ow, out_c});
  return Status();
}

Status pool(const Graph& g, const Node& n, std::vector<Shape>* out) {
  MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
  const Shape& x = input_value(g, n, 0)->shape;
  if (x.size() != 4) return NODE_ERROR("input must be NHWC rank 4, got %s", shape_str(x).c_str());
  std::vector<int64_t> k = n.attrs.get_ints("kernel");
  if (k.size() != 2) return NODE_ERROR("attribute kernel must have 2 values");
  Window2D win;
  MORSEL_RETURN_IF_ERROR(resolve_window(n, x[1], x[2], k[0], k[1], &win));
  if (win.dh != 1 || win.dw != 1) return NODE_ERROR("dilated pooling is not supported");
  out->push_back({x[0], win.oh, win.ow, x[3]});
  return Status();
}

Status broadcast(const Graph& g, const Node& n, std::vector<Shape>* out) {
  MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 2, 2));
  const Shape& a = input_value(g, n, 0)->shape;
  const Shape& b = input_value(g, n, 1)->shape;
  size_t r = std::max(a.size(), b.size());
  Shape y(r);
  for (size_t i = 0; i < r; i++) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == 1) y[i] = db;
    else if (db == 1) y[i] = da;
    else if (da < 0 || db < 0) y[i] = da < 0 ? db : da;
    else if (da == db) y[i] = da;
    else
      return NODE_ERROR("shapes %s and %s do not broadcast", shape_str(a).c_str(),
                        shape_str(b).c_str());
  }
  out->push_back(y);
  return Status();
}

// Normalizes an axis against rank; false if out of range.
bool norm_axis(int64_t axis, size_t rank, int64_t* out) {
  int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return false;
  *out = axis < 0 ? axis + r : axis;
  return true;
}

}  // namespace

Status resolve_window(const Node& n, int64_t in_h, int64_t in_w, int64_t kh, int64_t kw,
                      Window2D* out) {
  Window2D w;
  w.kh = kh;
  w.kw = kw;
  std::vector<int64_t> s = n.attrs.get_ints("strides", {1, 1});
  std::vector<int64_t> d = n.attrs.get_ints("dilations", {1, 1});
  if (s.size() != 2 || d.size() != 2) return NODE_ERROR("strides and dilations need 2 values");
  w.sh = s[0];
  w.sw = s[1];
  w.dh = d[0];
  w.dw = d[1];
  if (kh < 1 || kw < 1 || kh > 1024 || kw > 1024)
    return NODE_ERROR("bad window %lldx%lld", (long long)kh, (long long)kw);
  if (w.sh < 1 || w.sw < 1 || w.dh < 1 || w.dw < 1 || w.sh > 1024 || w.sw > 1024 || w.dh > 1024 ||
      w.dw > 1024)
    return NODE_ERROR("strides and dilations must be in 1..1024");
  const int64_t ekh = (kh - 1) * w.dh + 1, ekw = (kw - 1) * w.dw + 1;
  const std::string padding = n.attrs.get_str("padding", "VALID");
  if (in_h < 0 || in_w < 0) {  // spatial size unknown until prepare
    w.oh = w.ow = -1;
    *out = w;
    return Status();
  }
  if (padding == "SAME") {
    w.oh = (in_h + w.sh - 1) / w.sh;
    w.ow = (in_w + w.sw - 1) / w.sw;
    int64_t ph = std::max<int64_t>(0, (w.oh - 1) * w.sh + ekh - in_h);
    int64_t pw = std::max<int64_t>(0, (w.ow - 1) * w.sw + ekw - in_w);
    w.pad_top = ph / 2;
    w.pad_bottom = ph - w.pad_top;
    w.pad_left = pw / 2;
    w.pad_right = pw - w.pad_left;
  } else if (padding == "VALID" || padding == "EXPLICIT") {
    if (padding == "EXPLICIT") {
      std::vector<int64_t> p = n.attrs.get_ints("pads");
      if (p.size() != 4) return NODE_ERROR("EXPLICIT padding needs pads [top,left,bottom,right]");
      for (int64_t v : p)
        if (v < 0 || v > 4096) return NODE_ERROR("pads must be in 0..4096");
      w.pad_top = p[0];
      w.pad_left = p[1];
      w.pad_bottom = p[2];
      w.pad_right = p[3];
    }
    int64_t hh = in_h + w.pad_top + w.pad_bottom, ww = in_w + w.pad_left + w.pad_right;
    if (hh < ekh || ww < ekw)
      return NODE_ERROR("window %lldx%lld does not fit the padded input %lldx%lld", (long long)ekh,
                        (long long)ekw, (long long)hh, (long long)ww);
    w.oh = (hh - ekh) / w.sh + 1;
    w.ow = (ww - ekw) / w.sw + 1;
  } else {
    return NODE_ERROR("unknown padding '%s' (SAME, VALID or EXPLICIT)", padding.c_str());
  }
  *out = w;
  return Status();
}

Status check_quant_params(const Graph& g, const Node& n) {
  if (n.op != OpType::QCONV2D && n.op != OpType::QDEPTHWISE_CONV2D && n.op != OpType::QDENSE)
    return Status();
  if (n.inputs.size() != 4) return NODE_ERROR("expects 4 inputs (x, w, b or -1, w_scale), has %zu", n.inputs.size());
  const Value* w = input_value(g, n, 1);
  const Value* ws = input_value(g, n, 3);
  if (!w || !w->is_const() || w->dtype != DType::I8 || w->data.dtype() != DType::I8)
    return NODE_ERROR("weights must be a constant i8 tensor");
  if (const Value* b = input_value(g, n, 2); b && b->dtype != DType::F32 && b->dtype != DType::F16)
    return NODE_ERROR("bias must be f32 or f16");
  const Shape& s = w->shape;
  const size_t want_rank = n.op == OpType::QDENSE ? 2 : 4;
  if (s.size() != want_rank || !shape_is_static(s))
    return NODE_ERROR("weights must be a static rank-%zu tensor", want_rank);
  const int64_t co = n.op == OpType::QCONV2D ? s[3] : n.op == OpType::QDENSE ? s[1] : s[2] * s[3];
  const bool ws_f32 = ws && ws->dtype == DType::F32 && ws->data.dtype() == DType::F32;
  const bool ws_f16 = ws && ws->dtype == DType::F16 && ws->data.dtype() == DType::F16;
  if (!ws || !ws->is_const() || !(ws_f32 || ws_f16) || ws->shape.size() != 1 || ws->shape[0] != co)
    return NODE_ERROR("w_scale must be a constant f32 or f16 tensor of shape [%lld] (one per output "
                      "channel)", (long long)co);
  const Tensor scales = tensor_to_f32(ws->data);
  const float* sc = scales.data<float>();
  for (int64_t i = 0; i < co; i++)
    if (!(std::isfinite(sc[i]) && sc[i] > 0))
      return NODE_ERROR("w_scale[%lld] = %g; weight scales must be positive and finite", (long long)i,
                        static_cast<double>(sc[i]));
  if (n.attrs.has("x_scale")) {
    const double xs = n.attrs.get_float("x_scale", 0);
    if (!(std::isfinite(xs) && xs > 1e-30 && xs < 1e30))
      return NODE_ERROR("x_scale = %g; it must be positive and finite", xs);
    const int64_t xz = n.attrs.get_int("x_zero", 0);
    if (xz < 0 || xz > 255) return NODE_ERROR("x_zero = %lld is outside 0..255", (long long)xz);
  } else if (n.attrs.has("x_zero")) {
    return NODE_ERROR("x_zero without x_scale");
  }
  return Status();
}

Status infer_node(const Graph& g, const Node& n, std::vector<Shape>* out_shapes,
                  std::vector<DType>* out_dtypes) {
  out_shapes->clear();
  out_dtypes->clear();
  for (int id : n.inputs) {
    if (id >= 0 && g.values[static_cast<size_t>(id)].dtype != DType::F32 &&
        !g.values[static_cast<size_t>(id)].is_const())
      return NODE_ERROR("computed inputs must be f32");
  }
  std::vector<Shape>* out = out_shapes;
  switch (n.op) {
    case OpType::QCONV2D:
    case OpType::QDEPTHWISE_CONV2D:
    case OpType::QDENSE: {
      // The f32 op's shapes and attributes, then the quantization parameters.
      Node f = n;
      f.op = n.op == OpType::QCONV2D ? OpType::CONV2D
             : n.op == OpType::QDENSE ? OpType::DENSE
                                      : OpType::DEPTHWISE_CONV2D;
      if (n.inputs.size() != 4) return NODE_ERROR("expects 4 inputs (x, w, b or -1, w_scale), has %zu", n.inputs.size());
      f.inputs.resize(3);
      MORSEL_RETURN_IF_ERROR(infer_node(g, f, out_shapes, out_dtypes));
      return check_quant_params(g, n);
    }
    case OpType::CONV2D:
    case OpType::DEPTHWISE_CONV2D:
      MORSEL_RETURN_IF_ERROR(conv_like(g, n, out));
      break;
    case OpType::DENSE: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 2, 3));
      MORSEL_RETURN_IF_ERROR(check_act(n));
      const Shape& x = input_value(g, n, 0)->shape;
      const Shape& w = input_value(g, n, 1)->shape;
      if (x.empty()) return NODE_ERROR("input must have rank >= 1");
      if (w.size() != 2 || !shape_is_static(w)) return NODE_ERROR("weights must be static [K,M]");
      if (!dims_match(x.back(), w[0]))
        return NODE_ERROR("input %s does not match weights %s", shape_str(x).c_str(),
                          shape_str(w).c_str());
      if (const Value* b = input_value(g, n, 2))
        if (b->shape.size() != 1 || b->shape[0] != w[1])
          return NODE_ERROR("bias shape %s, expected [%lld]", shape_str(b->shape).c_str(),
                            (long long)w[1]);
      Shape y = x;
      y.back() = w[1];
      out->push_back(y);
      break;
    }
    case OpType::BATCHNORM: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 5, 5));
      const Shape& x = input_value(g, n, 0)->shape;
      if (x.empty()) return NODE_ERROR("input must have rank >= 1");
      for (size_t i = 1; i < 5; i++) {
        const Shape& p = input_value(g, n, i)->shape;
        if (p.size() != 1 || !dims_match(p[0], x.back()))
          return NODE_ERROR("parameter %zu has shape %s, expected [%lld]", i, shape_str(p).c_str(),
                            (long long)x.back());
      }
      if (!(n.attrs.get_float("epsilon", 1e-3) >= 0)) return NODE_ERROR("epsilon must be >= 0");
      out->push_back(x);
      break;
    }
    case OpType::RELU:
    case OpType::CLIP:
    case OpType::SIGMOID:
    case OpType::TANH:
    case OpType::SWISH:
    case OpType::HARD_SWISH:
    case OpType::IDENTITY:
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      if (n.op == OpType::CLIP && !(n.attrs.get_float("min", 0) <= n.attrs.get_float("max", 0)))
        return NODE_ERROR("min > max");
      out->push_back(input_value(g, n, 0)->shape);
      break;
    case OpType::ADD:
    case OpType::SUB:
    case OpType::MUL:
    case OpType::DIV:
      MORSEL_RETURN_IF_ERROR(check_act(n));  // a fused activation (ResNet's add + relu)
      MORSEL_RETURN_IF_ERROR(broadcast(g, n, out));
      break;
    case OpType::PAD: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      const Shape& x = input_value(g, n, 0)->shape;
      std::vector<int64_t> p = n.attrs.get_ints("pads");
      if (p.size() != 2 * x.size())
        return NODE_ERROR("pads has %zu values, expected %zu", p.size(), 2 * x.size());
      Shape y = x;
      for (size_t i = 0; i < x.size(); i++) {
        if (p[i] < 0 || p[i + x.size()] < 0 || p[i] > 65536 || p[i + x.size()] > 65536)
          return NODE_ERROR("pads must be in 0..65536");
        if (x[i] >= 0) y[i] = x[i] + p[i] + p[i + x.size()];
      }
      out->push_back(y);
      break;
    }
    case OpType::MAX_POOL:
    case OpType::AVG_POOL:
      MORSEL_RETURN_IF_ERROR(pool(g, n, out));
      break;
    case OpType::MEAN: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      const Shape& x = input_value(g, n, 0)->shape;
      std::vector<int64_t> axes = n.attrs.get_ints("axes");
      if (axes.empty()) return NODE_ERROR("axes must not be empty");
      std::vector<bool> reduce(x.size(), false);
      for (int64_t a : axes) {
        int64_t ax;
        if (!norm_axis(a, x.size(), &ax)) return NODE_ERROR("axis %lld out of range", (long long)a);
        reduce[static_cast<size_t>(ax)] = true;
      }
      // The reference kernel reduces one contiguous run of axes.
      size_t first = x.size(), last = 0;
      for (size_t i = 0; i < x.size(); i++)
        if (reduce[i]) first = std::min(first, i), last = i;
      for (size_t i = first; i <= last; i++)
        if (!reduce[i]) return NODE_ERROR("reduced axes must be contiguous");
      bool keep = n.attrs.get_int("keepdims", 0) != 0;
      Shape y;
      for (size_t i = 0; i < x.size(); i++) {
        if (!reduce[i]) y.push_back(x[i]);
        else if (keep) y.push_back(1);
      }
      out->push_back(y);
      break;
    }
    case OpType::CONCAT: {
      if (n.inputs.empty()) return NODE_ERROR("needs at least one input");
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, n.inputs.size(), n.inputs.size()));
      const Shape& x0 = input_value(g, n, 0)->shape;
      int64_t axis;
      if (!norm_axis(n.attrs.get_int("axis", -1), x0.size(), &axis))
        return NODE_ERROR("axis out of range");
      Shape y = x0;
      for (size_t i = 1; i < n.inputs.size(); i++) {
        const Shape& xi = input_value(g, n, i)->shape;
        if (xi.size() != x0.size()) return NODE_ERROR("inputs have different ranks");
        for (size_t d = 0; d < x0.size(); d++) {
          if (static_cast<int64_t>(d) == axis) {
            y[d] = (y[d] < 0 || xi[d] < 0) ? -1 : y[d] + xi[d];
          } else if (!dims_match(xi[d], y[d])) {
            return NODE_ERROR("input %zu shape %s does not match %s off the concat axis", i,
                              shape_str(xi).c_str(), shape_str(x0).c_str());
          }
        }
      }
      out->push_back(y);
      break;
    }
    case OpType::RESHAPE: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      const Shape& x = input_value(g, n, 0)->shape;
      std::vector<int64_t> target = n.attrs.get_ints("shape");
      if (target.empty() || target.size() > 8) return NODE_ERROR("shape must have 1..8 dims");
      Shape y(target.size());
      int infer = -1;
      bool unknown = false;
      int64_t known = 1;
      for (size_t i = 0; i < target.size(); i++) {
        int64_t t = target[i];
        if (t == 0) {
          if (i >= x.size()) return NODE_ERROR("shape copies dim %zu the input does not have", i);
          y[i] = x[i];
        } else if (t == -1) {
          if (infer >= 0) return NODE_ERROR("more than one -1 in shape");
          infer = static_cast<int>(i);
          continue;
        } else if (t < 0) {
          return NODE_ERROR("bad dim %lld in shape", (long long)t);
        } else {
          y[i] = t;
        }
        if (y[i] < 0) unknown = true;
        else known = sat_mul(known, y[i]);
      }
      // Dims copied with 0 cancel out of both sides, so Flatten ([0,-1]) of [?,4,4,8] gives
      // [?,128] even while the batch is unknown.
      int64_t total = 1;
      bool total_unknown = false;
      for (size_t i = 0; i < x.size(); i++) {
        if (i < target.size() && target[i] == 0) continue;
        if (x[i] < 0) total_unknown = true;
        else total = sat_mul(total, x[i]);
      }
      int64_t known_rest = 1;
      bool rest_unknown = false;
      for (size_t i = 0; i < target.size(); i++) {
        if (target[i] == 0 || static_cast<int>(i) == infer) continue;
        if (y[i] < 0) rest_unknown = true;
        else known_rest = sat_mul(known_rest, y[i]);
      }
      (void)known;
      (void)unknown;
      if (infer >= 0) {
        if (total_unknown || rest_unknown) {
          y[static_cast<size_t>(infer)] = -1;
        } else {
          if (known_rest == 0 || total % known_rest != 0)
            return NODE_ERROR("cannot reshape %s to %s", shape_str(x).c_str(),
                              shape_str(target).c_str());
          y[static_cast<size_t>(infer)] = total / known_rest;
        }
      } else if (!total_unknown && !rest_unknown && total != known_rest) {
        return NODE_ERROR("cannot reshape %s (%lld elements) to %s", shape_str(x).c_str(),
                          (long long)shape_numel(x), shape_str(target).c_str());
      }
      out->push_back(y);
      break;
    }
    case OpType::SQUEEZE: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      const Shape& x = input_value(g, n, 0)->shape;
      std::vector<int64_t> axes = n.attrs.get_ints("axes");
      std::vector<bool> drop(x.size(), false);
      for (int64_t a : axes) {
        int64_t ax;
        if (!norm_axis(a, x.size(), &ax)) return NODE_ERROR("axis %lld out of range", (long long)a);
        if (x[static_cast<size_t>(ax)] > 1)
          return NODE_ERROR("cannot squeeze axis %lld of size %lld", (long long)a,
                            (long long)x[static_cast<size_t>(ax)]);
        drop[static_cast<size_t>(ax)] = true;
      }
      Shape y;
      for (size_t i = 0; i < x.size(); i++) {
        if (axes.empty() ? x[i] == 1 : drop[i]) continue;
        y.push_back(x[i]);
      }
      out->push_back(y);
      break;
    }
    case OpType::TRANSPOSE: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      const Shape& x = input_value(g, n, 0)->shape;
      std::vector<int64_t> perm = n.attrs.get_ints("perm");
      if (perm.size() != x.size()) return NODE_ERROR("perm has %zu values for rank %zu", perm.size(), x.size());
      std::vector<bool> seen(x.size(), false);
      Shape y(x.size());
      for (size_t i = 0; i < perm.size(); i++) {
        if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(x.size()) || seen[static_cast<size_t>(perm[i])])
          return NODE_ERROR("perm is not a permutation");
        seen[static_cast<size_t>(perm[i])] = true;
        y[i] = x[static_cast<size_t>(perm[i])];
      }
      out->push_back(y);
      break;
    }
    case OpType::SOFTMAX: {
      MORSEL_RETURN_IF_ERROR(check_inputs(g, n, 1, 1));
      const Shape& x = input_value(g, n, 0)->shape;
      int64_t axis;
      if (!norm_axis(n.attrs.get_int("axis", -1), x.size(), &axis)) return NODE_ERROR("axis out of range");
      out->push_back(x);
      break;
    }
  }
  for (const Shape& s : *out) {
    for (int64_t d : s)
      if (d < -1) return NODE_ERROR("computed an invalid shape %s", shape_str(s).c_str());
    if (shape_numel(s) > (int64_t{1} << 34))
      return NODE_ERROR("output shape %s is too large", shape_str(s).c_str());
  }
  out_dtypes->assign(out->size(), DType::F32);
  if (out->size() != n.outputs.size())
    return NODE_ERROR("has %zu outputs, expected %zu", n.outputs.size(), out->size());
  return Status();
}

}  // namespace morsel
