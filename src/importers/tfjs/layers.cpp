// Keras models: a Keras topology (functional "Model"/"Functional" or "Sequential", possibly
// nested) plus named weights -> Graph. Used by TF.js layers models and by Keras .h5 files
// (src/importers/keras-h5/), whose layer semantics are the same. One branch per Keras layer
// class below; add a layer by adding a branch to convert_layer().
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "importers/tfjs/common.h"
#include "importers/tfjs/layers.h"

namespace morsel::tfjs {

using json = nlohmann::json;

namespace {

int64_t jint(const json& j) { return j.get<int64_t>(); }

// Keras accepts an int or a list for sizes like strides/pool_size.
std::vector<int64_t> pair_of(const json& cfg, const char* key, std::vector<int64_t> def) {
  if (!cfg.contains(key) || cfg.at(key).is_null()) return def;
  const json& v = cfg.at(key);
  if (v.is_number()) return {jint(v), jint(v)};
  std::vector<int64_t> out;
  for (const json& e : v) out.push_back(jint(e));
  return out;
}

std::string str_or(const json& cfg, const char* key, const std::string& def) {
  if (!cfg.contains(key) || !cfg.at(key).is_string()) return def;
  return cfg.at(key).get<std::string>();
}

class LayersImporter {
 public:
  LayersImporter(const std::map<std::string, Tensor>& weights) : weights_(weights) {
    for (const auto& [name, t] : weights) {
      size_t slash = name.rfind('/');
      if (slash == std::string::npos) continue;
      by_layer_[name.substr(0, slash)][name.substr(slash + 1)] = name;
    }
  }

  // `kind` names the source in ImportResult::kind, `what` in the unsupported-layers error.
  Status run(const json& topology, const std::string& kind, const std::string& what,
             ImportResult* out) {
    const json& mc = topology.contains("model_config") ? topology.at("model_config") : topology;
    out->model_name = mc.contains("config") && mc.at("config").is_object()
                          ? str_or(mc.at("config"), "name", "")
                          : "";
    std::vector<int> outputs;
    MORSEL_RETURN_IF_ERROR(import_model(mc, "", nullptr, &outputs));
    MORSEL_RETURN_IF_ERROR(unsupported_.to_status(what));
    g_.outputs = outputs;
    out->graph = std::move(g_);
    out->kind = kind;
    return Status();
  }

 private:
  const std::map<std::string, Tensor>& weights_;
  // layer path (weight name without its last component) -> short name -> full weight name
  std::map<std::string, std::map<std::string, std::string>> by_layer_;
  Graph g_;
  Unsupported unsupported_;
  std::set<std::string> used_weights_;

  // Weight `suffix` ("kernel", "bias", ...) of layer `layer` inside model scope `scope`.
  // TF.js names weights "<layer>/<suffix>", sometimes with the enclosing model's name in front.
  int weight(const std::string& scope, const std::string& layer, const std::string& suffix,
             bool required = true) {
    const std::string* found = nullptr;
    auto try_key = [&](const std::string& key) {
      auto it = by_layer_.find(key);
      if (it == by_layer_.end()) return false;
      auto jt = it->second.find(suffix);
      if (jt == it->second.end()) return false;
      found = &jt->second;
      return true;
    };
    if (!(scope.size() && try_key(scope + "/" + layer)) && !try_key(layer)) {
      for (const auto& [key, m] : by_layer_) {  // any enclosing scope
        if (key.size() > layer.size() && key.compare(key.size() - layer.size(), layer.size(), layer) == 0 &&
            key[key.size() - layer.size() - 1] == '/' && m.count(suffix)) {
          found = &m.at(suffix);
          break;
        }
      }
    }
    if (!found) {
      if (required) unsupported_.add(layer, "is missing its weight '" + suffix + "'");
      return -1;
    }
    int id = g_.find_value(*found);
    if (id >= 0) return id;  // shared layer called twice
    return g_.add_const(*found, weights_.at(*found));
  }

