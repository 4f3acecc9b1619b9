// The int8 kernels: every qs8 GEMM table this CPU runs against the reference qdense, exactly, on
// edge shapes (rows, K and columns around the register tiles, primes), with and without the
// requantizing epilogue, and the requantize / dequantize_rows passes; the int8 nodes through
// the Session (1x1 and general convs, strides 1 and 2, SAME/VALID padding, odd channels, dense,
// static and dynamic input quantization) on every ISA against the reference kernels; and the
// fused int8 blocks (expand -> depthwise -> project) bit for bit against the reference nodes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/cpu.h"
#include "kernels/qs8/qs8.h"
#include "kernels/ref/qref.h"
#include "runtime/session.h"
#include "runtime/isa-variants.h"
#include "util/test_util.h"

namespace morsel {
namespace {

Tensor random_i8(Shape shape, uint32_t seed) {
  Tensor t(DType::I8, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  for (int64_t i = 0; i < t.numel(); i++) t.mut<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}

Tensor random_scales(int64_t n, uint32_t seed) {
  Tensor t = test::random_tensor({n}, seed, 0.001f, 0.02f);
  return t;
}

bool bit_equal(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// GEMM tables vs ref::qdense: same quantization, bit-identical outputs.
TEST(Qs8Gemm, EveryTableEqualsTheReferenceExactly) {
  const kernels::Qs8Kernels* tables[8];
  const int count = kernels::qs8_available(tables, 8);
  ASSERT_GE(count, 1);
  EXPECT_STREQ(tables[0]->name, "scalar");
  for (int ti = 0; ti < count; ti++) {
    const kernels::Qs8Kernels& qk = *tables[ti];
    for (int64_t m : {1, 3, 4, 5, 9, 17})
      for (int64_t k : {1, 2, 3, 4, 5, 16, 27, 31, 64, 67})
        for (int64_t n : {1, 15, 16, 17, 33, 64, 65, 100}) {
          const uint32_t seed = static_cast<uint32_t>(m * 10007 + k * 101 + n);
          Tensor x = test::random_tensor({m, k}, seed, -3.f, 5.f);
          Tensor w = random_i8({k, n}, seed + 1);
          Tensor ws = random_scales(n, seed + 2);
          Tensor bias = test::random_tensor({n}, seed + 3, -1.f, 1.f);
          ref::QuantInput q = ref::quant_params_from_range(-3.f, 4.f);  // values beyond clamp
          ref::Activation act{-0.5f, 2.5f};
          Tensor want(DType::F32, {m, n});
          ref::qdense(m, k, n, x.data<float>(), w.data<int8_t>(), bias.data<float>(), ws.data<float>(), q,
                      act, want.mut<float>());

          // Pack, quantize, run: two halves of the rows and of the panels, as tasks would.
          const int64_t np = kernels::qs8_round_up(n, qk.nr), panels = np / qk.nr;
          std::vector<uint8_t> packed(static_cast<size_t>(qk.packed_bytes(k, n)));
          qk.pack_b(k, n, w.data<int8_t>(), packed.data());
          std::vector<float> pbias(static_cast<size_t>(np), 0.f), pscale(static_cast<size_t>(np), 0.f);
          std::vector<int32_t> colsum(static_cast<size_t>(np), 0);
          for (int64_t j = 0; j < n; j++) {
            pbias[static_cast<size_t>(j)] = bias.data<float>()[j];
            pscale[static_cast<size_t>(j)] = ws.data<float>()[j];
            for (int64_t i = 0; i < k; i++) colsum[static_cast<size_t>(j)] += w.data<int8_t>()[i * n + j];
          }
          const int64_t kpad = kernels::qs8_round_up(k, qk.kr);
          const int64_t lda = kernels::qs8_round_up(kpad * qk.a_bytes, 16);
          std::vector<uint8_t> a(static_cast<size_t>(kernels::qs8_round_up(m, qk.mr) * lda), 0xab);
          qk.quantize_rows(x.data<float>(), m, k, k, 1.0f / q.scale, q.zero, a.data(), lda);
          Tensor got(DType::F32, {m, n});
          kernels::Qs8GemmArgs g;
          g.m = m; g.n = n; g.k = k; g.a = a.data(); g.lda = lda; g.b = packed.data();
          g.colsum = colsum.data(); g.w_scale = pscale.data(); g.bias = pbias.data();
          g.x_scale = q.scale; g.x_zero = q.zero; g.c = got.mut<float>(); g.ldc = n;
          g.lo = act.min; g.hi = act.max;
          const int64_t mh = m / 2, ph = panels / 2;
          qk.gemm(g, 0, mh, 0, ph);
          qk.gemm(g, 0, mh, ph, panels);
          qk.gemm(g, mh, m, 0, panels);
          int bad = 0;
          for (int64_t i = 0; i < m * n; i++)
            if (!bit_equal(got.data<float>()[i], want.data<float>()[i]) && bad++ < 3)
              ADD_FAILURE() << qk.name << " m=" << m << " k=" << k << " n=" << n << " [" << i
                            << "]: " << got.data<float>()[i] << " vs " << want.data<float>()[i];
          // The requantizing epilogue: the output as the next node would quantize it, centred.
          g.requant = true;
          g.out_inv_scale = 1.0f / 0.011f;
          g.out_zero = static_cast<int32_t>(n % 256);
          qk.gemm(g, 0, m, 0, panels);
          for (int64_t i = 0; i < m * n; i++) {
            const float w = ref::requantize_centered(want.data<float>()[i], g.out_inv_scale, g.out_zero);
            if (got.data<float>()[i] != w && bad++ < 3)  // equal in value (-0 allowed)
              ADD_FAILURE() << qk.name << " requant m=" << m << " k=" << k << " n=" << n << " [" << i
                            << "]: " << got.data<float>()[i] << " vs " << w;
          }
        }
  }
}

// requantize and dequantize_rows of every table against the reference arithmetic, exactly:
// lengths around the vector widths, values beyond the clamp, zero points at both ends.
TEST(Qs8Requantize, EveryTableEqualsTheReferenceExactly) {
  const kernels::Qs8Kernels* tables[8];
  const int count = kernels::qs8_available(tables, 8);
  for (int ti = 0; ti < count; ti++) {
    const kernels::Qs8Kernels& qk = *tables[ti];
    for (int64_t k : {1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 960})
      for (int32_t zero : {0, 3, 128, 255}) {
        const uint32_t seed = static_cast<uint32_t>(k * 31 + zero);
        const float inv = 1.0f / 0.0173f;
        // requantize, in place as the ring uses it, on values up to twice the u8 range.
        Tensor x = test::random_tensor({k}, seed, -9.f, 9.f);
        std::vector<float> y(x.data<float>(), x.data<float>() + k);
        qk.requantize(y.data(), k, inv, zero, y.data());
        for (int64_t i = 0; i < k; i++) {
          const float w = ref::requantize_centered(x.data<float>()[i], inv, zero);
          ASSERT_EQ(y[static_cast<size_t>(i)], w)  // in value (-0 allowed)
              << qk.name << " requantize k=" << k << " zero=" << zero << " [" << i << "] "
              << y[static_cast<size_t>(i)] << " vs " << w;
        }
        // dequantize_rows: integer sums -> the reference output -> the next node's A rows.
        const int64_t rows = 3, ldacc = k + 5;
        std::vector<float> acc(static_cast<size_t>(rows * ldacc));
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int> d(-300000, 300000);
        for (float& v : acc) v = static_cast<float>(d(rng));
        Tensor ws = random_scales(k, seed + 1), bias = test::random_tensor({k}, seed + 2, -1.f, 1.f);
        const float x_scale = 0.02f;
        std::vector<float> scale(static_cast<size_t>(k));
        for (int64_t c = 0; c < k; c++) scale[static_cast<size_t>(c)] = x_scale * ws.data<float>()[c];
        const ref::Activation act{-0.5f, 6.f};
        const int64_t lda = kernels::qs8_round_up(kernels::qs8_round_up(k, qk.kr) * qk.a_bytes, 16);
        std::vector<uint8_t> a(static_cast<size_t>(rows * lda), 0xab);
        qk.dequantize_rows(acc.data(), rows, k, ldacc, scale.data(), bias.data<float>(), act.min,
                           act.max, inv, zero, a.data(), lda);
        for (int64_t r = 0; r < rows; r++)
          for (int64_t c = 0; c < k; c++) {
            const float t = ref::dequantize_output(static_cast<int32_t>(acc[static_cast<size_t>(r * ldacc + c)]),
                                                   x_scale, ws.data<float>()[c], bias.data<float>()[c], act);
            const int32_t want = ref::quantize_u8(t, inv, zero);
            const uint8_t* ar = a.data() + r * lda;
            int32_t got;
            if (qk.a_bytes == 1) {
              got = ar[c];
            } else {
              int16_t v;
              std::memcpy(&v, ar + 2 * c, 2);
              got = v + zero;
            }
            ASSERT_EQ(got, want) << qk.name << " dequantize_rows k=" << k << " zero=" << zero
                                 << " row " << r << " channel " << c;
          }
      }
  }
}

using test::Variant;
std::vector<Variant> variants() { return test::isa_variants(); }

// Runs `g` on `x` with the reference kernels (`want`) and with the optimized ones for
// `v` (`got`, after a second run, profiled); returns the optimized session.
std::unique_ptr<Session> run_both(std::shared_ptr<Graph> g, const Tensor& x, const Variant& v,
                                  std::vector<Tensor>* want, std::vector<Tensor>* got) {
  SessionOptions ro;
  ro.reference_kernels = true;
  auto ref = Session::create(g, ro);
  EXPECT_TRUE(ref.ok()) << ref.status().to_string();
  if (!ref.ok()) return nullptr;
  EXPECT_TRUE(ref.value()->run({x}, want).ok());
  SessionOptions o;
  o.isa = static_cast<int>(v.isa);
  o.threads = v.threads;
  o.profile = true;
  auto opt = Session::create(g, o);
  EXPECT_TRUE(opt.ok()) << opt.status().to_string();
  if (!opt.ok()) return nullptr;
  for (int run = 0; run < 2; run++) EXPECT_TRUE(opt.value()->run({x}, got).ok());
  return std::move(opt.value());
}

class QuantNodes : public testing::TestWithParam<Variant> {
 protected:
  // Runs `g` on the reference kernels and the optimized ones. Nodes on an int8 kernel must
  // match bit for bit; nodes the runtime runs in f32 on dequantized weights (no int8 kernel
  // faster than f32 on this ISA, depthwise) within `f32_tol` of the output's magnitude.
  // `int8_here`: whether the runtime picks an int8 kernel for the node where one exists (convs
  // through im2col with K < 32 run in f32).
  void check(std::shared_ptr<Graph> g, const Shape& in, float f32_tol = 0.02f, bool int8_here = true) {
    Tensor x = test::random_tensor(in, 11, -2, 3);
    std::vector<Tensor> want, got;
    std::unique_ptr<Session> opt = run_both(g, x, GetParam(), &want, &got);
    ASSERT_TRUE(opt && !HasFailure());
    bool int8_kernel = false;
    for (const OpProfile& p : opt->profile())
      if (p.kernel.rfind("qs8-", 0) == 0) int8_kernel = true;
    const kernels::Qs8Kernels& qk = kernels::qs8_kernels(GetParam().isa);
    EXPECT_EQ(int8_kernel, int8_here && qk.mr > 1 && g->nodes.back().op != OpType::QDEPTHWISE_CONV2D)
        << "kernel choice on " << isa_name(GetParam().isa);
    const Tensor& a = got[0];
    const Tensor& b = want[0];
    ASSERT_EQ(a.shape(), b.shape());
    double mag = 0;
    for (int64_t i = 0; i < b.numel(); i++) mag = std::max(mag, std::fabs(double(b.data<float>()[i])));
    int bad = 0;
    for (int64_t i = 0; i < a.numel(); i++) {
      const float u = a.data<float>()[i], v = b.data<float>()[i];
      const bool ok = int8_kernel ? bit_equal(u, v) : std::fabs(u - v) <= f32_tol * mag;
      if (!ok && bad++ < 3) ADD_FAILURE() << "[" << i << "] " << u << " vs " << v;
    }
  }
};

std::shared_ptr<Graph> q_conv_graph(OpType op, Shape x, int64_t kh, int64_t kw, int64_t co,
                                    int64_t stride, const std::string& padding, bool dynamic,
                                    const std::string& act = "relu6") {
  auto g = std::make_shared<Graph>();
  const int xi = g->add_input("x", DType::F32, x);
  Shape wshape;
  int64_t outc;
  if (op == OpType::QDENSE) {
    wshape = {x.back(), co};
    outc = co;
  } else if (op == OpType::QDEPTHWISE_CONV2D) {
    wshape = {kh, kw, x[3], 1};
    outc = x[3];
  } else {
    wshape = {kh, kw, x[3], co};
    outc = co;
  }
  const int wi = g->add_const("w", random_i8(wshape, 3));
  const int bi = g->add_const("b", test::random_tensor({outc}, 4, -0.5f, 0.5f));
  const int si = g->add_const("s", random_scales(outc, 5));
  Attrs at;
  if (op != OpType::QDENSE) {
    at.set("strides", std::vector<int64_t>{stride, stride});
    at.set("padding", padding);
  }
  at.set("act", act);
  if (!dynamic) {
    at.set("x_scale", static_cast<double>(5.0f / 255.0f));
    at.set("x_zero", int64_t{102});
  }
  g->outputs.push_back(g->add_node(op, "q", {xi, wi, bi, si}, at));
  return g;
}

TEST_P(QuantNodes, PointwiseConv) {
  check(q_conv_graph(OpType::QCONV2D, {1, 7, 9, 24}, 1, 1, 33, 1, "VALID", false), {1, 7, 9, 24});
  check(q_conv_graph(OpType::QCONV2D, {2, 5, 5, 17}, 1, 1, 64, 1, "SAME", true), {2, 5, 5, 17});
  // Large enough (>= 2^20 multiply-adds) for the threads to split it.
  check(q_conv_graph(OpType::QCONV2D, {1, 48, 41, 24}, 1, 1, 97, 1, "VALID", false, "none"), {1, 48, 41, 24});
}
TEST_P(QuantNodes, GeneralConv) {
  check(q_conv_graph(OpType::QCONV2D, {1, 11, 13, 3}, 3, 3, 32, 2, "SAME", false), {1, 11, 13, 3}, 0.02f,
        false);  // K = 27: f32
  check(q_conv_graph(OpType::QCONV2D, {1, 11, 13, 4}, 3, 3, 32, 2, "SAME", false, "none"), {1, 11, 13, 4});  // K = 36
  check(q_conv_graph(OpType::QCONV2D, {1, 8, 7, 5}, 3, 3, 17, 1, "VALID", true, "none"), {1, 8, 7, 5});
  check(q_conv_graph(OpType::QCONV2D, {1, 9, 9, 7}, 5, 3, 16, 2, "VALID", false, "relu"), {1, 9, 9, 7});
}
TEST_P(QuantNodes, Dense) {
  check(q_conv_graph(OpType::QDENSE, {3, 67}, 0, 0, 19, 1, "", false, "none"), {3, 67});
  check(q_conv_graph(OpType::QDENSE, {1, 1280}, 0, 0, 5, 1, "", true, "none"), {1, 1280});
  check(q_conv_graph(OpType::QDENSE, {1, 2048}, 0, 0, 521, 1, "", false, "none"), {1, 2048});  // split by columns
}
TEST_P(QuantNodes, Depthwise) {
  check(q_conv_graph(OpType::QDEPTHWISE_CONV2D, {1, 9, 10, 19}, 3, 3, 0, 1, "SAME", false), {1, 9, 10, 19});
  check(q_conv_graph(OpType::QDEPTHWISE_CONV2D, {1, 12, 12, 32}, 3, 3, 0, 2, "SAME", true), {1, 12, 12, 32});
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantNodes, testing::ValuesIn(variants()),
                         [](const testing::TestParamInfo<Variant>& p) {
                           return std::string(isa_name(p.param.isa)) + "_t" + std::to_string(p.param.threads);
                         });

// MobileNetV2's inverted residual in int8: [QConv2D 1x1 expand ->] QDepthwiseConv2D ->
// QConv2D 1x1 project, static input parameters everywhere. The runtime runs it as one kernel
// (int8 depthwise on the expanded rows in cache); the output must equal the reference nodes
// bit for bit. `dynamic_dw`: the depthwise measures its input at run time, so the block stops at
// the depthwise conv (f32 on dequantized weights) and the project runs alone.
std::shared_ptr<Graph> q_block_graph(Shape x, bool expand, int64_t cexp, int64_t cout, int64_t kernel,
                                     int64_t stride, const std::string& padding, bool dynamic_dw = false,
                                     bool residual = false) {
  auto g = std::make_shared<Graph>();
  int v = g->add_input("x", DType::F32, x);
  const int xin = v;
  uint32_t seed = 20;
  auto qnode = [&](OpType op, const std::string& name, Shape w, int64_t outc, Attrs at, float x_scale,
                   int64_t x_zero, bool dynamic) {
    const int wi = g->add_const(name + "/w", random_i8(w, seed++));
    const int bi = g->add_const(name + "/b", test::random_tensor({outc}, seed++, -0.5f, 0.5f));
    const int si = g->add_const(name + "/s", random_scales(outc, seed++));
    if (!dynamic) {
      at.set("x_scale", static_cast<double>(x_scale));
      at.set("x_zero", x_zero);
    }
    v = g->add_node(op, name, {v, wi, bi, si}, at);
  };
  auto conv_attrs = [](int64_t s, const std::string& pad, const std::string& act) {
    Attrs at;
    at.set("strides", std::vector<int64_t>{s, s});
    at.set("padding", pad);
    at.set("act", act);
    return at;
  };
  const int64_t cin = x[3];
  if (expand) {
    qnode(OpType::QCONV2D, "expand", {1, 1, cin, cexp}, cexp, conv_attrs(1, "VALID", "relu6"),
          8.0f / 255.0f, 64, false);
  } else {
    cexp = cin;
  }
  // Ranges as calibration gives them: the block input (-2..6) and the relu6 outputs (0..6).
  qnode(OpType::QDEPTHWISE_CONV2D, "dw", {kernel, kernel, cexp, 1}, cexp,
        conv_attrs(stride, padding, "relu6"), (expand ? 6.0f : 8.0f) / 255.0f, expand ? 0 : 64,
        dynamic_dw);
  qnode(OpType::QCONV2D, "project", {1, 1, cexp, cout}, cout, conv_attrs(1, "VALID", "none"),
        6.2f / 255.0f, 5, false);
  if (residual) {  // the block input plus the projection, with a fused relu
    Attrs at;
    at.set("act", std::string("relu"));
    v = g->add_node(OpType::ADD, "add", {v, xin}, at);
  }
  g->outputs.push_back(v);
  return g;
}

class QuantBlocks : public testing::TestWithParam<Variant> {
 protected:
  void check(std::shared_ptr<Graph> g, const Shape& in, bool want_fused, bool want_add = false) {
    Tensor x = test::random_tensor(in, 12, -2, 6);
    std::vector<Tensor> want, got;
    std::unique_ptr<Session> opt = run_both(g, x, GetParam(), &want, &got);
    ASSERT_TRUE(opt && !HasFailure());
    const kernels::Qs8Kernels& qk = kernels::qs8_kernels(GetParam().isa);
    const bool fused = want_fused && qk.mr > 1;  // no int8 GEMM faster than f32: f32 nodes
    std::string kernel = opt->profile()[0].kernel;
    EXPECT_EQ(kernel.find("dwconv+gemm") != std::string::npos, fused) << kernel;
    if (fused) {
      EXPECT_EQ(kernel.rfind("qs8-", 0), 0u) << kernel;
    }
    EXPECT_EQ(kernel.find("+add") != std::string::npos, fused && want_add) << kernel;
    const Tensor& a = got[0];
    const Tensor& b = want[0];
    ASSERT_EQ(a.shape(), b.shape());
    double mag = 0;
    for (int64_t i = 0; i < b.numel(); i++) mag = std::max(mag, std::fabs(double(b.data<float>()[i])));
    ASSERT_GT(mag, 0.0);
    int bad = 0;
    for (int64_t i = 0; i < a.numel(); i++) {
      const float u = a.data<float>()[i], v = b.data<float>()[i];
      // The fused int8 block is exact; f32 on dequantized weights is close.
      const bool ok = fused ? bit_equal(u, v) : std::fabs(u - v) <= 0.05 * mag;
      if (!ok && bad++ < 3) ADD_FAILURE() << kernel << " [" << i << "] " << u << " vs " << v;
    }
  }
};

TEST_P(QuantBlocks, ExpandDepthwiseProject) {
  check(q_block_graph({1, 9, 10, 16}, true, 96, 24, 3, 1, "SAME"), {1, 9, 10, 16}, true);
  check(q_block_graph({1, 11, 13, 17}, true, 33, 19, 3, 2, "SAME"), {1, 11, 13, 17}, true);
  check(q_block_graph({2, 8, 7, 24}, true, 144, 32, 3, 2, "VALID"), {2, 8, 7, 24}, true);
  check(q_block_graph({1, 1, 9, 8}, true, 48, 16, 3, 1, "SAME"), {1, 1, 9, 8}, true);  // one row
  check(q_block_graph({1, 7, 7, 160}, true, 960, 160, 3, 1, "SAME"), {1, 7, 7, 160}, true);
  check(q_block_graph({1, 12, 12, 8}, true, 40, 24, 5, 2, "SAME"), {1, 12, 12, 8}, true);
}
TEST_P(QuantBlocks, DepthwiseProject) {
  check(q_block_graph({1, 14, 15, 32}, false, 0, 16, 3, 1, "SAME"), {1, 14, 15, 32}, true);
  check(q_block_graph({1, 5, 6, 19}, false, 0, 7, 3, 2, "SAME"), {1, 5, 6, 19}, true);
}
TEST_P(QuantBlocks, ResidualAdd) {
  check(q_block_graph({1, 9, 10, 24}, true, 144, 24, 3, 1, "SAME", false, true), {1, 9, 10, 24}, true, true);
  check(q_block_graph({2, 7, 7, 19}, true, 57, 19, 3, 1, "SAME", false, true), {2, 7, 7, 19}, true, true);
}
TEST_P(QuantBlocks, DynamicDepthwiseStopsAtTheDepthwise) {
  check(q_block_graph({1, 9, 10, 16}, true, 96, 24, 3, 1, "SAME", true), {1, 9, 10, 16}, false);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantBlocks, testing::ValuesIn(variants()),
                         [](const testing::TestParamInfo<Variant>& p) {
                           return std::string(isa_name(p.param.isa)) + "_t" + std::to_string(p.param.threads);
                         });

// Corrupt quantization parameters are refused when the session is created, with the node named.
TEST(QuantNodes, BadParametersAreClearErrors) {
  auto g = q_conv_graph(OpType::QCONV2D, {1, 4, 4, 8}, 1, 1, 8, 1, "VALID", false);
  g->values[static_cast<size_t>(g->find_value("s"))].data.mut<float>()[3] = -1.f;
  auto s = Session::create(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("w_scale[3]"), std::string::npos) << s.status().message();

  g = q_conv_graph(OpType::QCONV2D, {1, 4, 4, 8}, 1, 1, 8, 1, "VALID", false);
  g->nodes[0].attrs.set("x_zero", int64_t{300});
  s = Session::create(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("x_zero"), std::string::npos) << s.status().message();

  g = q_conv_graph(OpType::QCONV2D, {1, 4, 4, 8}, 1, 1, 8, 1, "VALID", false);
  g->nodes[0].attrs.set("x_scale", 0.0);
  EXPECT_FALSE(Session::create(g).ok());

  g = q_conv_graph(OpType::QCONV2D, {1, 4, 4, 8}, 1, 1, 8, 1, "VALID", false);
  Value& w = g->values[static_cast<size_t>(g->find_value("w"))];
  w.data = tensor_to_f32(w.data);  // f32 weights where i8 is required
  w.dtype = DType::F32;
  s = Session::create(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("i8"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace morsel
