// Every optimized kernel (each ISA this CPU and build have, 1 and 3 threads) against the
// reference kernels, through the Session so the binding (tiling, packing, fusion) is tested too.
// Shapes cover the tails: channel counts that are not multiples of the vector width, GEMM columns
// that are not a multiple of the tile, rows that are not a multiple of the register tile,
// borders, strides, dilation, batch > 1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>

#include "core/cpu.h"
#include "runtime/session.h"
#include "runtime/isa-variants.h"
#include "util/test_util.h"

namespace morsel {
namespace {

using test::Variant;
std::vector<Variant> variants() { return test::isa_variants(); }

std::string variant_name(const testing::TestParamInfo<Variant>& p) {
  return std::string(isa_name(p.param.isa)) + "_t" + std::to_string(p.param.threads);
}

class OptimizedKernels : public testing::TestWithParam<Variant> {
 public:
  int fusion_ = 2;  // every fused kernel on
  // The kernel names a fusion-2 session on this variant's ISA binds for `g` (its profile after
  // prepare(batch)), in node order.
  std::vector<std::string> kernels_of(std::shared_ptr<Graph> g, Isa isa, int64_t batch = 2) {
    SessionOptions o;
    o.isa = static_cast<int>(isa);
    o.fusion = 2;
    auto s = Session::create(g, o);
    EXPECT_TRUE(s.ok());
    if (!s.ok() || !s.value()->prepare(batch).ok()) return {};
    std::vector<std::string> names;
    for (const OpProfile& p : s.value()->profile()) names.push_back(p.kernel);
    return names;
  }
  // Runs `g` on the reference kernels and on the optimized ones; expects the outputs to agree
  // within 1e-4 relative to the output's magnitude, and every node in `optimized_nodes` to have
  // run on an optimized kernel (not the reference fallback) whose name contains `kernel`.
  void check(std::shared_ptr<Graph> g, const Shape& input_shape,
             const std::vector<std::string>& optimized_nodes, uint32_t seed = 7,
             const std::string& kernel = "") {
    Tensor x = test::random_tensor(input_shape, seed, -1, 1);
    SessionOptions ref_opts;
    ref_opts.reference_kernels = true;
    auto ref = Session::create(g, ref_opts);
    ASSERT_TRUE(ref.ok()) << ref.status().to_string();
    std::vector<Tensor> want;
    ASSERT_TRUE(ref.value()->run({x}, &want).ok());

    SessionOptions opts;
    opts.fusion = fusion_;
    opts.isa = static_cast<int>(GetParam().isa);
    opts.threads = GetParam().threads;
    opts.profile = true;
    auto opt = Session::create(g, opts);
    ASSERT_TRUE(opt.ok()) << opt.status().to_string();
    EXPECT_STREQ(opt.value()->isa(), isa_name(GetParam().isa));
    std::vector<Tensor> got;
    for (int run = 0; run < 2; run++) {  // twice: buffers and packed weights are reused
      ASSERT_TRUE(opt.value()->run({x}, &got).ok());
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); i++) {
        ASSERT_EQ(got[i].shape(), want[i].shape());
        double mag = 1;
        for (int64_t j = 0; j < want[i].numel(); j++)
          mag = std::max(mag, std::fabs(static_cast<double>(want[i].data<float>()[j])));
        EXPECT_LE(test::max_abs_diff(got[i], want[i]), 1e-4 * mag) << "output " << i << " run " << run;
      }
    }
    for (const OpProfile& p : opt.value()->profile()) {
      bool must = false;
      for (const auto& n : optimized_nodes) must = must || n == p.node;
      if (must) {
        EXPECT_NE(p.kernel, "ref") << p.node << " ran on the reference kernel";
        EXPECT_NE(p.kernel.find(kernel), std::string::npos) << p.node << " ran on " << p.kernel;
      }
    }
  }
};

std::shared_ptr<Graph> single(OpType op, const Shape& in, std::vector<Tensor> consts, Attrs a,
                              bool bias_absent = false) {
  auto g = std::make_shared<Graph>();
  std::vector<int> inputs{g->add_input("x", DType::F32, in)};
  for (size_t i = 0; i < consts.size(); i++)
    inputs.push_back(g->add_const("c" + std::to_string(i), std::move(consts[i])));
  if (bias_absent) inputs.push_back(-1);
  g->outputs = {g->add_node(op, "op", inputs, a)};
  return g;
}

Attrs conv_attrs(const std::string& padding, int64_t s, int64_t d, const std::string& act) {
  Attrs a;
  a.set("padding", padding);
  a.set("strides", std::vector<int64_t>{s, s});
  a.set("dilations", std::vector<int64_t>{d, d});
  a.set("act", act);
  return a;
}

TEST_P(OptimizedKernels, PointwiseConv) {
  uint32_t seed = 1;
  for (int64_t c : {3, 16, 33})
    for (int64_t co : {5, 16, 32, 40, 64, 144, 192})
      for (const char* act : {"none", "relu6"}) {
        SCOPED_TRACE(testing::Message() << "C=" << c << " CO=" << co << " act=" << act);
        auto g = single(OpType::CONV2D, {-1, 7, 9, c},
                        {test::random_tensor({1, 1, c, co}, seed++), test::random_tensor({co}, seed++)},
                        conv_attrs("VALID", 1, 1, act));
        check(g, {2, 7, 9, c}, {"op"});
      }
}

