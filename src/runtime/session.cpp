// Session: prepare (shapes, memory plan, kernel choice, weight packing) and run.
#include "runtime/session.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/cpu.h"
#include "runtime/bind.h"
#include "runtime/memory_plan.h"

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
  if (options.threads < 0 || options.threads > 256)
    return MORSEL_ERROR(INVALID_ARGUMENT, "threads must be in 0..256 (0 = one per core)");
  std::unique_ptr<Session> s(new Session());
  s->source_ = std::move(graph);
  s->options_ = options;
  s->graph_ = *s->source_;
  // Check the whole graph with an unknown batch once, so errors surface at load time.
  MORSEL_RETURN_IF_ERROR(s->graph_.infer_shapes());
  if (!options.reference_kernels) {
    Isa isa = isa_default();
    if (options.isa >= 0 && options.isa <= static_cast<int>(Isa::WASM_SIMD128) &&
        isa_available(static_cast<Isa>(options.isa)))
      isa = static_cast<Isa>(options.isa);
    else if (options.isa >= 0)
      return MORSEL_ERROR(UNSUPPORTED, "this CPU does not support the requested kernels");
    s->kernels_ = &kernels::f32_kernels(isa);
  }
  const int threads = options.threads > 0 ? options.threads : physical_cores();
  s->pool_ = options.pool && s->kernels_ ? options.pool
                                          : std::make_shared<ThreadPool>(s->kernels_ ? threads : 1);
  // Constants as f32 once (f32 constants are shared with the model, not copied).
  // The i8 weights of int8 nodes stay i8 (their kernels read the graph's tensor).
  std::vector<bool> int8_weight(s->graph_.values.size(), false);
  for (const Node& n : s->graph_.nodes)
    if ((n.op == OpType::QCONV2D || n.op == OpType::QDEPTHWISE_CONV2D || n.op == OpType::QDENSE) &&
        n.inputs.size() > 1 && n.inputs[1] >= 0)
      int8_weight[static_cast<size_t>(n.inputs[1])] = true;
  s->const_f32_.resize(s->graph_.values.size());
  for (size_t i = 0; i < s->graph_.values.size(); i++)
    if (s->graph_.values[i].is_const() && !int8_weight[i])
      s->const_f32_[i] = tensor_to_f32(s->graph_.values[i].data);
  s->packed_.assign(s->graph_.nodes.size(), nullptr);
  // Same model, same passes: the node lists match, and a slot whose layout fits is reused.
  if (const Session* o = options.share_packed_from; o && o->graph_.nodes.size() == s->graph_.nodes.size())
    s->packed_ = o->packed_;
  return s;
}

const char* Session::isa() const { return kernels_ ? isa_name(kernels_->isa) : "ref"; }

int64_t Session::packed_weight_bytes() const {
  int64_t total = 0;
  for (const auto& p : packed_)
    if (p) total += p->bytes();
  return total;
}

int64_t Session::packed_bytes_shared_with(const Session& other) const {
  int64_t total = 0;
  for (size_t i = 0; i < packed_.size() && i < other.packed_.size(); i++)
    if (packed_[i] && packed_[i] == other.packed_[i]) total += packed_[i]->bytes();
  return total;
}

