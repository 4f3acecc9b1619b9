// One converter per ONNX op. Layout-aware ops (conv, pooling, batch norm, element-wise,
// Concat, Pad, Softmax, ReduceMean) work on NHWC values directly and remap their axes; ops that
// reorder data (Reshape, Flatten, Squeeze, Unsqueeze, MatMul, Gemm, Transpose) ask for the ONNX
// order. Add an op: write a converter below and list it in converters() at the end.
#include <cfloat>
#include <cmath>

#include "importers/onnx/importer.h"

namespace morsel::onnx_import {

namespace {

using NodeProto = ::onnx::NodeProto;
using Val = Importer::Val;

// Stored position of an ONNX axis of an NHWC-stored rank-4 value: N->0, C->3, H->1, W->2.
constexpr int64_t kStoredAxis[4] = {0, 3, 1, 2};
// ONNX axis held at stored position i: 0->N, 1->H, 2->W, 3->C.
constexpr int64_t kOnnxAxis[4] = {0, 2, 3, 1};

bool norm_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

std::string rank_str(size_t r) { return std::to_string(r); }

Status missing(const char* what) {
  return MORSEL_ERROR(INVALID_MODEL, "required input %s is missing", what);
}

// The first input: present and not a constant.
Result<Val*> data_input(Importer& im, const NodeProto& n) {
  Val* x = im.input(n, 0);
  if (!x) return missing("0");
  return x;
}

// RESHAPE target for going from `in` to `out` (ONNX-order shapes; -1 = unknown): static dims
// as is, an unknown dim at the same index as an unknown input dim (the batch) copied with 0,
// one other unknown dim inferred with -1.
bool reshape_target(const Shape& in, const Shape& out, std::vector<int64_t>* target) {
  target->clear();
  int inferred = 0;
  for (size_t i = 0; i < out.size(); i++) {
    if (out[i] >= 0) target->push_back(out[i]);
    else if (i < in.size() && in[i] < 0) target->push_back(0);
    else {
      target->push_back(-1);
      inferred++;
    }
  }
  return inferred <= 1;
}

// Strides, dilations and padding of a conv/pool window over ONNX input [N,C,H,W].
// Sets *ok = false after recording an unsupported construct; *ceil_extra when ceil_mode added
// padding at the bottom/right.
Status window_attrs(Importer& im, const NodeProto& n, const Shape& xs, int64_t kh, int64_t kw,
                    bool pool, Attrs* a, bool* ok, bool* ceil_extra) {
  *ok = false;
  *ceil_extra = false;
  std::vector<int64_t> strides = im.attr_ints(n, "strides", {1, 1});
  std::vector<int64_t> dil = im.attr_ints(n, "dilations", {1, 1});
  std::vector<int64_t> pads = im.attr_ints(n, "pads", {0, 0, 0, 0});
  const std::string auto_pad = im.attr_str(n, "auto_pad", "NOTSET");
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    return MORSEL_ERROR(INVALID_MODEL, "strides and dilations need 2 values, pads 4");
  for (int64_t v : strides)
    if (v < 1 || v > 1024) return MORSEL_ERROR(INVALID_MODEL, "strides must be in 1..1024");
  for (int64_t v : dil)
    if (v < 1 || v > 1024) return MORSEL_ERROR(INVALID_MODEL, "dilations must be in 1..1024");
  for (int64_t v : pads) {
    if (v < 0) {
      im.unsupported(n, "negative pads");
      return Status();
    }
    if (v > 4096) return MORSEL_ERROR(INVALID_MODEL, "pads must be in 0..4096");
  }
  a->set("strides", strides);
  a->set("dilations", dil);
  const bool ceil_mode = pool && im.attr_int(n, "ceil_mode", 0) != 0;
  const int64_t in[2] = {xs[2], xs[3]}, k[2] = {kh, kw};
  if (auto_pad == "NOTSET" || auto_pad == "VALID") {
    if (auto_pad == "VALID") pads = {0, 0, 0, 0};
    if (ceil_mode) {
      if (in[0] < 0 || in[1] < 0) {
        im.unsupported(n, "ceil_mode with a dynamic spatial size");
        return Status();
      }
      for (int d = 0; d < 2; d++) {
        const int64_t ek = (k[d] - 1) * dil[static_cast<size_t>(d)] + 1, s = strides[static_cast<size_t>(d)];
        const int64_t total = in[d] + pads[static_cast<size_t>(d)] + pads[static_cast<size_t>(d + 2)];
        if (total < ek) break;  // shape inference reports it
        int64_t out = (total - ek + s - 1) / s + 1;
        if ((out - 1) * s >= in[d] + pads[static_cast<size_t>(d)]) out--;  // last window starts in the pad
        const int64_t need = (out - 1) * s + ek - total;
        if (need > 0) {
          pads[static_cast<size_t>(d + 2)] += need;
          *ceil_extra = true;
        }
      }
    }
    a->set("padding", std::string("EXPLICIT"));
    a->set("pads", pads);  // [top, left, bottom, right], the same order as ONNX's
  } else if (auto_pad == "SAME_UPPER") {
    a->set("padding", std::string("SAME"));
  } else if (auto_pad == "SAME_LOWER") {
    if (in[0] < 0 || in[1] < 0) {
      im.unsupported(n, "auto_pad SAME_LOWER with a dynamic spatial size");
      return Status();
    }
    std::vector<int64_t> p(4);
    for (int d = 0; d < 2; d++) {
      const int64_t ek = (k[d] - 1) * dil[static_cast<size_t>(d)] + 1, s = strides[static_cast<size_t>(d)];
      const int64_t out = (in[d] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in[d]);
      p[static_cast<size_t>(d)] = total - total / 2;  // the extra pixel goes first
      p[static_cast<size_t>(d + 2)] = total / 2;
    }
    a->set("padding", std::string("EXPLICIT"));
    a->set("pads", p);
  } else {
    return MORSEL_ERROR(INVALID_MODEL, "unknown auto_pad '%s'", auto_pad.c_str());
  }
  *ok = true;
  return Status();
}

bool float_const(Importer& im, const NodeProto& n, const OnnxTensor* t, const char* what) {
  if (t && t->is_int) {
    im.unsupported(n, std::string(what) + " has an integer type (morsel computes in f32)");
    return false;
  }
  return t != nullptr;
}

// ---- convolution and pooling ----

Status conv(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const Shape xs = im.onnx_shape(*x);
  if (xs.size() != 4) {
    im.unsupported(n, "on a rank-" + rank_str(xs.size()) + " input (only 2-D convolution)");
    return Status();
  }
  if (!im.has_input(n, 1)) return missing("W");
  const OnnxTensor* W = im.const_input(n, 1, "W");
  const OnnxTensor* B = im.has_input(n, 2) ? im.const_input(n, 2, "B") : nullptr;
  if (!float_const(im, n, W, "W") || (im.has_input(n, 2) && !float_const(im, n, B, "B")))
    return Status();
  if (W->shape.size() != 4) return MORSEL_ERROR(INVALID_MODEL, "W must be [CO, C/group, KH, KW]");
  const int64_t CO = W->shape[0], CG = W->shape[1], KH = W->shape[2], KW = W->shape[3];
  const int64_t group = im.attr_int(n, "group", 1), C = xs[1];
  if (C < 0) {
    im.unsupported(n, "input with a dynamic channel count");
    return Status();
  }
  if (group < 1 || group > std::max<int64_t>(C, 1) || C % group != 0 || CO % group != 0 ||
      CG * group != C || CO == 0 || KH == 0 || KW == 0)
    return MORSEL_ERROR(INVALID_MODEL, "W %s does not fit %lld input channels in %lld groups",
                        shape_str(W->shape).c_str(), (long long)C, (long long)group);
  std::vector<int64_t> ks = im.attr_ints(n, "kernel_shape", {KH, KW});
  if (ks != std::vector<int64_t>{KH, KW})
    return MORSEL_ERROR(INVALID_MODEL, "kernel_shape %s disagrees with W %s", shape_str(ks).c_str(),
                        shape_str(W->shape).c_str());
  if (B && (B->shape.size() != 1 || B->shape[0] != CO))
    return MORSEL_ERROR(INVALID_MODEL, "B has shape %s, expected [%lld]", shape_str(B->shape).c_str(),
                        (long long)CO);
  Attrs a;
  bool ok, extra;
  MORSEL_RETURN_IF_ERROR(window_attrs(im, n, xs, KH, KW, false, &a, &ok, &extra));
  if (!ok) return Status();
  const std::string name = im.label(n);
  const bool depthwise = group == C && group > 1 && CG == 1;
  std::vector<float> w(W->f.size());
  Shape wshape;
  if (depthwise) {  // [C*M, 1, KH, KW] -> [KH, KW, C, M]; output channel c*M+m
    const int64_t M = CO / C;
    for (int64_t c = 0; c < C; c++)
      for (int64_t m = 0; m < M; m++)
        for (int64_t i = 0; i < KH; i++)
          for (int64_t j = 0; j < KW; j++)
            w[static_cast<size_t>(((i * KW + j) * C + c) * M + m)] =
                W->f[static_cast<size_t>(((c * M + m) * KH + i) * KW + j)];
    wshape = {KH, KW, C, M};
  } else {  // [CO, C/g, KH, KW] -> [KH, KW, C/g, CO]
    for (int64_t o = 0; o < CO; o++)
      for (int64_t c = 0; c < CG; c++)
        for (int64_t i = 0; i < KH; i++)
          for (int64_t j = 0; j < KW; j++)
            w[static_cast<size_t>(((i * KW + j) * CG + c) * CO + o)] =
                W->f[static_cast<size_t>(((o * CG + c) * KH + i) * KW + j)];
    wshape = {KH, KW, CG, CO};
    if (group > 1) a.set("groups", group);
  }
  MORSEL_ASSIGN_OR_RETURN(int xid, im.nhwc(*x));
  int wid = im.add_const(name + "/weights", wshape, std::move(w));
  int bid = B ? im.add_const(name + "/bias", {CO}, B->f) : -1;
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(depthwise ? OpType::DEPTHWISE_CONV2D : OpType::CONV2D, name,
                                        {xid, wid, bid}, a, n.output(0)));
  im.set_output(n, 0, y, true);
  return Status();
}

Status pool(Importer& im, const NodeProto& n) {
  const bool max = n.op_type() == "MaxPool";
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const Shape xs = im.onnx_shape(*x);
  if (xs.size() != 4) {
    im.unsupported(n, "on a rank-" + rank_str(xs.size()) + " input (only 2-D pooling)");
    return Status();
  }
  if (max && im.extra_output_used(n, 1)) {
    im.unsupported(n, "Indices output");
    return Status();
  }
  std::vector<int64_t> k = im.attr_ints(n, "kernel_shape", {});
  if (k.size() != 2) return MORSEL_ERROR(INVALID_MODEL, "kernel_shape needs 2 values");
  if (max && im.attr_ints(n, "dilations", {1, 1}) != std::vector<int64_t>{1, 1}) {
    im.unsupported(n, "dilations other than 1");
    return Status();
  }
  Attrs a;
  bool ok, extra;
  MORSEL_RETURN_IF_ERROR(window_attrs(im, n, xs, k[0], k[1], true, &a, &ok, &extra));
  if (!ok) return Status();
  a.set("dilations", std::vector<int64_t>{1, 1});
  a.set("kernel", k);
  if (!max) {
    const int64_t cip = im.attr_int(n, "count_include_pad", 0);
    if (cip && extra) {
      im.unsupported(n, "ceil_mode together with count_include_pad");
      return Status();
    }
    a.set("count_include_pad", cip ? int64_t{1} : int64_t{0});
  }
  MORSEL_ASSIGN_OR_RETURN(int xid, im.nhwc(*x));
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(max ? OpType::MAX_POOL : OpType::AVG_POOL, im.label(n), {xid},
                                        a, n.output(0)));
  im.set_output(n, 0, y, true);
  return Status();
}

