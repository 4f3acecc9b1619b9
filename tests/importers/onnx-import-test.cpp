// ONNX importer: the unsupported-construct report, hostile and malformed files (every checked
// field: dims, data sizes, typed-field counts, external data paths and ranges, graph order),
// external data, and the NHWC input option. Models are built here with the generated protobuf
// classes; numeric checks against onnxruntime and the ONNX test data live in
// onnx-models-test.cpp and onnx-conformance-test.cpp.
#include <gtest/gtest.h>

#include <fstream>

#include "importers/onnx/importer.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

::onnx::ModelProto base_model(int64_t opset = 13) {
  ::onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("t");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 3, 4, 4}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  return m;
}

::onnx::NodeProto* add_node(::onnx::ModelProto& m, const std::string& op, const std::string& name,
                            std::vector<std::string> ins, std::string out) {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : ins) n->add_input(i);
  n->add_output(out);
  return n;
}

void add_output(::onnx::ModelProto& m, const std::string& name) {
  m.mutable_graph()->add_output()->set_name(name);
}

::onnx::TensorProto* add_float_init(::onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) t->add_dims(d), n *= d;
  std::string raw(static_cast<size_t>(n) * 4, '\0');
  for (int64_t i = 0; i < n; i++) {
    float v = 0.01f * static_cast<float>(i % 17) - 0.05f;
    std::memcpy(raw.data() + i * 4, &v, 4);
  }
  t->set_raw_data(raw);
  return t;
}

Result<onnx_import::ImportResult> import(const ::onnx::ModelProto& m, const std::string& dir = "",
                                         onnx_import::ImportOptions opt = {}) {
  std::string b;
  m.SerializeToString(&b);
  return onnx_import::import_model_buffer(reinterpret_cast<const uint8_t*>(b.data()), b.size(), dir, opt);
}

// A valid small model: Conv (constant weights) -> Relu -> output.
::onnx::ModelProto conv_model() {
  auto m = base_model();
  add_float_init(m, "w", {2, 3, 3, 3});
  auto* n = add_node(m, "Conv", "conv", {"x", "w"}, "c");
  auto* a = n->add_attribute();
  a->set_name("pads");
  a->set_type(::onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; i++) a->add_ints(1);
  add_node(m, "Relu", "relu", {"c"}, "y");
  add_output(m, "y");
  return m;
}

TEST(OnnxImport, SmallModelImportsAndRuns) {
  auto r = import(conv_model());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().opset, 13);
  auto g = std::make_shared<const Graph>(std::move(r.value().graph));
  auto s = Session::create(g);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  std::vector<Tensor> out;
  ASSERT_TRUE(s.value()->run({test::random_tensor({1, 3, 4, 4}, 1)}, &out).ok());
  EXPECT_EQ(shape_str(out[0].shape()), "[1,2,4,4]");  // ONNX order at the output
}

// Exporters share identical initializers through Identity nodes (torch does for equal conv
// biases): an Identity of a constant is a constant, usable where weights must be constant.
TEST(OnnxImport, IdentityOfAnInitializerIsConstant) {
  auto plain = conv_model();
  auto shared = base_model();
  add_float_init(shared, "w", {2, 3, 3, 3});
  add_node(shared, "Identity", "share_w", {"w"}, "w_shared");
  auto* n = add_node(shared, "Conv", "conv", {"x", "w_shared"}, "c");
  *n->add_attribute() = plain.graph().node(0).attribute(0);
  add_node(shared, "Relu", "relu", {"c"}, "y");
  add_output(shared, "y");
  auto a = import(plain), b = import(shared);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  Tensor x = test::random_tensor({1, 3, 4, 4}, 3);
  std::vector<Tensor> ya, yb;
  auto sa = Session::create(std::make_shared<Graph>(a.value().graph));
  auto sb = Session::create(std::make_shared<Graph>(b.value().graph));
  ASSERT_TRUE(sa.ok() && sb.ok());
  ASSERT_TRUE(sa.value()->run({x}, &ya).ok());
  ASSERT_TRUE(sb.value()->run({x}, &yb).ok());
  EXPECT_EQ(test::max_abs_diff(ya[0], yb[0]), 0.0);
}

