// Tests for ref::binary: numpy broadcasting worked by hand, then random rank-4 shapes broadcast on
// both sides against nested loops that index with modulo.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref-test-util.h"
#include "kernels/ref/ref.h"

namespace morsel::ref::test {
namespace {

TEST(Binary, Add213With41) {
  // a [2,1,3] = [[[1,2,3]],[[10,20,30]]], b [4,1] (padded to [1,4,1]) = [100,200,300,400]
  // y [2,4,3]: y[i][j][k] = a[i][0][k] + b[j].
  const std::vector<float> a = {1, 2, 3, 10, 20, 30}, b = {100, 200, 300, 400};
  const int64_t as[3] = {2, 1, 3}, bs[3] = {1, 4, 1}, ys[3] = {2, 4, 3};
  std::vector<float> y(24);
  binary(BinaryOp::ADD, 3, as, a.data(), bs, b.data(), ys, y.data());
  expect_close(y, {101, 102, 103, 201, 202, 203, 301, 302, 303, 401, 402, 403,
                   110, 120, 130, 210, 220, 230, 310, 320, 330, 410, 420, 430});
}

TEST(Binary, SubMulDivRowAgainstColumn) {
  // a [2,1] = [[6],[12]], b [1,3] = [[1,2,3]] -> y [2,3]
  const std::vector<float> a = {6, 12}, b = {1, 2, 3};
  const int64_t as[2] = {2, 1}, bs[2] = {1, 3}, ys[2] = {2, 3};
  std::vector<float> y(6);
  binary(BinaryOp::SUB, 2, as, a.data(), bs, b.data(), ys, y.data());
  expect_close(y, {5, 4, 3, 11, 10, 9});  // 6-1 6-2 6-3 / 12-1 12-2 12-3
  binary(BinaryOp::MUL, 2, as, a.data(), bs, b.data(), ys, y.data());
  expect_close(y, {6, 12, 18, 12, 24, 36});
  binary(BinaryOp::DIV, 2, as, a.data(), bs, b.data(), ys, y.data());
  expect_close(y, {6, 3, 2, 12, 6, 4});
  // Operand order matters: b / a with the shapes swapped: 1/6 2/6 3/6 / 1/12 2/12 3/12.
  binary(BinaryOp::DIV, 2, bs, b.data(), as, a.data(), ys, y.data());
  expect_close(y, {1.f / 6, 2.f / 6, 3.f / 6, 1.f / 12, 2.f / 12, 3.f / 12});
}

TEST(Binary, SameShapeAndScalar) {
  const std::vector<float> a = {1, 2, 3, 4}, b = {4, 3, 2, 1};
  const int64_t s[2] = {2, 2}, one[2] = {1, 1};
  std::vector<float> y(4);
  binary(BinaryOp::SUB, 2, s, a.data(), s, b.data(), s, y.data());
  expect_close(y, {-3, -1, 1, 3});
  const float half = 0.5f;
  binary(BinaryOp::MUL, 2, s, a.data(), one, &half, s, y.data());
  expect_close(y, {0.5f, 1, 1.5f, 2});
  // rank 0: one scalar with another.
  float z = 0;
  binary(BinaryOp::ADD, 0, nullptr, &half, nullptr, &half, nullptr, &z);
  EXPECT_EQ(z, 1.f);
}

TEST(Binary, PerChannelNhwc) {
  // A per-channel bias [C] added to [N,H,W,C] (b padded to [1,1,1,C]).
  const int64_t as[4] = {2, 3, 4, 5}, bs[4] = {1, 1, 1, 5};
  const auto a = random_vec(120, 1), b = random_vec(5, 2);
  std::vector<float> y(120), want(120);
  binary(BinaryOp::ADD, 4, as, a.data(), bs, b.data(), as, y.data());
  for (int64_t i = 0; i < 120; i++) want[i] = a[i] + b[i % 5];
  expect_close(y, want);
}

float ref_op(BinaryOp op, float a, float b) {
  if (op == BinaryOp::ADD) return a + b;
  if (op == BinaryOp::SUB) return a - b;
  if (op == BinaryOp::MUL) return a * b;
  return a / b;
}

TEST(Binary, RandomRank4BothSidesBroadcast) {
  // a [3,1,5,1] op b [1,4,1,2] -> y [3,4,5,2]; oracle indexes each operand with i % dim, which
  // picks index 0 exactly on the broadcast (size-1) axes.
  const int64_t as[4] = {3, 1, 5, 1}, bs[4] = {1, 4, 1, 2}, ys[4] = {3, 4, 5, 2};
  const auto a = random_vec(15, 3);
  const auto b = random_vec(8, 4, 0.5f, 2.f);  // away from 0 for DIV
  for (BinaryOp op : {BinaryOp::ADD, BinaryOp::SUB, BinaryOp::MUL, BinaryOp::DIV}) {
    std::vector<float> y(120), want;
    binary(op, 4, as, a.data(), bs, b.data(), ys, y.data());
    for (int64_t i0 = 0; i0 < 3; i0++)
      for (int64_t i1 = 0; i1 < 4; i1++)
        for (int64_t i2 = 0; i2 < 5; i2++)
          for (int64_t i3 = 0; i3 < 2; i3++) {
            const float av = a[((i0 % 3 * 1 + i1 % 1) * 5 + i2 % 5) * 1 + i3 % 1];
            const float bv = b[((i0 % 1 * 4 + i1 % 4) * 1 + i2 % 1) * 2 + i3 % 2];
            want.push_back(ref_op(op, av, bv));
          }
    SCOPED_TRACE(static_cast<int>(op));
    expect_close(y, want);
  }
}

}  // namespace
}  // namespace morsel::ref::test
