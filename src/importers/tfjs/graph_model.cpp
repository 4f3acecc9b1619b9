// TF.js graph models (tfjs-converter "graph-model" output): a TensorFlow GraphDef as JSON with
// base64 string attributes, constants stored in the weights. Constants that only parametrize an
// op (axes, shapes, paddings) become attributes; the rest become weights.
#include <set>

#include <nlohmann/json.hpp>

#include "importers/tfjs/common.h"
#include "importers/tfjs/layers.h"

namespace morsel::tfjs {

using json = nlohmann::json;

namespace {

std::string base64_decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char ch : in) {
    if (ch == '=') break;
    size_t pos = chars.find(static_cast<char>(ch));
    if (pos == std::string::npos) {
      if (ch == '-') pos = 62;
      else if (ch == '_') pos = 63;
      else continue;
    }
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// Attribute accessors over the GraphDef JSON encoding.
struct NodeAttrs {
  const json* attr;
  bool has(const char* k) const { return attr && attr->contains(k); }
  std::string str(const char* k, const std::string& def = "") const {
    if (!has(k) || !attr->at(k).contains("s")) return def;
    return base64_decode(attr->at(k).at("s").get<std::string>());
  }
  std::vector<int64_t> ints(const char* k) const {
    std::vector<int64_t> out;
    if (!has(k) || !attr->at(k).contains("list")) return out;
    const json& l = attr->at(k).at("list");
    if (!l.contains("i")) return out;
    for (const json& v : l.at("i")) out.push_back(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>());
    return out;
  }
  std::vector<std::string> strs(const char* k) const {
    std::vector<std::string> out;
    if (!has(k) || !attr->at(k).contains("list")) return out;
    const json& l = attr->at(k).at("list");
    if (!l.contains("s")) return out;
    for (const json& v : l.at("s")) out.push_back(base64_decode(v.get<std::string>()));
    return out;
  }
  bool boolean(const char* k, bool def = false) const {
    if (!has(k) || !attr->at(k).contains("b")) return def;
    return attr->at(k).at("b").get<bool>();
  }
  double f(const char* k, double def = 0) const {
    if (!has(k) || !attr->at(k).contains("f")) return def;
    return attr->at(k).at("f").get<double>();
  }
  int64_t i(const char* k, int64_t def = 0) const {
    if (!has(k) || !attr->at(k).contains("i")) return def;
    const json& v = attr->at(k).at("i");
    return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
  }
};

// "name:1" -> ("name", 1); "^ctrl" -> control dependency (ignored).
std::pair<std::string, int> split_input(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && colon + 1 < s.size() &&
      s.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    return {s.substr(0, colon), std::stoi(s.substr(colon + 1))};
  return {s, 0};
}

class GraphImporter {
 public:
  GraphImporter(const std::map<std::string, Tensor>& weights) : weights_(weights) {}

  Status run(const json& model_json, ImportResult* out) {
    const json& nodes = model_json.at("modelTopology").at("node");
    for (const json& n : nodes) by_name_[n.at("name").get<std::string>()] = &n;
    // Nodes are usually in topological order; resolve lazily with memoized recursion.
    std::vector<std::string> output_names;
    if (model_json.contains("userDefinedMetadata") &&
        model_json.at("userDefinedMetadata").contains("signature") &&
        model_json.at("userDefinedMetadata").at("signature").contains("outputs")) {
      for (const auto& [k, v] : model_json.at("userDefinedMetadata").at("signature").at("outputs").items())
        output_names.push_back(split_input(v.value("name", k)).first);
    }
    if (output_names.empty()) {  // nodes nobody consumes
      std::set<std::string> consumed;
      for (const json& n : nodes)
        if (n.contains("input"))
          for (const json& i : n.at("input")) consumed.insert(split_input(i.get<std::string>()).first);
      for (const json& n : nodes) {
        std::string nm = n.at("name").get<std::string>(), op = n.at("op").get<std::string>();
        if (!consumed.count(nm) && op != "Const" && op != "NoOp" && op != "Placeholder")
          output_names.push_back(nm);
      }
    }
    // Graph inputs in file order.
    for (const json& n : nodes)
      if (n.at("op") == "Placeholder") resolve(n.at("name").get<std::string>());
    for (const std::string& name : output_names) {
      int id = resolve(name);
      g_.outputs.push_back(id < 0 ? 0 : id);
    }
    MORSEL_RETURN_IF_ERROR(unsupported_.to_status("this TF.js graph model"));
    if (g_.outputs.empty()) return MORSEL_ERROR(INVALID_MODEL, "graph model has no outputs");
    g_.remove_dead();
    MORSEL_RETURN_IF_ERROR(g_.toposort());
    out->graph = std::move(g_);
    out->kind = "tfjs-graph";
    return Status();
  }

 private:
  const std::map<std::string, Tensor>& weights_;
  std::map<std::string, const json*> by_name_;
  std::map<std::string, int> done_;  // node name -> value id (-1 unsupported)
  std::set<std::string> in_progress_;
  Graph g_;
  Unsupported unsupported_;

  // The constant tensor behind a Const node (following Identity), or nullptr.
  const Tensor* const_of(const std::string& input) {
    std::string name = split_input(input).first;
    for (int hops = 0; hops < 16; hops++) {
      auto it = by_name_.find(name);
      if (it == by_name_.end()) return nullptr;
      const json& n = *it->second;
      if (n.at("op") == "Const") {
        auto w = weights_.find(name);
        return w == weights_.end() ? nullptr : &w->second;
      }
      if (n.at("op") != "Identity" || !n.contains("input")) return nullptr;
      name = split_input(n.at("input").at(0).get<std::string>()).first;
    }
    return nullptr;
  }

  static std::vector<int64_t> const_ints(const Tensor& t) {
    std::vector<int64_t> out;
    Tensor f = t.dtype() == DType::I32 ? t : tensor_to_f32(t);
    for (int64_t i = 0; i < t.numel(); i++)
      out.push_back(t.dtype() == DType::I32 ? f.data<int32_t>()[i]
                                            : static_cast<int64_t>(f.data<float>()[i]));
    return out;
  }

  std::vector<std::string> data_inputs(const json& n) {
    std::vector<std::string> out;
    if (!n.contains("input")) return out;
    for (const json& i : n.at("input")) {
      std::string s = i.get<std::string>();
      if (!s.empty() && s[0] != '^') out.push_back(s);
    }
    return out;
  }

  int resolve(const std::string& input) {
    auto [name, index] = split_input(input);
    if (index != 0) {
      unsupported_.add(name, "output " + std::to_string(index) + " (only single-output ops)");
      return -1;
    }
    auto d = done_.find(name);
    if (d != done_.end()) return d->second;
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      unsupported_.add(name, "is referenced but not defined");
      return done_[name] = -1;
    }
    if (in_progress_.count(name)) {
      unsupported_.add(name, "is part of a cycle");
      return -1;
    }
    in_progress_.insert(name);
    int id = convert(*it->second, name);
    in_progress_.erase(name);
    return done_[name] = id;
  }

  int convert(const json& n, const std::string& name) {
    const std::string op = n.at("op").get<std::string>();
    NodeAttrs a{n.contains("attr") ? &n.at("attr") : nullptr};
    std::vector<std::string> ins = data_inputs(n);
    auto need = [&](size_t k) {
      if (ins.size() < k) {
        unsupported_.add(name, "(" + op + ") has " + std::to_string(ins.size()) + " inputs, needs " + std::to_string(k));
        return false;
      }
      return true;
    };
    auto in = [&](size_t i) { return resolve(ins[i]); };
    auto nhwc_ok = [&]() {
      std::string fmt = a.str("data_format", "NHWC");
      if (fmt != "NHWC") {
        unsupported_.add(name, "(" + op + ") data_format " + fmt);
        return false;
      }
      return true;
    };
    // strides/ksize/dilations come as [1, h, w, 1]
    auto hw = [&](const char* k, std::vector<int64_t> def) {
      std::vector<int64_t> v = a.ints(k);
      if (v.size() == 4) return std::vector<int64_t>{v[1], v[2]};
      return def;
    };
    auto padding = [&](Attrs& at) {
      std::string p = a.str("padding", "VALID");
      if (p == "EXPLICIT") {
        std::vector<int64_t> e = a.ints("explicit_paddings");  // [N0,N1,H0,H1,W0,W1,C0,C1]
        if (e.size() != 8) {
          unsupported_.add(name, "(" + op + ") EXPLICIT padding without 8 explicit_paddings");
          return false;
        }
        at.set("pads", std::vector<int64_t>{e[2], e[4], e[3], e[5]});
      } else if (p != "SAME" && p != "VALID") {
        unsupported_.add(name, "(" + op + ") padding " + p);
        return false;
      }
      at.set("padding", p);
      return true;
    };
    auto fused_activation = [&](Attrs& at, size_t* nbias) {
      std::vector<std::string> fused = a.strs("fused_ops");
      *nbias = 0;
      for (size_t i = 0; i < fused.size(); i++) {
        const std::string& f = fused[i];
        if (i == 0 && f == "BiasAdd") *nbias = 1;
        else if (i + 1 == fused.size() && (f == "Relu" || f == "Relu6"))
          at.set("act", std::string(f == "Relu" ? "relu" : "relu6"));
        else {
          unsupported_.add(name, "(" + op + ") fused op " + f);
          return false;
        }
      }
      return true;
    };

    if (op == "Const") {
      auto w = weights_.find(name);
      if (w == weights_.end()) {
        unsupported_.add(name, "(Const) has no data in the weights manifest");
        return -1;
      }
      return g_.add_const(name, w->second);
    }
    if (op == "Placeholder") {
      Shape shape;
      if (a.has("shape") && a.attr->at("shape").contains("shape") &&
          a.attr->at("shape").at("shape").contains("dim")) {
        for (const json& d : a.attr->at("shape").at("shape").at("dim")) {
          const json& s = d.at("size");
          shape.push_back(s.is_string() ? std::stoll(s.get<std::string>()) : s.get<int64_t>());
        }
      }
      if (shape.size() >= 1) shape[0] = -1;
      for (size_t i = 1; i < shape.size(); i++)
        if (shape[i] < 0)
          unsupported_.add(name, "(Placeholder) has a dynamic size " + shape_str(shape) +
                                     "; export with a fixed input size");
      if (shape.empty()) unsupported_.add(name, "(Placeholder) has no shape");
      return g_.add_input(name, DType::F32, shape);
    }
    if (op == "Identity" || op == "StopGradient" || op == "Snapshot") {
      if (!need(1)) return -1;
      return in(0);
    }
    if (op == "Conv2D" || op == "_FusedConv2D" || op == "DepthwiseConv2dNative" ||
        op == "FusedDepthwiseConv2dNative") {
      if (!need(2) || !nhwc_ok()) return -1;
      Attrs at;
      at.set("strides", hw("strides", {1, 1}));
      at.set("dilations", hw("dilations", {1, 1}));
      if (!padding(at)) return -1;
      size_t nbias = 0;
      if ((op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative") &&
          !fused_activation(at, &nbias))
        return -1;
      if (ins.size() < 2 + nbias) {
        unsupported_.add(name, "(" + op + ") is missing its bias input");
        return -1;
      }
      int x = in(0), w = in(1), b = nbias ? in(2) : -1;
      if (x < 0 || w < 0 || (nbias && b < 0)) return -1;
      if (!g_.values[static_cast<size_t>(w)].is_const()) {
        unsupported_.add(name, "(" + op + ") with non-constant weights");
        return -1;
      }
      bool dw = op == "DepthwiseConv2dNative" || op == "FusedDepthwiseConv2dNative";
      return g_.add_node(dw ? OpType::DEPTHWISE_CONV2D : OpType::CONV2D, name, {x, w, b}, at);
    }
    if (op == "MatMul" || op == "_FusedMatMul") {
      if (!need(2)) return -1;
      Attrs at;
      size_t nbias = 0;
      if (op == "_FusedMatMul" && !fused_activation(at, &nbias)) return -1;
      if (a.boolean("transpose_a")) {
        unsupported_.add(name, "(" + op + ") transpose_a");
        return -1;
      }
      const Tensor* wt = const_of(ins[1]);
      if (!wt || wt->rank() != 2) {
        unsupported_.add(name, "(" + op + ") with a non-constant or non-2D right operand");
        return -1;
      }
      int x = in(0);
      int b = nbias ? in(2) : -1;
      if (x < 0 || (nbias && b < 0)) return -1;
      Tensor w = *wt;
      if (a.boolean("transpose_b")) {  // stored [M,K]; Dense wants [K,M]; compact stays compact
        if (w.dtype() != DType::QU8 && w.dtype() != DType::QU16 && w.dtype() != DType::F16)
          w = tensor_to_f32(w);
        const size_t es = dtype_size(w.dtype());
        Tensor t(w.dtype(), {w.dim(1), w.dim(0)});
        for (int64_t i = 0; i < w.dim(0); i++)
          for (int64_t j = 0; j < w.dim(1); j++)
            std::memcpy(t.mut<uint8_t>() + (j * w.dim(0) + i) * es,
                        w.data<uint8_t>() + (i * w.dim(1) + j) * es, es);
        if (const AffineQuant* q = w.affine()) {
          AffineQuant qt = *q;
          if (qt.axis >= 0) qt.axis = 1 - qt.axis;  // the channel axis moves with the transpose
          t = t.with_affine(std::move(qt));
        }
        w = t;
      } else if (w.dtype() != DType::QU8 && w.dtype() != DType::QU16 && w.dtype() != DType::F16) {
        w = tensor_to_f32(w);
      }
      int wid = g_.add_const(name + "/weights", w);
      return g_.add_node(OpType::DENSE, name, {x, wid, b}, at);
    }
    if (op == "BiasAdd" || op == "Add" || op == "AddV2" || op == "Sub" || op == "Mul" ||
        op == "RealDiv" || op == "Div") {
      if (!need(2)) return -1;
      if (op == "BiasAdd" && !nhwc_ok()) return -1;
      int x = in(0), y = in(1);
      if (x < 0 || y < 0) return -1;
      OpType t = (op == "Sub") ? OpType::SUB
                 : (op == "Mul") ? OpType::MUL
                 : (op == "RealDiv" || op == "Div") ? OpType::DIV
                                                    : OpType::ADD;
      return g_.add_node(t, name, {x, y}, Attrs());
    }
    if (op == "Relu" || op == "Relu6" || op == "Sigmoid" || op == "Tanh" || op == "Softmax" ||
        op == "LeakyRelu") {
      if (!need(1)) return -1;
      int x = in(0);
      if (x < 0) return -1;
      Attrs at;
      if (op == "Relu6") {
        at.set("min", 0.0);
        at.set("max", 6.0);
        return g_.add_node(OpType::CLIP, name, {x}, at);
      }
      if (op == "LeakyRelu") {
        at.set("alpha", a.f("alpha", 0.2));
        return g_.add_node(OpType::RELU, name, {x}, at);
      }
      if (op == "Softmax") at.set("axis", int64_t{-1});
      OpType t = op == "Relu" ? OpType::RELU : op == "Sigmoid" ? OpType::SIGMOID
                 : op == "Tanh" ? OpType::TANH : OpType::SOFTMAX;
      return g_.add_node(t, name, {x}, at);
    }
    if (op == "Pad" || op == "PadV2" || op == "MirrorPad") {
      if (op == "MirrorPad") {
        unsupported_.add(name, "(MirrorPad)");
        return -1;
      }
      if (!need(2)) return -1;
      const Tensor* p = const_of(ins[1]);
      if (!p || p->rank() != 2 || p->dim(1) != 2) {
        unsupported_.add(name, "(" + op + ") with non-constant paddings");
        return -1;
      }
      std::vector<int64_t> v = const_ints(*p);
      const size_t r = static_cast<size_t>(p->dim(0));
      std::vector<int64_t> pads(2 * r);
      for (size_t i = 0; i < r; i++) {
        pads[i] = v[2 * i];
        pads[i + r] = v[2 * i + 1];
      }
      Attrs at;
      at.set("pads", pads);
      if (op == "PadV2") {
        const Tensor* cv = ins.size() > 2 ? const_of(ins[2]) : nullptr;
        if (!cv) {
          unsupported_.add(name, "(PadV2) with a non-constant value");
          return -1;
        }
        at.set("value", static_cast<double>(tensor_to_f32(*cv).data<float>()[0]));
      }
      int x = in(0);
      if (x < 0) return -1;
      return g_.add_node(OpType::PAD, name, {x}, at);
    }
    if (op == "MaxPool" || op == "AvgPool") {
      if (!need(1) || !nhwc_ok()) return -1;
      Attrs at;
      at.set("kernel", hw("ksize", {1, 1}));
      at.set("strides", hw("strides", {1, 1}));
      if (!padding(at)) return -1;
      int x = in(0);
      if (x < 0) return -1;
      return g_.add_node(op == "MaxPool" ? OpType::MAX_POOL : OpType::AVG_POOL, name, {x}, at);
    }
    if (op == "Mean") {
      if (!need(2)) return -1;
      const Tensor* ax = const_of(ins[1]);
      if (!ax) {
        unsupported_.add(name, "(Mean) with non-constant axes");
        return -1;
      }
      Attrs at;
      at.set("axes", const_ints(*ax));
      at.set("keepdims", int64_t{a.boolean("keep_dims") || a.boolean("keepdims") ? 1 : 0});
      int x = in(0);
      if (x < 0) return -1;
      return g_.add_node(OpType::MEAN, name, {x}, at);
    }
    if (op == "ConcatV2" || op == "Concat") {
      if (!need(2)) return -1;
      // ConcatV2: values..., axis.  Concat (v1): axis, values...
      const bool v2 = op == "ConcatV2";
      const Tensor* ax = const_of(v2 ? ins.back() : ins.front());
      if (!ax) {
        unsupported_.add(name, "(" + op + ") with a non-constant axis");
        return -1;
      }
      std::vector<int> xs;
      for (size_t i = v2 ? 0 : 1; i < (v2 ? ins.size() - 1 : ins.size()); i++) {
        int x = in(i);
        if (x < 0) return -1;
        xs.push_back(x);
      }
      Attrs at;
      at.set("axis", const_ints(*ax).at(0));
      return g_.add_node(OpType::CONCAT, name, xs, at);
    }
    if (op == "Reshape") {
      if (!need(2)) return -1;
      const Tensor* s = const_of(ins[1]);
      if (!s) {
        unsupported_.add(name, "(Reshape) with a non-constant shape");
        return -1;
      }
      std::vector<int64_t> shape = const_ints(*s);
      // TF has no "copy this dim" marker: a literal 0 is a zero-size dim, which we do not run.
      for (int64_t d : shape)
        if (d == 0) {
          unsupported_.add(name, "(Reshape) to a zero-size dim");
          return -1;
        }
      Attrs at;
      at.set("shape", shape);
      int x = in(0);
      if (x < 0) return -1;
      return g_.add_node(OpType::RESHAPE, name, {x}, at);
    }
    if (op == "Squeeze") {
      if (!need(1)) return -1;
      Attrs at;
      at.set("axes", a.ints("squeeze_dims"));
      int x = in(0);
      if (x < 0) return -1;
      return g_.add_node(OpType::SQUEEZE, name, {x}, at);
    }
    unsupported_.add(name, "op " + op);
    // Keep walking the inputs so every unsupported op is reported at once.
    for (size_t i = 0; i < ins.size(); i++) resolve(ins[i]);
    return -1;
  }
};

}  // namespace

Status import_graph_model(const nlohmann::json& model_json,
                          const std::map<std::string, Tensor>& weights, ImportResult* out) {
  try {
    GraphImporter imp(weights);
    return imp.run(model_json, out);
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "malformed graph model: %s", e.what());
  }
}

}  // namespace morsel::tfjs