TEST(OnnxImport, NhwcInputsOption) {
  onnx_import::ImportOptions opt;
  opt.nhwc_inputs = true;
  auto r = import(conv_model(), "", opt);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const Graph& g = r.value().graph;
  EXPECT_EQ(shape_str(g.values[static_cast<size_t>(g.inputs[0])].shape), "[1,4,4,3]");
  EXPECT_EQ(g.nodes.front().op, OpType::CONV2D);  // no leading TRANSPOSE
}

TEST(OnnxImport, ListsEveryUnsupportedOpWithItsNodeName) {
  auto m = base_model();
  add_node(m, "LSTM", "lstm_1", {"x"}, "a");
  add_node(m, "Erf", "", {"a"}, "erf_out");                 // unnamed: labelled by its output
  auto* n = add_node(m, "FusedConv", "fc", {"erf_out"}, "b");
  n->set_domain("com.microsoft");
  add_node(m, "Relu", "relu_after", {"b"}, "c");             // supported, downstream: not listed
  add_node(m, "Pad", "pad_reflect", {"x", "pads"}, "d");
  auto* mode = m.mutable_graph()->mutable_node(4)->add_attribute();
  mode->set_name("mode");
  mode->set_type(::onnx::AttributeProto::STRING);
  mode->set_s("reflect");
  auto* pads = m.mutable_graph()->add_initializer();
  pads->set_name("pads");
  pads->set_data_type(::onnx::TensorProto::INT64);
  pads->add_dims(8);
  for (int i = 0; i < 8; i++) pads->add_int64_data(i % 2);
  add_node(m, "Conv", "conv_dynamic_w", {"x", "x"}, "e");    // weights not constant
  add_output(m, "c");
  add_output(m, "d");
  add_output(m, "e");
  auto r = import(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::UNSUPPORTED);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("5 unsupported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'lstm_1' op LSTM"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'erf_out' op Erf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'fc' op com.microsoft.FusedConv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'pad_reflect' (Pad) mode 'reflect'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'conv_dynamic_w' (Conv) input 1 (W) must be a constant"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("relu_after"), std::string::npos) << msg;
}

TEST(OnnxImport, OpsetsOutsideTheRangeAreListed) {
  auto m = conv_model();
  m.mutable_opset_import(0)->set_version(18);
  auto r = import(m);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("opset 18"), std::string::npos) << r.status().message();
  // Opset 9: Conv changed at 11, Relu did not: only Conv is listed.
  m.mutable_opset_import(0)->set_version(9);
  r = import(m);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'conv' (Conv) at opset 9"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("Relu"), std::string::npos) << r.status().message();
}

TEST(OnnxImport, HostileTensorsAreRejected) {
  struct Case {
    const char* what;
    std::function<void(::onnx::TensorProto*)> edit;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"raw_data too short", [](auto* t) { t->mutable_raw_data()->resize(10); }, "raw_data has 10 bytes"},
      {"raw_data too long", [](auto* t) { t->mutable_raw_data()->append("xxxx"); }, "raw_data has"},
      {"negative dim", [](auto* t) { t->set_dims(0, -2); }, "bad dim"},
      {"huge dims", [](auto* t) { t->set_dims(0, 1 << 30); t->set_dims(1, 1 << 30); }, "2^31"},
      {"too many dims", [](auto* t) { for (int i = 0; i < 6; i++) t->add_dims(1); }, "rank 10"},
      {"float_data count", [](auto* t) { t->clear_raw_data(); t->add_float_data(1.f); }, "needs 54 values"},
      {"string type", [](auto* t) { t->set_data_type(::onnx::TensorProto::STRING); }, "data type STRING"},
      {"unknown type", [](auto* t) { t->set_data_type(1234); }, "unknown type"},
      {"external without location", [](auto* t) { t->set_data_location(::onnx::TensorProto::EXTERNAL); },
       "names no location"},
  };
  for (const Case& c : cases) {
    auto m = conv_model();
    c.edit(m.mutable_graph()->mutable_initializer(0));
    auto r = import(m);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << c.what << ": " << r.status().to_string();
  }
}

