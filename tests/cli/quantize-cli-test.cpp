// `morsel convert --quantize`: fp16, dynamic and calibrated int8 through the real binary, what
// `inspect` reports about them, and the error paths (one line, non-zero exit).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sys/stat.h>

#include "util/test_util.h"

namespace morsel {
namespace {

struct CliResult {
  int rc;
  std::string out;
};

CliResult morsel_cli(const std::string& args) {
  CliResult r{-1, ""};
  FILE* p = popen((std::string(MORSEL_BINARY_DIR) + "/morsel " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string tmp(const std::string& name) { return ::testing::TempDir() + "/qcli_" + name; }

long long file_size(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    f32_ = tmp("f32.morsel");
    CliResult c = morsel_cli("convert '" + test::source_path("tests/data/tfjs/layers_conv") + "' -o '" + f32_ +
                       "' --normalize unit");
    ASSERT_EQ(c.rc, 0) << c.out;
  }
  std::string f32_;
};

TEST_F(QuantizeCli, Fp16AndDynamic) {
  const std::string h = tmp("fp16.morsel"), d = tmp("dyn.morsel");
  // The fixture's tensors are all small: convert every one of them.
  CliResult a = morsel_cli("convert '" + f32_ + "' --quantize fp16 --fp16-min-elements 0 -o '" + h + "'");
  ASSERT_EQ(a.rc, 0) << a.out;
  CliResult b = morsel_cli("convert '" + f32_ + "' --quantize dynamic -o '" + d + "'");
  ASSERT_EQ(b.rc, 0) << b.out;
  EXPECT_LT(file_size(h), file_size(f32_));
  EXPECT_LT(file_size(d), file_size(f32_));  // (a tiny fixture: the metadata is most of the file)
  CliResult i = morsel_cli("inspect '" + d + "' --json --nodes");
  ASSERT_EQ(i.rc, 0) << i.out;
  auto j = nlohmann::json::parse(i.out);
  EXPECT_EQ(j["provenance"]["quantization"], "int8");
  int i8 = 0;
  for (const auto& n : j["nodes"])
    if (n.value("weights_dtype", "") == "i8") i8++;
  EXPECT_GT(i8, 0);
  CliResult hj = morsel_cli("inspect '" + h + "' --json");
  EXPECT_EQ(nlohmann::json::parse(hj.out)["provenance"]["quantization"], "fp16");
  // A quantized model is not quantized twice.
  CliResult again = morsel_cli("convert '" + d + "' --quantize fp16 -o '" + tmp("again.morsel") + "'");
  EXPECT_NE(again.rc, 0);
  EXPECT_NE(again.out.find("already quantized"), std::string::npos) << again.out;
}

TEST_F(QuantizeCli, CalibratedInt8) {
  const std::vector<std::string> photos = test::photo_paths(4);
  ASSERT_EQ(photos.size(), 4u) << "run scripts/setup";
  const std::string dir = tmp("calib");
  ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/sub'").c_str()), 0);
  for (size_t i = 0; i < photos.size(); i++)
    ASSERT_EQ(std::system(("ln -s '" + photos[i] + "' '" + dir + (i % 2 ? "/sub/" : "/") + std::to_string(i) + ".jpeg'").c_str()), 0);
  const std::string q = tmp("int8.morsel");
  CliResult c = morsel_cli("convert '" + f32_ + "' --quantize int8 --calibrate '" + dir +
                     "' --calibrate-method mse --quantize-report -o '" + q + "'");
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_NE(c.out.find("calibrated on 4 images"), std::string::npos) << c.out;
  CliResult i = morsel_cli("inspect '" + q + "'");
  ASSERT_EQ(i.rc, 0) << i.out;
  EXPECT_NE(i.out.find("int8 layers"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("quantization int8"), std::string::npos) << i.out;
  CliResult p = morsel_cli("predict '" + q + "' '" + photos[0] + "' --json");
  ASSERT_EQ(p.rc, 0) << p.out;
  EXPECT_EQ(nlohmann::json::parse(p.out)[0]["predictions"].size(), 5u);
  // fp16 with --calibrate chooses the roundings on the same photos.
  const std::string h = tmp("fp16-calibrated.morsel");
  CliResult hc = morsel_cli("convert '" + f32_ + "' --quantize fp16 --calibrate '" + dir + "' -o '" + h + "'");
  ASSERT_EQ(hc.rc, 0) << hc.out;
  EXPECT_NE(hc.out.find("calibrated on 4 images"), std::string::npos) << hc.out;
  EXPECT_NE(hc.out.find("chosen on 4 of the samples"), std::string::npos) << hc.out;
  CliResult hi = morsel_cli("inspect '" + h + "' --json");
  ASSERT_EQ(hi.rc, 0) << hi.out;
  EXPECT_EQ(nlohmann::json::parse(hi.out)["provenance"]["quantization"], "fp16");
  CliResult hp = morsel_cli("predict '" + h + "' '" + photos[0] + "' --json");
  ASSERT_EQ(hp.rc, 0) << hp.out;
  EXPECT_EQ(nlohmann::json::parse(hp.out)[0]["predictions"][0]["index"],
            nlohmann::json::parse(morsel_cli("predict '" + f32_ + "' '" + photos[0] + "' --json").out)[0]["predictions"][0]["index"]);
}

TEST_F(QuantizeCli, ErrorsAreOneLine) {
  const std::string empty = tmp("empty");
  ASSERT_EQ(std::system(("rm -rf '" + empty + "' && mkdir -p '" + empty + "'").c_str()), 0);
  const std::string out = " -o '" + tmp("x.morsel") + "'";
  for (const auto& [args, want] : std::vector<std::pair<std::string, std::string>>{
           {"--quantize int8", "--calibrate"},
           {"--quantize int4", "unknown --quantize"},
           {"--quantize int8 --calibrate '" + empty + "'", "no .jpg"},
           {"--quantize fp16 --calibrate '" + empty + "'", "no .jpg"},
           {"--quantize int8 --calibrate '" + empty + "' --calibrate-method best", "unknown --calibrate-method"},
           {"", "already a .morsel file"},
       }) {
    CliResult r = morsel_cli("convert '" + f32_ + "' " + args + out);
    EXPECT_NE(r.rc, 0) << args;
    EXPECT_NE(r.out.find(want), std::string::npos) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
}

}  // namespace
}  // namespace morsel