Status Session::prepare(int64_t batch) {
  if (batch < 1 || batch > 65536) return MORSEL_ERROR(INVALID_ARGUMENT, "batch must be in 1..65536");
  if (batch == batch_) return Status();
  batch_ = -1;
  prepare_count_++;
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

  // Lifetimes of the computed values; inputs and outputs get buffers of their own.
  const size_t nv = graph_.values.size();
  std::vector<bool> is_io(nv, false);
  for (int id : graph_.inputs) is_io[static_cast<size_t>(id)] = true;
  for (int id : graph_.outputs) is_io[static_cast<size_t>(id)] = true;
  std::vector<int> first(nv, -1), last(nv, -1);
  for (size_t i = 0; i < graph_.nodes.size(); i++) {
    const Node& n = graph_.nodes[i];
    for (int id : n.inputs)
      if (id >= 0) last[static_cast<size_t>(id)] = static_cast<int>(i);
    for (int id : n.outputs) {
      first[static_cast<size_t>(id)] = static_cast<int>(i);
      if (last[static_cast<size_t>(id)] < static_cast<int>(i)) last[static_cast<size_t>(id)] = static_cast<int>(i);
    }
  }
  // Depthwise blocks that run as one kernel (see FusedBlock): their intermediates need no
  // storage, and the block's output is written while its first node runs.
  std::vector<int> block_at(graph_.nodes.size(), -1);  // node -> block index
  std::vector<FusedBlock> blocks;
  std::vector<bool> elided(nv, false);
  const char* fuse_env = std::getenv("MORSEL_FUSE");
  const int fuse = fuse_env && *fuse_env ? std::atoi(fuse_env) : options_.fusion;
  if (kernels_ && fuse > 0) {
    for (FusedBlock blk : find_fused_blocks(graph_)) {
      if (graph_.nodes[static_cast<size_t>(blk.dw)].op == OpType::QDEPTHWISE_CONV2D) {
        if (!int8_block_projects(graph_, blk, *kernels_)) blk.project = -1;
        else blk.add = block_residual(graph_, blk);
      } else {
        // f32 blocks on narrow images (MobileNetV2's 7x7 blocks) run unfused: a GEMM call per
        // image row of under 8 pixels fills few register tiles, and the whole expanded tensor
        // fits in L2 anyway. Measured on MobileNetV2 (1 thread): 0.14 against 0.10 ms per block.
        const Value& dx = graph_.values[static_cast<size_t>(graph_.nodes[static_cast<size_t>(blk.dw)].inputs[0])];
        if (dx.shape.size() == 4 && dx.shape[2] > 0 && dx.shape[2] < 8) continue;
        if (fuse < 2) blk.project = -1;
        if (fuse < 2 && blk.direct_expand) {
          blk.expand = -1;
          blk.direct_expand = false;
        }
        // The residual ADD after a linear projection joins the block: its GEMM adds the skip
        // tensor as it stores (the ADD's own activation, if any, becomes the GEMM's clamp).
        if (blk.project >= 0 &&
            graph_.nodes[static_cast<size_t>(blk.project)].attrs.get_str("act", "none") == "none")
          blk.add = block_residual(graph_, blk);
      }
      if (blk.expand < 0 && blk.project < 0) continue;
      bool taken = false;
      for (int node : {blk.expand, blk.dw, blk.project, blk.add})
        if (node >= 0 && block_at[static_cast<size_t>(node)] >= 0) taken = true;
      if (taken) continue;
      const int id = static_cast<int>(blocks.size());
      blocks.push_back(blk);
      for (int node : {blk.expand, blk.dw, blk.project, blk.add})
        if (node >= 0) block_at[static_cast<size_t>(node)] = id;
      if (blk.expand >= 0)
        elided[static_cast<size_t>(graph_.nodes[static_cast<size_t>(blk.expand)].outputs[0])] = true;
      if (blk.project >= 0)
        elided[static_cast<size_t>(graph_.nodes[static_cast<size_t>(blk.dw)].outputs[0])] = true;
      if (blk.add >= 0)
        elided[static_cast<size_t>(graph_.nodes[static_cast<size_t>(blk.project)].outputs[0])] = true;
      const size_t y = static_cast<size_t>(graph_.nodes[static_cast<size_t>(blk.last())].outputs[0]);
      first[y] = std::min(first[y], blk.first());
    }
  }
  // A conv or dense whose only reader is an element-wise ADD of two same-shape tensors (a
  // residual connection) adds the other tensor in its GEMM epilogue and writes the ADD's output;
  // the ADD then does nothing. The other tensor must exist before the conv runs.
  std::vector<int> residual_into(graph_.nodes.size(), -1), residual_from(graph_.nodes.size(), -1);
  if (kernels_ && fuse > 0) {
    std::vector<int> readers(nv, 0);
    for (const Node& n : graph_.nodes)
      for (int id : n.inputs)
        if (id >= 0) readers[static_cast<size_t>(id)]++;
    for (size_t j = 0; j < graph_.nodes.size(); j++) {
      const Node& add = graph_.nodes[j];
      if (add.op != OpType::ADD || add.inputs.size() != 2 || block_at[j] >= 0) continue;
      const Shape& ys = graph_.values[static_cast<size_t>(add.outputs[0])].shape;
      for (int side = 0; side < 2; side++) {
        const int v = add.inputs[static_cast<size_t>(side)], r = add.inputs[static_cast<size_t>(1 - side)];
        if (v < 0 || r < 0 || v == r || is_io[static_cast<size_t>(v)]) continue;
        const int p = graph_.values[static_cast<size_t>(v)].producer;
        if (p < 0 || block_at[static_cast<size_t>(p)] >= 0 || residual_into[static_cast<size_t>(p)] >= 0) continue;
        const Node& conv = graph_.nodes[static_cast<size_t>(p)];
        if (conv.op != OpType::CONV2D && conv.op != OpType::DENSE) continue;
        if (conv.op == OpType::CONV2D && conv.attrs.get_int("groups", 1) != 1) continue;
        if (conv.attrs.get_str("act", "none") != "none" || readers[static_cast<size_t>(v)] != 1) continue;
        bool const_w = conv.inputs.size() >= 2 && conv.inputs[1] >= 0 &&
                       graph_.values[static_cast<size_t>(conv.inputs[1])].is_const();
        if (conv.inputs.size() > 2 && conv.inputs[2] >= 0)
          const_w = const_w && graph_.values[static_cast<size_t>(conv.inputs[2])].is_const();
        if (!const_w) continue;
        if (graph_.values[static_cast<size_t>(v)].shape != ys || graph_.values[static_cast<size_t>(r)].shape != ys)
          continue;
        const int rp = graph_.values[static_cast<size_t>(r)].producer;
        if (rp >= p) continue;  // computed after the conv
        residual_into[static_cast<size_t>(p)] = static_cast<int>(j);
        residual_from[j] = p;
        elided[static_cast<size_t>(v)] = true;
        const size_t y = static_cast<size_t>(add.outputs[0]);
        first[y] = std::min(first[y], p);
        last[static_cast<size_t>(r)] = std::max(last[static_cast<size_t>(r)], static_cast<int>(j));
        break;
      }
    }
  }
  // A classifier head (conv -> mean -> reshapes -> dense, see bind_pooled_dense) runs as one
  // kernel at the conv, writing the dense layer's output; the values between need no storage.
  std::vector<int> head_dense(graph_.nodes.size(), -1), head_from(graph_.nodes.size(), -1);
  if (kernels_ && fuse > 0) {
    std::vector<int> chain;
    for (size_t j = 0; j < graph_.nodes.size(); j++) {
      int pooled = -1;
      if (graph_.nodes[j].op != OpType::DENSE || block_at[j] >= 0 || residual_into[j] >= 0 ||
          !pooled_dense_chain(graph_, static_cast<int>(j), &chain, &pooled) || is_io[static_cast<size_t>(pooled)])
        continue;
      bool io = false;
      for (int c : chain) io = io || is_io[static_cast<size_t>(graph_.nodes[static_cast<size_t>(c)].outputs[0])];
      // The conv that makes the pooled value (through its fused residual ADD, if any).
      const int q = graph_.values[static_cast<size_t>(pooled)].producer;
      if (io || q < 0) continue;
      const int conv = residual_from[static_cast<size_t>(q)] >= 0 ? residual_from[static_cast<size_t>(q)] : q;
      if (block_at[static_cast<size_t>(conv)] >= 0 || head_dense[static_cast<size_t>(conv)] >= 0 ||
          (conv == q && residual_into[static_cast<size_t>(conv)] >= 0) ||
          !pooled_dense_conv(graph_, graph_.nodes[static_cast<size_t>(conv)]))
        continue;
      head_dense[static_cast<size_t>(conv)] = static_cast<int>(j);
      head_from[j] = conv;
      elided[static_cast<size_t>(pooled)] = true;
      for (int c : chain) {
        head_from[static_cast<size_t>(c)] = conv;
        elided[static_cast<size_t>(graph_.nodes[static_cast<size_t>(c)].outputs[0])] = true;
      }
      const size_t y = static_cast<size_t>(graph_.nodes[j].outputs[0]);
      first[y] = std::min(first[y], conv);
    }
  }
  std::vector<BufferLife> lives;
  std::vector<size_t> planned;
  io_buffers_.assign(nv, Tensor());
  ptrs_.assign(nv, nullptr);
  unplanned_bytes_ = 0;
  for (size_t i = 0; i < nv; i++) {
    const Value& v = graph_.values[i];
    if (v.is_const()) {
      ptrs_[i] = const_cast<float*>(const_f32_[i].data<float>());
      continue;
    }
    if (!shape_is_static(v.shape))
      return MORSEL_ERROR(INVALID_MODEL, "value '%s' has unresolved shape %s", v.name.c_str(),
                          shape_str(v.shape).c_str());
    const int64_t n = shape_numel(v.shape);
    if (n > (int64_t{1} << 32))
      return MORSEL_ERROR(LIMIT_EXCEEDED, "value '%s' %s is too large", v.name.c_str(),
                          shape_str(v.shape).c_str());
    if (elided[i]) continue;
    if (is_io[i] || first[i] < 0) {
      io_buffers_[i] = Tensor(DType::F32, v.shape);
      ptrs_[i] = io_buffers_[i].mut<float>();
      continue;
    }
    lives.push_back(BufferLife{n * 4, first[i], last[i]});
    planned.push_back(i);
    unplanned_bytes_ += n * 4;
  }
  std::vector<int64_t> offsets;
  activation_bytes_ = plan_memory(lives, &offsets);
  try {
    arena_.assign(static_cast<size_t>(activation_bytes_ / 4), 0.0f);
  } catch (const std::bad_alloc&) {
    return MORSEL_ERROR(OUT_OF_MEMORY, "cannot allocate %lld bytes for activations",
                        (long long)activation_bytes_);
  }
  for (size_t j = 0; j < planned.size(); j++) ptrs_[planned[j]] = arena_.data() + offsets[j] / 4;

  // Bind kernels: optimized where one exists, else the reference.
  profile_.assign(graph_.nodes.size(), OpProfile());
  OptimizedBindContext ctx{kernels_, pool_.get(), nullptr};
  scratch_ptrs_.assign(static_cast<size_t>(pool_->threads()), nullptr);
  ctx.scratch = scratch_ptrs_.data();
  ctx.shared_scratch = &shared_scratch_ptr_;
  int64_t scratch_floats = 0, shared_floats = 0;
  for (size_t i = 0; i < graph_.nodes.size(); i++) {
    const Node& n = graph_.nodes[i];
    OptimizedKernel ok;
    if (block_at[i] >= 0) {
      const FusedBlock& blk = blocks[static_cast<size_t>(block_at[i])];
      if (blk.first() == static_cast<int>(i)) {
        MORSEL_ASSIGN_OR_RETURN(ok, bind_fused_block(graph_, blk, ptrs_, ctx, &packed_));
      } else {
        ok.fn = [] {};
        ok.name = "(fused into " + graph_.nodes[static_cast<size_t>(blk.first())].name + ")";
      }
    } else if (residual_from[i] >= 0) {
      ok.fn = [] {};
      ok.name = "(fused into " + graph_.nodes[static_cast<size_t>(residual_from[i])].name + ")";
    } else if (head_from[i] >= 0) {
      ok.fn = [] {};
      ok.name = "(fused into " + graph_.nodes[static_cast<size_t>(head_from[i])].name + ")";
    } else if (residual_into[i] >= 0 || head_dense[i] >= 0) {
      // The conv, writing the ADD's output with the residual and the ADD's activation.
      Node fused = n;
      if (residual_into[i] >= 0) {
        const Node& add = graph_.nodes[static_cast<size_t>(residual_into[i])];
        const int conv_out = n.outputs[0];
        fused.outputs[0] = add.outputs[0];
        fused.inputs.resize(4, -1);
        fused.inputs[3] = add.inputs[0] == conv_out ? add.inputs[1] : add.inputs[0];
        for (const char* key : {"act", "act_min", "act_max"}) {
          fused.attrs.erase(key);
          if (add.attrs.has(key)) fused.attrs.set(key, add.attrs.all().at(key));
        }
      }
      if (head_dense[i] >= 0) {
        const size_t d = static_cast<size_t>(head_dense[i]);
        MORSEL_ASSIGN_OR_RETURN(ok, bind_pooled_dense(graph_, fused, graph_.nodes[d], ptrs_, ctx, &packed_[i], &packed_[d]));
      } else {
        MORSEL_ASSIGN_OR_RETURN(ok, bind_optimized(graph_, fused, ptrs_, ctx, &packed_[i]));
        if (!ok.fn) return MORSEL_ERROR(INTERNAL, "node '%s': no kernel for the fused residual add", n.name.c_str());
        ok.name += "+add";
      }
    } else if (kernels_) {
      MORSEL_ASSIGN_OR_RETURN(ok, bind_optimized(graph_, n, ptrs_, ctx, &packed_[i]));
    }
    if (!ok.fn) {
      MORSEL_ASSIGN_OR_RETURN(ok.fn, bind_reference(graph_, n, ptrs_));
      ok.name = "ref";
    }
    scratch_floats = std::max(scratch_floats, ok.scratch_floats);
    shared_floats = std::max(shared_floats, ok.shared_scratch_floats);
    bound_.push_back(BoundNode{std::move(ok.fn)});
    profile_[i].node = n.name;
    profile_[i].op = op_name(n.op);
    profile_[i].kernel = ok.name;
    profile_[i].out_shape = graph_.values[static_cast<size_t>(n.outputs[0])].shape;
  }
  scratch_.assign(scratch_ptrs_.size(), aligned_vector<float>(static_cast<size_t>(scratch_floats)));
  for (size_t t = 0; t < scratch_.size(); t++) scratch_ptrs_[t] = scratch_[t].data();
  shared_scratch_.assign(static_cast<size_t>(shared_floats), 0.0f);
  shared_scratch_ptr_ = shared_scratch_.data();
  scratch_bytes_ = (scratch_floats * static_cast<int64_t>(scratch_.size()) + shared_floats) * 4;
  batch_ = batch;
  if (batch == 1) batch1_activation_bytes_ = activation_bytes_;
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
    const size_t id = static_cast<size_t>(graph_.inputs[i]);
    const Value& v = graph_.values[id];
    if (inputs[i].dtype() != DType::F32)
      return MORSEL_ERROR(INVALID_ARGUMENT, "input '%s' must be f32", v.name.c_str());
    if (inputs[i].shape() != v.shape)
      return MORSEL_ERROR(INVALID_ARGUMENT, "input '%s' has shape %s, expected %s", v.name.c_str(),
                          shape_str(inputs[i].shape()).c_str(), shape_str(v.shape).c_str());
    if (inputs[i].raw() != ptrs_[id]) std::memcpy(ptrs_[id], inputs[i].raw(), inputs[i].nbytes());
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
  for (int id : graph_.outputs) {
    const Value& v = graph_.values[static_cast<size_t>(id)];
    Tensor t(DType::F32, v.shape);
    std::memcpy(t.raw_mut(), ptrs_[static_cast<size_t>(id)], t.nbytes());
    outputs->push_back(std::move(t));
  }
  return Status();
}