// A 1x1 conv of c -> co channels on 1 x h x 3 pixels: relu6, or with a fused residual ADD (of
// a second conv's output) and no activation. Checked against the reference; on AVX-512 the
// conv must have run on a kernel whose name contains `avx512_kernel`.
void check_pointwise_tile(OptimizedKernels* t, int64_t co, int64_t h, int64_t c, bool residual,
                          uint32_t* seed, const char* avx512_kernel) {
  SCOPED_TRACE(testing::Message() << "CO=" << co << " H=" << h << " C=" << c << (residual ? " +res" : ""));
  auto g = std::make_shared<Graph>();
  int x = g->add_input("x", DType::F32, {-1, h, 3, c});
  int y = g->add_node(OpType::CONV2D, "op",
                      {x, g->add_const("w", test::random_tensor({1, 1, c, co}, (*seed)++)),
                       g->add_const("b", test::random_tensor({co}, (*seed)++))},
                      conv_attrs("VALID", 1, 1, residual ? "none" : "relu6"));
  if (residual) {
    int r = g->add_node(OpType::RELU, "r", {x}, Attrs());
    int r2 = g->add_node(OpType::CONV2D, "r2",
                         {r, g->add_const("w2", test::random_tensor({1, 1, c, co}, (*seed)++)),
                          g->add_const("b2", test::random_tensor({co}, (*seed)++))},
                         conv_attrs("VALID", 1, 1, "none"));
    y = g->add_node(OpType::ADD, "add", {y, r2}, Attrs());
  }
  g->outputs = {y};
  t->check(g, {1, h, 3, c}, {"op"});
  if (t->GetParam().isa == Isa::AVX512) {
    bool found = false;
    for (const auto& name : t->kernels_of(g, Isa::AVX512, 1))
      found = found || name.find(avx512_kernel) != std::string::npos;
    EXPECT_TRUE(found) << avx512_kernel;
  }
}

// 8 and 24 output channels: on AVX-512 the K-pair kernel (gemm-kpair). Odd and even K (the
// last K step alone), row counts above and below one tile (8 or 14 rows) and not a multiple
// of it, with and without a fused residual ADD.
TEST_P(OptimizedKernels, PointwiseConvKpairColumns) {
  uint32_t seed = 40;
  for (int64_t co : {8, 24})
    for (int64_t h : {1, 3, 5, 13})
      for (int64_t c : {7, 40})
        for (bool residual : {false, true}) check_pointwise_tile(this, co, h, c, residual, &seed, "gemm-kpair");
}

// Small K (up to kGemmShortK = 32) on column counts the short tile pads no more than the
// default one: on AVX-512 the 4 x 48 tile (gemm-short). Row counts around the tile height,
// partial last panels (40, 144), with and without a fused residual ADD.
TEST_P(OptimizedKernels, PointwiseConvShortK) {
  uint32_t seed = 80;
  for (int64_t co : {40, 96, 144})
    for (int64_t h : {1, 2, 5})
      for (int64_t c : {1, 16, 32})
        for (bool residual : {false, true}) check_pointwise_tile(this, co, h, c, residual, &seed, "gemm-short");
}

TEST_P(OptimizedKernels, GeneralConvIm2col) {
  struct Case {
    int64_t kh, kw, c, co, s, d;
    const char* padding;
  };
  const Case cases[] = {{3, 3, 3, 32, 2, 1, "SAME"},  {5, 5, 4, 20, 1, 2, "VALID"},
                        {1, 1, 8, 24, 2, 1, "SAME"},  {7, 7, 3, 17, 2, 1, "SAME"},
                        {1, 7, 12, 16, 1, 1, "SAME"}, {7, 1, 12, 48, 1, 1, "SAME"},
                        {3, 3, 19, 40, 1, 1, "SAME"}, {3, 3, 70, 33, 1, 1, "SAME"},
                        // weights over 512 KB: the whole im2col matrix, then one GEMM
                        {3, 3, 128, 160, 1, 1, "SAME"}, {3, 3, 128, 150, 2, 1, "SAME"},
                        {3, 3, 64, 128, 1, 1, "SAME"}};
  uint32_t seed = 100;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.kh << "x" << k.kw << " C=" << k.c << " CO=" << k.co
                                    << " s=" << k.s << " d=" << k.d << " " << k.padding);
    auto g = single(OpType::CONV2D, {-1, 13, 11, k.c},
                    {test::random_tensor({k.kh, k.kw, k.c, k.co}, seed++, -0.3f, 0.3f),
                     test::random_tensor({k.co}, seed++)},
                    conv_attrs(k.padding, k.s, k.d, "relu"));
    check(g, {2, 13, 11, k.c}, {"op"});
  }
  // Explicit asymmetric padding and no bias.
  Attrs a = conv_attrs("EXPLICIT", 2, 1, "none");
  a.set("pads", std::vector<int64_t>{0, 1, 2, 1});
  check(single(OpType::CONV2D, {-1, 10, 10, 5}, {test::random_tensor({3, 3, 5, 9}, 7)}, a, true),
        {1, 10, 10, 5}, {"op"});
}

