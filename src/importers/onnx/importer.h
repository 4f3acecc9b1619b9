// Internal to the ONNX importer: decoded constant tensors and the Importer that walks the graph.
// importer.cpp holds the model-level walk and the layout helpers, ops.cpp one converter per ONNX
// op (add an op there and to the table in kConverters), tensor.cpp TensorProto decoding.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "importers/onnx/onnx.h"
#include "importers/tfjs/common.h"
#include "onnx.pb.h"

namespace morsel::onnx_import {

// A constant (initializer or Constant node output) in ONNX order, decoded to f32 or int64.
struct OnnxTensor {
  Shape shape;
  bool is_int = false;       // integer source types (shapes, axes, pads) -> i
  std::vector<float> f;      // float source types (FLOAT, FLOAT16, DOUBLE) -> f
  std::vector<int64_t> i;
  int64_t numel() const { return shape_numel(shape); }
};

// Decodes one TensorProto, checking dims, types and data sizes against the declared shape.
// External data is read from `dir` (relative paths only, never outside it).
Status decode_tensor(const ::onnx::TensorProto& t, const std::string& dir, OnnxTensor* out);

class Importer {
 public:
  Importer(const ::onnx::ModelProto& model, const std::string& dir, const ImportOptions& options)
      : model_(model), dir_(dir), opt_(options) {}
  Status run(ImportResult* out);

  // ---- used by the op converters (ops.cpp) ----
  struct Val {
    int id = -1;                 // graph value in stored layout; -1: constant not yet materialized
    bool nhwc = false;           // a rank-4 ONNX [N,C,H,W] tensor stored as [N,H,W,C]
    int other = -1;              // cached copy in the other layout
    const OnnxTensor* c = nullptr;  // constant data (ONNX order), if constant
    std::string name;            // the ONNX value name
  };
  using NodeProto = ::onnx::NodeProto;

  int64_t opset() const { return opset_; }
  // Input `i` of `n`; nullptr if absent (optional input), poisoned or unknown (error recorded).
  Val* input(const NodeProto& n, int i);
  bool has_input(const NodeProto& n, int i) const {
    return i < n.input_size() && !n.input(i).empty();
  }
  // A constant input, or nullptr after recording "must be a constant".
  const OnnxTensor* const_input(const NodeProto& n, int i, const char* what);
  // ONNX-order shape of a value.
  Shape onnx_shape(const Val& v) const;
  size_t rank(const Val& v) const { return onnx_shape(v).size(); }
  const Shape& stored_shape(int id) const { return g_.values[static_cast<size_t>(id)].shape; }

  // Graph value of `v` in ONNX order / in NHWC (rank 4 only), inserting a node when needed.
  Result<int> canonical(Val& v);
  Result<int> nhwc(Val& v);
  // Graph value of `v` as stored (materializing constants).
  Result<int> stored(Val& v);
  // A new f32 constant value.
  int add_const(const std::string& name, Shape shape, std::vector<float> data);
  // Adds a node and infers its output shape right away (so converters can read it).
  Result<int> add(OpType op, const std::string& name, std::vector<int> ins, Attrs attrs,
                  const std::string& out_name);
  // Binds output `i` of `n` to graph value `id` in the given layout.
  void set_output(const NodeProto& n, int i, int id, bool nhwc);
  // Binds output `i` of `n` to a constant (Constant nodes, folded shapes).
  void set_const_output(const NodeProto& n, int i, OnnxTensor t);
  // Records an unsupported construct for node `n` ("'name' (Op): what").
  void unsupported(const NodeProto& n, const std::string& what);
  // Records an unsupported construct if output `i` (i >= 1) of `n` is consumed.
  bool extra_output_used(const NodeProto& n, int i) const;
  std::string label(const NodeProto& n) const;

  // Attributes (type-checked; a wrong type is an INVALID_MODEL error stored in attr_error_).
  const ::onnx::AttributeProto* attr(const NodeProto& n, const char* name,
                                     ::onnx::AttributeProto_AttributeType type);
  int64_t attr_int(const NodeProto& n, const char* name, int64_t def);
  double attr_float(const NodeProto& n, const char* name, double def);
  std::string attr_str(const NodeProto& n, const char* name, const std::string& def);
  std::vector<int64_t> attr_ints(const NodeProto& n, const char* name, std::vector<int64_t> def);

  Graph& graph() { return g_; }

 private:
  const ::onnx::ModelProto& model_;
  std::string dir_;
  ImportOptions opt_;
  int64_t opset_ = 0;
  Graph g_;
  tfjs::Unsupported unsupported_;
  Status attr_error_;
  std::map<std::string, OnnxTensor> consts_;
  std::map<std::string, Val> vals_;
  std::set<std::string> poisoned_;   // outputs of nodes that could not be converted
  std::set<std::string> consumed_;   // every name some node or the graph output reads
  int unnamed_ = 0;

  Status convert_node(const NodeProto& n, int index);
  Result<int> materialize(Val& v, const std::string& name);
};

// One converter per ONNX op type. Returns a Status for malformed models; records unsupported
// constructs through Importer::unsupported() and returns OK.
using Converter = std::function<Status(Importer&, const ::onnx::NodeProto&)>;
const std::map<std::string, Converter>& converters();

}  // namespace morsel::onnx_import
