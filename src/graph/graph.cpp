// Graph IR: attribute access, construction, validation, dead-code removal, toposort.
#include "graph/graph.h"

#include <algorithm>
#include <unordered_map>

namespace morsel {

namespace {
struct OpNameEntry {
  OpType op;
  const char* name;
};
constexpr OpNameEntry kOpNames[] = {
#define X(e, s) {OpType::e, s},
#include "graph/ops.inc"
#undef X
};
}  // namespace

const char* op_name(OpType op) {
  for (const auto& e : kOpNames)
    if (e.op == op) return e.name;
  return "?";
}

bool op_from_name(const std::string& name, OpType* out) {
  for (const auto& e : kOpNames) {
    if (name == e.name) {
      *out = e.op;
      return true;
    }
  }
  return false;
}

int64_t Attrs::get_int(const std::string& k, int64_t def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* i = std::get_if<int64_t>(&it->second)) return *i;
  if (auto* d = std::get_if<double>(&it->second)) return static_cast<int64_t>(*d);
  return def;
}

double Attrs::get_float(const std::string& k, double def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* d = std::get_if<double>(&it->second)) return *d;
  if (auto* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  return def;
}

std::string Attrs::get_str(const std::string& k, const std::string& def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  return def;
}

std::vector<int64_t> Attrs::get_ints(const std::string& k, std::vector<int64_t> def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  if (auto* v = std::get_if<std::vector<double>>(&it->second)) {
    std::vector<int64_t> out;
    for (double d : *v) out.push_back(static_cast<int64_t>(d));
    return out;
  }
  return def;
}

std::vector<double> Attrs::get_floats(const std::string& k, std::vector<double> def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* v = std::get_if<std::vector<double>>(&it->second)) return *v;
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) {
    return std::vector<double>(v->begin(), v->end());
  }
  return def;
}

