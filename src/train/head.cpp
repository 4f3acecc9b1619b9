// Head training: forward/backward through Dense + ReLU + dropout layers, softmax cross-entropy,
// optimizers and schedules (head.h). The matrix products are plain loops that the compiler
// vectorizes; on x86-64 they are compiled for AVX-512, AVX2 and baseline and picked at load.
#include "train/head.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/cpu.h"
#include "core/random.h"
#include "core/threadpool.h"

namespace morsel::train {

#if defined(__x86_64__) && defined(__gnu_linux__)
#define MORSEL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MORSEL_MULTIVERSION
#endif

bool optimizer_from_name(const std::string& s, Optimizer* out) {
  if (s == "adam") *out = Optimizer::ADAM;
  else if (s == "adamw") *out = Optimizer::ADAMW;
  else if (s == "sgd") *out = Optimizer::SGD;
  else return false;
  return true;
}
bool schedule_from_name(const std::string& s, Schedule* out) {
  if (s == "constant") *out = Schedule::CONSTANT;
  else if (s == "cosine") *out = Schedule::COSINE;
  else if (s == "step") *out = Schedule::STEP;
  else return false;
  return true;
}
const char* optimizer_name(Optimizer o) {
  return o == Optimizer::ADAM ? "adam" : o == Optimizer::ADAMW ? "adamw" : "sgd";
}
const char* schedule_name(Schedule s) {
  return s == Schedule::CONSTANT ? "constant" : s == Schedule::COSINE ? "cosine" : "step";
}

Status train_config_validate(const HeadConfig& h, const TrainConfig& t) {
  for (int u : h.hidden)
    if (u < 1 || u > 65536) return MORSEL_ERROR(INVALID_ARGUMENT, "hidden size %d is out of range", u);
  if (!(h.dropout >= 0 && h.dropout < 1))
    return MORSEL_ERROR(INVALID_ARGUMENT, "dropout %g must be in [0, 1)", h.dropout);
  if (t.epochs < 1 || t.epochs > 100000) return MORSEL_ERROR(INVALID_ARGUMENT, "epochs must be >= 1");
  if (t.batch_size < 1 || t.batch_size > 65536)
    return MORSEL_ERROR(INVALID_ARGUMENT, "batch size %d is out of range", t.batch_size);
  if (!(t.lr > 0 && t.lr < 100)) return MORSEL_ERROR(INVALID_ARGUMENT, "learning rate %g must be > 0", t.lr);
  if (!(t.weight_decay >= 0 && t.weight_decay < 10))
    return MORSEL_ERROR(INVALID_ARGUMENT, "weight decay %g must be in [0, 10)", t.weight_decay);
  if (!(t.momentum >= 0 && t.momentum < 1))
    return MORSEL_ERROR(INVALID_ARGUMENT, "momentum %g must be in [0, 1)", t.momentum);
  if (!(t.label_smoothing >= 0 && t.label_smoothing < 1))
    return MORSEL_ERROR(INVALID_ARGUMENT, "label smoothing %g must be in [0, 1)", t.label_smoothing);
  if (t.step_epochs < 1 || !(t.step_gamma > 0 && t.step_gamma <= 1))
    return MORSEL_ERROR(INVALID_ARGUMENT, "step schedule needs step epochs >= 1 and gamma in (0, 1]");
  if (t.patience < 0) return MORSEL_ERROR(INVALID_ARGUMENT, "patience must be >= 0");
  return Status();
}

namespace {

// c[0..n) (+)= sum_k a[k] * B[k][0..n) for 4 rows at a time: C[m][n] = A[m][k] B[k][n].
MORSEL_MULTIVERSION
void gemm_rows(int64_t m0, int64_t m1, int64_t K, int64_t N, const float* A, int64_t lda,
               const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  for (int64_t i = m0; i < m1; i++) {
    float* c = C + i * ldc;
    if (!accumulate) std::memset(c, 0, sizeof(float) * static_cast<size_t>(N));
    const float* a = A + i * lda;
    for (int64_t k = 0; k < K; k++) {
      const float av = a[k];
      if (av == 0) continue;  // ReLU outputs and dropout leave many zeros
      const float* b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) c[j] += av * b[j];
    }
  }
}

void gemm(ThreadPool& pool, int64_t M, int64_t K, int64_t N, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  const int64_t tasks = std::min<int64_t>(M, pool.threads() * 4);
  pool.parallel_for(tasks, [&](int64_t t, int) {
    gemm_rows(M * t / tasks, M * (t + 1) / tasks, K, N, A, lda, B, ldb, C, ldc, accumulate);
  });
}

// out[c][r] = in[r][c], in [rows][cols].
void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
  for (int64_t r0 = 0; r0 < rows; r0 += 32)
    for (int64_t c0 = 0; c0 < cols; c0 += 32)
      for (int64_t r = r0; r < std::min(rows, r0 + 32); r++)
        for (int64_t c = c0; c < std::min(cols, c0 + 32); c++) out[c * rows + r] = in[r * cols + c];
}