TEST_P(OptimizedKernels, FewChannelConvDirect) {
  // Up to 4 input channels, KH*KW*C < 32, a real window and no dilation: the direct conv
  // kernel (the stem conv on an RGB image). Output channels below, at and across the vector
  // width; pixel blocks cut by the row end; padding on every side; a one-row output.
  struct Case {
    int64_t h, w, kh, kw, c, co, s;
    const char* padding;
  };
  const Case cases[] = {{13, 11, 3, 3, 3, 32, 2, "SAME"}, {13, 11, 3, 3, 1, 5, 1, "VALID"},
                        {9, 17, 3, 3, 2, 40, 2, "SAME"},  {13, 11, 2, 2, 3, 64, 2, "SAME"},
                        {6, 7, 3, 1, 4, 33, 1, "SAME"},   {3, 30, 3, 3, 3, 16, 1, "VALID"},
                        // 3x3 RGB at stride 2 with interior pixel blocks (the unrolled stem path)
                        {9, 37, 3, 3, 3, 32, 2, "SAME"},  {10, 40, 3, 3, 3, 24, 2, "VALID"}};
  uint32_t seed = 300;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.h << "x" << k.w << " " << k.kh << "x" << k.kw << " C=" << k.c
                                    << " CO=" << k.co << " s=" << k.s << " " << k.padding);
    auto g = single(OpType::CONV2D, {-1, k.h, k.w, k.c},
                    {test::random_tensor({k.kh, k.kw, k.c, k.co}, seed++, -0.3f, 0.3f),
                     test::random_tensor({k.co}, seed++)},
                    conv_attrs(k.padding, k.s, 1, "relu6"));
    check(g, {2, k.h, k.w, k.c}, {"op"}, 7, "conv-direct");
  }
}

// Sets an environment variable for one scope, restoring the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST_P(OptimizedKernels, WinogradConv3x3) {
  // 3x3 stride-1 convs on the Winograd F(4x4, 3x3) kernel (MORSEL_WINOGRAD=1: every such conv,
  // whatever the size rule says): outputs that are not a multiple of the 4x4 tile, SAME, VALID
  // and explicit asymmetric padding, channel counts off the vector width (and 4), one
  // exact tile, several K blocks in the GEMMs (CI 600), batch 2.
  struct Case {
    int64_t h, w, c, co;
    const char* padding;
    const char* act;
  };
  const Case cases[] = {{13, 11, 19, 40, "SAME", "relu"},   {9, 10, 5, 33, "VALID", "relu6"},
                        {7, 7, 70, 16, "SAME", "none"},     {6, 6, 4, 4, "VALID", "relu6"},
                        {17, 23, 64, 70, "SAME", "none"},   {5, 9, 32, 64, "EXPLICIT", "relu"},
                        {10, 6, 600, 24, "SAME", "relu6"},  {3, 3, 16, 17, "SAME", "none"}};
  ScopedEnv env("MORSEL_WINOGRAD", "1");
  uint32_t seed = 900;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.h << "x" << k.w << " C=" << k.c << " CO=" << k.co << " "
                                    << k.padding << " " << k.act);
    Attrs a = conv_attrs(k.padding, 1, 1, k.act);
    if (std::string(k.padding) == "EXPLICIT") a.set("pads", std::vector<int64_t>{0, 1, 2, 1});
    std::vector<Tensor> consts{test::random_tensor({3, 3, k.c, k.co}, seed++, -0.3f, 0.3f)};
    const bool no_bias = k.c == 5;  // one case without a bias input
    if (!no_bias) consts.push_back(test::random_tensor({k.co}, seed++));
    auto g = single(OpType::CONV2D, {-1, k.h, k.w, k.c}, std::move(consts), a, no_bias);
    check(g, {2, k.h, k.w, k.c}, {"op"}, 7, "winograd");
  }
  // With a fused residual ADD (relu6 after the add).
  {
    auto g = std::make_shared<Graph>();
    const int64_t c = 24;
    int x = g->add_input("x", DType::F32, {-1, 11, 9, c});
    int r = g->add_node(OpType::RELU, "residual", {x}, Attrs());
    int y = g->add_node(OpType::CONV2D, "conv",
                        {r, g->add_const("w", test::random_tensor({3, 3, c, c}, 1, -0.2f, 0.2f)),
                         g->add_const("b", test::random_tensor({c}, 2))},
                        conv_attrs("SAME", 1, 1, "none"));
    Attrs relu6;
    relu6.set("act", std::string("relu6"));
    g->outputs = {g->add_node(OpType::ADD, "add", {y, r}, relu6)};
    check(g, {2, 11, 9, c}, {"conv"}, 7, "winograd");
  }
  // The default rule picks Winograd for a ResNet50 layer (56x56x64 -> 64, SAME, relu) and
  // MORSEL_WINOGRAD=0 turns it off.
  auto g = single(OpType::CONV2D, {-1, 56, 56, 64},
                  {test::random_tensor({3, 3, 64, 64}, 31, -0.1f, 0.1f), test::random_tensor({64}, 32)},
                  conv_attrs("SAME", 1, 1, "relu"));
  {
    ScopedEnv rule("MORSEL_WINOGRAD", "");
    check(g, {1, 56, 56, 64}, {"op"}, 7, "winograd");
  }
  {
    ScopedEnv off("MORSEL_WINOGRAD", "0");
    check(g, {1, 56, 56, 64}, {"op"}, 7, "im2col");
  }
}

