// CLI tests: run the real `morsel` binary. convert/inspect/predict on a TF.js fixture, the
// predict top-5 against TF.js on the real MobileNetV2 and a real photo, and every error path
// exits non-zero with a one-line reason.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/cpu.h"
#include "util/test_util.h"

namespace morsel {
namespace {

struct CliRun {
  int rc;
  std::string out;  // stdout + stderr
};

// `env`: assignments put before the command, e.g. "MORSEL_ISA=generic".
CliRun run(const std::string& args, const std::string& env = "") {
  std::string cmd = (env.empty() ? "" : env + " ") + std::string(MORSEL_BINARY_DIR) + "/morsel " + args + " 2>&1";
  CliRun r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string tmp(const std::string& name) { return ::testing::TempDir() + "/cli_" + name; }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A small PNG written through the decoder tests' encoder is not available here: use the
// pictures package when installed, else fail loudly.
std::string sample_photo() {
  int rc = 0;
  std::string out;
  FILE* p = popen(("node '" + test::source_path("scripts/photos.js") + "' 1").c_str(), "r");
  if (p) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    rc = pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return rc == 0 ? out : "";
}

TEST(Cli, HelpListsSubcommands) {
  CliRun r = run("--help");
  EXPECT_EQ(r.rc, 0);
  for (const char* cmd : {"convert", "inspect", "predict"})
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  CliRun v = run("--version");
  EXPECT_EQ(v.rc, 0);
  EXPECT_NE(v.out.find("morsel"), std::string::npos);
}

TEST(Cli, ConvertInspectRoundTrip) {
  const std::string fixture = test::source_path("tests/data/tfjs/seq_wraps_functional");
  const std::string labels = tmp("labels.txt");
  // Count the fixture's classes from its expected output.
  auto expected = test::read_npy(fixture + "/expected.npy");
  ASSERT_TRUE(expected.ok());
  const int64_t classes = expected.value().dim(-1);
  {
    std::ofstream f(labels);
    for (int64_t i = 0; i < classes; i++) f << "label " << i << "\n\n";
  }
  const std::string out = tmp("seq.morsel");
  CliRun c = run("convert '" + fixture + "' -o '" + out + "' --labels '" + labels +
              "' --normalize symmetric --resize area --name tiny");
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_NE(c.out.find("tfjs-layers"), std::string::npos) << c.out;

  CliRun i = run("inspect '" + out + "' --json --nodes");
  ASSERT_EQ(i.rc, 0) << i.out;
  auto j = nlohmann::json::parse(i.out);
  EXPECT_EQ(j["name"], "tiny");
  EXPECT_EQ(j["labels"].size(), static_cast<size_t>(classes));
  EXPECT_EQ(j["labels"][1], "label 1");
  EXPECT_EQ(j["preprocess"]["resize"], "area");
  EXPECT_FLOAT_EQ(j["preprocess"]["mean"][0].get<float>(), 127.5f);
  EXPECT_EQ(j["provenance"]["source_format"], "tfjs-layers");
  EXPECT_GT(j["parameters"].get<int64_t>(), 0);
  EXPECT_EQ(j["nodes"].size(), j["node_count"].get<size_t>());

  CliRun t = run("inspect '" + out + "'");
  ASSERT_EQ(t.rc, 0);
  EXPECT_NE(t.out.find("parameters"), std::string::npos);
}

TEST(Cli, ConvertRejectsLabelCountMismatch) {
  const std::string labels = tmp("two_labels.json");
  std::ofstream(labels) << R"(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"])";
  CliRun c = run("convert '" + test::source_path("tests/data/tfjs/seq_wraps_functional") + "' -o '" +
              tmp("x.morsel") + "' --labels '" + labels + "'");
  EXPECT_EQ(c.rc, 1);
  EXPECT_NE(c.out.find("13 labels"), std::string::npos) << c.out;
}

TEST(Cli, ErrorsAreOneLineAndNonZero) {
  const std::string corrupt = tmp("corrupt.morsel");
  std::ofstream(corrupt) << "MORSEL but not really a model file";
  const std::string not_image = tmp("not_image.jpg");
  std::ofstream(not_image) << "\xff\xd8\xff\xe0 truncated";
  struct Case {
    std::string args, needle;
  } cases[] = {
      {"predict /nonexistent.morsel x.jpg", "/nonexistent.morsel"},
      {"predict '" + corrupt + "' x.jpg", "corrupt"},
      {"convert /nonexistent/model.json", "cannot open"},
      {"convert /nonexistent/model.onnx", "cannot open"},
      {"inspect '" + corrupt + "'", "corrupt"},
  };
  for (const Case& c : cases) {
    CliRun r = run(c.args);
    EXPECT_NE(r.rc, 0) << c.args;
    EXPECT_EQ(count_lines(r.out), 1) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.rfind("morsel: error: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << c.args << "\n" << r.out;
  }
  CliRun bad_flag = run("predict --no-such-flag");
  EXPECT_NE(bad_flag.rc, 0);
}

// `morsel predict` on the converted nsfwjs MobileNetV2 prints the same top-5 as TF.js for a
// real photo: TF.js runs on the exact tensor morsel fed the model (--dump-input).
TEST(Cli, PredictTop5MatchesTfjs) {
  const std::string model_dir = test::source_path("models/nsfwjs/mobilenet_v2");
  ASSERT_TRUE(test::file_exists(model_dir + "/model.json")) << "run scripts/setup";
  const std::string photo = sample_photo();
  ASSERT_FALSE(photo.empty()) << "scripts/photos.js failed: run scripts/setup";
  const std::string model = tmp("mobilenet_v2.morsel");
  CliRun c = run("convert '" + model_dir + "' -o '" + model +
              "' --normalize unit --resize bilinear_align_corners");
  ASSERT_EQ(c.rc, 0) << c.out;
  const std::string dump = tmp("dump");
  ASSERT_EQ(std::system(("mkdir -p '" + dump + "/tfjs'").c_str()), 0);
  CliRun p = run("predict '" + model + "' '" + photo + "' --json --top-k 5 --dump-input '" + dump + "'");
  ASSERT_EQ(p.rc, 0) << p.out;
  auto j = nlohmann::json::parse(p.out);
  ASSERT_EQ(j.size(), 1u);
  const auto& preds = j[0]["predictions"];
  ASSERT_EQ(preds.size(), 5u);

  std::string base = photo.substr(photo.rfind('/') + 1);
  const std::string input = dump + "/" + base + ".npy";
  std::string cmd = "node '" + test::source_path("tests/parity/tfjs-predict.js") + "' '" +
                    model_dir + "' '" + dump + "/tfjs' '" + input + "' > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto tf = test::read_npy(dump + "/tfjs/" + base + ".npy");
  ASSERT_TRUE(tf.ok());
  const float* probs = tf.value().data<float>();
  std::vector<int> order(5);
  for (int i = 0; i < 5; i++) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  const char* labels[] = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
  for (int r = 0; r < 5; r++) {
    EXPECT_EQ(preds[r]["index"].get<int>(), order[r]) << "rank " << r;
    EXPECT_EQ(preds[r]["label"].get<std::string>(), labels[order[r]]);
    EXPECT_NEAR(preds[r]["score"].get<float>(), probs[order[r]], 1e-4);
  }

  // The text output shows the same ranking.
  CliRun text = run("predict '" + model + "' '" + photo + "' -k 5");
  ASSERT_EQ(text.rc, 0);
  size_t pos = 0;
  for (int r = 0; r < 5; r++) {
    size_t at = text.out.find(labels[order[r]], pos);
    ASSERT_NE(at, std::string::npos) << text.out;
    pos = at;
  }

  // One bad image among good ones: reported on one line, the others still answered, exit 1.
  const std::string bad = tmp("truncated.jpg");
  std::ofstream(bad) << "\xff\xd8\xff\xe0 truncated";
  CliRun mixed = run("predict '" + model + "' '" + bad + "' '" + photo + "' -k 1");
  EXPECT_EQ(mixed.rc, 1);
  EXPECT_NE(mixed.out.find("morsel: error: " + bad), std::string::npos) << mixed.out;
  EXPECT_NE(mixed.out.find(labels[order[0]]), std::string::npos) << mixed.out;
}

}  // namespace
}  // namespace morsel