  // Output tensor map: "<scope>|<layer>|<node>|<tensor>" -> value id.
  std::map<std::string, int> tensors_;
  static std::string key(const std::string& scope, const std::string& layer, int64_t node,
                         int64_t tensor) {
    return scope + "|" + layer + "|" + std::to_string(node) + "|" + std::to_string(tensor);
  }

  static std::string layer_class(const json& l) { return l.at("class_name").get<std::string>(); }
  static bool is_model_class(const std::string& c) {
    return c == "Model" || c == "Functional" || c == "Sequential";
  }

  Status import_model(const json& m, const std::string& parent_scope,
                      const std::vector<int>* call_inputs, std::vector<int>* outputs) {
    const std::string cls = layer_class(m);
    const json& cfg = m.at("config");
    if (cls == "Sequential") return import_sequential(cfg, parent_scope, call_inputs, outputs);
    if (cls != "Model" && cls != "Functional")
      return MORSEL_ERROR(UNSUPPORTED, "model class '%s' (expected Model, Functional or Sequential)",
                          cls.c_str());
    const std::string name = str_or(cfg, "name", "model");
    const std::string scope = parent_scope.empty() ? name : parent_scope + "/" + name;

    // Inputs.
    const json& input_layers = cfg.at("input_layers");
    std::map<std::string, int> input_index;
    for (size_t i = 0; i < input_layers.size(); i++)
      input_index[input_layers[i].at(0).get<std::string>()] = static_cast<int>(i);
    if (call_inputs && call_inputs->size() != input_layers.size())
      return MORSEL_ERROR(INVALID_MODEL, "nested model '%s' takes %zu inputs, called with %zu",
                          name.c_str(), input_layers.size(), call_inputs->size());

    // Layers, in dependency order (the topology is usually sorted; be safe anyway).
    const json& layers = cfg.at("layers");
    std::vector<bool> done(layers.size(), false);
    size_t remaining = layers.size();
    while (remaining) {
      size_t before = remaining;
      for (size_t li = 0; li < layers.size(); li++) {
        if (done[li]) continue;
        const json& l = layers[li];
        const std::string lname = l.at("name").get<std::string>();
        const std::string lcls = layer_class(l);
        if (lcls == "InputLayer") {
          auto it = input_index.find(lname);
          int id;
          if (call_inputs && it != input_index.end()) {
            id = (*call_inputs)[static_cast<size_t>(it->second)];
          } else {
            MORSEL_ASSIGN_OR_RETURN(id, make_input(l.at("config"), lname));
          }
          tensors_[key(scope, lname, 0, 0)] = id;
          done[li] = true;
          remaining--;
          continue;
        }
        // Every call (inbound node) must have its inputs ready.
        const json& inbound = l.at("inbound_nodes");
        bool ready = true;
        std::vector<std::vector<int>> calls;
        for (const json& node : inbound) {
          std::vector<int> ins;
          for (const json& ref : inbound_refs(node)) {
            auto it = tensors_.find(key(scope, ref.at(0).get<std::string>(), jint(ref.at(1)),
                                        jint(ref.at(2))));
            if (it == tensors_.end()) {
              ready = false;
              break;
            }
            ins.push_back(it->second);
          }
          if (!ready) break;
          calls.push_back(std::move(ins));
        }
        if (!ready) continue;
        for (size_t ci = 0; ci < calls.size(); ci++) {
          std::vector<int> outs;
          std::string call_name = calls.size() > 1 ? lname + "_" + std::to_string(ci) : lname;
          if (is_model_class(lcls)) {
            MORSEL_RETURN_IF_ERROR(import_model(l, scope, &calls[ci], &outs));
          } else {
            int y = convert_layer(l, scope, call_name, calls[ci]);
            outs.push_back(y);
          }
          for (size_t ti = 0; ti < outs.size(); ti++)
            tensors_[key(scope, lname, static_cast<int64_t>(ci), static_cast<int64_t>(ti))] = outs[ti];
        }
        done[li] = true;
        remaining--;
      }
      if (remaining == before) {
        std::string missing;
        for (size_t li = 0; li < layers.size(); li++)
          if (!done[li]) missing += " " + layers[li].at("name").get<std::string>();
        return MORSEL_ERROR(INVALID_MODEL, "model '%s': layers whose inputs never appear:%s",
                            name.c_str(), missing.c_str());
      }
    }
    for (const json& ref : cfg.at("output_layers")) {
      auto it = tensors_.find(key(scope, ref.at(0).get<std::string>(), jint(ref.at(1)), jint(ref.at(2))));
      if (it == tensors_.end())
        return MORSEL_ERROR(INVALID_MODEL, "model '%s': output layer '%s' not found", name.c_str(),
                            ref.at(0).get<std::string>().c_str());
      outputs->push_back(it->second < 0 ? 0 : it->second);
    }
    return Status();
  }

