// TF.js importer tests: weight encodings, layer/op coverage against TF.js goldens (fixtures made
// by tests/data/tfjs/gen-fixtures.js), the unsupported-construct report, malformed input.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/fp16.h"
#include "importers/tfjs/tfjs.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

using test::source_path;

std::string write_temp(const std::string& name, const std::string& text) {
  std::string dir = ::testing::TempDir() + "/tfjs_" + name;
  std::string cmd = "mkdir -p '" + dir + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ofstream(dir + "/model.json") << text;
  return dir;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(TfjsWeights, DecodesEveryEncodingAcrossShardBoundaries) {
  // w_f32 [2] float32, w_i32 [1] int32, w_f16 [2] float16, w_u8 [3] uint8 q, w_u16 [2] uint16 q
  std::vector<uint8_t> bytes;
  auto put_f32 = [&](float f) {
    uint8_t b[4];
    std::memcpy(b, &f, 4);
    bytes.insert(bytes.end(), b, b + 4);
  };
  put_f32(1.5f);
  put_f32(-2.25f);
  int32_t i = -7;
  uint8_t ib[4];
  std::memcpy(ib, &i, 4);
  bytes.insert(bytes.end(), ib, ib + 4);
  for (float f : {0.5f, -3.0f}) {
    uint16_t h = f32_to_fp16(f);
    bytes.push_back(static_cast<uint8_t>(h & 0xff));
    bytes.push_back(static_cast<uint8_t>(h >> 8));
  }
  for (uint8_t q : {0, 10, 255}) bytes.push_back(q);
  for (uint16_t q : {0, 1000}) {
    bytes.push_back(static_cast<uint8_t>(q & 0xff));
    bytes.push_back(static_cast<uint8_t>(q >> 8));
  }
  const std::string manifest = R"([{"paths": ["a.bin", "b.bin", "c.bin"], "weights": [
    {"name": "w_f32", "shape": [2], "dtype": "float32"},
    {"name": "w_i32", "shape": [1], "dtype": "int32"},
    {"name": "w_f16", "shape": [2], "dtype": "float16"},
    {"name": "w_u8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.5}},
    {"name": "w_u16", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "min": 2.0, "scale": 0.001}}
  ]}])";
  // Split into three shards at awkward places (inside w_f32 and inside w_u16).
  std::string dir = write_temp("weights", "{}");
  write_bytes(dir + "/a.bin", std::vector<uint8_t>(bytes.begin(), bytes.begin() + 3));
  write_bytes(dir + "/b.bin", std::vector<uint8_t>(bytes.begin() + 3, bytes.end() - 3));
  write_bytes(dir + "/c.bin", std::vector<uint8_t>(bytes.end() - 3, bytes.end()));
  auto r = tfjs::load_weights(manifest, dir);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto& w = r.value();
  EXPECT_EQ(w.at("w_f32").data<float>()[0], 1.5f);
  EXPECT_EQ(w.at("w_f32").data<float>()[1], -2.25f);
  EXPECT_EQ(w.at("w_i32").dtype(), DType::I32);
  EXPECT_EQ(w.at("w_i32").data<int32_t>()[0], -7);
  EXPECT_EQ(w.at("w_f16").data<float>()[0], 0.5f);
  EXPECT_EQ(w.at("w_f16").data<float>()[1], -3.0f);
  EXPECT_FLOAT_EQ(w.at("w_u8").data<float>()[0], -1.0f);
  EXPECT_FLOAT_EQ(w.at("w_u8").data<float>()[1], 4.0f);
  EXPECT_FLOAT_EQ(w.at("w_u8").data<float>()[2], 126.5f);
  EXPECT_FLOAT_EQ(w.at("w_u16").data<float>()[0], 2.0f);
  EXPECT_FLOAT_EQ(w.at("w_u16").data<float>()[1], 3.0f);

  // A missing shard and a truncated shard are clear errors.
  std::remove((dir + "/c.bin").c_str());
  auto missing = tfjs::load_weights(manifest, dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("c.bin"), std::string::npos);
  write_bytes(dir + "/c.bin", {1});
  auto trunc = tfjs::load_weights(manifest, dir);
  ASSERT_FALSE(trunc.ok());
  EXPECT_NE(trunc.status().message().find("w_u16"), std::string::npos) << trunc.status().message();
}