namespace morsel {
namespace {

TEST(Cli, BenchReportsLatencyMemoryAndIsa) {
  const std::string fixture = test::source_path("tests/data/tfjs/seq_wraps_functional");
  const std::string out = tmp("bench.morsel");
  ASSERT_EQ(run("convert '" + fixture + "' -o '" + out + "' --normalize unit").rc, 0);
  CliRun b = run("bench '" + out + "' --json -n 7 --warmup 1 -b 3 --profile");
  ASSERT_EQ(b.rc, 0) << b.out;
  auto j = nlohmann::json::parse(b.out);
  const double mn = j["batch1_ms"]["min"], med = j["batch1_ms"]["median"], p90 = j["batch1_ms"]["p90"];
  EXPECT_GT(mn, 0);
  EXPECT_LE(mn, med);
  EXPECT_LE(med, p90);
  EXPECT_GT(j["batch_images_per_s"].get<double>(), 0);
  EXPECT_EQ(j["batch"], 3);
  EXPECT_GT(j["memory"]["arena_bytes_batch1"].get<int64_t>(), 0);
  EXPECT_GE(j["memory"]["arena_bytes_batch"].get<int64_t>(), j["memory"]["arena_bytes_batch1"].get<int64_t>());
  EXPECT_GT(j["profile"].size(), 0u);
  EXPECT_EQ(j["isa"], isa_name(isa_supported()));
  // MORSEL_ISA lowers the kernels; --kernels ref runs the references.
  CliRun g = run("bench '" + out + "' --json -n 2 -b 1", "MORSEL_ISA=generic");
  ASSERT_EQ(g.rc, 0) << g.out;
  EXPECT_EQ(nlohmann::json::parse(g.out)["isa"], "generic");
  CliRun r = run("bench '" + out + "' --json -n 2 -b 1 --kernels ref");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["isa"], "ref");
  CliRun bad = run("bench '" + out + "' --kernels avx9000");
  EXPECT_NE(bad.rc, 0);
  EXPECT_EQ(count_lines(bad.out), 1) << bad.out;
}

TEST(Cli, InspectShowsGraphBeforeAndAfterPasses) {
  const std::string model = test::source_path("models/nsfwjs/mobilenet_v2");
  ASSERT_TRUE(test::file_exists(model + "/model.json")) << "run scripts/setup";
  CliRun i = run("inspect '" + model + "' --json");
  ASSERT_EQ(i.rc, 0) << i.out;
  auto j = nlohmann::json::parse(i.out);
  EXPECT_EQ(j["ops"]["BatchNorm"], 52);
  EXPECT_LT(j["optimized"]["node_count"].get<int>(), j["node_count"].get<int>());
  EXPECT_FALSE(j["optimized"]["ops"].contains("BatchNorm"));
  EXPECT_FALSE(j["optimized"]["ops"].contains("Pad"));
  EXPECT_EQ(j["optimized"]["passes"]["fold_batchnorm"], 52);
  EXPECT_GT(j["memory_batch1"]["arena_bytes"].get<int64_t>(), 0);
  EXPECT_LT(j["memory_batch1"]["arena_bytes"].get<int64_t>(), j["memory_batch1"]["unplanned_bytes"].get<int64_t>());
  CliRun t = run("inspect '" + model + "'");
  EXPECT_NE(t.out.find("after passes"), std::string::npos) << t.out;
}

}  // namespace
}  // namespace morsel