  // Keras 2 writes an inbound node as [[layer, node, tensor, kwargs], ...]; Keras 3 as
  // {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [l, n, t]}}]}.
  static std::vector<json> inbound_refs(const json& node) {
    std::vector<json> refs;
    if (node.is_array()) {
      for (const json& r : node) refs.push_back(r);
      return refs;
    }
    std::function<void(const json&)> walk = [&](const json& j) {
      if (j.is_object()) {
        if (j.contains("keras_history")) {
          refs.push_back(j.at("keras_history"));
          return;
        }
        for (const auto& [k, v] : j.items()) walk(v);
      } else if (j.is_array()) {
        for (const json& e : j) walk(e);
      }
    };
    if (node.contains("args")) walk(node.at("args"));
    return refs;
  }

  Result<int> make_input(const json& cfg, const std::string& name) {
    json shape_j;
    if (cfg.contains("batch_input_shape")) shape_j = cfg.at("batch_input_shape");
    else if (cfg.contains("batch_shape")) shape_j = cfg.at("batch_shape");
    else if (cfg.contains("input_shape")) {
      shape_j = json::array({nullptr});
      for (const json& d : cfg.at("input_shape")) shape_j.push_back(d);
    } else {
      return MORSEL_ERROR(INVALID_MODEL, "input layer '%s' has no shape", name.c_str());
    }
    Shape shape;
    for (const json& d : shape_j) shape.push_back(d.is_null() ? -1 : jint(d));
    if (!shape.empty()) shape[0] = -1;  // the batch is chosen at prepare time
    for (size_t i = 1; i < shape.size(); i++)
      if (shape[i] < 0)
        unsupported_.add(name, "has a dynamic spatial size " + shape_str(shape) +
                                   "; give the model a fixed input size");
    if (cfg.contains("dtype") && cfg.at("dtype").is_string() && cfg.at("dtype") != "float32")
      unsupported_.add(name, "input dtype " + cfg.at("dtype").get<std::string>());
    return g_.add_input(name, DType::F32, shape);
  }

  Status import_sequential(const json& cfg, const std::string& parent_scope,
                           const std::vector<int>* call_inputs, std::vector<int>* outputs) {
    const json& layers = cfg.is_array() ? cfg : cfg.at("layers");
    const std::string name = cfg.is_object() ? str_or(cfg, "name", "sequential") : "sequential";
    const std::string scope = parent_scope.empty() ? name : parent_scope + "/" + name;
    int x = -1;
    if (call_inputs) {
      if (call_inputs->size() != 1)
        return MORSEL_ERROR(INVALID_MODEL, "Sequential '%s' called with %zu inputs", name.c_str(),
                            call_inputs->size());
      x = (*call_inputs)[0];
    }
    for (size_t i = 0; i < layers.size(); i++) {
      const json& l = layers[i];
      const std::string lcls = layer_class(l);
      const json& lcfg = l.at("config");
      const std::string lname = lcfg.is_object() ? str_or(lcfg, "name", lcls) : lcls;
      if (lcls == "InputLayer") {
        if (x < 0) {
          MORSEL_ASSIGN_OR_RETURN(x, make_input(lcfg, lname));
        }
        continue;
      }
      if (x < 0) {
        if (is_model_class(lcls)) {
          // The first layer is a whole model: its own input becomes the graph input.
          std::vector<int> outs;
          MORSEL_RETURN_IF_ERROR(import_model(l, scope, nullptr, &outs));
          if (outs.size() != 1)
            return MORSEL_ERROR(UNSUPPORTED, "Sequential layer '%s' has %zu outputs", lname.c_str(), outs.size());
          x = outs[0];
          continue;
        }
        if (!lcfg.contains("batch_input_shape") && !lcfg.contains("batch_shape"))
          return MORSEL_ERROR(INVALID_MODEL, "Sequential '%s': first layer '%s' has no input shape",
                              name.c_str(), lname.c_str());
        MORSEL_ASSIGN_OR_RETURN(x, make_input(lcfg, name + "_input"));
      }
      if (is_model_class(lcls)) {
        std::vector<int> ins{x}, outs;
        MORSEL_RETURN_IF_ERROR(import_model(l, scope, &ins, &outs));
        if (outs.size() != 1)
          return MORSEL_ERROR(UNSUPPORTED, "Sequential layer '%s' has %zu outputs", lname.c_str(), outs.size());
        x = outs[0];
      } else {
        x = convert_layer(l, scope, lname, {x});
        if (x < 0) x = 0;  // keep going to collect every unsupported layer
      }
    }
    if (x < 0) return MORSEL_ERROR(INVALID_MODEL, "Sequential '%s' has no layers", name.c_str());
    outputs->push_back(x);
    return Status();
  }

