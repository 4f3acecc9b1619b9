// The classifier head trained on backbone features: Dense layers with ReLU and dropout, then a
// Dense to the classes; softmax cross-entropy with optional label smoothing; Adam, AdamW or SGD
// with momentum; weight decay; cosine or step learning-rate schedule; mini-batches; early
// stopping on a validation set (the best epoch's weights are kept). Seeded: the same inputs and
// seed give the same weights for any thread count (each output row is computed by one thread).
//
// Features are standardized with the training set's mean and std; export folds that into the
// first layer, so the saved model takes raw features.
// Fine-tuning backbone blocks later means one more product in the backward pass (the gradient
// at the features) and back-propagating it into the backbone's last nodes; the head keeps no
// state outside Head and the optimizer moments.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/features.h"

namespace morsel::train {

enum class Optimizer { ADAM, ADAMW, SGD };
enum class Schedule { CONSTANT, COSINE, STEP };
bool optimizer_from_name(const std::string& s, Optimizer* out);  // "adam", "adamw", "sgd"
bool schedule_from_name(const std::string& s, Schedule* out);    // "constant", "cosine", "step"
const char* optimizer_name(Optimizer o);
const char* schedule_name(Schedule s);

struct HeadConfig {
  std::vector<int> hidden;  // hidden layer sizes; empty = a linear (softmax regression) head
  float dropout = 0.2f;     // on each hidden layer's output while training
};

struct TrainConfig {
  int epochs = 30;
  int batch_size = 64;
  float lr = 1e-3f;
  Optimizer optimizer = Optimizer::ADAM;
  float weight_decay = 0;  // L2 for Adam/SGD, decoupled for AdamW; weights only, not biases
  float momentum = 0.9f;   // SGD
  float label_smoothing = 0;
  Schedule schedule = Schedule::COSINE;
  int step_epochs = 10;    // STEP: multiply by step_gamma every step_epochs
  float step_gamma = 0.1f;
  int patience = 5;        // stop after this many epochs without a better validation score (0: off)
  uint64_t seed = 1;
  int threads = 0;         // 0: physical cores
};

Status train_config_validate(const HeadConfig& h, const TrainConfig& t);

// A Dense layer: y = x W + b, W [in][out] row-major (the engine's DENSE layout).
struct DenseLayer {
  int in = 0, out = 0;
  std::vector<float> w, b;
};

struct Head {
  std::vector<float> mean, inv_std;  // feature standardization (size = input dim)
  std::vector<DenseLayer> layers;    // ReLU after every layer but the last
  int input_dim() const { return layers.empty() ? 0 : layers.front().in; }
  int classes() const { return layers.empty() ? 0 : layers.back().out; }
  // Class probabilities for n rows of raw features x [n][input_dim] -> probs [n][classes].
  void predict(const float* x, int64_t n, float* probs, int threads = 1) const;
};

// A new head with He-initialized weights (seeded) and the standardization of `x` [n][dim].
Head head_init(int dim, int classes, const HeadConfig& h, const float* x, int64_t n, uint64_t seed);

// Mean cross-entropy (with label smoothing `eps`) of the head on x [n][dim] (raw features) and
// its gradient w.r.t. every weight and bias (into *grad, same shapes; no dropout). For tests
// (finite-difference check) and for fine-tuning.
double head_loss_and_grad(const Head& head, const float* x, const int* y, int64_t n, float eps,
                          Head* grad);

struct EpochLog {
  int epoch = 0;  // 1-based
  double lr = 0, train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0, seconds = 0;
  bool has_val = false, best = false;
};

struct TrainReport {
  std::vector<EpochLog> epochs;
  int best_epoch = 0;
  double seconds = 0;
  bool stopped_early = false;
};

// Trains on `train` rows (all views), validates on `val` rows (view 0 only) when given.
Result<Head> train_head(const Features& train, const Features* val, int classes,
                        const HeadConfig& h, const TrainConfig& t, TrainReport* report,
                        const std::function<void(const EpochLog&)>& on_epoch = {});

}  // namespace morsel::train
