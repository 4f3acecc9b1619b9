// Node -> reference kernel binding. Add a case here when an op is added to graph/ops.inc.
#include "runtime/bind.h"

#include <cmath>
#include <limits>

#include "kernels/ref/ref.h"

namespace morsel {

namespace {

}  // namespace

ref::Activation activation_of(const Attrs& a) {
  ref::Activation act;
  const std::string s = a.get_str("act", "none");
  if (s == "relu") {
    act.min = 0;
  } else if (s == "relu6") {
    act.min = 0;
    act.max = 6;
  } else if (s == "clip") {
    act.min = static_cast<float>(a.get_float("act_min", -std::numeric_limits<double>::infinity()));
    act.max = static_cast<float>(a.get_float("act_max", std::numeric_limits<double>::infinity()));
  }
  return act;
}

namespace {

const float* in_ptr(const Node& n, const std::vector<float*>& b, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
  return b[static_cast<size_t>(n.inputs[i])];
}
const Shape& in_shape(const Graph& g, const Node& n, size_t i) {
  return g.values[static_cast<size_t>(n.inputs[i])].shape;
}
float* out_ptr(const Node& n, const std::vector<float*>& b) {
  return b[static_cast<size_t>(n.outputs[0])];
}
const Shape& out_shape(const Graph& g, const Node& n) {
  return g.values[static_cast<size_t>(n.outputs[0])].shape;
}

// [outer, axis, inner] view of `s` around `axis`.
void split_axis(const Shape& s, size_t axis, int64_t* outer, int64_t* mid, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (size_t i = 0; i < axis; i++) *outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); i++) *inner *= s[i];
  *mid = s[axis];
}

size_t norm_axis(int64_t axis, size_t rank) {
  return static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(rank) : axis);
}

}  // namespace