  // Returns the output value id, or -1 after recording an unsupported construct.
  int convert_layer(const json& l, const std::string& scope, const std::string& name,
                    const std::vector<int>& ins) {
    const std::string cls = layer_class(l);
    const json& c = l.at("config");
    const std::string wname = str_or(c, "name", name);  // weights are named after the layer
    if (ins.empty()) {
      unsupported_.add(name, "(" + cls + ") has no inputs");
      return -1;
    }
    const int x = ins[0];
    auto data_format_ok = [&]() {
      if (str_or(c, "data_format", "channels_last") != "channels_last") {
        unsupported_.add(name, "(" + cls + ") data_format channels_first");
        return false;
      }
      return true;
    };
    auto conv_attrs = [&](Attrs& a) {
      a.set("strides", pair_of(c, "strides", {1, 1}));
      a.set("dilations", pair_of(c, "dilation_rate", {1, 1}));
      std::string pad = str_or(c, "padding", "valid");
      if (pad != "same" && pad != "valid") {
        unsupported_.add(name, "(" + cls + ") padding '" + pad + "'");
        return false;
      }
      a.set("padding", std::string(pad == "same" ? "SAME" : "VALID"));
      return true;
    };
    auto with_activation = [&](OpType op, std::vector<int> inputs, Attrs a) {
      std::string act = str_or(c, "activation", "linear");
      bool fused = fusable_activation(act);
      if (fused) a.set("act", act);
      int y = g_.add_node(op, name + (fused || act == "linear" ? "" : "/pre_act"), inputs, a, name + (fused || act == "linear" ? "" : "/pre_act"));
      if (fused) return y;
      return add_activation(g_, name, act, y, &unsupported_);
    };

    if (cls == "Conv2D") {
      if (!data_format_ok()) return -1;
      Attrs a;
      if (!conv_attrs(a)) return -1;
      if (c.contains("groups")) a.set("groups", jint(c.at("groups")));
      int w = weight(scope, wname, "kernel");
      int b = c.value("use_bias", true) ? weight(scope, wname, "bias") : -1;
      if (w < 0) return -1;
      return with_activation(OpType::CONV2D, {x, w, b}, a);
    }
    if (cls == "DepthwiseConv2D") {
      if (!data_format_ok()) return -1;
      Attrs a;
      if (!conv_attrs(a)) return -1;
      int w = weight(scope, wname, "depthwise_kernel");
      int b = c.value("use_bias", true) ? weight(scope, wname, "bias") : -1;
      if (w < 0) return -1;
      return with_activation(OpType::DEPTHWISE_CONV2D, {x, w, b}, a);
    }
    if (cls == "SeparableConv2D") {
      if (!data_format_ok()) return -1;
      Attrs a;
      if (!conv_attrs(a)) return -1;
      int dw = weight(scope, wname, "depthwise_kernel");
      int pw = weight(scope, wname, "pointwise_kernel");
      int b = c.value("use_bias", true) ? weight(scope, wname, "bias") : -1;
      if (dw < 0 || pw < 0) return -1;
      int d = g_.add_node(OpType::DEPTHWISE_CONV2D, name + "/depthwise", {x, dw, -1}, a);
      Attrs pa;
      pa.set("padding", std::string("VALID"));
      return with_activation(OpType::CONV2D, {d, pw, b}, pa);
    }
    if (cls == "Dense") {
      int w = weight(scope, wname, "kernel");
      int b = c.value("use_bias", true) ? weight(scope, wname, "bias") : -1;
      if (w < 0) return -1;
      return with_activation(OpType::DENSE, {x, w, b}, Attrs());
    }
    if (cls == "BatchNormalization") {
      json axis = c.contains("axis") ? c.at("axis") : json(-1);
      if (axis.is_array() && axis.size() == 1) axis = axis[0];
      if (!axis.is_number() || (jint(axis) != -1 && jint(axis) != 3)) {
        unsupported_.add(name, "(BatchNormalization) axis other than the channel axis");
        return -1;
      }
      int mean = weight(scope, wname, "moving_mean");
      int var = weight(scope, wname, "moving_variance");
      if (mean < 0 || var < 0) return -1;
      const int64_t ch = g_.values[static_cast<size_t>(mean)].shape.at(0);
      auto filled = [&](const char* suffix, float v) {
        Tensor t(DType::F32, {ch});
        for (int64_t i = 0; i < ch; i++) t.mut<float>()[i] = v;
        return g_.add_const(name + "/" + suffix, t);
      };
      int gamma = c.value("scale", true) ? weight(scope, wname, "gamma") : filled("gamma", 1.f);
      int beta = c.value("center", true) ? weight(scope, wname, "beta") : filled("beta", 0.f);
      if (gamma < 0 || beta < 0) return -1;
      Attrs a;
      a.set("epsilon", c.value("epsilon", 1e-3));
      return g_.add_node(OpType::BATCHNORM, name, {x, gamma, beta, mean, var}, a);
    }
    if (cls == "ReLU") {
      double slope = c.contains("negative_slope") && !c.at("negative_slope").is_null()
                         ? c.at("negative_slope").get<double>() : 0.0;
      double threshold = c.contains("threshold") && !c.at("threshold").is_null()
                             ? c.at("threshold").get<double>() : 0.0;
      if (threshold != 0) {
        unsupported_.add(name, "(ReLU) threshold != 0");
        return -1;
      }
      Attrs a;
      if (c.contains("max_value") && !c.at("max_value").is_null()) {
        if (slope != 0) {
          unsupported_.add(name, "(ReLU) max_value together with negative_slope");
          return -1;
        }
        a.set("min", 0.0);
        a.set("max", c.at("max_value").get<double>());
        return g_.add_node(OpType::CLIP, name, {x}, a);
      }
      a.set("alpha", slope);
      return g_.add_node(OpType::RELU, name, {x}, a);
    }
    if (cls == "LeakyReLU") {
      Attrs a;
      a.set("alpha", c.value("alpha", c.value("negative_slope", 0.3)));
      return g_.add_node(OpType::RELU, name, {x}, a);
    }
    if (cls == "Activation") return add_activation(g_, name, str_or(c, "activation", "linear"), x, &unsupported_);
    if (cls == "Softmax") {
      Attrs a;
      json axis = c.contains("axis") ? c.at("axis") : json(-1);
      if (axis.is_array() && axis.size() == 1) axis = axis[0];
      a.set("axis", axis.is_number() ? jint(axis) : int64_t{-1});
      return g_.add_node(OpType::SOFTMAX, name, {x}, a);
    }
    if (cls == "ZeroPadding2D") {
      if (!data_format_ok()) return -1;
      int64_t t = 1, b = 1, lft = 1, r = 1;
      if (c.contains("padding")) {
        const json& p = c.at("padding");
        if (p.is_number()) {
          t = b = lft = r = jint(p);
        } else if (p.size() == 2 && p[0].is_number()) {
          t = b = jint(p[0]);
          lft = r = jint(p[1]);
        } else if (p.size() == 2) {
          t = jint(p[0][0]);
          b = jint(p[0][1]);
          lft = jint(p[1][0]);
          r = jint(p[1][1]);
        }
      }
      Attrs a;
      a.set("pads", std::vector<int64_t>{0, t, lft, 0, 0, b, r, 0});
      return g_.add_node(OpType::PAD, name, {x}, a);
    }
    if (cls == "MaxPooling2D" || cls == "AveragePooling2D") {
      if (!data_format_ok()) return -1;
      Attrs a;
      std::vector<int64_t> k = pair_of(c, "pool_size", {2, 2});
      a.set("kernel", k);
      a.set("strides", pair_of(c, "strides", k));
      std::string pad = str_or(c, "padding", "valid");
      if (pad != "same" && pad != "valid") {
        unsupported_.add(name, "(" + cls + ") padding '" + pad + "'");
        return -1;
      }
      a.set("padding", std::string(pad == "same" ? "SAME" : "VALID"));
      return g_.add_node(cls == "MaxPooling2D" ? OpType::MAX_POOL : OpType::AVG_POOL, name, {x}, a);
    }
    if (cls == "GlobalAveragePooling2D") {
      if (!data_format_ok()) return -1;
      Attrs a;
      a.set("axes", std::vector<int64_t>{1, 2});
      a.set("keepdims", int64_t{c.value("keepdims", false) ? 1 : 0});
      return g_.add_node(OpType::MEAN, name, {x}, a);
    }
    if (cls == "Flatten") {
      Attrs a;
      a.set("shape", std::vector<int64_t>{0, -1});
      return g_.add_node(OpType::RESHAPE, name, {x}, a);
    }
    if (cls == "Reshape") {
      std::vector<int64_t> shape{0};
      for (const json& d : c.at("target_shape")) shape.push_back(d.is_null() ? -1 : jint(d));
      Attrs a;
      a.set("shape", shape);
      return g_.add_node(OpType::RESHAPE, name, {x}, a);
    }
    if (cls == "Dropout" || cls == "SpatialDropout2D" || cls == "GaussianNoise" ||
        cls == "GaussianDropout" || cls == "AlphaDropout") {
      return x;  // identity at inference
    }
    if (cls == "Add" || cls == "Multiply" || cls == "Subtract") {
      if (ins.size() < 2) {
        unsupported_.add(name, "(" + cls + ") with fewer than 2 inputs");
        return -1;
      }
      if (cls == "Subtract" && ins.size() != 2) {
        unsupported_.add(name, "(Subtract) with more than 2 inputs");
        return -1;
      }
      OpType op = cls == "Add" ? OpType::ADD : cls == "Multiply" ? OpType::MUL : OpType::SUB;
      int y = ins[0];
      for (size_t i = 1; i < ins.size(); i++) {
        std::string n = i + 1 == ins.size() ? name : name + "/" + std::to_string(i);
        y = g_.add_node(op, n, {y, ins[i]}, Attrs());
      }
      return y;
    }
    if (cls == "Concatenate") {
      Attrs a;
      a.set("axis", c.contains("axis") ? jint(c.at("axis")) : int64_t{-1});
      return g_.add_node(OpType::CONCAT, name, ins, a);
    }
    unsupported_.add(name, "layer class " + cls);
    return -1;
  }
};

}  // namespace

Status import_layers_model(const nlohmann::json& model_json,
                           const std::map<std::string, Tensor>& weights, ImportResult* out) {
  try {
    if (!model_json.contains("modelTopology"))
      return MORSEL_ERROR(INVALID_MODEL, "model.json has no modelTopology");
    return import_keras_model(model_json.at("modelTopology"), weights, "tfjs-layers",
                              "this TF.js layers model", out);
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "malformed layers model topology: %s", e.what());
  }
}

Status import_keras_model(const nlohmann::json& topology, const std::map<std::string, Tensor>& weights,
                          const std::string& kind, const std::string& what, ImportResult* out) {
  try {
    LayersImporter imp(weights);
    return imp.run(topology, kind, what, out);
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "malformed Keras model topology: %s", e.what());
  }
}

}  // namespace morsel::tfjs