// Activations of one mini-batch.
struct Pass {
  std::vector<std::vector<float>> a;     // a[0] standardized input, a[l] output of layer l
  std::vector<std::vector<uint8_t>> keep;  // dropout masks of hidden layers
};

void forward(ThreadPool& pool, const Head& h, const float* x, int64_t n, float dropout, Rng* rng,
             Pass* p) {
  const size_t L = h.layers.size();
  p->a.resize(L + 1);
  p->keep.resize(L);
  const int64_t d = h.input_dim();
  p->a[0].resize(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < d; k++)
      p->a[0][static_cast<size_t>(i * d + k)] =
          (x[i * d + k] - h.mean[static_cast<size_t>(k)]) * h.inv_std[static_cast<size_t>(k)];
  for (size_t l = 0; l < L; l++) {
    const DenseLayer& ly = h.layers[l];
    std::vector<float>& z = p->a[l + 1];
    z.resize(static_cast<size_t>(n * ly.out));
    for (int64_t i = 0; i < n; i++)
      std::memcpy(z.data() + i * ly.out, ly.b.data(), sizeof(float) * static_cast<size_t>(ly.out));
    gemm(pool, n, ly.in, ly.out, p->a[l].data(), ly.in, ly.w.data(), ly.out, z.data(), ly.out, true);
    if (l + 1 == L) break;
    // ReLU, then inverted dropout (kept units scaled by 1/(1-p)).
    std::vector<uint8_t>& keep = p->keep[l];
    keep.assign(z.size(), 1);
    const float scale = rng ? 1.0f / (1.0f - dropout) : 1.0f;
    for (size_t i = 0; i < z.size(); i++) {
      if (z[i] < 0) z[i] = 0;
      if (rng && dropout > 0) {
        if (rng->uniform() < dropout) {
          keep[i] = 0;
          z[i] = 0;
        } else {
          z[i] *= scale;
        }
      }
    }
  }
}

// Softmax in place over rows of logits [n][c]; returns the summed cross-entropy against the
// smoothed targets and counts correct top-1 in *correct. If dlogits, writes (p - q) / n.
double softmax_xent(float* logits, const int* y, int64_t n, int64_t c, float eps,
                    float* dlogits, int64_t* correct) {
  double loss = 0;
  for (int64_t i = 0; i < n; i++) {
    float* z = logits + i * c;
    int64_t arg = 0;
    for (int64_t j = 1; j < c; j++)
      if (z[j] > z[arg]) arg = j;
    if (correct && arg == y[i]) (*correct)++;
    const float m = z[arg];
    double sum = 0;
    for (int64_t j = 0; j < c; j++) sum += std::exp(static_cast<double>(z[j] - m));
    const double lse = std::log(sum) + m;
    for (int64_t j = 0; j < c; j++) {
      const double q = (j == y[i] ? 1.0 - eps : 0.0) + eps / static_cast<double>(c);
      const double logp = z[j] - lse;
      loss -= q * logp;
      if (dlogits) dlogits[i * c + j] = static_cast<float>((std::exp(logp) - q) / static_cast<double>(n));
    }
  }
  return loss;
}

