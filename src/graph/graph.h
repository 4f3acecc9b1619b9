// Graph IR: values (tensors, constant or computed) and nodes (ops) in topological order.
// Importers build it, passes rewrite it, the format module serializes it, Session runs it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace morsel {

enum class OpType : uint8_t {
#define X(e, s) e,
#include "graph/ops.inc"
#undef X
};

const char* op_name(OpType op);
bool op_from_name(const std::string& name, OpType* out);

// Attribute values: integers, floats, strings and lists of integers/floats.
using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

class Attrs {
 public:
  void set(const std::string& k, AttrValue v) { m_[k] = std::move(v); }
  bool has(const std::string& k) const { return m_.count(k) != 0; }
  void erase(const std::string& k) { m_.erase(k); }
  const std::map<std::string, AttrValue>& all() const { return m_; }

  // Typed getters: return `def` if absent; ints read as floats and vice versa.
  int64_t get_int(const std::string& k, int64_t def = 0) const;
  double get_float(const std::string& k, double def = 0) const;
  std::string get_str(const std::string& k, const std::string& def = "") const;
  std::vector<int64_t> get_ints(const std::string& k, std::vector<int64_t> def = {}) const;
  std::vector<double> get_floats(const std::string& k, std::vector<double> def = {}) const;

 private:
  std::map<std::string, AttrValue> m_;
};

struct Value {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;        // -1 for dims known only at prepare time (batch)
  int producer = -1;  // index of the node that computes it; -1 for inputs and constants
  Tensor data;        // set for constants (weights); empty otherwise
  bool is_const() const { return !data.empty(); }
};

struct Node {
  OpType op = OpType::IDENTITY;
  std::string name;
  std::vector<int> inputs;   // value ids; -1 for an absent optional input
  std::vector<int> outputs;  // value ids
  Attrs attrs;
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<int> inputs;  // value ids of graph inputs
  std::vector<int> outputs;

  int add_value(std::string name, DType dtype = DType::F32, Shape shape = {});
  int add_const(std::string name, Tensor data);
  int add_input(std::string name, DType dtype, Shape shape);
  // Adds a node computing one new value named `out_name`; returns the output value id.
  int add_node(OpType op, std::string name, std::vector<int> inputs, Attrs attrs,
               const std::string& out_name = "");
  // -1 if absent.
  int find_value(const std::string& name) const;

  // Checks structure: ids in range, every computed value has exactly one producer that comes
  // before its users, outputs exist. Does not check shapes.
  Status validate() const;
  // Propagates shapes and dtypes from the input values' current shapes through every node
  // (see shape_inference.cpp). Errors name the node.
  Status infer_shapes();
  // Removes nodes and constants that no output depends on, renumbering ids.
  void remove_dead();
  // Reorders nodes topologically (after passes that append nodes).
  Status toposort();

  int64_t param_count() const;
  int64_t const_bytes() const;
};

// Computes output shapes/dtypes of one node from its input values. Errors name the node.
Status infer_node(const Graph& g, const Node& n, std::vector<Shape>* out_shapes,
                  std::vector<DType>* out_dtypes);

// The quantization parameters of a QConv2D / QDepthwiseConv2D / QDense node (i8 weights, one
// positive finite w_scale per output channel, x_scale/x_zero in range); OK for other ops.
Status check_quant_params(const Graph& g, const Node& n);

// Conv/pool output size and padding (TF semantics for SAME: pad total split with the extra
// pixel at the end). Returns false if the window does not fit.
struct Window2D {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t oh = 0, ow = 0;
};
Status resolve_window(const Node& n, int64_t in_h, int64_t in_w, int64_t kh, int64_t kw,
                      Window2D* out);

}  // namespace morsel
