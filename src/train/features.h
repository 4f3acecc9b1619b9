// Backbone features for transfer learning: a classifier cut at a named tensor, run over a
// dataset once (batched, all threads, progress with ETA), with every vector cached on disk.
// Cache key = (backbone hash, image content hash, view), where view 0 is the plain image and
// view v >= 1 the v-th augmented copy (augmentation parameters and seed are part of the key).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "format/model.h"
#include "image/augment.h"
#include "train/dataset.h"

namespace morsel::train {

struct Backbone {
  std::shared_ptr<const Model> model;  // graph output: the features, [N, dim]
  std::string cut;                     // name of the tensor the features come from
  int64_t dim = 0;
  uint64_t hash = 0;  // of the cut graph's structure and weights, and the preprocessing
};

// The default cut: the input of the classifier head, i.e. of the first of the Dense / Softmax /
// Identity / Reshape nodes that end the graph (the pooled features in Keras and torchvision
// classifiers). Empty if the graph does not end that way.
std::string default_cut(const Graph& g);

// `model` cut at `cut` (empty: default_cut): one tensor name, or several separated by commas
// whose features are concatenated in that order. A rank-4 [N,H,W,C] tensor is
// global-average-pooled to [N,C]; [N,1,1,C] and [N,C] are used as they are. "name@G" pools a
// rank-4 tensor to a G x G grid instead ([N, G*G*C], H and W divisible by G), which keeps the
// coarse layout of the image. Errors name the tensor.
Result<Backbone> make_backbone(const Model& model, const std::string& cut);

struct FeatureOptions {
  int threads = 0;      // 0: physical cores
  int batch = 16;       // images per engine run
  std::string cache_dir;  // empty: no cache
  bool progress = true;   // a progress line with ETA on stderr
  AugmentParams augment;
  uint64_t augment_seed = 1;
};

// Feature rows, one per (sample, view) that could be loaded.
struct Features {
  int64_t dim = 0;
  std::vector<float> data;      // rows x dim
  std::vector<size_t> sample;   // dataset sample index of each row
  std::vector<int> view;        // 0 plain, >= 1 augmented copy
  std::vector<int> label;
  size_t rows() const { return sample.size(); }
  const float* row(size_t r) const { return data.data() + r * static_cast<size_t>(dim); }
};

struct FeatureStats {
  int64_t computed = 0, cached = 0;
  double seconds = 0;
  std::vector<std::string> skipped;  // "path: reason" for samples that could not be loaded
};

// Features of `indices` (all samples when empty) for views 0..views-1.
Result<Features> compute_features(const Backbone& backbone, const Dataset& data,
                                  const std::vector<size_t>& indices, int views,
                                  const FeatureOptions& options, FeatureStats* stats);

}  // namespace morsel::train