int Graph::add_value(std::string name, DType dtype, Shape shape) {
  Value v;
  v.name = std::move(name);
  v.dtype = dtype;
  v.shape = std::move(shape);
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_const(std::string name, Tensor data) {
  int id = add_value(std::move(name), data.dtype(), data.shape());
  values[static_cast<size_t>(id)].data = std::move(data);
  return id;
}

int Graph::add_input(std::string name, DType dtype, Shape shape) {
  int id = add_value(std::move(name), dtype, std::move(shape));
  inputs.push_back(id);
  return id;
}

int Graph::add_node(OpType op, std::string name, std::vector<int> ins, Attrs attrs,
                    const std::string& out_name) {
  Node n;
  n.op = op;
  n.name = std::move(name);
  n.inputs = std::move(ins);
  n.attrs = std::move(attrs);
  int out = add_value(out_name.empty() ? n.name : out_name);
  values[static_cast<size_t>(out)].producer = static_cast<int>(nodes.size());
  n.outputs.push_back(out);
  nodes.push_back(std::move(n));
  return out;
}

int Graph::find_value(const std::string& name) const {
  for (size_t i = 0; i < values.size(); i++)
    if (values[i].name == name) return static_cast<int>(i);
  return -1;
}

Status Graph::validate() const {
  const int nv = static_cast<int>(values.size());
  std::vector<int> producer(values.size(), -1);
  std::vector<bool> available(values.size(), false);
  for (int i = 0; i < nv; i++) {
    if (values[static_cast<size_t>(i)].is_const()) available[static_cast<size_t>(i)] = true;
  }
  if (inputs.empty()) return MORSEL_ERROR(INVALID_MODEL, "graph has no inputs");
  if (outputs.empty()) return MORSEL_ERROR(INVALID_MODEL, "graph has no outputs");
  for (int id : inputs) {
    if (id < 0 || id >= nv) return MORSEL_ERROR(INVALID_MODEL, "graph input id %d out of range", id);
    if (values[static_cast<size_t>(id)].is_const())
      return MORSEL_ERROR(INVALID_MODEL, "graph input '%s' is a constant",
                          values[static_cast<size_t>(id)].name.c_str());
    available[static_cast<size_t>(id)] = true;
  }
  for (size_t ni = 0; ni < nodes.size(); ni++) {
    const Node& n = nodes[ni];
    if (n.outputs.empty())
      return MORSEL_ERROR(INVALID_MODEL, "node '%s' has no outputs", n.name.c_str());
    for (int id : n.inputs) {
      if (id == -1) continue;
      if (id < 0 || id >= nv)
        return MORSEL_ERROR(INVALID_MODEL, "node '%s': input id %d out of range", n.name.c_str(), id);
      if (!available[static_cast<size_t>(id)])
        return MORSEL_ERROR(INVALID_MODEL,
                            "node '%s' reads '%s' before it is computed (graph not in topological "
                            "order or value has no producer)",
                            n.name.c_str(), values[static_cast<size_t>(id)].name.c_str());
    }
    for (int id : n.outputs) {
      if (id < 0 || id >= nv)
        return MORSEL_ERROR(INVALID_MODEL, "node '%s': output id %d out of range", n.name.c_str(), id);
      const Value& v = values[static_cast<size_t>(id)];
      if (available[static_cast<size_t>(id)] || producer[static_cast<size_t>(id)] != -1)
        return MORSEL_ERROR(INVALID_MODEL, "value '%s' is written more than once (node '%s')",
                            v.name.c_str(), n.name.c_str());
      producer[static_cast<size_t>(id)] = static_cast<int>(ni);
      available[static_cast<size_t>(id)] = true;
    }
  }
  for (int id : outputs) {
    if (id < 0 || id >= nv) return MORSEL_ERROR(INVALID_MODEL, "graph output id %d out of range", id);
    if (!available[static_cast<size_t>(id)])
      return MORSEL_ERROR(INVALID_MODEL, "graph output '%s' is never computed",
                          values[static_cast<size_t>(id)].name.c_str());
  }
  return Status();
}

Status Graph::infer_shapes() {
  for (Node& n : nodes) {
    std::vector<Shape> shapes;
    std::vector<DType> dtypes;
    MORSEL_RETURN_IF_ERROR(infer_node(*this, n, &shapes, &dtypes));
    for (size_t i = 0; i < n.outputs.size() && i < shapes.size(); i++) {
      Value& v = values[static_cast<size_t>(n.outputs[i])];
      v.shape = shapes[i];
      v.dtype = dtypes[i];
    }
  }
  return Status();
}

void Graph::remove_dead() {
  std::vector<bool> live_value(values.size(), false);
  std::vector<bool> live_node(nodes.size(), false);
  for (int id : outputs) live_value[static_cast<size_t>(id)] = true;
  for (int id : inputs) live_value[static_cast<size_t>(id)] = true;
  for (size_t i = nodes.size(); i-- > 0;) {
    bool live = false;
    for (int o : nodes[i].outputs) live = live || live_value[static_cast<size_t>(o)];
    if (!live) continue;
    live_node[i] = true;
    for (int o : nodes[i].outputs) live_value[static_cast<size_t>(o)] = true;
    for (int in : nodes[i].inputs)
      if (in >= 0) live_value[static_cast<size_t>(in)] = true;
  }
  std::vector<int> remap(values.size(), -1);
  std::vector<Value> new_values;
  for (size_t i = 0; i < values.size(); i++) {
    if (!live_value[i]) continue;
    remap[i] = static_cast<int>(new_values.size());
    new_values.push_back(std::move(values[i]));
  }
  std::vector<Node> new_nodes;
  for (size_t i = 0; i < nodes.size(); i++) {
    if (!live_node[i]) continue;
    Node n = std::move(nodes[i]);
    for (int& id : n.inputs)
      if (id >= 0) id = remap[static_cast<size_t>(id)];
    for (int& id : n.outputs) id = remap[static_cast<size_t>(id)];
    for (int id : n.outputs) new_values[static_cast<size_t>(id)].producer = static_cast<int>(new_nodes.size());
    new_nodes.push_back(std::move(n));
  }
  for (int& id : inputs) id = remap[static_cast<size_t>(id)];
  for (int& id : outputs) id = remap[static_cast<size_t>(id)];
  values = std::move(new_values);
  nodes = std::move(new_nodes);
}

Status Graph::toposort() {
  std::vector<bool> ready(values.size(), false);
  for (size_t i = 0; i < values.size(); i++)
    if (values[i].is_const()) ready[i] = true;
  for (int id : inputs) ready[static_cast<size_t>(id)] = true;
  std::vector<bool> placed(nodes.size(), false);
  std::vector<Node> order;
  order.reserve(nodes.size());
  bool progress = true;
  while (order.size() < nodes.size() && progress) {
    progress = false;
    for (size_t i = 0; i < nodes.size(); i++) {
      if (placed[i]) continue;
      bool ok = true;
      for (int in : nodes[i].inputs)
        if (in >= 0 && !ready[static_cast<size_t>(in)]) ok = false;
      if (!ok) continue;
      placed[i] = true;
      progress = true;
      for (int o : nodes[i].outputs) ready[static_cast<size_t>(o)] = true;
      order.push_back(nodes[i]);
    }
  }
  if (order.size() != nodes.size())
    return MORSEL_ERROR(INVALID_MODEL, "graph has a cycle or reads a value that nothing computes");
  nodes = std::move(order);
  for (size_t i = 0; i < nodes.size(); i++)
    for (int o : nodes[i].outputs) values[static_cast<size_t>(o)].producer = static_cast<int>(i);
  return Status();
}

int64_t Graph::param_count() const {
  int64_t n = 0;
  for (const Value& v : values)
    if (v.is_const()) n += v.data.numel();
  return n;
}

int64_t Graph::const_bytes() const {
  int64_t n = 0;
  for (const Value& v : values)
    if (v.is_const()) n += static_cast<int64_t>(v.data.nbytes());
  return n;
}

}  // namespace morsel
