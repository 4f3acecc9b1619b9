// Turning a trained head into a deployable model, and the evaluation metrics that `morsel train`
// and `morsel eval` report (top-k accuracy, per-class precision/recall, confusion matrix).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "format/model.h"
#include "train/features.h"
#include "train/head.h"

namespace morsel::train {

// backbone (cut) + head (standardization folded into the first Dense) + Softmax, with the
// backbone's preprocessing and `classes` as labels; provenance "morsel-train".
Result<Model> build_trained_model(const Backbone& backbone, const Head& head,
                                  const std::vector<std::string>& classes, const std::string& name,
                                  const std::string& description);

// Accumulates predictions against labels.
class Metrics {
 public:
  explicit Metrics(int classes, int k = 5);
  // probs [classes] of one sample whose true class is `label`.
  void add(const float* probs, int label);
  int classes() const { return classes_; }
  int k() const { return k_; }
  int64_t count() const { return n_; }
  double top1() const { return n_ ? double(top1_) / double(n_) : 0; }
  double topk() const { return n_ ? double(topk_) / double(n_) : 0; }
  int64_t confusion(int truth, int pred) const {
    return confusion_[static_cast<size_t>(truth) * static_cast<size_t>(classes_) + static_cast<size_t>(pred)];
  }
  double precision(int c) const;  // of predictions of class c, the fraction that were c (0 if none)
  double recall(int c) const;     // of samples of class c, the fraction predicted c
  int64_t support(int c) const;   // samples of class c

  // A text report: per-class precision / recall / F1 / support, then the confusion matrix.
  std::string report(const std::vector<std::string>& names) const;
  // The confusion matrix as an RGB image: one cell per (truth row, predicted column), shaded by
  // the row-normalized count, cells of `cell` pixels.
  Image confusion_image(int cell = 16) const;

 private:
  int classes_, k_;
  int64_t n_ = 0, top1_ = 0, topk_ = 0;
  std::vector<int64_t> confusion_;
};

// Mean and sample standard deviation.
void mean_sd(const std::vector<double>& v, double* mean, double* sd);

}  // namespace morsel::train