Status global_pool(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const Shape xs = im.onnx_shape(*x);
  const bool avg = n.op_type() == "GlobalAveragePool";
  if (xs.size() != 4) {
    if (avg && xs.size() >= 3) {  // [N,C,D...]: mean over the trailing axes, in ONNX order
      std::vector<int64_t> axes;
      for (size_t i = 2; i < xs.size(); i++) axes.push_back(static_cast<int64_t>(i));
      Attrs a;
      a.set("axes", axes);
      a.set("keepdims", int64_t{1});
      MORSEL_ASSIGN_OR_RETURN(int xid, im.canonical(*x));
      MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::MEAN, im.label(n), {xid}, a, n.output(0)));
      im.set_output(n, 0, y, false);
      return Status();
    }
    im.unsupported(n, "on a rank-" + rank_str(xs.size()) + " input");
    return Status();
  }
  Attrs a;
  OpType op;
  if (avg) {
    op = OpType::MEAN;
    a.set("axes", std::vector<int64_t>{1, 2});
    a.set("keepdims", int64_t{1});
  } else {
    if (xs[2] < 0 || xs[3] < 0) {
      im.unsupported(n, "with a dynamic spatial size");
      return Status();
    }
    op = OpType::MAX_POOL;
    a.set("kernel", std::vector<int64_t>{xs[2], xs[3]});
    a.set("padding", std::string("VALID"));
  }
  MORSEL_ASSIGN_OR_RETURN(int xid, im.nhwc(*x));
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(op, im.label(n), {xid}, a, n.output(0)));
  im.set_output(n, 0, y, true);
  return Status();
}

