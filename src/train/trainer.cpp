// Trained model assembly and evaluation metrics (trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace morsel::train {

Result<Model> build_trained_model(const Backbone& bb, const Head& head,
                                  const std::vector<std::string>& classes, const std::string& name,
                                  const std::string& description) {
  if (head.layers.empty() || head.input_dim() != bb.dim)
    return MORSEL_ERROR(INVALID_ARGUMENT, "head takes %d features, backbone gives %lld",
                        head.input_dim(), (long long)bb.dim);
  if (static_cast<size_t>(head.classes()) != classes.size())
    return MORSEL_ERROR(INVALID_ARGUMENT, "head has %d outputs for %zu classes", head.classes(),
                        classes.size());
  Model m = *bb.model;
  Graph& g = m.graph;
  int x = g.outputs.at(0);
  for (size_t l = 0; l < head.layers.size(); l++) {
    const DenseLayer& ly = head.layers[l];
    Tensor w(DType::F32, {ly.in, ly.out});
    Tensor b(DType::F32, {ly.out});
    float* wp = w.mut<float>();
    float* bp = b.mut<float>();
    std::memcpy(wp, ly.w.data(), ly.w.size() * sizeof(float));
    std::memcpy(bp, ly.b.data(), ly.b.size() * sizeof(float));
    if (l == 0) {
      // ((x - mean) * inv_std) W + b = x (inv_std . W) + (b - (mean * inv_std) W)
      for (int k = 0; k < ly.in; k++) {
        const float s = head.inv_std[static_cast<size_t>(k)], mu = head.mean[static_cast<size_t>(k)];
        for (int j = 0; j < ly.out; j++) {
          const float wkj = ly.w[static_cast<size_t>(k) * ly.out + j];
          wp[static_cast<size_t>(k) * ly.out + j] = wkj * s;
          bp[j] -= mu * s * wkj;
        }
      }
    }
    const bool last = l + 1 == head.layers.size();
    const std::string base = last ? "head/logits" : "head/dense_" + std::to_string(l + 1);
    const int wi = g.add_const(base + "/kernel", std::move(w));
    const int bi = g.add_const(base + "/bias", std::move(b));
    Attrs a;
    a.set("act", std::string(last ? "none" : "relu"));
    x = g.add_node(OpType::DENSE, base, {x, wi, bi}, a, base);
  }
  Attrs sa;
  sa.set("axis", int64_t{-1});
  x = g.add_node(OpType::SOFTMAX, "head/probabilities", {x}, sa, "probabilities");
  g.outputs = {x};
  MORSEL_RETURN_IF_ERROR(g.infer_shapes());
  m.meta.name = name;
  m.meta.labels = classes;
  m.meta.description = description;
  Provenance p;
  p.source_format = "morsel-train";
  p.source = bb.model->meta.name.empty() ? "backbone" : bb.model->meta.name;
  m.meta.provenance = p;
  return m;
}

Metrics::Metrics(int classes, int k)
    : classes_(classes), k_(std::max(1, std::min(k, classes))),
      confusion_(static_cast<size_t>(classes) * static_cast<size_t>(classes), 0) {}

void Metrics::add(const float* probs, int label) {
  int pred = 0;
  for (int j = 1; j < classes_; j++)
    if (probs[j] > probs[pred]) pred = j;
  // Rank of the true class: classes scoring strictly higher, plus ties at lower indices.
  int rank = 0;
  for (int j = 0; j < classes_; j++)
    if (probs[j] > probs[label] || (probs[j] == probs[label] && j < label)) rank++;
  n_++;
  if (pred == label) top1_++;
  if (rank < k_) topk_++;
  confusion_[static_cast<size_t>(label) * static_cast<size_t>(classes_) + static_cast<size_t>(pred)]++;
}

int64_t Metrics::support(int c) const {
  int64_t s = 0;
  for (int j = 0; j < classes_; j++) s += confusion(c, j);
  return s;
}

double Metrics::precision(int c) const {
  int64_t col = 0;
  for (int t = 0; t < classes_; t++) col += confusion(t, c);
  return col ? double(confusion(c, c)) / double(col) : 0;
}

double Metrics::recall(int c) const {
  const int64_t s = support(c);
  return s ? double(confusion(c, c)) / double(s) : 0;
}

std::string Metrics::report(const std::vector<std::string>& names) const {
  std::string out;
  char buf[256];
  size_t w = 5;
  for (auto& n : names) w = std::max(w, std::min<size_t>(n.size(), 28));
  std::snprintf(buf, sizeof buf, "%-*s  precision  recall     f1  support\n", int(w), "class");
  out += buf;
  for (int c = 0; c < classes_; c++) {
    const double p = precision(c), r = recall(c), f = p + r > 0 ? 2 * p * r / (p + r) : 0;
    const std::string n = c < int(names.size()) ? names[c].substr(0, 28) : std::to_string(c);
    std::snprintf(buf, sizeof buf, "%-*s  %9.3f  %6.3f  %5.3f  %7lld\n", int(w), n.c_str(), p, r, f,
                  (long long)support(c));
    out += buf;
  }
  out += "\nconfusion matrix (rows: true class, columns: predicted, in class order)\n";
  int cw = 4;
  for (int64_t v : confusion_) cw = std::max(cw, int(std::to_string(v).size()) + 1);
  for (int t = 0; t < classes_; t++) {
    const std::string n = t < int(names.size()) ? names[t].substr(0, 28) : std::to_string(t);
    std::snprintf(buf, sizeof buf, "%-*s ", int(w), n.c_str());
    out += buf;
    for (int p = 0; p < classes_; p++) {
      std::snprintf(buf, sizeof buf, "%*lld", cw, (long long)confusion(t, p));
      out += buf;
    }
    out += "\n";
  }
  return out;
}

Image Metrics::confusion_image(int cell) const {
  Image img;
  const int border = 1;
  img.width = img.height = classes_ * cell + 2 * border;
  img.rgb.assign(static_cast<size_t>(img.width) * img.height * 3, 255);
  for (int t = 0; t < classes_; t++) {
    const int64_t s = support(t);
    for (int p = 0; p < classes_; p++) {
      const double frac = s ? double(confusion(t, p)) / double(s) : 0;
      // Diagonal in blue, errors in red; white = 0, full colour = the whole row.
      const uint8_t r = static_cast<uint8_t>(std::lround(255 * (1 - (t == p ? 0.85 : 0.15) * frac)));
      const uint8_t g = static_cast<uint8_t>(std::lround(255 * (1 - 0.85 * frac)));
      const uint8_t b = static_cast<uint8_t>(std::lround(255 * (1 - (t == p ? 0.15 : 0.85) * frac)));
      for (int y = 0; y < cell; y++) {
        for (int x = 0; x < cell; x++) {
          const bool grid = x == 0 || y == 0;
          uint8_t* px = img.rgb.data() + (static_cast<size_t>(border + t * cell + y) * img.width +
                                          static_cast<size_t>(border + p * cell + x)) * 3;
          px[0] = grid ? 200 : r;
          px[1] = grid ? 200 : g;
          px[2] = grid ? 200 : b;
        }
      }
    }
  }
  return img;
}

void mean_sd(const std::vector<double>& v, double* mean, double* sd) {
  double s = 0;
  for (double x : v) s += x;
  *mean = v.empty() ? 0 : s / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - *mean) * (x - *mean);
  *sd = v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0;
}

}  // namespace morsel::train
