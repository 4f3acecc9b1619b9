// Keras .h5 importer: files in Keras 2's on-disk layout written at test time by
// tests/data/keras-h5/tfjs-to-h5.py from the TF.js fixtures and from nsfwjs MobileNetV2, compared
// with the TF.js goldens and with morsel's own TF.js import; hand-built files for the
// unsupported-layer report and malformed files; truncated and corrupted files must give errors,
// never crashes.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <fstream>

#include "importers/keras-h5/keras-h5.h"
#include "importers/tfjs/tfjs.h"
#include "runtime/session.h"
#include "util/test_util.h"

namespace morsel {
namespace {

// Writes MODEL_DIR (a TF.js layers model) as OUT (.h5) with the repo's script.
bool tfjs_to_h5(const std::string& model_dir, const std::string& out) {
  const std::string cmd = "/usr/bin/python3 '" + test::source_path("tests/data/keras-h5/tfjs-to-h5.py") +
                          "' '" + model_dir + "' '" + out + "' >/dev/null";
  return std::system(cmd.c_str()) == 0;
}

Result<Tensor> run_graph(Graph g, const Tensor& input) {
  auto graph = std::make_shared<const Graph>(std::move(g));
  auto sess = Session::create(graph);
  if (!sess.ok()) return sess.status();
  std::vector<Tensor> outs;
  MORSEL_RETURN_IF_ERROR(sess.value()->run({input}, &outs));
  return outs.at(0);
}

class KerasH5Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(KerasH5Fixture, MatchesTfjsGoldenAndTheTfjsImport) {
  const std::string dir = test::source_path("tests/data/tfjs/" + GetParam());
  const std::string h5 = ::testing::TempDir() + "/keras_" + GetParam() + ".h5";
  ASSERT_TRUE(tfjs_to_h5(dir, h5));
  auto imp = keras_h5::import_model(h5);
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  EXPECT_EQ(imp.value().kind, "keras-h5");
  auto ref = tfjs::import_model(dir);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();
  auto input = test::read_npy(dir + "/input.npy");
  auto expected = test::read_npy(dir + "/expected.npy");
  ASSERT_TRUE(input.ok() && expected.ok());
  auto got = run_graph(std::move(imp.value().graph), input.value());
  auto via_tfjs = run_graph(std::move(ref.value().graph), input.value());
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  ASSERT_TRUE(via_tfjs.ok()) << via_tfjs.status().to_string();
  EXPECT_LE(test::max_abs_diff(got.value(), expected.value()), 1e-4);
  EXPECT_LE(test::max_abs_diff(got.value(), via_tfjs.value()), 1e-5);
}

// The TF.js layers fixtures (graph-model fixtures have no Keras topology).
INSTANTIATE_TEST_SUITE_P(Fixtures, KerasH5Fixture,
                         ::testing::Values("layers_conv", "layers_merge", "layers_norm", "layers_pool",
                                           "sequential_plain", "seq_wraps_functional", "weights_f16",
                                           "weights_u8"),
                         [](const auto& info) { return info.param; });

const std::string& mobilenet_h5() {
  static const std::string path = [] {
    const std::string p = ::testing::TempDir() + "/keras_nsfwjs_mobilenet_v2.h5";
    return tfjs_to_h5(test::source_path("models/nsfwjs/mobilenet_v2"), p) ? p : std::string();
  }();
  return path;
}

TEST(KerasH5, MobileNetV2MatchesTheTfjsImport) {
  const std::string model_dir = test::source_path("models/nsfwjs/mobilenet_v2");
  ASSERT_TRUE(test::file_exists(model_dir + "/model.json")) << "run scripts/setup";
  ASSERT_FALSE(mobilenet_h5().empty());
  auto imp = keras_h5::import_model(mobilenet_h5());
  ASSERT_TRUE(imp.ok()) << imp.status().to_string();
  auto ref = tfjs::import_model(model_dir);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();
  EXPECT_EQ(imp.value().graph.nodes.size(), ref.value().graph.nodes.size());
  EXPECT_EQ(imp.value().graph.param_count(), ref.value().graph.param_count());
  Tensor x = test::random_tensor({3, 224, 224, 3}, 5, 0.f, 1.f);
  auto a = run_graph(std::move(imp.value().graph), x);
  auto b = run_graph(std::move(ref.value().graph), x);
  ASSERT_TRUE(a.ok() && b.ok());
  const double d = test::max_abs_diff(a.value(), b.value());
  EXPECT_LE(d, 1e-5);
  std::printf("[ parity ] nsfwjs mobilenet_v2 .h5 vs TF.js import: max |diff| = %.3g\n", d);
}

// ---- hand-built files ----

// A minimal writer for Keras-layout files (HDF5 C API): fixed-length string attributes and
// f32 datasets; `weights` maps "layer" -> {"layer/kernel:0" -> tensor}.
struct H5Writer {
  hid_t f;
  explicit H5Writer(const std::string& path) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  }
  ~H5Writer() { H5Fclose(f); }
  static void strings(hid_t obj, const char* name, const std::vector<std::string>& v) {
    size_t len = 1;
    for (const auto& s : v) len = std::max(len, s.size());
    std::vector<char> buf(len * std::max<size_t>(v.size(), 1), 0);
    for (size_t i = 0; i < v.size(); i++) std::memcpy(buf.data() + i * len, v[i].data(), v[i].size());
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    hsize_t n = v.size();
    hid_t s = v.size() == 1 && std::string(name) == "model_config" ? H5Screate(H5S_SCALAR)
                                                                    : H5Screate_simple(1, &n, nullptr);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, buf.data());
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
  }
  void model(const std::string& config, const std::map<std::string, std::map<std::string, Tensor>>& layers,
             hid_t dtype = H5T_NATIVE_FLOAT) {
    strings(f, "model_config", {config});
    strings(f, "keras_version", {"2.2.4"});
    hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<std::string> names;
    for (const auto& [l, w] : layers) names.push_back(l);
    strings(mw, "layer_names", names);
    for (const auto& [l, ws] : layers) {
      hid_t g = H5Gcreate2(mw, l.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      std::vector<std::string> wn;
      for (const auto& [n, t] : ws) wn.push_back(n);
      strings(g, "weight_names", wn);
      for (const auto& [n, t] : ws) {
        std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
        hid_t s = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t d = H5Dcreate2(g, n.c_str(), dtype, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (dtype == H5T_NATIVE_FLOAT) H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data<float>());
        H5Dclose(d);
        H5Pclose(lcpl);
        H5Sclose(s);
      }
      H5Gclose(g);
    }
    H5Gclose(mw);
  }
};

const char* kSmallConfig = R"({"class_name": "Model", "config": {"name": "m",
  "input_layers": [["in", 0, 0]], "output_layers": [["%s", 0, 0]], "layers": [
  {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 4, 3]}, "inbound_nodes": []},
  {"name": "dense", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "linear", "use_bias": false},
   "inbound_nodes": [[["in", 0, 0, {}]]]}%s]}})";