Status batchnorm(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  if (im.attr_int(n, "training_mode", 0) != 0 || im.extra_output_used(n, 1) ||
      im.extra_output_used(n, 2) || im.extra_output_used(n, 3) || im.extra_output_used(n, 4)) {
    im.unsupported(n, "training mode (running statistics outputs)");
    return Status();
  }
  const char* names[4] = {"scale", "B", "mean", "var"};
  const OnnxTensor* p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = im.const_input(n, i + 1, names[i]);
    if (!im.has_input(n, i + 1)) return missing(names[i]);
    if (!float_const(im, n, p[i], names[i])) return Status();
  }
  const Shape xs = im.onnx_shape(*x);
  if (xs.size() != 4 && xs.size() != 2) {
    im.unsupported(n, "on a rank-" + rank_str(xs.size()) + " input (rank 2 or 4)");
    return Status();
  }
  const int64_t C = xs[1];
  std::vector<int> ids;
  for (int i = 0; i < 4; i++) {
    if (p[i]->shape.size() != 1 || (C >= 0 && p[i]->shape[0] != C))
      return MORSEL_ERROR(INVALID_MODEL, "%s has shape %s, expected [%lld]", names[i],
                          shape_str(p[i]->shape).c_str(), (long long)C);
    ids.push_back(im.add_const(im.label(n) + "/" + names[i], p[i]->shape, p[i]->f));
  }
  Attrs a;
  a.set("epsilon", im.attr_float(n, "epsilon", 1e-5));
  int xid;
  if (xs.size() == 4) {
    MORSEL_ASSIGN_OR_RETURN(xid, im.nhwc(*x));
  } else {
    MORSEL_ASSIGN_OR_RETURN(xid, im.canonical(*x));
  }
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::BATCHNORM, im.label(n), {xid, ids[0], ids[1], ids[2], ids[3]},
                                        a, n.output(0)));
  im.set_output(n, 0, y, xs.size() == 4);
  return Status();
}

// ---- element-wise ----