// Gradients of the mean loss for one batch given a forward pass (dropout masks included).
void backward(ThreadPool& pool, const Head& h, Pass& p, const int* y, int64_t n, float eps,
              float dropout, bool dropped, Head* g, double* loss, int64_t* correct) {
  const size_t L = h.layers.size();
  std::vector<float> dz(p.a[L].size());
  std::vector<float> logits = p.a[L];
  *loss = softmax_xent(logits.data(), y, n, h.classes(), eps, dz.data(), correct);
  std::vector<float> at, wt, da;
  for (size_t l = L; l-- > 0;) {
    const DenseLayer& ly = h.layers[l];
    DenseLayer& gl = g->layers[l];
    // dW = a^T dz, db = sum dz.
    at.resize(static_cast<size_t>(n * ly.in));
    transpose(p.a[l].data(), n, ly.in, at.data());
    gemm(pool, ly.in, n, ly.out, at.data(), n, dz.data(), ly.out, gl.w.data(), ly.out, false);
    std::fill(gl.b.begin(), gl.b.end(), 0.0f);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < ly.out; j++) gl.b[static_cast<size_t>(j)] += dz[static_cast<size_t>(i * ly.out + j)];
    if (l == 0) break;
    // da = dz W^T, then through dropout and ReLU of layer l-1's output.
    wt.resize(static_cast<size_t>(ly.in * ly.out));
    transpose(ly.w.data(), ly.in, ly.out, wt.data());
    da.resize(static_cast<size_t>(n * ly.in));
    gemm(pool, n, ly.out, ly.in, dz.data(), ly.out, wt.data(), ly.in, da.data(), ly.in, false);
    const std::vector<float>& act = p.a[l];
    const std::vector<uint8_t>& keep = p.keep[l - 1];
    const float scale = dropped ? 1.0f / (1.0f - dropout) : 1.0f;
    for (size_t i = 0; i < da.size(); i++)
      da[i] = (act[i] > 0 && keep[i]) ? da[i] * scale : 0.0f;
    dz.swap(da);
  }
}

Head zeros_like(const Head& h) {
  Head g;
  for (const DenseLayer& l : h.layers) {
    DenseLayer z;
    z.in = l.in;
    z.out = l.out;
    z.w.assign(l.w.size(), 0.0f);
    z.b.assign(l.b.size(), 0.0f);
    g.layers.push_back(std::move(z));
  }
  return g;
}

// Loss and top-1 accuracy of `h` on rows (no dropout).
void evaluate(ThreadPool& pool, const Head& h, const Features& f, float eps, double* loss,
              double* acc) {
  const int64_t bs = 1024;
  double total = 0;
  int64_t correct = 0;
  Pass p;
  for (int64_t r0 = 0; r0 < static_cast<int64_t>(f.rows()); r0 += bs) {
    const int64_t n = std::min<int64_t>(bs, static_cast<int64_t>(f.rows()) - r0);
    forward(pool, h, f.row(static_cast<size_t>(r0)), n, 0, nullptr, &p);
    total += softmax_xent(p.a.back().data(), f.label.data() + r0, n, h.classes(), eps, nullptr, &correct);
  }
  *loss = f.rows() ? total / static_cast<double>(f.rows()) : 0;
  *acc = f.rows() ? static_cast<double>(correct) / static_cast<double>(f.rows()) : 0;
}

}  // namespace

void Head::predict(const float* x, int64_t n, float* probs, int threads) const {
  ThreadPool pool(std::max(1, threads));
  Pass p;
  const int64_t c = classes();
  for (int64_t r0 = 0; r0 < n; r0 += 1024) {
    const int64_t m = std::min<int64_t>(1024, n - r0);
    forward(pool, *this, x + r0 * input_dim(), m, 0, nullptr, &p);
    for (int64_t i = 0; i < m; i++) {
      const float* z = p.a.back().data() + i * c;
      float* out = probs + (r0 + i) * c;
      const float mx = *std::max_element(z, z + c);
      double sum = 0;
      for (int64_t j = 0; j < c; j++) sum += std::exp(static_cast<double>(z[j] - mx));
      for (int64_t j = 0; j < c; j++) out[j] = static_cast<float>(std::exp(static_cast<double>(z[j] - mx)) / sum);
    }
  }
}