TEST_P(OptimizedKernels, DepthwiseConv) {
  struct Case {
    int64_t k0, k1, c, s, d;
    const char* padding;
  };
  const Case cases[] = {{3, 3, 16, 1, 1, "SAME"}, {3, 3, 37, 2, 1, "SAME"}, {3, 3, 32, 2, 1, "VALID"},
                        {5, 5, 24, 1, 1, "SAME"}, {3, 3, 20, 1, 2, "SAME"}, {2, 4, 9, 1, 1, "VALID"},
                        {3, 3, 48, 2, 1, "SAME"}};
  uint32_t seed = 200;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.k0 << "x" << k.k1 << " C=" << k.c << " s=" << k.s
                                    << " d=" << k.d << " " << k.padding);
    auto g = single(OpType::DEPTHWISE_CONV2D, {-1, 12, 15, k.c},
                    {test::random_tensor({k.k0, k.k1, k.c, 1}, seed++), test::random_tensor({k.c}, seed++)},
                    conv_attrs(k.padding, k.s, k.d, "relu6"));
    check(g, {3, 12, 15, k.c}, {"op"});
  }
}

// Pointwise conv feeding a depthwise conv runs as one fused kernel.
TEST_P(OptimizedKernels, FusedPointwiseDepthwise) {
  struct Case {
    int64_t h, w, c, ce, s;
    const char* padding;
  };
  // The last two are small images with many channels: with threads, split by channels. Images
  // under 8 pixels wide run unfused (the session's rule; 7x7 cases).
  const Case cases[] = {{9, 11, 8, 24, 1, "SAME"}, {10, 12, 8, 40, 2, "SAME"}, {9, 9, 5, 16, 2, "VALID"},
                        {14, 14, 16, 96, 2, "SAME"}, {7, 7, 12, 144, 1, "SAME"},
                        {7, 7, 16, 256, 1, "SAME"},  {8, 8, 24, 200, 2, "SAME"}};
  uint32_t seed = 300;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.h << "x" << k.w << " C=" << k.c << "->" << k.ce << " s=" << k.s
                                    << " " << k.padding);
    auto g = std::make_shared<Graph>();
    int x = g->add_input("x", DType::F32, {-1, k.h, k.w, k.c});
    int y = g->add_node(OpType::CONV2D, "expand",
                        {x, g->add_const("w1", test::random_tensor({1, 1, k.c, k.ce}, seed++)),
                         g->add_const("b1", test::random_tensor({k.ce}, seed++))},
                        conv_attrs("VALID", 1, 1, "relu6"));
    y = g->add_node(OpType::DEPTHWISE_CONV2D, "dw",
                    {y, g->add_const("w2", test::random_tensor({3, 3, k.ce, 1}, seed++)),
                     g->add_const("b2", test::random_tensor({k.ce}, seed++))},
                    conv_attrs(k.padding, k.s, 1, "relu6"));
    g->outputs = {y};
    check(g, {3, k.h, k.w, k.c}, {"expand", "dw"});
    // The pair ran as one kernel: the depthwise node itself does no work.
    SessionOptions o;
    o.isa = static_cast<int>(GetParam().isa);
    auto s = Session::create(g, o);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.value()->prepare(1).ok());
    auto prof = s.value()->profile();
    const bool fused = k.w >= 8;
    EXPECT_EQ(prof[0].kernel.find("+dwconv") != std::string::npos, fused) << prof[0].kernel;
    EXPECT_EQ(prof[1].kernel.find("fused") != std::string::npos, fused) << prof[1].kernel;
  }
}