Result<KernelFn> bind_reference(const Graph& g, const Node& n, const std::vector<float*>& b) {
  const Shape& ys = out_shape(g, n);
  float* y = out_ptr(n, b);
  const int64_t numel = shape_numel(ys);
  switch (n.op) {
    case OpType::CONV2D:
    case OpType::DEPTHWISE_CONV2D: {
      const Shape& xs = in_shape(g, n, 0);
      const Shape& ws = in_shape(g, n, 1);
      Window2D win;
      MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], ws[0], ws[1], &win));
      const float* x = in_ptr(n, b, 0);
      const float* w = in_ptr(n, b, 1);
      const float* bias = in_ptr(n, b, 2);
      if (n.op == OpType::CONV2D) {
        ref::Conv2DParams p{xs[0], xs[1], xs[2], xs[3], ws[0], ws[1], ws[3],
                            n.attrs.get_int("groups", 1), win.sh, win.sw, win.dh, win.dw,
                            win.pad_top, win.pad_left, win.oh, win.ow, activation_of(n.attrs)};
        return KernelFn([=] { ref::conv2d(p, x, w, bias, y); });
      }
      ref::DepthwiseConv2DParams p{xs[0], xs[1], xs[2], xs[3], ws[0], ws[1], ws[3],
                                   win.sh, win.sw, win.dh, win.dw, win.pad_top, win.pad_left,
                                   win.oh, win.ow, activation_of(n.attrs)};
      return KernelFn([=] { ref::depthwise_conv2d(p, x, w, bias, y); });
    }
    case OpType::DENSE: {
      const Shape& ws = in_shape(g, n, 1);
      const int64_t k = ws[0], m = ws[1], rows = numel / m;
      const float *x = in_ptr(n, b, 0), *w = in_ptr(n, b, 1), *bias = in_ptr(n, b, 2);
      ref::Activation act = activation_of(n.attrs);
      return KernelFn([=] { ref::dense(rows, k, m, x, w, bias, act, y); });
    }
    case OpType::BATCHNORM: {
      const int64_t c = ys.back(), outer = numel / c;
      const float* x = in_ptr(n, b, 0);
      const float *gamma = in_ptr(n, b, 1), *beta = in_ptr(n, b, 2), *mean = in_ptr(n, b, 3),
                  *var = in_ptr(n, b, 4);
      const float eps = static_cast<float>(n.attrs.get_float("epsilon", 1e-3));
      return KernelFn([=] { ref::batchnorm(outer, c, x, gamma, beta, mean, var, eps, y); });
    }
    case OpType::RELU: {
      const float* x = in_ptr(n, b, 0);
      const float alpha = static_cast<float>(n.attrs.get_float("alpha", 0));
      return KernelFn([=] { ref::relu(numel, x, alpha, y); });
    }
    case OpType::CLIP: {
      const float* x = in_ptr(n, b, 0);
      const float lo = static_cast<float>(n.attrs.get_float("min", 0));
      const float hi = static_cast<float>(n.attrs.get_float("max", 0));
      return KernelFn([=] { ref::clip(numel, x, lo, hi, y); });
    }
    case OpType::SIGMOID: {
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { ref::sigmoid(numel, x, y); });
    }
    case OpType::TANH: {
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { ref::tanh(numel, x, y); });
    }
    case OpType::SWISH: {
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { ref::swish(numel, x, y); });
    }
    case OpType::HARD_SWISH: {
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { ref::hard_swish(numel, x, y); });
    }
    case OpType::IDENTITY: {
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { std::copy(x, x + numel, y); });
    }
    case OpType::ADD:
    case OpType::SUB:
    case OpType::MUL:
    case OpType::DIV: {
      const int rank = static_cast<int>(ys.size());
      auto pad_shape = [&](const Shape& s) {
        std::vector<int64_t> out(static_cast<size_t>(rank), 1);
        std::copy(s.begin(), s.end(), out.end() - static_cast<std::ptrdiff_t>(s.size()));
        return out;
      };
      std::vector<int64_t> as = pad_shape(in_shape(g, n, 0)), bs = pad_shape(in_shape(g, n, 1));
      std::vector<int64_t> yshape(ys.begin(), ys.end());
      const float *a = in_ptr(n, b, 0), *bb = in_ptr(n, b, 1);
      ref::BinaryOp op = n.op == OpType::ADD   ? ref::BinaryOp::ADD
                         : n.op == OpType::SUB ? ref::BinaryOp::SUB
                         : n.op == OpType::MUL ? ref::BinaryOp::MUL
                                               : ref::BinaryOp::DIV;
      const ref::Activation act = activation_of(n.attrs);
      const bool clamp = act.min > -std::numeric_limits<float>::infinity() ||
                         act.max < std::numeric_limits<float>::infinity();
      return KernelFn([=] {
        ref::binary(op, rank, as.data(), a, bs.data(), bb, yshape.data(), y);
        if (clamp) ref::clip(numel, y, act.min, act.max, y);
      });
    }
    case OpType::PAD: {
      const Shape& xs = in_shape(g, n, 0);
      std::vector<int64_t> shape(xs.begin(), xs.end());
      std::vector<int64_t> pads = n.attrs.get_ints("pads");
      const float value = static_cast<float>(n.attrs.get_float("value", 0));
      const float* x = in_ptr(n, b, 0);
      const int rank = static_cast<int>(xs.size());
      return KernelFn([=] { ref::pad(rank, shape.data(), pads.data(), value, x, y); });
    }
    case OpType::MAX_POOL:
    case OpType::AVG_POOL: {
      const Shape& xs = in_shape(g, n, 0);
      std::vector<int64_t> k = n.attrs.get_ints("kernel");
      Window2D win;
      MORSEL_RETURN_IF_ERROR(resolve_window(n, xs[1], xs[2], k[0], k[1], &win));
      ref::Pool2DParams p{xs[0], xs[1], xs[2], xs[3], win.kh, win.kw, win.sh, win.sw,
                          win.pad_top, win.pad_left, win.oh, win.ow,
                          n.attrs.get_int("count_include_pad", 0) != 0};
      const float* x = in_ptr(n, b, 0);
      if (n.op == OpType::MAX_POOL) return KernelFn([=] { ref::max_pool(p, x, y); });
      return KernelFn([=] { ref::avg_pool(p, x, y); });
    }
    case OpType::MEAN: {
      const Shape& xs = in_shape(g, n, 0);
      std::vector<int64_t> axes = n.attrs.get_ints("axes");
      size_t first = xs.size(), last = 0;
      for (int64_t a : axes) {
        size_t ax = norm_axis(a, xs.size());
        first = std::min(first, ax);
        last = std::max(last, ax);
      }
      int64_t outer = 1, reduce = 1, inner = 1;
      for (size_t i = 0; i < xs.size(); i++) {
        if (i < first) outer *= xs[i];
        else if (i <= last) reduce *= xs[i];
        else inner *= xs[i];
      }
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { ref::mean_reduce(outer, reduce, inner, x, y); });
    }
    case OpType::CONCAT: {
      const size_t axis = norm_axis(n.attrs.get_int("axis", -1), ys.size());
      int64_t outer, mid, inner;
      split_axis(ys, axis, &outer, &mid, &inner);
      std::vector<const float*> xs;
      std::vector<int64_t> sizes;
      for (size_t i = 0; i < n.inputs.size(); i++) {
        xs.push_back(in_ptr(n, b, i));
        sizes.push_back(in_shape(g, n, i)[axis] * inner);
      }
      const int count = static_cast<int>(xs.size());
      return KernelFn([=] { ref::concat(outer, count, xs.data(), sizes.data(), y); });
    }
    case OpType::RESHAPE:
    case OpType::SQUEEZE: {
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { std::copy(x, x + numel, y); });
    }
    case OpType::TRANSPOSE: {
      const Shape& xs = in_shape(g, n, 0);
      std::vector<int64_t> shape(xs.begin(), xs.end());
      std::vector<int64_t> perm = n.attrs.get_ints("perm");
      const float* x = in_ptr(n, b, 0);
      const int rank = static_cast<int>(xs.size());
      return KernelFn([=] { ref::transpose(rank, shape.data(), perm.data(), x, y); });
    }
    case OpType::SOFTMAX: {
      const size_t axis = norm_axis(n.attrs.get_int("axis", -1), ys.size());
      int64_t outer, mid, inner;
      split_axis(ys, axis, &outer, &mid, &inner);
      const float* x = in_ptr(n, b, 0);
      return KernelFn([=] { ref::softmax(outer, mid, inner, x, y); });
    }
    case OpType::QCONV2D:
    case OpType::QDEPTHWISE_CONV2D:
    case OpType::QDENSE:
      return bind_quantized_reference(g, n, b);
  }
  return MORSEL_ERROR(UNSUPPORTED, "node '%s': no kernel for op %s", n.name.c_str(), op_name(n.op));
}

}  // namespace morsel
