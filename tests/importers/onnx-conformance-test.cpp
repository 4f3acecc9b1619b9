// ONNX backend node tests (Debian's libonnx-testdata: model.onnx + test_data_set_*/input_*.pb,
// output_*.pb, written by ONNX's reference implementation) for every op the importer claims.
// A case passes when every output matches within the suite's own tolerance (rtol 1e-3,
// atol 1e-7). morsel needs weights, shapes, axes, pads and clip bounds to be constants, so the
// runner binds those node inputs (kParamInputs) to the test's values as initializers; data
// inputs stay graph inputs. A case the importer rejects as UNSUPPORTED must be listed in
// kExpectedUnsupported with the reason; any other outcome fails. EveryClaimedOpPasses writes
// the results as JSON when MORSEL_ONNX_CONFORMANCE_JSON is set
// (tests/data/onnx/conformance-table.py turns that into docs/onnx-conformance.md).
#include <dirent.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "importers/onnx/importer.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

std::string testdata_root() {
  const char* env = std::getenv("MORSEL_ONNX_TESTDATA");
  return env ? env : "/usr/share/libonnx-testdata/data/node";
}

// Node inputs that morsel requires to be constants: op -> input indices.
const std::map<std::string, std::set<int>> kParamInputs = {
    {"Conv", {1, 2}},        {"Gemm", {1, 2}},      {"MatMul", {1}},
    {"BatchNormalization", {1, 2, 3, 4}},           {"Reshape", {1}},
    {"Pad", {1, 2, 3}},      {"Clip", {1, 2}},      {"Squeeze", {1}},
    {"Unsqueeze", {1}},      {"Dropout", {1, 2}},   {"ReduceMean", {1}},
};