// expand -> depthwise -> project (+ residual add), and depthwise -> project alone: one kernel.
TEST_P(OptimizedKernels, FusedInvertedResidualBlock) {
  struct Case {
    int64_t h, w, c, ce, s;
    bool expand;
  };
  const Case cases[] = {{9, 11, 8, 24, 1, true}, {10, 12, 16, 40, 2, true}, {14, 14, 16, 96, 1, true},
                        {12, 10, 32, 32, 1, false}, {9, 13, 24, 24, 2, false},
                        // 16+ pixels a row: output rows in pairs (an odd row count ends single)
                        {9, 34, 16, 48, 1, true}, {11, 36, 8, 32, 2, true}, {7, 20, 32, 32, 1, false}};
  uint32_t seed = 500;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.h << "x" << k.w << " C=" << k.c << "->" << k.ce << " s=" << k.s
                                    << (k.expand ? " expand" : ""));
    auto g = std::make_shared<Graph>();
    int x = g->add_input("x", DType::F32, {-1, k.h, k.w, k.c});
    int y = x;
    if (k.expand)
      y = g->add_node(OpType::CONV2D, "expand",
                      {x, g->add_const("w1", test::random_tensor({1, 1, k.c, k.ce}, seed++)),
                       g->add_const("b1", test::random_tensor({k.ce}, seed++))},
                      conv_attrs("VALID", 1, 1, "relu6"));
    y = g->add_node(OpType::DEPTHWISE_CONV2D, "dw",
                    {y, g->add_const("w2", test::random_tensor({3, 3, k.ce, 1}, seed++)),
                     g->add_const("b2", test::random_tensor({k.ce}, seed++))},
                    conv_attrs("SAME", k.s, 1, "relu6"));
    y = g->add_node(OpType::CONV2D, "project",
                    {y, g->add_const("w3", test::random_tensor({1, 1, k.ce, k.c}, seed++)),
                     g->add_const("b3", test::random_tensor({k.c}, seed++))},
                    conv_attrs("VALID", 1, 1, "none"));
    if (k.s == 1) {
      // The residual ADD joins the block (f32 at fusion 2); one case clamps after the add, one
      // puts the skip tensor first.
      Attrs add_attrs;
      if (k.c == 16) add_attrs.set("act", std::string("relu6"));
      y = k.c == 32 ? g->add_node(OpType::ADD, "add", {x, y}, add_attrs)
                    : g->add_node(OpType::ADD, "add", {y, x}, add_attrs);
    }
    g->outputs = {y};
    check(g, {3, k.h, k.w, k.c}, {k.expand ? "expand" : "dw"});
    const auto prof = kernels_of(g, GetParam().isa);
    ASSERT_GE(prof.size(), k.expand ? 3u : 2u);
    EXPECT_NE(prof[0].find("dwconv+gemm"), std::string::npos) << prof[0];
    EXPECT_NE(prof[k.expand ? 2 : 1].find("fused"), std::string::npos);
    if (k.s == 1) {
      EXPECT_NE(prof[0].find("+add"), std::string::npos) << prof[0];
      EXPECT_NE(prof.back().find("fused"), std::string::npos) << prof.back();
    }
  }
}

// Row chunks that split an image (batch 1 and 2 on 3 threads): the expanded rows around each
// boundary are computed once, before the chunks run, and read by both chunks' rings. Strides 1
// and 2, with and without row pairs (16+ pixels), a GEMM expansion and a direct-conv stem; 160
// channels at stride 2: two edge rows on three threads, each split by panels.
TEST_P(OptimizedKernels, FusedBlockChunkEdges) {
  struct Case {
    int64_t h, w, c, ce, s;
    bool stem;
  };
  const Case cases[] = {{14, 14, 16, 48, 1, false}, {15, 9, 8, 40, 2, false}, {15, 9, 8, 160, 2, false},
                        {13, 18, 8, 32, 1, false},
                        {20, 17, 3, 16, 1, true},   {19, 16, 3, 24, 2, true}};
  uint32_t seed = 900;
  for (const Case& k : cases)
    for (int64_t batch : {1, 2}) {
      SCOPED_TRACE(testing::Message() << k.h << "x" << k.w << " C=" << k.c << "->" << k.ce << " s=" << k.s
                                      << (k.stem ? " stem" : "") << " batch " << batch);
      auto g = std::make_shared<Graph>();
      int x = g->add_input("x", DType::F32, {-1, k.h, k.w, k.c});
      int y = g->add_node(OpType::CONV2D, "expand",
                          {x, g->add_const("w1", test::random_tensor({k.stem ? 3 : 1, k.stem ? 3 : 1, k.c, k.ce}, seed++, -0.3f, 0.3f)),
                           g->add_const("b1", test::random_tensor({k.ce}, seed++))},
                          conv_attrs(k.stem ? "SAME" : "VALID", 1, 1, "relu6"));
      y = g->add_node(OpType::DEPTHWISE_CONV2D, "dw",
                      {y, g->add_const("w2", test::random_tensor({3, 3, k.ce, 1}, seed++)),
                       g->add_const("b2", test::random_tensor({k.ce}, seed++))},
                      conv_attrs("SAME", k.s, 1, "relu6"));
      y = g->add_node(OpType::CONV2D, "project",
                      {y, g->add_const("w3", test::random_tensor({1, 1, k.ce, 8}, seed++)),
                       g->add_const("b3", test::random_tensor({8}, seed++))},
                      conv_attrs("VALID", 1, 1, "none"));
      g->outputs = {y};
      check(g, {batch, k.h, k.w, k.c}, {"expand"});
      const auto prof = kernels_of(g, GetParam().isa, batch);
      ASSERT_FALSE(prof.empty());
      EXPECT_NE(prof[0].find("+dwconv+gemm"), std::string::npos) << prof[0];
    }
}

