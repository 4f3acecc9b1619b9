// Classifier: a loaded Model + a Session + the model's own preprocessing. pixels in, top-k out.
// The CLI, the server, the C API and the WASM build all classify through this one class, so
// the same image gets the same answer everywhere.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "format/model.h"
#include "image/preprocess.h"
#include "runtime/session.h"

namespace morsel {

struct Prediction {
  int index = 0;
  float score = 0;    // probability (softmax output, or softmax applied to logits)
  std::string label;  // "class_<index>" when the model has no labels
};

struct ClassifyTimings {
  double preprocess_ms = 0;
  double inference_ms = 0;
};

// The k best entries of scores[0..n), highest first; ties keep the lower index first.
std::vector<Prediction> top_k(const float* scores, int n, int k,
                              const std::vector<std::string>& labels);

class Classifier {
 public:
  // Checks that the model is a classifier: one NHWC input with 3 channels whose H, W match
  // the preprocessing, one [N, classes] output, and labels (if any) matching the classes.
  static Result<std::unique_ptr<Classifier>> create(std::shared_ptr<const Model> model,
                                                    SessionOptions options = {});

  // Preprocesses `pixels` (3 = RGB or 4 = RGBA channels, `stride` bytes per row) as the model
  // file says and runs the model.
  Result<std::vector<Prediction>> classify(const uint8_t* pixels, int width, int height,
                                           int channels, int64_t stride, int k,
                                           ClassifyTimings* timings = nullptr);
  Result<std::vector<Prediction>> classify(const Image& img, int k,
                                           ClassifyTimings* timings = nullptr) {
    return classify(img.rgb.data(), img.width, img.height, 3, int64_t{img.width} * 3, k, timings);
  }
  // Runs a batch of already preprocessed inputs [N,H,W,3]; returns [N, classes] probabilities.
  Result<Tensor> run_batch(const Tensor& input);

  // The model's input tensor for one image (exactly what classify() feeds the model).
  Result<Tensor> preprocess_image(const uint8_t* pixels, int width, int height, int channels,
                                  int64_t stride) const;

  const Model& model() const { return *model_; }
  int num_classes() const { return num_classes_; }
  Session& session() { return *session_; }

 private:
  Classifier() = default;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  int num_classes_ = 0;
  bool outputs_probabilities_ = true;  // false: apply softmax to the output logits
};

}  // namespace morsel