// Cases of claimed ops that the importer rejects on purpose, and why (the docs table shows it).
const std::map<std::string, std::string> kExpectedUnsupported = {
    {"test_add_uint8", "integer inputs"},
    {"test_sub_uint8", "integer inputs"},
    {"test_mul_uint8", "integer inputs"},
    {"test_div_uint8", "integer inputs"},
    {"test_maxpool_2d_uint8", "integer inputs"},
    {"test_clip_default_int8_inbounds", "integer inputs"},
    {"test_clip_default_int8_max", "integer inputs"},
    {"test_clip_default_int8_min", "integer inputs"},
    {"test_averagepool_1d_default", "1-D pooling"},
    {"test_averagepool_3d_default", "3-D pooling"},
    {"test_maxpool_1d_default", "1-D pooling"},
    {"test_maxpool_3d_default", "3-D pooling"},
    {"test_maxpool_2d_dilations", "dilated pooling"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool's Indices output"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool's Indices output"},
    {"test_matmul_3d", "MatMul with a 3-D B (batched matrix product)"},
    {"test_matmul_4d", "MatMul with a 4-D B (batched matrix product)"},
    {"test_batchnorm_epsilon_training_mode", "training mode"},
    {"test_batchnorm_example_training_mode", "training mode"},
    {"test_dropout_default_mask", "Dropout's mask output"},
    {"test_dropout_default_mask_ratio", "Dropout's mask output"},
    {"test_training_dropout", "Dropout in training mode"},
    {"test_training_dropout_default", "Dropout in training mode"},
    {"test_training_dropout_default_mask", "Dropout in training mode"},
    {"test_training_dropout_mask", "Dropout in training mode"},
    {"test_training_dropout_zero_ratio", "Dropout in training mode"},
    {"test_training_dropout_zero_ratio_mask", "Dropout in training mode"},
    {"test_edge_pad", "Pad mode edge"},
    {"test_reflect_pad", "Pad mode reflect"},
    {"test_add_bcast", "inputs with different first dims (the Session has one batch)"},
    {"test_sub_bcast", "inputs with different first dims (the Session has one batch)"},
    {"test_mul_bcast", "inputs with different first dims (the Session has one batch)"},
    {"test_div_bcast", "inputs with different first dims (the Session has one batch)"},
    {"test_constant", "a graph without inputs"},
    {"test_identity_opt", "optional-typed input"},
    {"test_identity_sequence", "sequence-typed input"},
    {"test_reshape_allowzero_reordered", "allowzero with a zero in the shape"},
};

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool read_proto(const std::string& path, google::protobuf::MessageLite* m) {
  std::vector<uint8_t> b = test::read_file_bytes(path);
  return !b.empty() && m->ParseFromArray(b.data(), static_cast<int>(b.size()));
}

std::set<std::string> op_types(const ::onnx::ModelProto& m) {
  std::set<std::string> ops;
  for (const auto& n : m.graph().node()) ops.insert(n.op_type());
  return ops;
}

// Node test directories whose ops are all claimed by the importer.
std::vector<std::string> claimed_cases() {
  std::vector<std::string> out;
  const auto& sup = onnx_import::supported_ops();
  const std::set<std::string> claimed(sup.begin(), sup.end());
  for (const std::string& name : list_dir(testdata_root())) {
    ::onnx::ModelProto m;
    if (!read_proto(testdata_root() + "/" + name + "/model.onnx", &m)) continue;
    bool all = m.graph().node_size() > 0;
    for (const std::string& op : op_types(m)) all = all && claimed.count(op);
    if (all) out.push_back(name);
  }
  return out;
}

struct CaseResult {
  std::string outcome;  // "passed", "failed", "unsupported"
  std::string detail;
  std::set<std::string> ops;
};

Result<Tensor> to_tensor(const ::onnx::TensorProto& t) {
  onnx_import::OnnxTensor c;
  MORSEL_RETURN_IF_ERROR(onnx_import::decode_tensor(t, "", &c));
  if (c.is_int) return MORSEL_ERROR(UNSUPPORTED, "integer tensor '%s'", t.name().c_str());
  Tensor out(DType::F32, c.shape);
  std::copy(c.f.begin(), c.f.end(), out.mut<float>());
  return out;
}

CaseResult run_case(const std::string& name) {
  CaseResult r;
  const std::string dir = testdata_root() + "/" + name;
  ::onnx::ModelProto m;
  if (!read_proto(dir + "/model.onnx", &m)) return {"failed", "model.onnx does not parse", {}};
  r.ops = op_types(m);
  // Which graph inputs feed parameter slots.
  std::set<std::string> params;
  for (const auto& n : m.graph().node()) {
    auto it = kParamInputs.find(n.op_type());
    if (it == kParamInputs.end()) continue;
    for (int i : it->second)
      if (i < n.input_size() && !n.input(i).empty()) params.insert(n.input(i));
  }
  std::vector<std::string> sets;
  for (const std::string& s : list_dir(dir))
    if (s.rfind("test_data_set_", 0) == 0) sets.push_back(s);
  if (sets.empty()) return {"failed", "no test_data_set_*", r.ops};

  double worst = 0;
  for (const std::string& set : sets) {
    // Inputs: input_<i>.pb matches graph.input(i) (the node tests have no initializers).
    ::onnx::ModelProto model = m;
    auto* g = model.mutable_graph();
    std::vector<Tensor> inputs;
    ::google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> kept;
    for (int i = 0; i < m.graph().input_size(); i++) {
      const std::string& in_name = m.graph().input(i).name();
      ::onnx::TensorProto t;
      if (!read_proto(dir + "/" + set + "/input_" + std::to_string(i) + ".pb", &t)) {
        // Optional or non-tensor inputs (sequences) have other encodings.
        Status st;
        if (params.count(in_name)) return {"failed", "cannot read input " + std::to_string(i), r.ops};
        kept.Add()->CopyFrom(m.graph().input(i));
        inputs.emplace_back();
        continue;
      }
      if (params.count(in_name)) {
        t.set_name(in_name);
        g->add_initializer()->CopyFrom(t);
      } else {
        kept.Add()->CopyFrom(m.graph().input(i));
        auto x = to_tensor(t);
        inputs.push_back(x.ok() ? std::move(x.value()) : Tensor());
      }
    }
    g->mutable_input()->Swap(&kept);
    std::string bytes;
    model.SerializeToString(&bytes);
    auto imp = onnx_import::import_model_buffer(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                bytes.size(), "");
    if (!imp.ok()) {
      if (imp.status().code() == StatusCode::UNSUPPORTED) return {"unsupported", imp.status().message(), r.ops};
      return {"failed", "import: " + imp.status().to_string(), r.ops};
    }
    for (const Tensor& t : inputs)
      if (t.empty()) return {"failed", "an input could not be decoded", r.ops};
    auto graph = std::make_shared<const Graph>(std::move(imp.value().graph));
    auto sess = Session::create(graph);
    if (!sess.ok()) return {"failed", "session: " + sess.status().to_string(), r.ops};
    std::vector<Tensor> outs;
    Status st = sess.value()->run(inputs, &outs);
    if (!st.ok()) return {"failed", "run: " + st.to_string(), r.ops};
    if (outs.size() != static_cast<size_t>(m.graph().output_size()))
      return {"failed", "output count", r.ops};
    for (size_t o = 0; o < outs.size(); o++) {
      ::onnx::TensorProto t;
      if (!read_proto(dir + "/" + set + "/output_" + std::to_string(o) + ".pb", &t))
        return {"failed", "cannot read output " + std::to_string(o), r.ops};
      auto want = to_tensor(t);
      if (!want.ok()) return {"failed", want.status().to_string(), r.ops};
      const Tensor& got = outs[o];
      if (got.shape() != want.value().shape())
        return {"failed", "output " + std::to_string(o) + " shape " + shape_str(got.shape()) +
                              ", expected " + shape_str(want.value().shape()), r.ops};
      for (int64_t k = 0; k < got.numel(); k++) {
        const double a = got.data<float>()[k], b = want.value().data<float>()[k];
        const double d = std::fabs(a - b);
        worst = std::max(worst, d);
        if (!(d <= 1e-7 + 1e-3 * std::fabs(b)))
          return {"failed", str_printf("output %zu element %lld: %g, expected %g", o, (long long)k, a, b), r.ops};
      }
    }
  }
  return {"passed", str_printf("max abs diff %.3g", worst), r.ops};
}

class OnnxNodeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNodeTest, MatchesReference) {
  const std::string& name = GetParam();
  CaseResult r = run_case(name);
  auto exp = kExpectedUnsupported.find(name);
  if (exp != kExpectedUnsupported.end()) {
    EXPECT_EQ(r.outcome, "unsupported") << name << " was expected to be unsupported ("
                                        << exp->second << "): " << r.detail;
  } else {
    EXPECT_EQ(r.outcome, "passed") << name << ": " << r.detail;
  }
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxNodeTest, ::testing::ValuesIn(claimed_cases()),
                         [](const auto& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNodeTest);

TEST(OnnxConformance, EveryClaimedOpPasses) {
  const std::vector<std::string> cases = claimed_cases();
  ASSERT_GE(cases.size(), 100u) << "ONNX node tests not found under " << testdata_root()
                                << ": run scripts/setup (it installs libonnx-testdata)";
  std::map<std::string, int> passed;
  nlohmann::json j;
  j["testdata"] = testdata_root();
  j["claimed_ops"] = onnx_import::supported_ops();
  for (const std::string& name : cases) {
    CaseResult r = run_case(name);
    for (const std::string& op : r.ops) passed[op] += r.outcome == "passed";
    j["cases"].push_back({{"name", name}, {"outcome", r.outcome}, {"detail", r.detail},
                          {"ops", r.ops},
                          {"reason", kExpectedUnsupported.count(name) ? kExpectedUnsupported.at(name) : ""}});
  }
  // Every claimed op except Constant (exercised inside other cases' models) has a passing case.
  for (const std::string& op : onnx_import::supported_ops()) {
    if (op == "Constant") continue;
    EXPECT_GE(passed[op], 1) << "no passing ONNX node test for claimed op " << op;
  }
  if (const char* out = std::getenv("MORSEL_ONNX_CONFORMANCE_JSON")) {
    std::ofstream f(out);
    f << j.dump(1);
  }
}

}  // namespace
}  // namespace morsel