Tensor Session::input_tensor(size_t i) const {
  if (batch_ < 0 || i >= graph_.inputs.size()) return Tensor();
  return io_buffers_[static_cast<size_t>(graph_.inputs[i])];
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

Status run_micro_batched(Session& s, const Tensor& input, Tensor* output, int64_t cache_bytes) {
  if (input.rank() < 1 || input.dim(0) < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "empty batch");
  const int64_t n = input.dim(0);
  std::vector<Tensor> outs;
  // Arena per image, from a batch-1 plan (prepared once per session and remembered, so a
  // session kept at one batch size does not re-prepare on every call; later batches reuse the
  // packed weights).
  int64_t per_image = 0;
  if (n > 1) {
    if (s.batch1_activation_bytes() < 0) MORSEL_RETURN_IF_ERROR(s.prepare(1));
    per_image = std::max<int64_t>(1, s.batch1_activation_bytes());
  }
  if (cache_bytes <= 0) cache_bytes = micro_batch_bytes(s.threads());
  int64_t micro = n;
  if (n > 1 && per_image * n > cache_bytes) {
    micro = 1;
    for (int64_t d = 2; d <= n; d++)
      if (n % d == 0 && d * per_image <= cache_bytes) micro = d;
  }
  if (micro == n) {
    MORSEL_RETURN_IF_ERROR(s.run({input}, &outs));
    if (outs.size() != 1) return MORSEL_ERROR(INVALID_ARGUMENT, "expected a model with one output");
    *output = std::move(outs[0]);
    return Status();
  }
  Shape part_shape = input.shape();
  part_shape[0] = micro;
  const int64_t in_per = input.numel() / n;
  for (int64_t i = 0; i < n; i += micro) {
    Tensor part = Tensor::borrow(DType::F32, part_shape, input.data<float>() + i * in_per);
    MORSEL_RETURN_IF_ERROR(s.run({part}, &outs));
    if (outs.size() != 1 || outs[0].rank() < 1 || outs[0].dim(0) != micro)
      return MORSEL_ERROR(INVALID_ARGUMENT, "expected one output with the batch as first dim");
    if (i == 0) {
      Shape out_shape = outs[0].shape();
      out_shape[0] = n;
      *output = Tensor(DType::F32, out_shape);
    }
    const int64_t out_per = outs[0].numel() / micro;
    std::memcpy(output->mut<float>() + i * out_per, outs[0].raw(), outs[0].nbytes());
  }
  return Status();
}

}  // namespace morsel
