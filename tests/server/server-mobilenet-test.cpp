// `morsel serve` with the real MobileNetV2 (converted from the nsfwjs TF.js model) and real food
// photos: the server's answer is the CLI's answer (same decode, preprocess and engine), over the
// classify endpoint and over V2 infer with binary image bytes, under concurrent requests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <thread>

#include "server/server-test-util.h"
#include "util/test_util.h"

namespace morsel::test {
namespace {

using json = nlohmann::json;


TEST(ServerMobileNet, AnswersMatchTheCli) {
  const std::string src = source_path("models/nsfwjs/mobilenet_v2");
  ASSERT_TRUE(file_exists(src + "/model.json")) << "run scripts/setup";
  const std::vector<std::string> images = test::photo_paths(3);
  ASSERT_EQ(images.size(), 3u) << "scripts/photos.js failed: run scripts/setup";
  const std::string dir = temp_dir("mobilenet");
  const std::string model = dir + "/mobilenet_v2.morsel";
  int rc;
  std::string out = test::run_command("'" + server_binary() + "' convert '" + src + "' -o '" + model +
                                    "' --normalize unit --resize bilinear_align_corners 2>&1",
                                &rc);
  ASSERT_EQ(rc, 0) << out;
  std::string cmd = "'" + server_binary() + "' predict '" + model + "' --json --top-k 5";
  for (const auto& p : images) cmd += " '" + p + "'";
  const std::string predicted = test::run_command(cmd + " 2>/dev/null", &rc);
  ASSERT_EQ(rc, 0) << predicted;
  const json cli = json::parse(predicted);
  ASSERT_EQ(cli.size(), images.size());

  ServerProcess s({"--model", model, "--workers", "2", "--max-batch", "4"});
  ASSERT_TRUE(s.wait_ready()) << s.log();
  std::vector<json> answers(images.size() * 2);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); i++)
    threads.emplace_back([&, i] {
      const std::vector<uint8_t> bytes = read_file_bytes(images[i % images.size()]);
      HttpClient c(s.port(), 120);
      answers[i] = c.post("/v1/models/mobilenet_v2:classify?top_k=5", "image/jpeg",
                          std::string(bytes.begin(), bytes.end()))
                       .json();
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < answers.size(); i++) {
    const json& a = answers[i];
    const json& want = cli[i % images.size()]["predictions"];
    ASSERT_TRUE(a.contains("predictions")) << a.dump();
    ASSERT_EQ(a["predictions"].size(), 5u);
    for (size_t k = 0; k < 5; k++) {
      EXPECT_EQ(a["predictions"][k]["label"], want[k]["label"]) << images[i % images.size()];
      EXPECT_NEAR(a["predictions"][k]["score"].get<double>(), want[k]["score"].get<double>(), 1e-5);
    }
  }

  // V2 infer, binary BYTES input with all three photos in one request, classification output.
  std::string bin;
  for (const auto& p : images) {
    const std::vector<uint8_t> b = read_file_bytes(p);
    const uint32_t n = static_cast<uint32_t>(b.size());
    bin.append(reinterpret_cast<const char*>(&n), 4);
    bin.append(b.begin(), b.end());
  }
  HttpClient c(s.port(), 120);
  const json meta = c.get("/v2/models/mobilenet_v2").json();
  const std::string in_name = meta["inputs"][0]["name"], out_name = meta["outputs"][0]["name"];
  json h = {{"inputs",
             {{{"name", in_name},
               {"shape", {images.size()}},
               {"datatype", "BYTES"},
               {"parameters", {{"binary_data_size", bin.size()}}}}}},
            {"outputs", {{{"name", out_name}, {"parameters", {{"classification", 1}}}}}}};
  HttpResult r = c.post("/v2/models/mobilenet_v2/infer", "application/octet-stream", h.dump() + bin,
                        {{"Inference-Header-Content-Length", std::to_string(h.dump().size())}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json data = r.json()["outputs"][0]["data"];
  ASSERT_EQ(data.size(), images.size());
  for (size_t i = 0; i < images.size(); i++) {
    const std::string top = data[i];
    const std::string want = cli[i]["predictions"][0]["label"];
    EXPECT_EQ(top.substr(top.rfind(':') + 1), want) << top;
  }
}

}  // namespace
}  // namespace morsel::test