Head head_init(int dim, int classes, const HeadConfig& hc, const float* x, int64_t n, uint64_t seed) {
  Head h;
  h.mean.assign(static_cast<size_t>(dim), 0.0f);
  h.inv_std.assign(static_cast<size_t>(dim), 1.0f);
  if (n > 0) {
    std::vector<double> s(static_cast<size_t>(dim), 0), s2(static_cast<size_t>(dim), 0);
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < dim; k++) {
        const double v = x[i * dim + k];
        s[static_cast<size_t>(k)] += v;
        s2[static_cast<size_t>(k)] += v * v;
      }
    for (int k = 0; k < dim; k++) {
      const double m = s[static_cast<size_t>(k)] / static_cast<double>(n);
      const double var = std::max(0.0, s2[static_cast<size_t>(k)] / static_cast<double>(n) - m * m);
      h.mean[static_cast<size_t>(k)] = static_cast<float>(m);
      // Constant features (std ~ 0) are left unscaled rather than blown up.
      h.inv_std[static_cast<size_t>(k)] = var > 1e-8 ? static_cast<float>(1.0 / std::sqrt(var)) : 1.0f;
    }
  }
  Rng rng(seed_mix(seed, 0x68656164));
  int in = dim;
  std::vector<int> sizes = hc.hidden;
  sizes.push_back(classes);
  for (size_t l = 0; l < sizes.size(); l++) {
    DenseLayer ly;
    ly.in = in;
    ly.out = sizes[l];
    // He (ReLU layers) and Glorot (the output layer) normal initialization.
    const bool last = l + 1 == sizes.size();
    const float sd = last ? std::sqrt(2.0f / static_cast<float>(in + ly.out))
                          : std::sqrt(2.0f / static_cast<float>(in));
    ly.w.resize(static_cast<size_t>(in) * static_cast<size_t>(ly.out));
    for (float& w : ly.w) w = sd * rng.normal();
    ly.b.assign(static_cast<size_t>(ly.out), 0.0f);
    h.layers.push_back(std::move(ly));
    in = sizes[l];
  }
  return h;
}

double head_loss_and_grad(const Head& head, const float* x, const int* y, int64_t n, float eps,
                          Head* grad) {
  ThreadPool pool(1);
  Pass p;
  forward(pool, head, x, n, 0, nullptr, &p);
  *grad = zeros_like(head);
  double loss = 0;
  backward(pool, head, p, y, n, eps, 0, false, grad, &loss, nullptr);
  return loss / static_cast<double>(n);
}