// An RGB stem conv (the direct conv kernel) -> depthwise -> project: the stem's output rows fill
// the block's ring, one conv row at a time (its padding rows, strides and image borders).
TEST_P(OptimizedKernels, FusedStemBlock) {
  struct Case {
    int64_t h, w, co, s_conv, s_dw;
    const char* padding;
  };
  const Case cases[] = {{15, 17, 16, 2, 1, "SAME"}, {16, 21, 32, 2, 2, "SAME"},
                        {13, 12, 24, 1, 1, "VALID"}, {9, 40, 16, 2, 1, "SAME"}};
  uint32_t seed = 700;
  for (const Case& k : cases) {
    SCOPED_TRACE(testing::Message() << k.h << "x" << k.w << " CO=" << k.co << " s=" << k.s_conv << "," << k.s_dw
                                    << " " << k.padding);
    auto g = std::make_shared<Graph>();
    int x = g->add_input("x", DType::F32, {-1, k.h, k.w, 3});
    int y = g->add_node(OpType::CONV2D, "stem",
                        {x, g->add_const("w1", test::random_tensor({3, 3, 3, k.co}, seed++, -0.3f, 0.3f)),
                         g->add_const("b1", test::random_tensor({k.co}, seed++))},
                        conv_attrs(k.padding, k.s_conv, 1, "relu6"));
    y = g->add_node(OpType::DEPTHWISE_CONV2D, "dw",
                    {y, g->add_const("w2", test::random_tensor({3, 3, k.co, 1}, seed++)),
                     g->add_const("b2", test::random_tensor({k.co}, seed++))},
                    conv_attrs("SAME", k.s_dw, 1, "relu6"));
    y = g->add_node(OpType::CONV2D, "project",
                    {y, g->add_const("w3", test::random_tensor({1, 1, k.co, 8}, seed++)),
                     g->add_const("b3", test::random_tensor({8}, seed++))},
                    conv_attrs("VALID", 1, 1, "none"));
    g->outputs = {y};
    check(g, {3, k.h, k.w, 3}, {"stem"});
    const auto prof = kernels_of(g, GetParam().isa);
    ASSERT_FALSE(prof.empty());
    EXPECT_EQ(prof[0].rfind("f32-conv-direct+dwconv+gemm", 0), 0u) << prof[0];
  }
}

// conv / dense + residual ADD (+ the ADD's activation): the GEMM adds the residual as it stores.
TEST_P(OptimizedKernels, FusedResidualAdd) {
  for (int kind = 0; kind < 3; kind++) {
    SCOPED_TRACE(kind);
    auto g = std::make_shared<Graph>();
    const int64_t c = kind == 2 ? 600 : 24;  // 600: several K blocks before the residual
    int x = g->add_input("x", DType::F32, {-1, 9, 10, c});
    int r = g->add_node(OpType::RELU, "residual", {x}, Attrs());
    int y;
    if (kind == 1) {  // 3x3 conv (im2col) keeping the shape
      y = g->add_node(OpType::CONV2D, "conv",
                      {r, g->add_const("w", test::random_tensor({3, 3, c, c}, 1, -0.2f, 0.2f)),
                       g->add_const("b", test::random_tensor({c}, 2))},
                      conv_attrs("SAME", 1, 1, "none"));
    } else {
      y = g->add_node(OpType::CONV2D, "conv",
                      {r, g->add_const("w", test::random_tensor({1, 1, c, c}, 1, -0.2f, 0.2f)),
                       g->add_const("b", test::random_tensor({c}, 2))},
                      conv_attrs("VALID", 1, 1, "none"));
    }
    Attrs relu6;
    relu6.set("act", std::string("relu6"));
    y = g->add_node(OpType::ADD, "add", {kind == 0 ? r : y, kind == 0 ? y : r}, relu6);
    g->outputs = {y};
    check(g, {2, 9, 10, c}, {"conv"});
    SessionOptions o;
    o.isa = static_cast<int>(GetParam().isa);
    auto s = Session::create(g, o);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.value()->prepare(1).ok());
    auto prof = s.value()->profile();
    EXPECT_NE(prof[1].kernel.find("+add"), std::string::npos) << prof[1].kernel;
    EXPECT_NE(prof[2].kernel.find("fused"), std::string::npos) << prof[2].kernel;
  }
}

TEST_P(OptimizedKernels, Dense) {
  uint32_t seed = 400;
  // K up to 1000: several K blocks, the last one uneven.
  for (int64_t k : {20, 64, 700, 1000})
    for (int64_t m : {5, 37, 128}) {
      SCOPED_TRACE(testing::Message() << "K=" << k << " M=" << m);
      auto g = single(OpType::DENSE, {-1, k},
                      {test::random_tensor({k, m}, seed++), test::random_tensor({m}, seed++)},
                      conv_attrs("VALID", 1, 1, "relu"));
      check(g, {1, k}, {"op"});
      check(g, {13, k}, {"op"});
    }
}