Status unary(Importer& im, const NodeProto& n) {
  // Identity of a constant is that constant (exporters route shared initializers through
  // Identity nodes, e.g. identical conv biases).
  if (n.op_type() == "Identity") {
    Val* in = im.input(n, 0);
    if (in && in->c) {
      OnnxTensor copy = *in->c;
      im.set_const_output(n, 0, std::move(copy));
      return Status();
    }
  }
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const std::string& t = n.op_type();
  const std::string name = im.label(n);
  Attrs a;
  OpType op = OpType::IDENTITY;
  if (t == "Relu") op = OpType::RELU;
  else if (t == "LeakyRelu") {
    op = OpType::RELU;
    a.set("alpha", im.attr_float(n, "alpha", 0.01));
  } else if (t == "Sigmoid") op = OpType::SIGMOID;
  else if (t == "Tanh") op = OpType::TANH;
  else if (t == "HardSwish") op = OpType::HARD_SWISH;
  else if (t == "Dropout") {
    if (im.extra_output_used(n, 1)) {
      im.unsupported(n, "mask output");
      return Status();
    }
    if (im.has_input(n, 2)) {
      const OnnxTensor* tm = im.const_input(n, 2, "training_mode");
      if (!tm) return Status();
      if (tm->numel() != 1 || (tm->is_int ? tm->i[0] != 0 : tm->f[0] != 0)) {
        im.unsupported(n, "training_mode true");
        return Status();
      }
    }
  } else if (t == "Clip") {
    double lo = -FLT_MAX, hi = FLT_MAX;
    lo = im.attr_float(n, "min", lo);  // opset < 11
    hi = im.attr_float(n, "max", hi);
    for (int i = 1; i <= 2; i++) {
      if (!im.has_input(n, i)) continue;
      const OnnxTensor* c = im.const_input(n, i, i == 1 ? "min" : "max");
      if (!float_const(im, n, c, i == 1 ? "min" : "max")) return Status();
      if (c->numel() != 1) return MORSEL_ERROR(INVALID_MODEL, "min/max must be scalars");
      (i == 1 ? lo : hi) = c->f[0];
    }
    if (!(lo <= hi)) {  // ONNX: every output is max when min > max
      im.unsupported(n, "min greater than max");
      return Status();
    }
    op = OpType::CLIP;
    a.set("min", lo);
    a.set("max", hi);
  } else if (t == "HardSigmoid") {  // clip(alpha * x + beta, 0, 1)
    MORSEL_ASSIGN_OR_RETURN(int xid, im.stored(*x));
    const float alpha = static_cast<float>(im.attr_float(n, "alpha", 0.2));
    const float beta = static_cast<float>(im.attr_float(n, "beta", 0.5));
    int ca = im.add_const(name + "/alpha", {}, {alpha});
    int cb = im.add_const(name + "/beta", {}, {beta});
    MORSEL_ASSIGN_OR_RETURN(int s, im.add(OpType::MUL, name + "/scale", {xid, ca}, Attrs(), ""));
    MORSEL_ASSIGN_OR_RETURN(int o, im.add(OpType::ADD, name + "/shift", {s, cb}, Attrs(), ""));
    a.set("min", 0.0);
    a.set("max", 1.0);
    MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::CLIP, name, {o}, a, n.output(0)));
    im.set_output(n, 0, y, x->nhwc);
    return Status();
  }
  MORSEL_ASSIGN_OR_RETURN(int xid, im.stored(*x));
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(op, name, {xid}, a, n.output(0)));
  im.set_output(n, 0, y, x->nhwc);
  return Status();
}

// `v` in the layout chosen for a broadcasting op: NHWC when `to_nhwc` (constants of rank < 4
// are padded to rank 4 first), else ONNX order.
Result<int> layout_for(Importer& im, Val& v, bool to_nhwc) {
  if (!to_nhwc) return im.canonical(v);
  if (im.rank(v) == 4) return im.nhwc(v);
  // A constant of lower rank broadcast against an NHWC tensor: pad its shape with leading
  // ones to [N,C,H,W], then permute its data like the tensor.
  if (!v.c) return MORSEL_ERROR(INTERNAL, "layout_for: computed value of rank %zu", im.rank(v));
  if (v.c->is_int) return MORSEL_ERROR(UNSUPPORTED, "integer constant used as data");
  Shape s = v.c->shape;
  while (s.size() < 4) s.insert(s.begin(), 1);
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  std::vector<float> d(v.c->f.size());
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          d[static_cast<size_t>(((nn * H + h) * W + w) * C + c)] =
              v.c->f[static_cast<size_t>(((nn * C + c) * H + h) * W + w)];
  return im.add_const(v.name + "/nhwc", {N, H, W, C}, std::move(d));
}

Status binary(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* a, data_input(im, n));
  Val* b = im.input(n, 1);
  if (!b) return missing("1");
  for (Val* v : {a, b})
    if (v->c && v->c->is_int) {
      im.unsupported(n, "on integer tensors (morsel computes in f32)");
      return Status();
    }
  const std::string& t = n.op_type();
  OpType op = t == "Add" ? OpType::ADD : t == "Sub" ? OpType::SUB : t == "Mul" ? OpType::MUL : OpType::DIV;
  // NHWC when a computed input is NHWC and the other can follow: another rank-4 value or a
  // constant of rank <= 4. Otherwise everything goes to ONNX order.
  bool to_nhwc = false;
  if ((a->nhwc && !a->c) || (b->nhwc && !b->c)) {
    to_nhwc = true;
    for (Val* v : {a, b})
      if (im.rank(*v) != 4 && !(v->c && im.rank(*v) <= 4)) to_nhwc = false;
  }
  MORSEL_ASSIGN_OR_RETURN(int aid, layout_for(im, *a, to_nhwc));
  MORSEL_ASSIGN_OR_RETURN(int bid, layout_for(im, *b, to_nhwc));
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(op, im.label(n), {aid, bid}, Attrs(), n.output(0)));
  im.set_output(n, 0, y, to_nhwc);
  return Status();
}