Result<Head> train_head(const Features& train, const Features* val, int classes,
                        const HeadConfig& hc, const TrainConfig& tc, TrainReport* report,
                        const std::function<void(const EpochLog&)>& on_epoch) {
  using clock = std::chrono::steady_clock;
  const auto t_start = clock::now();
  MORSEL_RETURN_IF_ERROR(train_config_validate(hc, tc));
  if (train.rows() == 0) return MORSEL_ERROR(INVALID_ARGUMENT, "no training samples");
  for (int l : train.label)
    if (l < 0 || l >= classes) return MORSEL_ERROR(INVALID_ARGUMENT, "label %d out of range", l);
  const int dim = static_cast<int>(train.dim);
  ThreadPool pool(tc.threads > 0 ? tc.threads : physical_cores());
  Head h = head_init(dim, classes, hc, train.data.data(), static_cast<int64_t>(train.rows()), tc.seed);
  Head grad = zeros_like(h), m1 = zeros_like(h), m2 = zeros_like(h);
  Head best = h;
  TrainReport rep;
  double best_acc = -1, best_loss = 1e300;
  int since_best = 0;

  const int64_t rows = static_cast<int64_t>(train.rows());
  const int64_t bs = std::min<int64_t>(tc.batch_size, rows);
  const int64_t steps_per_epoch = (rows + bs - 1) / bs;
  const int64_t total_steps = steps_per_epoch * tc.epochs;
  std::vector<size_t> order(static_cast<size_t>(rows));
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::vector<float> xb;
  std::vector<int> yb;
  Pass p;
  int64_t step = 0;
  const float b1 = 0.9f, b2 = 0.999f, adam_eps = 1e-8f;

  for (int epoch = 1; epoch <= tc.epochs; epoch++) {
    const auto t_epoch = clock::now();
    Rng rng(seed_mix(tc.seed, static_cast<uint64_t>(epoch)));
    rng.shuffle(order.data(), order.size());
    double loss_sum = 0;
    int64_t correct = 0;
    double lr = tc.lr;
    for (int64_t s = 0; s < steps_per_epoch; s++, step++) {
      const int64_t r0 = s * bs, n = std::min(bs, rows - r0);
      xb.resize(static_cast<size_t>(n * dim));
      yb.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) {
        const size_t r = order[static_cast<size_t>(r0 + i)];
        std::memcpy(xb.data() + i * dim, train.row(r), sizeof(float) * static_cast<size_t>(dim));
        yb[static_cast<size_t>(i)] = train.label[r];
      }
      switch (tc.schedule) {
        case Schedule::CONSTANT: lr = tc.lr; break;
        case Schedule::COSINE:
          lr = tc.lr * 0.5 * (1 + std::cos(3.14159265358979 * static_cast<double>(step) /
                                           static_cast<double>(total_steps)));
          break;
        case Schedule::STEP:
          lr = tc.lr * std::pow(tc.step_gamma, (epoch - 1) / tc.step_epochs);
          break;
      }
      const bool drop = hc.dropout > 0;
      forward(pool, h, xb.data(), n, hc.dropout, drop ? &rng : nullptr, &p);
      double loss = 0;
      backward(pool, h, p, yb.data(), n, tc.label_smoothing, hc.dropout, drop, &grad, &loss, &correct);
      loss_sum += loss;
      // Update.
      const double bc1 = 1 - std::pow(b1, static_cast<double>(step + 1));
      const double bc2 = 1 - std::pow(b2, static_cast<double>(step + 1));
      for (size_t l = 0; l < h.layers.size(); l++) {
        auto update = [&](std::vector<float>& w, std::vector<float>& g, std::vector<float>& m,
                          std::vector<float>& v, bool decay) {
          const float wd = decay ? tc.weight_decay : 0.0f;
          const float flr = static_cast<float>(lr);
          if (tc.optimizer == Optimizer::SGD) {
            for (size_t i = 0; i < w.size(); i++) {
              const float gi = g[i] + wd * w[i];
              m[i] = tc.momentum * m[i] + gi;
              w[i] -= flr * m[i];
            }
            return;
          }
          const bool decoupled = tc.optimizer == Optimizer::ADAMW;
          const float c1 = static_cast<float>(1 / bc1), c2 = static_cast<float>(1 / bc2);
          for (size_t i = 0; i < w.size(); i++) {
            const float gi = decoupled ? g[i] : g[i] + wd * w[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            float upd = (m[i] * c1) / (std::sqrt(v[i] * c2) + adam_eps);
            if (decoupled) upd += wd * w[i];
            w[i] -= flr * upd;
          }
        };
        update(h.layers[l].w, grad.layers[l].w, m1.layers[l].w, m2.layers[l].w, true);
        update(h.layers[l].b, grad.layers[l].b, m1.layers[l].b, m2.layers[l].b, false);
      }
    }
    EpochLog log;
    log.epoch = epoch;
    log.lr = lr;
    log.train_loss = loss_sum / static_cast<double>(rows);
    log.train_acc = static_cast<double>(correct) / static_cast<double>(rows);
    bool improved = true;
    if (val && val->rows() > 0) {
      log.has_val = true;
      evaluate(pool, h, *val, 0, &log.val_loss, &log.val_acc);
      improved = log.val_acc > best_acc || (log.val_acc == best_acc && log.val_loss < best_loss);
    }
    if (improved) {
      best = h;
      best_acc = log.val_acc;
      best_loss = log.val_loss;
      rep.best_epoch = epoch;
      since_best = 0;
      log.best = true;
    } else {
      since_best++;
    }
    log.seconds = std::chrono::duration<double>(clock::now() - t_epoch).count();
    rep.epochs.push_back(log);
    if (on_epoch) on_epoch(log);
    if (log.has_val && tc.patience > 0 && since_best >= tc.patience) {
      rep.stopped_early = epoch < tc.epochs;
      break;
    }
  }
  rep.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
  if (report) *report = std::move(rep);
  return best;
}

}  // namespace morsel::train
