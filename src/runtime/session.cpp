// Session: prepare (shapes, weights, kernel binding) and run.
#include "runtime/session.h"

#include <chrono>
#include <cstring>

#include "runtime/bind.h"

namespace morsel {

struct Session::BoundNode {
  KernelFn fn;
};

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Graph> graph,
                                                 SessionOptions options) {
  if (!graph) return MORSEL_ERROR(INVALID_ARGUMENT, "no graph");
  MORSEL_RETURN_IF_ERROR(graph->validate());
  for (int id : graph->inputs) {
    const Value& v = graph->values[static_cast<size_t>(id)];
    if (v.dtype != DType::F32)
      return MORSEL_ERROR(UNSUPPORTED, "graph input '%s' is %s; only f32 inputs are supported",
                          v.name.c_str(), dtype_name(v.dtype));
    if (v.shape.empty())
      return MORSEL_ERROR(INVALID_MODEL, "graph input '%s' has no shape", v.name.c_str());
    for (size_t i = 1; i < v.shape.size(); i++)
      if (v.shape[i] < 0)
        return MORSEL_ERROR(UNSUPPORTED, "graph input '%s' %s: only the batch dim may be unknown",
                            v.name.c_str(), shape_str(v.shape).c_str());
  }
  std::unique_ptr<Session> s(new Session());
  s->source_ = std::move(graph);
  s->options_ = options;
  s->graph_ = *s->source_;
  // Check the whole graph with an unknown batch once, so errors surface at load time.
  MORSEL_RETURN_IF_ERROR(s->graph_.infer_shapes());
  return s;
}

Status Session::prepare(int64_t batch) {
  if (batch < 1 || batch > 65536) return MORSEL_ERROR(INVALID_ARGUMENT, "batch must be in 1..65536");
  if (batch == batch_) return Status();
  batch_ = -1;
  bound_.clear();
  graph_ = *source_;
  for (int id : graph_.inputs) {
    Shape& s = graph_.values[static_cast<size_t>(id)].shape;
    if (s[0] < 0) s[0] = batch;
    else if (s[0] != batch)
      return MORSEL_ERROR(INVALID_ARGUMENT, "input '%s' has a fixed batch of %lld",
                          graph_.values[static_cast<size_t>(id)].name.c_str(), (long long)s[0]);
  }
  MORSEL_RETURN_IF_ERROR(graph_.infer_shapes());
  buffers_.assign(graph_.values.size(), Tensor());
  activation_bytes_ = 0;
  for (size_t i = 0; i < graph_.values.size(); i++) {
    const Value& v = graph_.values[i];
    if (v.is_const()) {
      buffers_[i] = tensor_to_f32(v.data);  // f32 constants are shared, not copied
      continue;
    }
    if (!shape_is_static(v.shape))
      return MORSEL_ERROR(INVALID_MODEL, "value '%s' has unresolved shape %s", v.name.c_str(),
                          shape_str(v.shape).c_str());
    int64_t n = shape_numel(v.shape);
    if (n > (int64_t{1} << 32))
      return MORSEL_ERROR(LIMIT_EXCEEDED, "value '%s' %s is too large", v.name.c_str(),
                          shape_str(v.shape).c_str());
    buffers_[i] = Tensor(DType::F32, v.shape);
    activation_bytes_ += static_cast<int64_t>(buffers_[i].nbytes());
  }
  profile_.assign(graph_.nodes.size(), OpProfile());
  for (size_t i = 0; i < graph_.nodes.size(); i++) {
    const Node& n = graph_.nodes[i];
    MORSEL_ASSIGN_OR_RETURN(KernelFn fn, bind_reference(graph_, n, buffers_));
    bound_.push_back(BoundNode{std::move(fn)});
    profile_[i].node = n.name;
    profile_[i].op = op_name(n.op);
    profile_[i].out_shape = graph_.values[static_cast<size_t>(n.outputs[0])].shape;
  }
  batch_ = batch;
  return Status();
}

Status Session::run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) {
  if (inputs.size() != source_->inputs.size())
    return MORSEL_ERROR(INVALID_ARGUMENT, "expected %zu inputs, got %zu", source_->inputs.size(),
                        inputs.size());
  if (inputs.empty() || inputs[0].rank() < 1)
    return MORSEL_ERROR(INVALID_ARGUMENT, "input 0 has no batch dimension");
  MORSEL_RETURN_IF_ERROR(prepare(inputs[0].dim(0)));
  for (size_t i = 0; i < inputs.size(); i++) {
    const Value& v = graph_.values[static_cast<size_t>(graph_.inputs[i])];
    if (inputs[i].dtype() != DType::F32)
      return MORSEL_ERROR(INVALID_ARGUMENT, "input '%s' must be f32", v.name.c_str());
    if (inputs[i].shape() != v.shape)
      return MORSEL_ERROR(INVALID_ARGUMENT, "input '%s' has shape %s, expected %s", v.name.c_str(),
                          shape_str(inputs[i].shape()).c_str(), shape_str(v.shape).c_str());
    std::memcpy(buffers_[static_cast<size_t>(graph_.inputs[i])].raw_mut(), inputs[i].raw(),
                inputs[i].nbytes());
  }
  if (options_.profile) {
    for (size_t i = 0; i < bound_.size(); i++) {
      auto t0 = std::chrono::steady_clock::now();
      bound_[i].fn();
      auto t1 = std::chrono::steady_clock::now();
      profile_[i].total_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
      profile_[i].calls++;
    }
  } else {
    for (auto& b : bound_) b.fn();
  }
  outputs->clear();
  for (int id : graph_.outputs) outputs->push_back(buffers_[static_cast<size_t>(id)].clone());
  return Status();
}

const Shape& Session::input_shape(size_t i) const {
  return graph_.values[static_cast<size_t>(graph_.inputs[i])].shape;
}
const Shape& Session::output_shape(size_t i) const {
  return graph_.values[static_cast<size_t>(graph_.outputs[i])].shape;
}
size_t Session::num_inputs() const { return graph_.inputs.size(); }
size_t Session::num_outputs() const { return graph_.outputs.size(); }

std::vector<OpProfile> Session::profile() const { return profile_; }
void Session::reset_profile() {
  for (auto& p : profile_) {
    p.total_ms = 0;
    p.calls = 0;
  }
}

}  // namespace morsel