TEST(OnnxImport, MalformedGraphsAreRejected) {
  {  // a node reads a value nothing provides
    auto m = conv_model();
    m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
    auto r = import(m);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("topologically"), std::string::npos) << r.status().message();
  }
  {  // two nodes write the same value
    auto m = conv_model();
    m.mutable_graph()->mutable_node(1)->set_output(0, "c");
    EXPECT_FALSE(import(m).ok());
  }
  {  // output never computed
    auto m = conv_model();
    add_output(m, "ghost");
    EXPECT_FALSE(import(m).ok());
  }
  {  // no default-domain opset
    auto m = conv_model();
    m.mutable_opset_import(0)->set_domain("ai.onnx.ml");
    EXPECT_FALSE(import(m).ok());
  }
  {  // attribute of the wrong type
    auto m = conv_model();
    m.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_type(::onnx::AttributeProto::FLOAT);
    auto r = import(m);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("wrong type"), std::string::npos) << r.status().message();
  }
  {  // weights that do not fit the input channels
    auto m = conv_model();
    m.mutable_graph()->mutable_initializer(0)->set_dims(1, 2);
    m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(2 * 2 * 3 * 3 * 4);
    EXPECT_FALSE(import(m).ok());
  }
}

TEST(OnnxImport, GarbageAndTruncatedFilesGiveErrors) {
  for (const std::string& s : {std::string(), std::string("not a model"), std::string(64, '\xff'),
                               std::string("\x0a\xff\xff\xff\xff\x0f", 6)}) {
    auto r = onnx_import::import_model_buffer(reinterpret_cast<const uint8_t*>(s.data()), s.size(), "");
    EXPECT_FALSE(r.ok());
  }
  std::string b;
  conv_model().SerializeToString(&b);
  for (size_t cut = 0; cut + 1 < b.size(); cut += 7) {
    auto r = onnx_import::import_model_buffer(reinterpret_cast<const uint8_t*>(b.data()), cut, "");
    EXPECT_FALSE(r.ok()) << "truncated at " << cut;
  }
  auto missing = onnx_import::import_model("/nonexistent/model.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::IO_ERROR);
}

TEST(OnnxImport, ExternalData) {
  const std::string dir = ::testing::TempDir() + "/onnx_external";
  ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  auto m = conv_model();
  auto* t = m.mutable_graph()->mutable_initializer(0);
  const std::string raw = t->raw_data();
  t->clear_raw_data();
  t->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto kv = [&](const char* k, const std::string& v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "weights.bin");
  kv("offset", "16");
  kv("length", std::to_string(raw.size()));
  std::string b;
  m.SerializeToString(&b);
  std::ofstream(dir + "/model.onnx", std::ios::binary) << b;

  // Missing file: a clear message naming it.
  auto r = onnx_import::import_model(dir + "/model.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("weights.bin"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status().message();
  // Present: the same result as inline data.
  std::ofstream(dir + "/weights.bin", std::ios::binary) << std::string(16, 'p') << raw;
  r = onnx_import::import_model(dir + "/model.onnx");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto inline_r = import(conv_model());
  ASSERT_TRUE(inline_r.ok());
  Tensor x = test::random_tensor({1, 3, 4, 4}, 9);
  std::vector<Tensor> a, c;
  auto sa = Session::create(std::make_shared<const Graph>(std::move(r.value().graph)));
  auto sc = Session::create(std::make_shared<const Graph>(std::move(inline_r.value().graph)));
  ASSERT_TRUE(sa.ok() && sc.ok());
  ASSERT_TRUE(sa.value()->run({x}, &a).ok() && sc.value()->run({x}, &c).ok());
  EXPECT_EQ(test::max_abs_diff(a[0], c[0]), 0.0);
  // Too short, escaping paths, and no directory to look in.
  std::ofstream(dir + "/weights.bin", std::ios::binary) << std::string(20, 'p');
  r = onnx_import::import_model(dir + "/model.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has 20 bytes"), std::string::npos) << r.status().message();
  for (const char* bad : {"../weights.bin", "/etc/passwd", "a/../../b"}) {
    t->mutable_external_data(0)->set_value(bad);
    auto rr = import(m, dir);
    ASSERT_FALSE(rr.ok()) << bad;
    EXPECT_NE(rr.status().message().find("relative path"), std::string::npos) << rr.status().message();
  }
  t->mutable_external_data(0)->set_value("weights.bin");
  auto no_dir = import(m, "");
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.status().code(), StatusCode::UNSUPPORTED);
}

}  // namespace
}  // namespace morsel