TEST(TfjsWeights, RejectsShardPathsOutsideTheModelDirectory) {
  auto r = tfjs::load_weights(R"([{"paths": ["../etc/passwd"], "weights": []}])", "/tmp");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("relative"), std::string::npos);
}

TEST(TfjsImport, ListsEveryUnsupportedLayerWithItsName) {
  std::string dir = write_temp("unsupported", R"({"modelTopology": {"class_name": "Model", "config": {
    "name": "m", "input_layers": [["in", 0, 0]], "output_layers": [["lstm_b", 0, 0]],
    "layers": [
      {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 4, 3]}, "inbound_nodes": []},
      {"name": "weird_a", "class_name": "Conv3D", "config": {}, "inbound_nodes": [[["in", 0, 0, {}]]]},
      {"name": "act_x", "class_name": "Activation", "config": {"activation": "gelu_fancy"}, "inbound_nodes": [[["weird_a", 0, 0, {}]]]},
      {"name": "lstm_b", "class_name": "LSTM", "config": {}, "inbound_nodes": [[["act_x", 0, 0, {}]]]}
    ]}}})");
  auto r = tfjs::import_model(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::UNSUPPORTED);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("'weird_a' layer class Conv3D"), std::string::npos) << m;
  EXPECT_NE(m.find("'lstm_b' layer class LSTM"), std::string::npos) << m;
  EXPECT_NE(m.find("gelu_fancy"), std::string::npos) << m;
}

TEST(TfjsImport, ListsEveryUnsupportedGraphOp) {
  std::string dir = write_temp("unsupported_graph", R"({"format": "graph-model", "modelTopology": {"node": [
    {"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "-1"}, {"size": "4"}]}}}},
    {"name": "e", "op": "Erf", "input": ["x"]},
    {"name": "f", "op": "Cumsum", "input": ["e"]}
  ]}})");
  auto r = tfjs::import_model(dir);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("'e' op Erf"), std::string::npos) << m;
  EXPECT_NE(m.find("'f' op Cumsum"), std::string::npos) << m;
}

TEST(TfjsImport, MalformedInputsGiveErrorsNotCrashes) {
  for (const char* text : {"", "{", "[]", R"({"modelTopology": 5})", R"({"modelTopology": {}})",
                           R"({"modelTopology": {"node": "x"}, "format": "graph-model"})",
                           R"({"modelTopology": {"class_name": "Model", "config": {"layers": 3}}})",
                           R"({"modelTopology": {"class_name": "Sequential", "config": []}})",
                           R"({"modelTopology": {"node": []}, "weightsManifest": [{"paths": [], "weights": [{"name": "a", "shape": [-3], "dtype": "float32"}]}]})"}) {
    std::string dir = write_temp("malformed", text);
    auto r = tfjs::import_model(dir);
    EXPECT_FALSE(r.ok()) << text;
  }
  auto r = tfjs::import_model("/nonexistent/model.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::IO_ERROR);
}

// Every fixture directory holds model.json (+ shards), input.npy and TF.js's expected.npy.
std::vector<std::string> fixture_dirs() {
  std::vector<std::string> out;
  std::string root = source_path("tests/data/tfjs");
  DIR* d = opendir(root.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name[0] == '.') continue;
    if (test::file_exists(root + "/" + name + "/model.json")) out.push_back(name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class TfjsFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(TfjsFixture, MatchesTfjs) {
  const std::string dir = source_path("tests/data/tfjs/" + GetParam());
  auto imp = tfjs::import_model(dir);
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  auto input = test::read_npy(dir + "/input.npy");
  auto expected = test::read_npy(dir + "/expected.npy");
  ASSERT_TRUE(input.ok() && expected.ok());
  auto graph = std::make_shared<const Graph>(std::move(imp.value().graph));
  auto sess = Session::create(graph);
  ASSERT_TRUE(sess.ok()) << sess.status().to_string();
  std::vector<Tensor> outs;
  Status st = sess.value()->run({input.value()}, &outs);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(shape_str(outs[0].shape()), shape_str(expected.value().shape()));
  EXPECT_LE(test::max_abs_diff(outs[0], expected.value()), 1e-4) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TfjsFixture, ::testing::ValuesIn(fixture_dirs()),
                         [](const auto& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TfjsFixture);

TEST(TfjsFixtures, ArePresent) {
  // The fixtures are committed; an empty list means the checkout is broken.
  EXPECT_GE(fixture_dirs().size(), 5u);
}

}  // namespace
}  // namespace morsel
