// `morsel train` and `morsel eval` end to end with the real binary: a folder of photos (one of
// them corrupt) -> a trained .morsel -> eval, --compare, --cv and clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/writer.h"
#include "train/test-helpers.h"
#include "util/test_util.h"

namespace morsel::train {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int rc = -1;
  std::string out;  // stdout + stderr
};

CliRun morsel(const std::string& args) {
  CliRun r;
  r.out = test::run_command(std::string(MORSEL_BINARY_DIR) + "/morsel " + args + " 2>&1", &r.rc);
  return r;
}

class CliTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::train_tmp("cli");
    data_ = dir_ + "/photos";
    for (int c = 0; c < 3; c++) {
      const std::string d = data_ + "/class" + std::to_string(c);
      fs::create_directories(d);
      for (int i = 0; i < 10; i++)
        ASSERT_TRUE(image_write_png(d + "/" + std::to_string(i) + ".png",
                                    test::class_image(c, 24, 20, 1000 * c + i)).ok());
    }
    std::ofstream(data_ + "/class2/corrupt.jpg", std::ios::binary) << "\xFF\xD8\xFF not really";
    backbone_ = dir_ + "/tiny.morsel";
    ASSERT_TRUE(model_save_file(test::tiny_model(5), backbone_).ok());
  }
  std::string dir_, data_, backbone_;
};

TEST_F(CliTrainTest, TrainThenEvalThenCompare) {
  const std::string out = dir_ + "/trained.morsel", report = dir_ + "/report.json";
  CliRun t = morsel("train '" + data_ + "' --backbone '" + backbone_ + "' -o '" + out +
                 "' --hidden 16 --epochs 40 --lr 0.01 --patience 0 --val-fraction 0.2 --cache '" +
                 dir_ + "/cache' --report '" + report + "'");
  ASSERT_EQ(t.rc, 0) << t.out;
  EXPECT_NE(t.out.find("corrupt.jpg"), std::string::npos) << t.out;  // reported, not fatal
  EXPECT_NE(t.out.find("wrote"), std::string::npos);
  ASSERT_TRUE(fs::exists(out));
  std::ifstream rf(report);
  nlohmann::json r = nlohmann::json::parse(rf);
  EXPECT_EQ(r["images"], 31);
  EXPECT_EQ(r["skipped"].size(), 1u);
  EXPECT_EQ(r["feature_dim"], 8);
  EXPECT_EQ(r["epochs_log"].size(), 40u);
  EXPECT_GE(r["val_acc"].get<double>(), 0.8);

  CliRun e = morsel("eval '" + out + "' '" + data_ + "' --json --confusion-image '" + dir_ + "/cm.png'");
  ASSERT_EQ(e.rc, 0) << e.out;
  const size_t brace = e.out.find('{');
  ASSERT_NE(brace, std::string::npos) << e.out;
  nlohmann::json j = nlohmann::json::parse(e.out.substr(brace));
  EXPECT_EQ(j["images"], 30);
  const auto& m = j["models"][0];
  EXPECT_GE(m["top1"].get<double>(), 0.9);
  EXPECT_EQ(m["confusion"].size(), 3u);
  int64_t total = 0;
  for (const auto& row : m["confusion"])
    for (const auto& v : row) total += v.get<int64_t>();
  EXPECT_EQ(total, 30);
  EXPECT_GT(m["mean_latency_ms"].get<double>(), 0);
  auto png = image_decode_file(dir_ + "/cm.png");
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png->width, 3 * 16 + 2);

  // The text report names the classes; --compare of a model with itself agrees 100%.
  CliRun text = morsel("eval '" + out + "' '" + data_ + "'");
  ASSERT_EQ(text.rc, 0);
  EXPECT_NE(text.out.find("class1"), std::string::npos);
  EXPECT_NE(text.out.find("confusion matrix"), std::string::npos);
  CliRun cmp = morsel("eval '" + out + "' '" + data_ + "' --compare '" + out + "' --latency-runs 3 --json");
  ASSERT_EQ(cmp.rc, 0) << cmp.out;
  nlohmann::json cj = nlohmann::json::parse(cmp.out.substr(cmp.out.find('{')));
  ASSERT_EQ(cj["models"].size(), 2u);
  EXPECT_DOUBLE_EQ(cj["models"][1]["top1_agreement"].get<double>(), 1.0);
  EXPECT_GT(cj["models"][1]["latency_ms_2_threads"].get<double>(), 0);

  // The trained model classifies like any other.
  CliRun p = morsel("predict '" + out + "' '" + data_ + "/class1/3.png' --top-k 1");
  ASSERT_EQ(p.rc, 0) << p.out;
  EXPECT_NE(p.out.find("class1"), std::string::npos) << p.out;
}

TEST_F(CliTrainTest, CrossValidation) {
  CliRun t = morsel("train '" + data_ + "' --backbone '" + backbone_ +
                 "' --cv 3 --hidden 0 --epochs 30 --lr 0.02 --no-cache -q --top-k 2");
  ASSERT_EQ(t.rc, 0) << t.out;
  const size_t at = t.out.find("3-fold cross-validation, 30 images, 3 classes: top-1 ");
  ASSERT_NE(at, std::string::npos) << t.out;
  const double top1 = std::stod(t.out.substr(at + 52));
  EXPECT_GE(top1, 0.8) << t.out;
}

TEST_F(CliTrainTest, BadInputGivesClearErrors) {
  struct Case {
    std::string args, expect;
  };
  fs::create_directories(dir_ + "/one/only");
  ASSERT_TRUE(image_write_png(dir_ + "/one/only/a.png", test::class_image(0, 8, 8, 1)).ok());
  std::ofstream(dir_ + "/bad.morsel", std::ios::binary) << "MORSEL\0\0 garbage";
  const std::vector<Case> cases = {
      {"train /nonexistent --backbone '" + backbone_ + "' -o x.morsel", "not a directory"},
      {"train '" + data_ + "' --backbone '" + backbone_ + "' -o x.morsel --cut nope", "no tensor named 'nope'"},
      {"train '" + data_ + "' --backbone '" + dir_ + "/bad.morsel' -o x.morsel", "bad.morsel"},
      {"train '" + dir_ + "/one' --backbone '" + backbone_ + "' -o x.morsel", "at least 2"},
      {"train '" + data_ + "' --backbone '" + backbone_ + "'", "-o"},
      {"train '" + data_ + "' --backbone '" + backbone_ + "' -o x.morsel --optimizer rmsprop", "--optimizer"},
      {"train '" + data_ + "' --backbone '" + backbone_ + "' -o x.morsel --dropout 1.5", "dropout"},
      {"eval '" + backbone_ + "' '" + data_ + "'", "class0"},  // labels a..d do not name the classes
  };
  for (const Case& c : cases) {
    CliRun r = morsel(c.args);
    EXPECT_NE(r.rc, 0) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find("morsel: error:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
}

}  // namespace
}  // namespace morsel::train