std::string small_config(const std::string& out, const std::string& more = "") {
  return str_printf(kSmallConfig, out.c_str(), more.c_str());
}

TEST(KerasH5, ListsEveryUnsupportedLayerWithItsName) {
  const std::string path = ::testing::TempDir() + "/keras_unsupported.h5";
  {
    H5Writer w(path);
    w.model(small_config("lstm_b", R"(,
      {"name": "weird_a", "class_name": "Conv3D", "config": {"name": "weird_a"}, "inbound_nodes": [[["dense", 0, 0, {}]]]},
      {"name": "lstm_b", "class_name": "LSTM", "config": {"name": "lstm_b"}, "inbound_nodes": [[["weird_a", 0, 0, {}]]]})"),
            {{"dense", {{"dense/kernel:0", test::random_tensor({3, 2}, 1)}}}});
  }
  auto r = keras_h5::import_model(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::UNSUPPORTED);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("Keras .h5"), std::string::npos) << m;
  EXPECT_NE(m.find("'weird_a' layer class Conv3D"), std::string::npos) << m;
  EXPECT_NE(m.find("'lstm_b' layer class LSTM"), std::string::npos) << m;
}

TEST(KerasH5, HandBuiltModelRuns) {
  const std::string path = ::testing::TempDir() + "/keras_small.h5";
  Tensor k = test::random_tensor({3, 2}, 2);
  {
    H5Writer w(path);
    w.model(small_config("dense"), {{"dense", {{"dense/kernel:0", k}}}, {"in", {}}});
  }
  auto r = keras_h5::import_model(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Tensor x = test::random_tensor({1, 4, 4, 3}, 3);
  auto y = run_graph(std::move(r.value().graph), x);
  ASSERT_TRUE(y.ok()) << y.status().to_string();
  // y = x · k on the last axis, checked at one position.
  const float* xp = x.data<float>();
  float want = xp[0] * k.data<float>()[0] + xp[1] * k.data<float>()[2] + xp[2] * k.data<float>()[4];
  EXPECT_NEAR(y.value().data<float>()[0], want, 1e-6);
}

TEST(KerasH5, MalformedFilesGiveClearErrors) {
  const std::string dir = ::testing::TempDir();
  struct Case {
    const char* name;
    std::function<void(const std::string&)> write;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"not_hdf5", [](const std::string& p) { std::ofstream(p) << "{\"not\": \"hdf5\"}"; }, "not an HDF5 file"},
      {"weights_only",
       [](const std::string& p) {
         H5Writer w(p);
         hid_t g = H5Gcreate2(w.f, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
         H5Gclose(g);
       },
       "model.save"},
      {"bad_json", [](const std::string& p) { H5Writer w(p); w.model("{nope", {{"dense", {}}}); }, "not valid JSON"},
      {"no_weights_group",
       [](const std::string& p) { H5Writer w(p); H5Writer::strings(w.f, "model_config", {small_config("dense")}); },
       "model_weights"},
      {"missing_dataset",
       [](const std::string& p) {
         H5Writer w(p);
         w.model(small_config("dense"), {{"dense", {}}});
         hid_t g = H5Gopen2(w.f, "model_weights/dense", H5P_DEFAULT);
         H5Adelete(g, "weight_names");
         H5Writer::strings(g, "weight_names", {"dense/kernel:0"});
         H5Gclose(g);
       },
       "missing from the file"},
      {"int_weights",
       [](const std::string& p) {
         H5Writer w(p);
         w.model(small_config("dense"), {{"dense", {{"dense/kernel:0", test::random_tensor({3, 2}, 1)}}}}, H5T_NATIVE_INT);
       },
       "not floating point"},
      {"wrong_shape",
       [](const std::string& p) {
         H5Writer w(p);
         w.model(small_config("dense"), {{"dense", {{"dense/kernel:0", test::random_tensor({5, 2}, 1)}}}});
       },
       "dense"},
      {"escaping_weight_name",
       [](const std::string& p) {
         H5Writer w(p);
         w.model(small_config("dense"), {{"dense", {}}});
         hid_t g = H5Gopen2(w.f, "model_weights/dense", H5P_DEFAULT);
         H5Adelete(g, "weight_names");
         H5Writer::strings(g, "weight_names", {"../../x:0"});
         H5Gclose(g);
       },
       "bad weight name"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/keras_bad_" + c.name + ".h5";
    c.write(path);
    auto r = keras_h5::import_model(path);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << c.name << ": " << r.status().to_string();
  }
  auto missing = keras_h5::import_model(dir + "/does_not_exist.h5");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::IO_ERROR);
}

// libhdf5 is not hardened against hostile files, so .h5 import is for trusted files; but a
// truncated or damaged file must still come back as an error where the importer can tell.
TEST(KerasH5, TruncatedFilesGiveErrors) {
  const std::string src = ::testing::TempDir() + "/keras_trunc_src.h5";
  ASSERT_TRUE(tfjs_to_h5(test::source_path("tests/data/tfjs/layers_conv"), src));
  const std::vector<uint8_t> bytes = test::read_file_bytes(src);
  ASSERT_GT(bytes.size(), 4096u);
  int errors = 0, cuts = 0;
  for (size_t cut : {size_t{0}, size_t{7}, size_t{96}, size_t{512}, size_t{1000}, bytes.size() / 4,
                     bytes.size() / 2, bytes.size() * 3 / 4, bytes.size() - 100, bytes.size() - 1}) {
    const std::string p = ::testing::TempDir() + "/keras_trunc.h5";
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(cut));
    auto r = keras_h5::import_model(p);
    cuts++;
    errors += !r.ok();
    EXPECT_FALSE(r.ok()) << "truncated at " << cut << " of " << bytes.size();
  }
  EXPECT_EQ(errors, cuts);
}

TEST(KerasH5, CorruptedFilesGiveErrorsOrImportButNeverCrash) {
  const std::string src = ::testing::TempDir() + "/keras_corrupt_src.h5";
  ASSERT_TRUE(tfjs_to_h5(test::source_path("tests/data/tfjs/layers_conv"), src));
  const std::vector<uint8_t> bytes = test::read_file_bytes(src);
  int errors = 0, runs = 0;
  // Damage the superblock, object headers and heaps (the first few KiB hold the structure).
  for (size_t off = 0; off < std::min<size_t>(bytes.size(), 6000); off += 37) {
    std::vector<uint8_t> b = bytes;
    b[off] ^= 0x5a;
    const std::string p = ::testing::TempDir() + "/keras_corrupt.h5";
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                             static_cast<std::streamsize>(b.size()));
    auto r = keras_h5::import_model(p);
    runs++;
    errors += !r.ok();
  }
  std::printf("[ keras-h5 ] %d of %d single-byte corruptions reported as errors, none crashed "
              "(libhdf5 crashes, when it does, stay in the reader process)\n", errors, runs);
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace morsel