// ---- matrix products ----

Status gemm(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* A, data_input(im, n));
  if (!im.has_input(n, 1)) return missing("B");
  const OnnxTensor* B = im.const_input(n, 1, "B");
  if (!float_const(im, n, B, "B")) return Status();
  const bool ta = im.attr_int(n, "transA", 0) != 0, tb = im.attr_int(n, "transB", 0) != 0;
  const float alpha = static_cast<float>(im.attr_float(n, "alpha", 1.0));
  const float beta = static_cast<float>(im.attr_float(n, "beta", 1.0));
  if (im.rank(*A) != 2 || B->shape.size() != 2)
    return MORSEL_ERROR(INVALID_MODEL, "A and B must be matrices (A %s, B %s)",
                        shape_str(im.onnx_shape(*A)).c_str(), shape_str(B->shape).c_str());
  const int64_t K = tb ? B->shape[1] : B->shape[0], N = tb ? B->shape[0] : B->shape[1];
  std::vector<float> w(static_cast<size_t>(K * N));
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < N; j++)
      w[static_cast<size_t>(k * N + j)] =
          alpha * B->f[static_cast<size_t>(tb ? j * K + k : k * N + j)];
  const std::string name = im.label(n);
  MORSEL_ASSIGN_OR_RETURN(int aid, im.canonical(*A));
  if (ta) {
    Attrs t;
    t.set("perm", std::vector<int64_t>{1, 0});
    MORSEL_ASSIGN_OR_RETURN(aid, im.add(OpType::TRANSPOSE, name + "/transA", {aid}, t, ""));
  }
  int wid = im.add_const(name + "/weights", {K, N}, std::move(w));
  int bias = -1;
  Val* C = im.input(n, 2);
  bool add_c = false;
  int cid = -1;
  if (C && C->c) {
    if (C->c->is_int) {
      im.unsupported(n, "integer C");
      return Status();
    }
    const Shape& cs = C->c->shape;
    std::vector<float> scaled(C->c->f);
    for (float& v : scaled) v *= beta;
    const bool row = (cs.size() == 1 && (cs[0] == N || cs[0] == 1)) ||
                     (cs.size() == 2 && cs[0] == 1 && (cs[1] == N || cs[1] == 1)) || cs.empty();
    if (row) {
      std::vector<float> b(static_cast<size_t>(N));
      for (int64_t j = 0; j < N; j++) b[static_cast<size_t>(j)] = scaled.size() == 1 ? scaled[0] : scaled[static_cast<size_t>(j)];
      bias = im.add_const(name + "/bias", {N}, std::move(b));
    } else {
      add_c = true;
      cid = im.add_const(name + "/C", cs, std::move(scaled));
    }
  } else if (C) {
    add_c = true;
    MORSEL_ASSIGN_OR_RETURN(cid, im.canonical(*C));
    if (beta != 1.0f) {
      int cb = im.add_const(name + "/beta", {}, {beta});
      MORSEL_ASSIGN_OR_RETURN(cid, im.add(OpType::MUL, name + "/beta_C", {cid, cb}, Attrs(), ""));
    }
  }
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::DENSE, add_c ? name + "/dense" : name, {aid, wid, bias},
                                        Attrs(), add_c ? "" : n.output(0)));
  if (add_c) {
    MORSEL_ASSIGN_OR_RETURN(y, im.add(OpType::ADD, name, {y, cid}, Attrs(), n.output(0)));
  }
  im.set_output(n, 0, y, false);
  return Status();
}

Status matmul(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* A, data_input(im, n));
  Val* Bv = im.input(n, 1);
  if (!Bv) return missing("B");
  if (!Bv->c || Bv->c->shape.size() != 2 || im.rank(*A) < 2) {
    im.unsupported(n, "other than [..., K] x constant [K, N] (B " +
                          std::string(Bv->c ? "has rank " + rank_str(Bv->c->shape.size())
                                            : "is computed") + ")");
    return Status();
  }
  if (!float_const(im, n, Bv->c, "B")) return Status();
  const OnnxTensor* B = Bv->c;
  MORSEL_ASSIGN_OR_RETURN(int aid, im.canonical(*A));
  int wid = im.add_const(im.label(n) + "/weights", B->shape, B->f);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::DENSE, im.label(n), {aid, wid, -1}, Attrs(), n.output(0)));
  im.set_output(n, 0, y, false);
  return Status();
}

// ---- layout and shape ops ----