TEST_P(OptimizedKernels, Pooling) {
  for (OpType op : {OpType::MAX_POOL, OpType::AVG_POOL})
    for (int include_pad : {0, 1})
      for (const char* padding : {"SAME", "VALID"})
        for (int64_t s : {1, 2}) {
          SCOPED_TRACE(testing::Message() << op_name(op) << " " << padding << " s=" << s
                                          << " include_pad=" << include_pad);
          Attrs a;
          a.set("kernel", std::vector<int64_t>{3, 3});
          a.set("strides", std::vector<int64_t>{s, s});
          a.set("padding", std::string(padding));
          a.set("count_include_pad", int64_t{include_pad});
          check(single(op, {-1, 9, 10, 21}, {}, a), {2, 9, 10, 21}, {"op"});
        }
}

TEST_P(OptimizedKernels, GlobalMean) {
  Attrs a;
  a.set("axes", std::vector<int64_t>{1, 2});
  check(single(OpType::MEAN, {-1, 7, 7, 37}, {}, a), {3, 7, 7, 37}, {"op"});
  a.set("keepdims", int64_t{1});
  check(single(OpType::MEAN, {-1, 5, 6, 64}, {}, a), {2, 5, 6, 64}, {"op"});
}

// A classifier head: pointwise conv -> global mean (or a whole-image AVG_POOL) -> reshape ->
// dense, run as one kernel at the conv (bind_pooled_dense). Kinds:
//   0: 78 output channels (a full 64-column panel and a partial one of 14, not a multiple of
//      four dense rows), MEAN keepdims, RESHAPE;
//      37 dense outputs (not a multiple of the vector width), batch 1 and 3
//   1: a fused residual ADD and 600 input channels (several K blocks), MEAN without keepdims;
//      batch 5 with 117 KB of input per image: image groups of two, the last of one
//   2: AVG_POOL over the whole 5x6 image, then SQUEEZE, a ReLU dense layer, no dense bias
// and the same output bits at 1, 2 and 3 threads, run after run.
TEST_P(OptimizedKernels, PooledDenseHead) {
  uint32_t seed = 900;
  for (int kind = 0; kind < 3; kind++) {
    SCOPED_TRACE(kind);
    const int64_t h = kind == 1 ? 7 : 5, w = kind == 1 ? 7 : 6, c = kind == 1 ? 600 : 40;
    const int64_t co = kind == 1 ? 600 : 78, nd = kind == 1 ? 100 : 37;
    auto g = std::make_shared<Graph>();
    int x = g->add_input("x", DType::F32, {-1, h, w, c});
    int r = g->add_node(OpType::RELU, "relu", {x}, Attrs());
    int y = g->add_node(OpType::CONV2D, "conv",
                        {r, g->add_const("w", test::random_tensor({1, 1, c, co}, seed++, -0.2f, 0.2f)),
                         g->add_const("b", test::random_tensor({co}, seed++))},
                        conv_attrs("VALID", 1, 1, kind == 1 ? "none" : "relu6"));
    if (kind == 1) {
      Attrs relu;
      relu.set("act", std::string("relu"));
      y = g->add_node(OpType::ADD, "add", {y, r}, relu);
    }
    Attrs pool;
    if (kind == 2) {
      pool.set("kernel", std::vector<int64_t>{h, w});
      pool.set("strides", std::vector<int64_t>{1, 1});
      pool.set("padding", std::string("VALID"));
      y = g->add_node(OpType::AVG_POOL, "pool", {y}, pool);
      Attrs sq;
      sq.set("axes", std::vector<int64_t>{1, 2});
      y = g->add_node(OpType::SQUEEZE, "squeeze", {y}, sq);
    } else {
      pool.set("axes", std::vector<int64_t>{1, 2});
      pool.set("keepdims", int64_t{kind == 0 ? 1 : 0});
      y = g->add_node(OpType::MEAN, "pool", {y}, pool);
      if (kind == 0) {
        Attrs rs;
        rs.set("shape", std::vector<int64_t>{-1, co});
        y = g->add_node(OpType::RESHAPE, "reshape", {y}, rs);
      }
    }
    std::vector<int> dense_in{y, g->add_const("dw", test::random_tensor({co, nd}, seed++, -0.2f, 0.2f))};
    if (kind != 2) dense_in.push_back(g->add_const("db", test::random_tensor({nd}, seed++)));
    g->outputs = {g->add_node(OpType::DENSE, "dense", dense_in, conv_attrs("VALID", 1, 1, kind == 2 ? "relu" : "none"))};
    for (int64_t batch : {int64_t{1}, kind == 1 ? int64_t{5} : int64_t{3}})
      check(g, {batch, h, w, c}, {"conv"}, seed++, "+mean+dense");
    const auto names = kernels_of(g, GetParam().isa);
    for (size_t i = 2; i < names.size(); i++)
      EXPECT_NE(names[i].find("(fused into conv)"), std::string::npos) << i << " " << names[i];
    // The same bits at every thread count and on every run (the dense sums are added in a fixed
    // order, not per thread).
    const Tensor xin = test::random_tensor({kind == 1 ? 5 : 3, h, w, c}, 77, -1, 1);
    std::vector<Tensor> first;
    for (int threads : {1, 3, 3, 2}) {
      SessionOptions o;
      o.isa = static_cast<int>(GetParam().isa);
      o.threads = threads;
      auto s = Session::create(g, o);
      ASSERT_TRUE(s.ok());
      std::vector<Tensor> got;
      for (int run = 0; run < 3; run++) {
        ASSERT_TRUE(s.value()->run({xin}, &got).ok());
        if (first.empty()) first = got;
        ASSERT_EQ(got[0].nbytes(), first[0].nbytes());
        EXPECT_EQ(std::memcmp(got[0].raw(), first[0].raw(), got[0].nbytes()), 0)
            << threads << " threads, run " << run;
      }
    }
  }
}

