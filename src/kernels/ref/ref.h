// Scalar reference kernels: one plain loop nest per op, f32, NHWC. They are the oracle for the
// optimized kernels and the fallback for unknown CPUs; keep them obvious, never optimize them.
// Kernels do not validate: the runtime checks shapes and attributes at prepare time.
#pragma once

#include <cstdint>
#include <vector>

namespace morsel::ref {

// Fused activation applied to a kernel's output: y = clamp(y, act_min, act_max).
// ("none" is -inf..+inf, relu is 0..+inf, relu6 is 0..6.)
struct Activation {
  float min = -__builtin_inff();
  float max = __builtin_inff();
};

struct Conv2DParams {
  int64_t n, h, w, c;       // input  [N,H,W,C]
  int64_t kh, kw;           // weights [KH,KW,C/groups,CO]
  int64_t co, groups;
  int64_t sh, sw, dh, dw;   // strides, dilations
  int64_t pad_top, pad_left;
  int64_t oh, ow;           // output [N,OH,OW,CO]
  Activation act;
};
// bias may be null.
void conv2d(const Conv2DParams& p, const float* x, const float* w, const float* bias, float* y);

struct DepthwiseConv2DParams {
  int64_t n, h, w, c;       // input [N,H,W,C]
  int64_t kh, kw, m;        // weights [KH,KW,C,M] (M = depth multiplier)
  int64_t sh, sw, dh, dw;
  int64_t pad_top, pad_left;
  int64_t oh, ow;           // output [N,OH,OW,C*M], channel index = c*M + m
  Activation act;
};
void depthwise_conv2d(const DepthwiseConv2DParams& p, const float* x, const float* w,
                      const float* bias, float* y);

// y[rows,M] = x[rows,K] · w[K,M] + bias[M]
void dense(int64_t rows, int64_t k, int64_t m, const float* x, const float* w, const float* bias,
           Activation act, float* y);

// y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel of the last axis (size C).
void batchnorm(int64_t outer, int64_t c, const float* x, const float* gamma, const float* beta,
               const float* mean, const float* var, float eps, float* y);

// Element-wise unary ops over n elements.
void relu(int64_t n, const float* x, float alpha, float* y);  // x<0: alpha*x
void clip(int64_t n, const float* x, float lo, float hi, float* y);
void sigmoid(int64_t n, const float* x, float* y);
void tanh(int64_t n, const float* x, float* y);
void swish(int64_t n, const float* x, float* y);       // x * sigmoid(x)
void hard_swish(int64_t n, const float* x, float* y);  // x * relu6(x + 3) / 6

// Element-wise binary ops with numpy broadcasting. Shapes are right-aligned and padded to
// `rank`; a_shape/b_shape/y_shape each have `rank` entries.
enum class BinaryOp { ADD, SUB, MUL, DIV };
void binary(BinaryOp op, int rank, const int64_t* a_shape, const float* a, const int64_t* b_shape,
            const float* b, const int64_t* y_shape, float* y);

// Constant pad: in_shape has `rank` dims, pads = [begin_0..begin_{r-1}, end_0..end_{r-1}].
void pad(int rank, const int64_t* in_shape, const int64_t* pads, float value, const float* x,
         float* y);

struct Pool2DParams {
  int64_t n, h, w, c;
  int64_t kh, kw, sh, sw;
  int64_t pad_top, pad_left;
  int64_t oh, ow;
  bool count_include_pad;  // AVG: divide by kh*kw instead of the count of in-bounds pixels
};
void max_pool(const Pool2DParams& p, const float* x, float* y);
void avg_pool(const Pool2DParams& p, const float* x, float* y);

// Mean over the middle axis of a [outer, reduce, inner] view.
void mean_reduce(int64_t outer, int64_t reduce, int64_t inner, const float* x, float* y);

// Concat along an axis of [outer, axis_i, inner] views: sizes[i] = axis_i * inner.
void concat(int64_t outer, int num_inputs, const float* const* xs, const int64_t* sizes, float* y);

// Transpose: y.shape[i] = x.shape[perm[i]].
void transpose(int rank, const int64_t* in_shape, const int64_t* perm, const float* x, float* y);

// Softmax over the middle axis of a [outer, axis, inner] view, max-subtracted.
void softmax(int64_t outer, int64_t axis, int64_t inner, const float* x, float* y);

}  // namespace morsel::ref