Status softmax(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const Shape xs = im.onnx_shape(*x);
  const int64_t r = static_cast<int64_t>(xs.size());
  int64_t axis;
  if (!norm_axis(im.attr_int(n, "axis", im.opset() >= 13 ? -1 : 1), r, &axis))
    return MORSEL_ERROR(INVALID_MODEL, "axis out of range for rank %lld", (long long)r);
  const std::string name = im.label(n);
  Attrs a;
  if (im.opset() >= 13 || axis == r - 1) {
    int xid;
    if (x->nhwc && !x->c) {
      MORSEL_ASSIGN_OR_RETURN(xid, im.stored(*x));
      axis = kStoredAxis[axis];
    } else {
      MORSEL_ASSIGN_OR_RETURN(xid, im.canonical(*x));
    }
    a.set("axis", axis);
    MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::SOFTMAX, name, {xid}, a, n.output(0)));
    im.set_output(n, 0, y, x->nhwc && !x->c);
    return Status();
  }
  // Opset < 13: softmax over the flattened trailing axes [axis, r).
  int64_t inner = 1;
  for (int64_t i = axis; i < r; i++) {
    if (xs[static_cast<size_t>(i)] < 0) {
      im.unsupported(n, "opset-11 softmax over a dynamic axis");
      return Status();
    }
    inner *= xs[static_cast<size_t>(i)];
  }
  std::vector<int64_t> back;
  if (!reshape_target(xs, xs, &back)) {
    im.unsupported(n, "on a shape with several dynamic dims");
    return Status();
  }
  MORSEL_ASSIGN_OR_RETURN(int xid, im.canonical(*x));
  Attrs r1, r2;
  r1.set("shape", std::vector<int64_t>{-1, inner});
  MORSEL_ASSIGN_OR_RETURN(int f, im.add(OpType::RESHAPE, name + "/flatten", {xid}, r1, ""));
  a.set("axis", int64_t{-1});
  MORSEL_ASSIGN_OR_RETURN(int s, im.add(OpType::SOFTMAX, name + "/softmax", {f}, a, ""));
  r2.set("shape", back);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::RESHAPE, name, {s}, r2, n.output(0)));
  im.set_output(n, 0, y, false);
  return Status();
}

Status concat(Importer& im, const NodeProto& n) {
  if (n.input_size() == 0) return missing("0");
  std::vector<Val*> ins;
  for (int i = 0; i < n.input_size(); i++) {
    Val* v = im.input(n, i);
    if (!v) return MORSEL_ERROR(INVALID_MODEL, "input %d is empty", i);
    if (v->c && v->c->is_int) {
      im.unsupported(n, "on integer tensors (shape arithmetic)");
      return Status();
    }
    ins.push_back(v);
  }
  const int64_t r = static_cast<int64_t>(im.rank(*ins[0]));
  const auto* ax = im.attr(n, "axis", ::onnx::AttributeProto::INT);
  if (!ax) return MORSEL_ERROR(INVALID_MODEL, "attribute axis is required");
  int64_t axis;
  if (!norm_axis(ax->i(), r, &axis)) return MORSEL_ERROR(INVALID_MODEL, "axis out of range");
  bool to_nhwc = false;
  if (r == 4) {
    for (Val* v : ins)
      if (v->nhwc && !v->c) to_nhwc = true;
    for (Val* v : ins)
      if (im.rank(*v) != 4) to_nhwc = false;
  }
  std::vector<int> ids;
  for (Val* v : ins) {
    MORSEL_ASSIGN_OR_RETURN(int id, to_nhwc ? im.nhwc(*v) : im.canonical(*v));
    ids.push_back(id);
  }
  Attrs a;
  a.set("axis", to_nhwc ? kStoredAxis[axis] : axis);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::CONCAT, im.label(n), ids, a, n.output(0)));
  im.set_output(n, 0, y, to_nhwc);
  return Status();
}

// Integer vector from a constant input (axes, shape, pads) or nullptr after recording.
const OnnxTensor* int_input(Importer& im, const NodeProto& n, int i, const char* what) {
  const OnnxTensor* t = im.const_input(n, i, what);
  if (t && !t->is_int) {
    im.unsupported(n, std::string(what) + " of a float type");
    return nullptr;
  }
  if (t && t->shape.size() > 1) {
    im.unsupported(n, std::string(what) + " that is not a 1-D list");
    return nullptr;
  }
  return t;
}

Status reshape_to(Importer& im, const NodeProto& n, Val* x, const std::vector<int64_t>& target) {
  MORSEL_ASSIGN_OR_RETURN(int xid, im.canonical(*x));
  Attrs a;
  a.set("shape", target);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::RESHAPE, im.label(n), {xid}, a, n.output(0)));
  im.set_output(n, 0, y, false);
  return Status();
}

Status reshape(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const OnnxTensor* s = int_input(im, n, 1, "shape");
  if (!im.has_input(n, 1)) return missing("shape");
  if (!s) return Status();
  if (s->i.empty() || s->i.size() > 8) {
    im.unsupported(n, "target rank " + rank_str(s->i.size()) + " (1..8)");
    return Status();
  }
  if (im.attr_int(n, "allowzero", 0) != 0)
    for (int64_t v : s->i)
      if (v == 0) {
        im.unsupported(n, "allowzero with a zero in the shape");
        return Status();
      }
  return reshape_to(im, n, x, s->i);
}

Status flatten(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const Shape xs = im.onnx_shape(*x);
  const int64_t r = static_cast<int64_t>(xs.size());
  int64_t axis = im.attr_int(n, "axis", 1);
  if (axis < -r || axis > r) return MORSEL_ERROR(INVALID_MODEL, "axis out of range");
  if (axis < 0) axis += r;
  int64_t outer = 1, inner = 1;
  bool outer_dyn = false, inner_dyn = false;
  for (int64_t i = 0; i < r; i++) {
    const int64_t d = xs[static_cast<size_t>(i)];
    if (i < axis) {
      if (d < 0) outer_dyn = true;
      else outer *= d;
    } else {
      if (d < 0) inner_dyn = true;
      else inner *= d;
    }
  }
  std::vector<int64_t> target;
  if (!outer_dyn && !inner_dyn) target = {outer, inner};
  else if (!inner_dyn) target = {axis == 1 && xs[0] < 0 ? 0 : -1, inner};
  else if (!outer_dyn) target = {outer, -1};
  else {
    im.unsupported(n, "with dynamic dims on both sides of the axis");
    return Status();
  }
  return reshape_to(im, n, x, target);
}