// The head stays unfused when the pooled vector is also a graph output or the mean is over one
// axis only; the result is the same either way.
TEST_P(OptimizedKernels, PooledDenseHeadNotFused) {
  for (int kind = 0; kind < 2; kind++) {
    SCOPED_TRACE(kind);
    auto g = std::make_shared<Graph>();
    int x = g->add_input("x", DType::F32, {-1, 4, 4, 16});
    int y = g->add_node(OpType::CONV2D, "conv",
                        {x, g->add_const("w", test::random_tensor({1, 1, 16, 32}, 11)),
                         g->add_const("b", test::random_tensor({32}, 12))},
                        conv_attrs("VALID", 1, 1, "relu"));
    Attrs pool;
    pool.set("axes", kind == 0 ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{2});
    y = g->add_node(OpType::MEAN, "pool", {y}, pool);
    const int64_t k = kind == 0 ? 32 : 4 * 32;
    if (kind == 1) {
      Attrs rs;
      rs.set("shape", std::vector<int64_t>{-1, k});
      y = g->add_node(OpType::RESHAPE, "reshape", {y}, rs);
    }
    int d = g->add_node(OpType::DENSE, "dense",
                        {y, g->add_const("dw", test::random_tensor({k, 10}, 13)),
                         g->add_const("db", test::random_tensor({10}, 14))},
                        conv_attrs("VALID", 1, 1, "none"));
    g->outputs = kind == 0 ? std::vector<int>{d, y} : std::vector<int>{d};
    check(g, {2, 4, 4, 16}, {"conv", "dense"});
    for (const std::string& name : kernels_of(g, GetParam().isa))
      EXPECT_EQ(name.find("mean+dense"), std::string::npos) << name;
  }
}

TEST_P(OptimizedKernels, ElementWise) {
  const Shape s{-1, 6, 7, 19};
  for (OpType op : {OpType::ADD, OpType::SUB, OpType::MUL, OpType::DIV}) {
    SCOPED_TRACE(op_name(op));
    // b: same shape (as a second input is not allowed here: use a constant), per channel, scalar.
    check(single(op, s, {test::random_tensor({1, 6, 7, 19}, 1, 0.5f, 2)}, Attrs()), {1, 6, 7, 19}, {"op"});
    check(single(op, s, {test::random_tensor({19}, 2, 0.5f, 2)}, Attrs()), {2, 6, 7, 19}, {"op"});
    check(single(op, s, {test::random_tensor({1}, 3, 0.5f, 2)}, Attrs()), {2, 6, 7, 19}, {"op"});
  }
  // Two computed inputs of the same shape (a residual add), large enough to be split.
  auto g = std::make_shared<Graph>();
  int x = g->add_input("x", DType::F32, {-1, 40, 40, 24});
  Attrs r;
  int a = g->add_node(OpType::RELU, "relu", {x}, r);
  Attrs relu6;  // a fused activation on the add
  relu6.set("act", std::string("relu6"));
  g->outputs = {g->add_node(OpType::ADD, "add", {a, x}, relu6)};
  check(g, {2, 40, 40, 24}, {"relu", "add"});
  Attrs c;
  c.set("min", -0.25);
  c.set("max", 0.5);
  check(single(OpType::CLIP, {-1, 1000}, {}, c), {3, 1000}, {"op"});
}

TEST_P(OptimizedKernels, ConstantPad) {
  for (const std::vector<int64_t>& pads :
       {std::vector<int64_t>{0, 1, 2, 0, 0, 2, 1, 0}, std::vector<int64_t>{1, 0, 0, 3, 0, 1, 0, 2}}) {
    Attrs a;
    a.set("pads", pads);
    a.set("value", 0.5);
    check(single(OpType::PAD, {-1, 5, 6, 7}, {}, a), {2, 5, 6, 7}, {"op"});
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, OptimizedKernels, testing::ValuesIn(variants()), variant_name);

TEST(CpuFeatures, ForcedIsaIsHonoured) {
  for (int i = 0; i <= static_cast<int>(Isa::WASM_SIMD128); i++) {
    if (!isa_available(static_cast<Isa>(i))) continue;
    SessionOptions o;
    o.isa = i;
    auto g = single(OpType::RELU, {-1, 4}, {}, Attrs());
    auto s = Session::create(g, o);
    ASSERT_TRUE(s.ok());
    EXPECT_STREQ(s.value()->isa(), isa_name(static_cast<Isa>(i)));
  }
  EXPECT_GE(physical_cores(), 1);
}

}  // namespace
}  // namespace morsel
