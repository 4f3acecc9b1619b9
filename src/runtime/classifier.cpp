// Classifier implementation: validation, preprocessing, top-k.
#include "runtime/classifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace morsel {

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

std::vector<Prediction> top_k(const float* scores, int n, int k,
                              const std::vector<std::string>& labels) {
  std::vector<int> idx(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) idx[static_cast<size_t>(i)] = i;
  k = std::max(0, std::min(k, n));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  std::vector<Prediction> out;
  for (int i = 0; i < k; i++) {
    Prediction p;
    p.index = idx[static_cast<size_t>(i)];
    p.score = scores[p.index];
    p.label = static_cast<size_t>(p.index) < labels.size() ? labels[static_cast<size_t>(p.index)]
                                                           : "class_" + std::to_string(p.index);
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::unique_ptr<Classifier>> Classifier::create(std::shared_ptr<const Model> model,
                                                       SessionOptions options) {
  if (!model) return MORSEL_ERROR(INVALID_ARGUMENT, "no model");
  const Graph& g = model->graph;
  const PreprocessSpec& pp = model->meta.preprocess;
  MORSEL_RETURN_IF_ERROR(preprocess_spec_validate(pp));
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    return MORSEL_ERROR(UNSUPPORTED, "a classifier has one input and one output; this model has "
                        "%zu and %zu", g.inputs.size(), g.outputs.size());
  const Shape& in = g.values[static_cast<size_t>(g.inputs[0])].shape;
  if (in.size() != 4 || in[3] != 3)
    return MORSEL_ERROR(UNSUPPORTED, "classifier input must be [N,H,W,3], got %s",
                        shape_str(in).c_str());
  if (in[1] != pp.height || in[2] != pp.width)
    return MORSEL_ERROR(INVALID_MODEL, "input %s does not match the preprocessing size %lldx%lld",
                        shape_str(in).c_str(), (long long)pp.height, (long long)pp.width);
  std::unique_ptr<Classifier> c(new Classifier());
  c->model_ = model;
  std::shared_ptr<const Graph> graph(model, &model->graph);  // shares ownership of the model
  MORSEL_ASSIGN_OR_RETURN(c->session_, Session::create(graph, options));
  MORSEL_RETURN_IF_ERROR(c->session_->prepare(1));
  const Shape& out = c->session_->output_shape(0);
  if (out.size() != 2 || out[1] < 1)
    return MORSEL_ERROR(UNSUPPORTED, "classifier output must be [N,classes], got %s",
                        shape_str(out).c_str());
  c->num_classes_ = static_cast<int>(out[1]);
  if (!model->meta.labels.empty() &&
      model->meta.labels.size() != static_cast<size_t>(c->num_classes_))
    return MORSEL_ERROR(INVALID_MODEL, "model has %zu labels but %d output classes",
                        model->meta.labels.size(), c->num_classes_);
  const Value& ov = g.values[static_cast<size_t>(g.outputs[0])];
  c->outputs_probabilities_ =
      ov.producer >= 0 && g.nodes[static_cast<size_t>(ov.producer)].op == OpType::SOFTMAX;
  return c;
}

Result<Tensor> Classifier::preprocess_image(const uint8_t* pixels, int width, int height,
                                            int channels, int64_t stride) const {
  const PreprocessSpec& pp = model_->meta.preprocess;
  Tensor x(DType::F32, {1, pp.height, pp.width, 3});
  MORSEL_RETURN_IF_ERROR(preprocess(pixels, width, height, channels, stride, pp, x.mut<float>()));
  return x;
}

Result<Tensor> Classifier::run_batch(const Tensor& input) {
  Tensor y;
  MORSEL_RETURN_IF_ERROR(run_micro_batched(*session_, input, &y));
  if (!outputs_probabilities_) {
    const int64_t rows = y.dim(0), n = y.dim(1);
    float* p = y.mut<float>();
    for (int64_t r = 0; r < rows; r++) {
      float* row = p + r * n;
      float m = *std::max_element(row, row + n);
      double sum = 0;
      for (int64_t i = 0; i < n; i++) sum += (row[i] = std::exp(row[i] - m));
      for (int64_t i = 0; i < n; i++) row[i] = static_cast<float>(row[i] / sum);
    }
  }
  return y;
}

Result<std::vector<Prediction>> Classifier::classify(const uint8_t* pixels, int width, int height,
                                                     int channels, int64_t stride, int k,
                                                     ClassifyTimings* timings) {
  if (k < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "top_k must be >= 1");
  auto t0 = std::chrono::steady_clock::now();
  // Preprocessed straight into the session's input buffer (Session::input_tensor): run() then
  // reads it where it is.
  MORSEL_RETURN_IF_ERROR(session_->prepare(1));
  Tensor x = session_->input_tensor(0);
  const PreprocessSpec& pp = model_->meta.preprocess;
  if (x.shape() != Shape{1, pp.height, pp.width, 3})
    return MORSEL_ERROR(INTERNAL, "model input %s does not match its preprocessing",
                        shape_str(x.shape()).c_str());
  MORSEL_RETURN_IF_ERROR(preprocess(pixels, width, height, channels, stride, pp, x.mut<float>()));
  const double pre = ms_since(t0);
  auto t1 = std::chrono::steady_clock::now();
  MORSEL_ASSIGN_OR_RETURN(Tensor y, run_batch(x));
  const double inf = ms_since(t1);
  if (timings) {
    timings->preprocess_ms = pre;
    timings->inference_ms = inf;
  }
  return top_k(y.data<float>(), num_classes_, k, model_->meta.labels);
}

}  // namespace morsel