std::vector<int64_t> axes_of(Importer& im, const NodeProto& n, bool* ok, bool* given) {
  *ok = true;
  *given = false;
  if (im.opset() >= 13) {
    if (!im.has_input(n, 1)) return {};
    const OnnxTensor* t = int_input(im, n, 1, "axes");
    if (!t) {
      *ok = false;
      return {};
    }
    *given = true;
    return t->i;
  }
  const auto* a = im.attr(n, "axes", ::onnx::AttributeProto::INTS);
  if (a) *given = true;
  return im.attr_ints(n, "axes", {});
}

Status squeeze(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  bool ok, given;
  std::vector<int64_t> axes = axes_of(im, n, &ok, &given);
  if (!ok) return Status();
  const Shape xs = im.onnx_shape(*x);
  if (!given)
    for (int64_t d : xs)
      if (d < 0) {
        im.unsupported(n, "without axes on a shape with dynamic dims");
        return Status();
      }
  MORSEL_ASSIGN_OR_RETURN(int xid, im.canonical(*x));
  Attrs a;
  a.set("axes", axes);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::SQUEEZE, im.label(n), {xid}, a, n.output(0)));
  im.set_output(n, 0, y, false);
  return Status();
}

Status unsqueeze(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  bool ok, given;
  std::vector<int64_t> axes = axes_of(im, n, &ok, &given);
  if (!ok) return Status();
  if (!given || axes.empty()) return MORSEL_ERROR(INVALID_MODEL, "axes are required");
  const Shape xs = im.onnx_shape(*x);
  const int64_t r = static_cast<int64_t>(xs.size() + axes.size());
  if (r > 8) {
    im.unsupported(n, "output rank above 8");
    return Status();
  }
  std::vector<bool> inserted(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    int64_t ax;
    if (!norm_axis(a, r, &ax) || inserted[static_cast<size_t>(ax)])
      return MORSEL_ERROR(INVALID_MODEL, "axes are out of range or repeated");
    inserted[static_cast<size_t>(ax)] = true;
  }
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < r; i++) out.push_back(inserted[static_cast<size_t>(i)] ? 1 : xs[k++]);
  std::vector<int64_t> target;
  if (!reshape_target(xs, out, &target)) {
    im.unsupported(n, "on a shape with several dynamic dims");
    return Status();
  }
  return reshape_to(im, n, x, target);
}

Status transpose(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const size_t r = im.rank(*x);
  std::vector<int64_t> def;
  for (size_t i = r; i-- > 0;) def.push_back(static_cast<int64_t>(i));
  std::vector<int64_t> p = im.attr_ints(n, "perm", def);
  std::vector<bool> seen(r, false);
  if (p.size() != r) return MORSEL_ERROR(INVALID_MODEL, "perm has %zu values for rank %zu", p.size(), r);
  for (int64_t v : p) {
    if (v < 0 || v >= static_cast<int64_t>(r) || seen[static_cast<size_t>(v)])
      return MORSEL_ERROR(INVALID_MODEL, "perm is not a permutation");
    seen[static_cast<size_t>(v)] = true;
  }
  int xid;
  std::vector<int64_t> q = p;
  if (x->nhwc && !x->c) {  // y dim i = x dim p[i], stored at kStoredAxis[p[i]]
    MORSEL_ASSIGN_OR_RETURN(xid, im.stored(*x));
    for (size_t i = 0; i < r; i++) q[i] = kStoredAxis[p[i]];
  } else {
    MORSEL_ASSIGN_OR_RETURN(xid, im.canonical(*x));
  }
  bool ident = true;
  for (size_t i = 0; i < r; i++) ident = ident && q[i] == static_cast<int64_t>(i);
  Attrs a;
  if (!ident) a.set("perm", q);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(ident ? OpType::IDENTITY : OpType::TRANSPOSE, im.label(n), {xid},
                                        a, n.output(0)));
  im.set_output(n, 0, y, false);
  return Status();
}

Status pad(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const std::string mode = im.attr_str(n, "mode", "constant");
  if (mode != "constant") {
    im.unsupported(n, "mode '" + mode + "' (only constant)");
    return Status();
  }
  if (im.has_input(n, 3)) {
    im.unsupported(n, "axes input");
    return Status();
  }
  if (!im.has_input(n, 1)) return missing("pads");
  const OnnxTensor* p = int_input(im, n, 1, "pads");
  if (!p) return Status();
  double value = 0;
  if (im.has_input(n, 2)) {
    const OnnxTensor* v = im.const_input(n, 2, "constant_value");
    if (!v) return Status();
    if (v->numel() != 1) return MORSEL_ERROR(INVALID_MODEL, "constant_value must be a scalar");
    value = v->is_int ? static_cast<double>(v->i[0]) : v->f[0];
  }
  const size_t r = im.rank(*x);
  if (p->i.size() != 2 * r)
    return MORSEL_ERROR(INVALID_MODEL, "pads has %zu values for rank %zu", p->i.size(), r);
  for (int64_t v : p->i)
    if (v < 0) {
      im.unsupported(n, "negative pads (cropping)");
      return Status();
    }
  std::vector<int64_t> pads = p->i;
  int xid;
  const bool keep_nhwc = x->nhwc && !x->c;
  if (keep_nhwc) {
    MORSEL_ASSIGN_OR_RETURN(xid, im.stored(*x));
    for (size_t i = 0; i < 4; i++) {
      pads[i] = p->i[static_cast<size_t>(kOnnxAxis[i])];
      pads[i + 4] = p->i[static_cast<size_t>(kOnnxAxis[i]) + 4];
    }
  } else {
    MORSEL_ASSIGN_OR_RETURN(xid, im.canonical(*x));
  }
  Attrs a;
  a.set("pads", pads);
  a.set("value", value);
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::PAD, im.label(n), {xid}, a, n.output(0)));
  im.set_output(n, 0, y, keep_nhwc);
  return Status();
}

