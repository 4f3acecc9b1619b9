// ONNX import: protobuf parsing, graph inputs/outputs, the node walk, and the NCHW <-> NHWC
// layout bookkeeping. Each ONNX value is either in ONNX order or (rank 4 only) stored NHWC;
// converters ask for the layout they need and a TRANSPOSE is inserted (once, cached) if the
// value is in the other one.
#include <sys/stat.h>

#include <cfloat>
#include <fstream>

#include <google/protobuf/io/coded_stream.h>

#include "importers/onnx/importer.h"

namespace morsel::onnx_import {

namespace {

constexpr int64_t kMinOpset = 11, kMaxOpset = 17;

// The version of each converted op in effect at opset 11 (ONNX's since_version). A model with
// an older opset is accepted op by op: an op whose definition has not changed since that
// older opset means the same thing as at opset 11.
const std::map<std::string, int64_t> kSinceAtOpset11 = {
    {"Conv", 11}, {"MaxPool", 11}, {"AveragePool", 11}, {"GlobalAveragePool", 1},
    {"GlobalMaxPool", 1}, {"BatchNormalization", 9}, {"Relu", 6}, {"LeakyRelu", 6},
    {"Sigmoid", 6}, {"Tanh", 6}, {"HardSigmoid", 6}, {"Clip", 11}, {"Identity", 1},
    {"Dropout", 10}, {"Add", 7}, {"Sub", 7}, {"Mul", 7}, {"Div", 7}, {"Gemm", 11},
    {"MatMul", 9}, {"Softmax", 11}, {"Concat", 11}, {"Reshape", 5}, {"Flatten", 11},
    {"Squeeze", 11}, {"Unsqueeze", 11}, {"Transpose", 1}, {"Pad", 11}, {"ReduceMean", 11},
    {"Constant", 11}};
const std::vector<int64_t> kToNhwc{0, 2, 3, 1}, kToNchw{0, 3, 1, 2};

}  // namespace

// ---- attributes ----

const ::onnx::AttributeProto* Importer::attr(const NodeProto& n, const char* name,
                                             ::onnx::AttributeProto_AttributeType type) {
  for (const auto& a : n.attribute()) {
    if (a.name() != name) continue;
    // Old writers leave `type` unset; accept the field that is present.
    bool ok = a.type() == type || (a.type() == ::onnx::AttributeProto::UNDEFINED &&
                                   ((type == ::onnx::AttributeProto::INT && a.has_i()) ||
                                    (type == ::onnx::AttributeProto::FLOAT && a.has_f()) ||
                                    (type == ::onnx::AttributeProto::STRING && a.has_s()) ||
                                    (type == ::onnx::AttributeProto::TENSOR && a.has_t()) ||
                                    (type == ::onnx::AttributeProto::INTS) ||
                                    (type == ::onnx::AttributeProto::FLOATS)));
    if (!ok && attr_error_.ok())
      attr_error_ = MORSEL_ERROR(INVALID_MODEL, "node %s: attribute '%s' has the wrong type",
                                 label(n).c_str(), name);
    return ok ? &a : nullptr;
  }
  return nullptr;
}

int64_t Importer::attr_int(const NodeProto& n, const char* name, int64_t def) {
  const auto* a = attr(n, name, ::onnx::AttributeProto::INT);
  return a ? a->i() : def;
}

double Importer::attr_float(const NodeProto& n, const char* name, double def) {
  const auto* a = attr(n, name, ::onnx::AttributeProto::FLOAT);
  return a ? a->f() : def;
}

std::string Importer::attr_str(const NodeProto& n, const char* name, const std::string& def) {
  const auto* a = attr(n, name, ::onnx::AttributeProto::STRING);
  return a ? a->s() : def;
}

std::vector<int64_t> Importer::attr_ints(const NodeProto& n, const char* name,
                                         std::vector<int64_t> def) {
  const auto* a = attr(n, name, ::onnx::AttributeProto::INTS);
  if (!a) return def;
  if (a->ints_size() > 64) {
    if (attr_error_.ok())
      attr_error_ = MORSEL_ERROR(INVALID_MODEL, "node %s: attribute '%s' has %d values",
                                 label(n).c_str(), name, a->ints_size());
    return def;
  }
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

// ---- values and layouts ----

std::string Importer::label(const NodeProto& n) const {
  if (!n.name().empty()) return n.name();
  if (n.output_size() > 0 && !n.output(0).empty()) return n.output(0);
  return n.op_type();
}

void Importer::unsupported(const NodeProto& n, const std::string& what) {
  unsupported_.add(label(n), "(" + n.op_type() + ") " + what);
}

bool Importer::extra_output_used(const NodeProto& n, int i) const {
  return i < n.output_size() && !n.output(i).empty() && consumed_.count(n.output(i));
}

Importer::Val* Importer::input(const NodeProto& n, int i) {
  if (!has_input(n, i)) return nullptr;
  auto it = vals_.find(n.input(i));
  if (it == vals_.end()) return nullptr;
  return &it->second;
}

const OnnxTensor* Importer::const_input(const NodeProto& n, int i, const char* what) {
  Val* v = input(n, i);
  if (!v) return nullptr;
  if (!v->c) {
    unsupported(n, std::string("input ") + std::to_string(i) + " (" + what +
                       ") must be a constant (an initializer or a Constant node)");
    return nullptr;
  }
  return v->c;
}

Shape Importer::onnx_shape(const Val& v) const {
  if (v.c) return v.c->shape;
  const Shape& s = stored_shape(v.id);
  if (!v.nhwc) return s;
  return {s[0], s[3], s[1], s[2]};
}

int Importer::add_const(const std::string& name, Shape shape, std::vector<float> data) {
  Tensor t(DType::F32, shape);
  std::copy(data.begin(), data.end(), t.mut<float>());
  std::string n = name;
  while (g_.find_value(n) >= 0) n = name + "#" + std::to_string(unnamed_++);
  return g_.add_const(n, std::move(t));
}

Result<int> Importer::materialize(Val& v, const std::string& name) {
  if (v.id >= 0) return v.id;
  if (v.c->is_int)
    return MORSEL_ERROR(UNSUPPORTED, "integer constant '%s' used as data (morsel computes in f32)",
                        name.c_str());
  v.id = add_const(name, v.c->shape, v.c->f);
  return v.id;
}

Result<int> Importer::stored(Val& v) { return materialize(v, v.name); }

Result<int> Importer::add(OpType op, const std::string& name, std::vector<int> ins, Attrs attrs,
                          const std::string& out_name) {
  std::string vn = out_name.empty() ? name : out_name;
  while (g_.find_value(vn) >= 0) vn = (out_name.empty() ? name : out_name) + "#" + std::to_string(unnamed_++);
  int id = g_.add_node(op, name, std::move(ins), std::move(attrs), vn);
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  MORSEL_RETURN_IF_ERROR(infer_node(g_, g_.nodes.back(), &shapes, &dtypes));
  g_.values[static_cast<size_t>(id)].shape = shapes.at(0);
  return id;
}

Result<int> Importer::canonical(Val& v) {
  MORSEL_ASSIGN_OR_RETURN(int id, stored(v));
  if (!v.nhwc) return id;
  if (v.other >= 0) return v.other;
  const Shape& s = stored_shape(id);
  const std::string& name = g_.values[static_cast<size_t>(id)].name;
  Attrs a;
  if (s[1] == 1 && s[2] == 1) {  // [N,1,1,C] holds the same bytes as [N,C,1,1]
    a.set("shape", std::vector<int64_t>{0, s[3], 1, 1});
    MORSEL_ASSIGN_OR_RETURN(v.other, add(OpType::RESHAPE, name + "/nchw", {id}, a, ""));
  } else {
    a.set("perm", kToNchw);
    MORSEL_ASSIGN_OR_RETURN(v.other, add(OpType::TRANSPOSE, name + "/nchw", {id}, a, ""));
  }
  return v.other;
}

Result<int> Importer::nhwc(Val& v) {
  if (v.nhwc) return stored(v);
  if (v.other >= 0) return v.other;
  if (rank(v) != 4) return MORSEL_ERROR(INTERNAL, "NHWC view of a rank-%zu value", rank(v));
  if (v.c) {  // permute the constant's data at import time
    const OnnxTensor& c = *v.c;
    if (c.is_int) return MORSEL_ERROR(UNSUPPORTED, "integer constant used as data");
    const int64_t N = c.shape[0], C = c.shape[1], H = c.shape[2], W = c.shape[3];
    std::vector<float> d(c.f.size());
    for (int64_t n = 0; n < N; n++)
      for (int64_t ch = 0; ch < C; ch++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t w = 0; w < W; w++)
            d[static_cast<size_t>(((n * H + h) * W + w) * C + ch)] =
                c.f[static_cast<size_t>(((n * C + ch) * H + h) * W + w)];
    v.other = add_const(v.name + "/nhwc", {N, H, W, C}, std::move(d));
    return v.other;
  }
  MORSEL_ASSIGN_OR_RETURN(int id, stored(v));
  const std::string& name = g_.values[static_cast<size_t>(id)].name;
  Attrs a;
  a.set("perm", kToNhwc);
  MORSEL_ASSIGN_OR_RETURN(v.other, add(OpType::TRANSPOSE, name + "/nhwc", {id}, a, ""));
  return v.other;
}

void Importer::set_output(const NodeProto& n, int i, int id, bool is_nhwc) {
  Val v;
  v.id = id;
  v.nhwc = is_nhwc;
  v.name = n.output(i);
  vals_[n.output(i)] = v;
}

void Importer::set_const_output(const NodeProto& n, int i, OnnxTensor t) {
  const std::string& name = n.output(i);
  consts_[name] = std::move(t);
  Val v;
  v.c = &consts_[name];
  v.name = name;
  vals_[name] = v;
}

// ---- the walk ----

Status Importer::convert_node(const NodeProto& n, int index) {
  const std::string domain = n.domain();
  const auto& table = converters();
  auto it = (domain.empty() || domain == "ai.onnx") ? table.find(n.op_type()) : table.end();
  if (it == table.end()) {
    unsupported_.add(label(n), "op " + (domain.empty() ? "" : domain + ".") + n.op_type());
    for (const auto& o : n.output()) poisoned_.insert(o);
    return Status();
  }
  if (opset_ < kMinOpset) {
    auto since = kSinceAtOpset11.find(n.op_type());
    if (since == kSinceAtOpset11.end() || since->second > opset_) {
      unsupported_.add(label(n), "(" + n.op_type() + ") at opset " + std::to_string(opset_) +
                                     ": its definition before opset " +
                                     std::to_string(since == kSinceAtOpset11.end() ? kMinOpset : since->second) +
                                     " differs; re-export with opset " + std::to_string(kMinOpset) +
                                     ".." + std::to_string(kMaxOpset));
      for (const auto& o : n.output()) poisoned_.insert(o);
      return Status();
    }
  }
  // Inputs computed by nodes that could not be converted: skip quietly (the cause is listed).
  for (const auto& in : n.input()) {
    if (in.empty()) continue;
    if (poisoned_.count(in)) {
      for (const auto& o : n.output()) poisoned_.insert(o);
      return Status();
    }
    if (!vals_.count(in))
      return MORSEL_ERROR(INVALID_MODEL,
                          "node %s (%s) reads '%s', which no earlier node, input or initializer "
                          "provides (the graph must be topologically sorted)",
                          label(n).c_str(), n.op_type().c_str(), in.c_str());
  }
  for (const auto& o : n.output())
    if (!o.empty() && (vals_.count(o) || poisoned_.count(o)))
      return MORSEL_ERROR(INVALID_MODEL, "node %s writes '%s', which already has a value",
                          label(n).c_str(), o.c_str());
  if (n.output_size() == 0 || n.output(0).empty())
    return MORSEL_ERROR(INVALID_MODEL, "node %s has no output", label(n).c_str());
  const size_t before = unsupported_.items.size();
  Status st = it->second(*this, n);
  if (!attr_error_.ok()) return attr_error_;
  MORSEL_RETURN_IF_ERROR(st.with_context("node " + label(n) + " (" + n.op_type() + ")"));
  if (unsupported_.items.size() != before) {
    for (const auto& o : n.output()) poisoned_.insert(o);
  } else if (!vals_.count(n.output(0))) {
    return MORSEL_ERROR(INTERNAL, "node %s (%s): the converter produced no output",
                        label(n).c_str(), n.op_type().c_str());
  }
  (void)index;
  return Status();
}

Status Importer::run(ImportResult* out) {
  // Opset of the default domain.
  for (const auto& op : model_.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  if (opset_ == 0)
    return MORSEL_ERROR(INVALID_MODEL, "the model imports no opset of the default ONNX domain");
  if (opset_ > kMaxOpset)
    unsupported_.add("model", "opset " + std::to_string(opset_) + " (morsel imports opsets " +
                                  std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) +
                                  "; re-export with one of them)");
  if (!model_.has_graph()) return MORSEL_ERROR(INVALID_MODEL, "the model has no graph");
  const ::onnx::GraphProto& graph = model_.graph();
  out->opset = opset_;
  out->model_name = graph.name();

  for (const auto& n : graph.node())
    for (const auto& in : n.input()) consumed_.insert(in);
  for (const auto& o : graph.output()) consumed_.insert(o.name());

  // Initializers.
  for (const auto& t : graph.initializer()) {
    if (t.name().empty()) return MORSEL_ERROR(INVALID_MODEL, "an initializer has no name");
    if (consts_.count(t.name()))
      return MORSEL_ERROR(INVALID_MODEL, "initializer '%s' appears twice", t.name().c_str());
    OnnxTensor c;
    MORSEL_RETURN_IF_ERROR(decode_tensor(t, dir_, &c));  // its messages name the tensor
    consts_[t.name()] = std::move(c);
    Val v;
    v.c = &consts_[t.name()];
    v.name = t.name();
    vals_[t.name()] = v;
  }
  if (graph.sparse_initializer_size() > 0)
    unsupported_.add("model", "sparse initializers");

  // Inputs (those that are not initializers; IR < 4 lists initializers as inputs too).
  for (const auto& in : graph.input()) {
    if (consts_.count(in.name())) continue;
    if (in.name().empty()) return MORSEL_ERROR(INVALID_MODEL, "a graph input has no name");
    if (vals_.count(in.name()))
      return MORSEL_ERROR(INVALID_MODEL, "graph input '%s' appears twice", in.name().c_str());
    if (!in.type().has_tensor_type()) {
      unsupported_.add(in.name(), "graph input that is not a tensor");
      poisoned_.insert(in.name());
      continue;
    }
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != ::onnx::TensorProto::FLOAT) {
      unsupported_.add(in.name(), "graph input of type " +
                                      std::string(::onnx::TensorProto_DataType_IsValid(tt.elem_type())
                                                      ? ::onnx::TensorProto_DataType_Name(
                                                            static_cast<::onnx::TensorProto_DataType>(tt.elem_type()))
                                                      : "?") + " (morsel inputs are FLOAT)");
      poisoned_.insert(in.name());
      continue;
    }
    if (!tt.has_shape()) {
      unsupported_.add(in.name(), "graph input without a shape");
      poisoned_.insert(in.name());
      continue;
    }
    Shape shape;
    bool bad = false;
    for (int d = 0; d < tt.shape().dim_size(); d++) {
      const auto& dim = tt.shape().dim(d);
      int64_t v = dim.has_dim_value() ? dim.dim_value() : -1;
      if (dim.has_dim_value() && (v < 0 || v > (int64_t{1} << 30)))
        return MORSEL_ERROR(INVALID_MODEL, "graph input '%s' has a bad dim %lld", in.name().c_str(), (long long)v);
      if (d == 0 && opt_.dynamic_batch) v = -1;
      if (v < 0 && d > 0) bad = true;
      shape.push_back(v);
    }
    if (shape.size() > 8) bad = true;
    if (bad) {
      unsupported_.add(in.name(), "graph input with dynamic or too many dims " + shape_str(shape) +
                                      " (only the first, the batch, may be dynamic)");
      poisoned_.insert(in.name());
      continue;
    }
    Val v;
    v.name = in.name();
    if (opt_.nhwc_inputs && shape.size() == 4) {
      v.id = g_.add_input(in.name(), DType::F32, {shape[0], shape[2], shape[3], shape[1]});
      v.nhwc = true;
    } else {
      v.id = g_.add_input(in.name(), DType::F32, shape);
    }
    vals_[in.name()] = v;
  }

  if (g_.inputs.empty() && poisoned_.empty())
    unsupported_.add("model", "graph without inputs (morsel runs a graph on at least one input)");
  // The Session fixes one batch size for all inputs: their first dims must agree.
  for (int id : g_.inputs) {
    const Shape& s0 = g_.values[static_cast<size_t>(g_.inputs[0])].shape;
    const Shape& s = g_.values[static_cast<size_t>(id)].shape;
    if (s.empty() || s0.empty() || (s[0] != s0[0] && s[0] >= 0 && s0[0] >= 0) || (s[0] < 0) != (s0[0] < 0)) {
      unsupported_.add(g_.values[static_cast<size_t>(id)].name,
                       "graph input " + shape_str(s) + " whose first dim is not the batch " +
                           shape_str(s0) + " of the first input (all inputs share one batch)");
    }
  }

  for (int i = 0; i < graph.node_size(); i++)
    MORSEL_RETURN_IF_ERROR(convert_node(graph.node(i), i));

  // Outputs in ONNX order.
  for (const auto& o : graph.output()) {
    if (poisoned_.count(o.name())) continue;
    auto it = vals_.find(o.name());
    if (it == vals_.end())
      return MORSEL_ERROR(INVALID_MODEL, "graph output '%s' is never computed", o.name().c_str());
    Val& v = it->second;
    int id;
    if (v.c || g_.values[static_cast<size_t>(v.id)].producer < 0 || v.nhwc) {
      // Constants and inputs need a node to become outputs; NHWC values go back to NCHW.
      MORSEL_ASSIGN_OR_RETURN(id, canonical(v));
      if (g_.values[static_cast<size_t>(id)].producer < 0) {
        MORSEL_ASSIGN_OR_RETURN(id, add(OpType::IDENTITY, o.name() + "/output", {id}, Attrs(), ""));
      }
    } else {
      id = v.id;
    }
    g_.outputs.push_back(id);
  }
  MORSEL_RETURN_IF_ERROR(unsupported_.to_status("this ONNX model"));
  if (g_.outputs.empty()) return MORSEL_ERROR(INVALID_MODEL, "the graph has no outputs");
  // Name the graph outputs after the ONNX outputs (the value may carry a helper's name).
  for (int k = 0; k < graph.output_size(); k++) {
    Value& val = g_.values[static_cast<size_t>(g_.outputs[static_cast<size_t>(k)])];
    if (val.name != graph.output(k).name() && g_.find_value(graph.output(k).name()) < 0)
      val.name = graph.output(k).name();
  }
  g_.remove_dead();
  MORSEL_RETURN_IF_ERROR(g_.validate().with_context("imported graph"));
  MORSEL_RETURN_IF_ERROR(g_.infer_shapes());
  out->graph = std::move(g_);
  if (!model_.producer_name().empty())
    out->notes.push_back("exported by " + model_.producer_name() +
                         (model_.producer_version().empty() ? "" : " " + model_.producer_version()) +
                         ", opset " + std::to_string(opset_));
  return Status();
}

// ---- entry points ----

Result<ImportResult> import_model_buffer(const uint8_t* data, size_t size, const std::string& dir,
                                         const ImportOptions& options) {
  if (size > static_cast<size_t>(INT32_MAX))
    return MORSEL_ERROR(LIMIT_EXCEEDED, "the .onnx file is larger than 2 GiB; store the weights "
                        "as external data");
  ::onnx::ModelProto model;
  {
    google::protobuf::io::CodedInputStream in(data, static_cast<int>(size));
    in.SetTotalBytesLimit(INT32_MAX);
    in.SetRecursionLimit(64);
    if (!model.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
      return MORSEL_ERROR(INVALID_MODEL, "not a valid ONNX model (the protobuf does not parse)");
  }
  ImportResult out;
  Importer imp(model, dir, options);
  MORSEL_RETURN_IF_ERROR(imp.run(&out));
  return out;
}

Result<ImportResult> import_model(const std::string& path, const ImportOptions& options) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
  if (st.st_size > INT32_MAX)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%s is larger than 2 GiB; store the weights as external data",
                        path.c_str());
  std::ifstream f(path, std::ios::binary);
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && !f.read(reinterpret_cast<char*>(bytes.data()), st.st_size))
    return MORSEL_ERROR(IO_ERROR, "cannot read %s", path.c_str());
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return import_model_buffer(bytes.data(), bytes.size(), dir, options);
}

}  // namespace morsel::onnx_import