Status reduce_mean(Importer& im, const NodeProto& n) {
  MORSEL_ASSIGN_OR_RETURN(Val* x, data_input(im, n));
  const int64_t r = static_cast<int64_t>(im.rank(*x));
  std::vector<int64_t> axes = im.attr_ints(n, "axes", {});
  const bool keep = im.attr_int(n, "keepdims", 1) != 0;
  if (axes.empty())
    for (int64_t i = 0; i < r; i++) axes.push_back(i);
  std::vector<bool> red(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    int64_t ax;
    if (!norm_axis(a, r, &ax)) return MORSEL_ERROR(INVALID_MODEL, "axis %lld out of range", (long long)a);
    red[static_cast<size_t>(ax)] = true;
  }
  auto contiguous = [](const std::vector<bool>& v) {
    int runs = 0;
    for (size_t i = 0; i < v.size(); i++)
      if (v[i] && (i == 0 || !v[i - 1])) runs++;
    return runs <= 1;
  };
  const bool use_nhwc = x->nhwc && !x->c && keep;
  std::vector<bool> stored_red = red;
  if (use_nhwc)
    for (size_t i = 0; i < 4; i++) stored_red[i] = red[static_cast<size_t>(kOnnxAxis[i])];
  if (!contiguous(stored_red)) {
    im.unsupported(n, "over non-adjacent axes");
    return Status();
  }
  std::vector<int64_t> list;
  for (size_t i = 0; i < stored_red.size(); i++)
    if (stored_red[i]) list.push_back(static_cast<int64_t>(i));
  int xid;
  if (use_nhwc) {
    MORSEL_ASSIGN_OR_RETURN(xid, im.stored(*x));
  } else {
    MORSEL_ASSIGN_OR_RETURN(xid, im.canonical(*x));
  }
  Attrs a;
  a.set("axes", list);
  a.set("keepdims", keep ? int64_t{1} : int64_t{0});
  MORSEL_ASSIGN_OR_RETURN(int y, im.add(OpType::MEAN, im.label(n), {xid}, a, n.output(0)));
  im.set_output(n, 0, y, use_nhwc);
  return Status();
}

Status constant(Importer& im, const NodeProto& n) {
  OnnxTensor t;
  if (const auto* a = im.attr(n, "value", ::onnx::AttributeProto::TENSOR)) {
    MORSEL_RETURN_IF_ERROR(decode_tensor(a->t(), "", &t));
  } else if (const auto* f = im.attr(n, "value_float", ::onnx::AttributeProto::FLOAT)) {
    t.f = {f->f()};
  } else if (const auto* fs = im.attr(n, "value_floats", ::onnx::AttributeProto::FLOATS)) {
    t.f.assign(fs->floats().begin(), fs->floats().end());
    t.shape = {static_cast<int64_t>(t.f.size())};
  } else if (const auto* i = im.attr(n, "value_int", ::onnx::AttributeProto::INT)) {
    t.is_int = true;
    t.i = {i->i()};
  } else if (const auto* is = im.attr(n, "value_ints", ::onnx::AttributeProto::INTS)) {
    t.is_int = true;
    t.i.assign(is->ints().begin(), is->ints().end());
    t.shape = {static_cast<int64_t>(t.i.size())};
  } else {
    im.unsupported(n, "value other than a tensor, float(s) or int(s)");
    return Status();
  }
  im.set_const_output(n, 0, std::move(t));
  return Status();
}

}  // namespace

const std::map<std::string, Converter>& converters() {
  static const std::map<std::string, Converter> table = {
      {"Conv", conv},
      {"MaxPool", pool},
      {"AveragePool", pool},
      {"GlobalAveragePool", global_pool},
      {"GlobalMaxPool", global_pool},
      {"BatchNormalization", batchnorm},
      {"Relu", unary},
      {"LeakyRelu", unary},
      {"Sigmoid", unary},
      {"Tanh", unary},
      {"HardSwish", unary},
      {"HardSigmoid", unary},
      {"Clip", unary},
      {"Identity", unary},
      {"Dropout", unary},
      {"Add", binary},
      {"Sub", binary},
      {"Mul", binary},
      {"Div", binary},
      {"Gemm", gemm},
      {"MatMul", matmul},
      {"Softmax", softmax},
      {"Concat", concat},
      {"Reshape", reshape},
      {"Flatten", flatten},
      {"Squeeze", squeeze},
      {"Unsqueeze", unsqueeze},
      {"Transpose", transpose},
      {"Pad", pad},
      {"ReduceMean", reduce_mean},
      {"Constant", constant},
  };
  return table;
}

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v;
    for (const auto& [name, fn] : converters()) v.push_back(name);
    return v;
  }();
  return ops;
}

}  // namespace morsel::onnx_import
