// `morsel serve` API tests against one real server process (tiny synthetic models, a web dir):
// every endpoint, the error shape and status for every kind of bad request, and every limit
// that a single server with default limits can show.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "image/image-test-util.h"
#include "server/server-test-util.h"
#include "util/test_util.h"

namespace morsel::test {
namespace {

using json = nlohmann::json;

std::string str(const std::vector<uint8_t>& b) {
  return std::string(b.begin(), b.end());
}

// Every error has exactly {"error": {"code", "message"}} and the expected status and code.
void expect_error(const HttpResult& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body << r.error;
  json j = r.json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.size(), 1u) << r.body;
  ASSERT_TRUE(j.contains("error")) << r.body;
  EXPECT_EQ(j["error"]["code"], code) << r.body;
  EXPECT_TRUE(j["error"]["message"].is_string() &&
              !j["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(j["error"].size(), 2u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("x-request-id").empty());  // every response, even before the header parsed
}

class ServerApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir("api"));
    const std::string& d = *dir_;
    write_tiny_model(d + "/tiny.morsel");
    write_tiny_model(d + "/tiny_b.morsel", "_b", "tiny-b");
    const std::string web = d + "/web";
    ASSERT_EQ(std::system(("mkdir -p '" + web + "/assets' '" + web + "/sub'").c_str()), 0);
    std::ofstream(web + "/index.html") << "<!doctype html><title>morsel</title>";
    std::ofstream(web + "/morsel.wasm") << "\0asm\x01\0\0\0";
    std::ofstream(web + "/app-3f9a1b2c.js") << "console.log(1)";
    std::ofstream(web + "/assets/chunk.css") << "body{}";
    std::ofstream(web + "/sub/index.html") << "sub index";
    std::ofstream(d + "/secret.txt") << "root:x:0:0";
    ASSERT_EQ(::symlink((d + "/secret.txt").c_str(), (web + "/escape.txt").c_str()), 0);
    server_ =
        new ServerProcess({"--model", d + "/tiny.morsel", "--model", d + "/tiny_b.morsel", "--web",
                           web, "--cors-origin", "https://app.example", "--workers", "2"});
    ASSERT_TRUE(server_->wait_listening()) << server_->log();
    ASSERT_TRUE(server_->wait_ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
  }
  void TearDown() override {
    // Whatever a test did, the server is still healthy.
    ASSERT_TRUE(server_->running()) << server_->log();
    HttpClient c(port());
    EXPECT_EQ(c.get("/v2/health/live").status, 200);
  }
  static int port() { return server_->port(); }
  static ServerProcess* server_;
  static std::string* dir_;
};
ServerProcess* ServerApi::server_ = nullptr;
std::string* ServerApi::dir_ = nullptr;

TEST_F(ServerApi, HealthAndServerMetadata) {
  HttpClient c(port());
  HttpResult live = c.get("/v2/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.json()["live"], true);
  HttpResult ready = c.get("/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  HttpResult meta = c.get("/v2");
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(meta.json()["name"], "morsel");
  EXPECT_NE(meta.body.find("classification"), std::string::npos);
  EXPECT_NE(meta.body.find("binary_tensor_data"), std::string::npos);
  HttpResult head = c.request("HEAD", "/v2/health/live");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("content-length"), std::to_string(live.body.size()));
}

TEST_F(ServerApi, ModelMetadataReadyAnd404) {
  HttpClient c(port());
  HttpResult m = c.get("/v2/models/tiny");
  ASSERT_EQ(m.status, 200) << m.body;
  json j = m.json();
  EXPECT_EQ(j["name"], "tiny");
  EXPECT_EQ(j["versions"], json::array({"1"}));
  EXPECT_EQ(j["inputs"][0]["name"], "image");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({-1, 8, 8, 3}));
  EXPECT_EQ(j["outputs"][0]["name"], "probs");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({-1, 4}));
  EXPECT_EQ(c.get("/v2/models/tiny/versions/1").status, 200);
  EXPECT_EQ(c.get("/v2/models/tiny/ready").status, 200);
  EXPECT_EQ(c.get("/v2/models/tiny/versions/1/ready").status, 200);
  EXPECT_EQ(c.get("/v2/models/tiny_b").json()["name"], "tiny_b");  // named after the file

  expect_error(c.get("/v2/models/nope"), 404, "model_not_found");
  expect_error(c.get("/v2/models/nope/ready"), 404, "model_not_found");
  expect_error(c.get("/v2/models/tiny/versions/7"), 404, "version_not_found");
  expect_error(c.get("/v2/models/tiny/versions/7/ready"), 404, "version_not_found");
  expect_error(c.get("/v2/models/tiny/versions/abc"), 404, "version_not_found");
  expect_error(c.get("/v2/models/..%2f..%2fetc/ready"), 404, "model_not_found");
  expect_error(c.get("/v2/whatever"), 404, "not_found");
  expect_error(c.get("/api/whatever"), 404, "not_found");
  HttpResult wrong = c.request("DELETE", "/v2/models/tiny");
  expect_error(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong.header("allow"), "GET, HEAD");
}

TEST_F(ServerApi, ClassifyRawImages) {
  HttpClient c(port());
  HttpResult r = c.post("/v1/models/tiny:classify", "image/png",
                        str(solid_png(32, 24, 250, 10, 10)), {{"X-Request-ID", "req-123.abc"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["version"], "1");
  EXPECT_EQ(j["id"], "req-123.abc");
  EXPECT_EQ(r.header("x-request-id"), "req-123.abc");
  ASSERT_EQ(j["predictions"].size(), 4u);  // default top_k 5, clamped to the 4 classes
  EXPECT_EQ(j["predictions"][0]["label"], "red");
  EXPECT_EQ(j["predictions"][0]["index"], 0);
  EXPECT_GT(j["predictions"][0]["score"].get<double>(), 0.9);
  double sum = 0;
  for (const auto& p : j["predictions"]) sum += p["score"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
  for (const char* k : {"decode", "preprocess", "inference", "total"}) {
    ASSERT_TRUE(j["timings_ms"].contains(k)) << k;
    EXPECT_GE(j["timings_ms"][k].get<double>(), 0.0) << k;
  }
  EXPECT_GE(j["timings_ms"]["total"].get<double>(), j["timings_ms"]["inference"].get<double>());

  HttpResult g =
      c.post("/v1/models/tiny:classify?top_k=1", "image/jpeg", str(solid_jpeg(40, 40, 0, 240, 0)));
  ASSERT_EQ(g.status, 200) << g.body;
  ASSERT_EQ(g.json()["predictions"].size(), 1u);
  EXPECT_EQ(g.json()["predictions"][0]["label"], "green");

  const Image blue = make_image(16, 16, [](int, int, int c) { return c == 2 ? 255 : 0; });
  HttpResult b = c.post("/v1/models/tiny/versions/1:classify?top_k=2", "image/webp",
                        str(encode_webp_lossless(blue)));
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.json()["predictions"][0]["label"], "blue");
  EXPECT_EQ(b.json()["predictions"].size(), 2u);

  // A generated request id when the client sends none or an unusable one.
  HttpResult n = c.post("/v1/models/tiny:classify", "image/png", str(solid_png(8, 8, 1, 2, 3)),
                        {{"X-Request-ID", "has spaces\tand tabs"}});
  ASSERT_EQ(n.status, 200);
  EXPECT_EQ(n.header("x-request-id").size(), 32u);
  EXPECT_EQ(n.json()["id"], n.header("x-request-id"));
}

TEST_F(ServerApi, ClassifyMultipartAndDefaultModel) {
  HttpClient c(port());
  const std::string boundary = "----morselBoundary7MA4YWxk";
  std::string body =
      "--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n";
  body += "--" + boundary +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
          "Content-Type: image/png\r\n\r\n" +
          str(solid_png(20, 20, 0, 0, 255)) + "\r\n--" + boundary + "--\r\n";
  HttpResult r = c.post("/api/classify?top_k=3", "multipart/form-data; boundary=" + boundary, body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["model"], "tiny");  // the first --model
  EXPECT_EQ(r.json()["predictions"].size(), 3u);
  EXPECT_EQ(r.json()["predictions"][0]["label"], "blue");

  HttpResult m =
      c.post("/v1/models/tiny_b:classify", "multipart/form-data; boundary=" + boundary, body);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.json()["predictions"][0]["label"], "blue_b");

  std::string no_file = "--" + boundary +
                        "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--" +
                        boundary + "--\r\n";
  expect_error(c.post("/api/classify", "multipart/form-data; boundary=" + boundary, no_file), 400,
               "bad_request");
  expect_error(c.post("/api/classify", "multipart/form-data; boundary=" + boundary, "garbage"), 400,
               "bad_request");
  std::string text_part = "--" + boundary +
                          "\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Type: "
                          "text/plain\r\n\r\nhi\r\n--" +
                          boundary + "--\r\n";
  expect_error(c.post("/api/classify", "multipart/form-data; boundary=" + boundary, text_part), 415,
               "unsupported_media_type");
}

TEST_F(ServerApi, ClassifyBadInputs) {
  HttpClient c(port());
  const std::string png = str(solid_png(8, 8, 200, 0, 0));
  expect_error(c.post("/v1/models/tiny:classify?top_k=0", "image/png", png), 400, "bad_request");
  expect_error(c.post("/v1/models/tiny:classify?top_k=abc", "image/png", png), 400, "bad_request");
  expect_error(c.post("/v1/models/nope:classify", "image/png", png), 404, "model_not_found");
  expect_error(c.post("/v1/models/tiny/versions/9:classify", "image/png", png), 404,
               "version_not_found");
  // Wrong content types.
  expect_error(c.post("/v1/models/tiny:classify", "text/plain", png), 415,
               "unsupported_media_type");
  expect_error(c.post("/v1/models/tiny:classify", "application/octet-stream", png), 415,
               "unsupported_media_type");
  expect_error(c.request("POST", "/v1/models/tiny:classify", {}, png), 415,
               "unsupported_media_type");
  // Bytes that are no supported image, whatever the header says.
  expect_error(c.post("/v1/models/tiny:classify", "image/png", "GIF89a\x01\x00\x01\x00"), 415,
               "unsupported_media_type");
  expect_error(c.post("/v1/models/tiny:classify", "image/png", "hello world, not an image"), 415,
               "unsupported_media_type");
  expect_error(c.post("/v1/models/tiny:classify", "image/png", ""), 400, "bad_request");
  // A truncated JPEG: the header is fine, the data is cut.
  const Image grad = gradient_image(64, 64);
  std::vector<uint8_t> jpeg = encode_jpeg(grad, 90);
  jpeg.resize(jpeg.size() / 2);
  expect_error(c.post("/v1/models/tiny:classify", "image/jpeg", str(jpeg)), 422, "invalid_image");
  // A header claiming 100000 x 100000: refused from the header, before any decoding.
  HttpResult huge =
      c.post("/v1/models/tiny:classify", "image/png", str(png_header_only(100000, 100000)));
  expect_error(huge, 413, "image_too_large");
  EXPECT_NE(huge.json()["error"]["message"].get<std::string>().find("100000x100000"),
            std::string::npos);
  // Compressed request bodies are refused.
  expect_error(c.post("/v1/models/tiny:classify", "image/png", png, {{"Content-Encoding", "gzip"}}),
               415, "unsupported_media_type");
  // GET on a POST endpoint.
  HttpResult get = c.get("/v1/models/tiny:classify");
  expect_error(get, 405, "method_not_allowed");
  EXPECT_EQ(get.header("allow"), "POST");
}

json fp32_request(const std::vector<float>& rgb, int n) {
  json data = json::array();
  for (int i = 0; i < n; i++)
    for (int p = 0; p < 64; p++)
      for (int ch = 0; ch < 3; ch++) data.push_back(rgb[static_cast<size_t>(i * 3 + ch)]);
  return {{"id", "my-id"},
          {"inputs",
           {{{"name", "image"}, {"shape", {n, 8, 8, 3}}, {"datatype", "FP32"}, {"data", data}}}}};
}

TEST_F(ServerApi, InferJsonTensors) {
  HttpClient c(port());
  HttpResult r =
      c.post("/v2/models/tiny/infer", "application/json", fp32_request({1, 0, 0}, 1).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["model_name"], "tiny");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_EQ(j["id"], "my-id");
  ASSERT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(j["outputs"][0]["name"], "probs");
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({1, 4}));
  std::vector<float> p = j["outputs"][0]["data"].get<std::vector<float>>();
  ASSERT_EQ(p.size(), 4u);
  // softmax(10, 0, 0, 4)
  const double e = std::exp(10.0) + 2 + std::exp(4.0);
  EXPECT_NEAR(p[0], std::exp(10.0) / e, 1e-5);
  EXPECT_NEAR(p[3], std::exp(4.0) / e, 1e-5);

  // Batch of two, nested data, on an explicit version.
  json two = fp32_request({0, 1, 0, 0, 0, 1}, 2);
  HttpResult b = c.post("/v2/models/tiny/versions/1/infer", "application/json", two.dump());
  ASSERT_EQ(b.status, 200) << b.body;
  std::vector<float> q = b.json()["outputs"][0]["data"].get<std::vector<float>>();
  ASSERT_EQ(q.size(), 8u);
  EXPECT_GT(q[1], 0.9f);
  EXPECT_GT(q[4 + 2], 0.9f);

  // UINT8 pixels of any size are preprocessed by the model's own rules.
  json pixels = json::array();
  for (int y = 0; y < 5; y++) {
    json row = json::array();
    for (int x = 0; x < 7; x++) row.push_back({0, 0, 255});
    pixels.push_back(row);
  }
  json u8 = {
      {"inputs",
       {{{"name", "image"}, {"shape", {1, 5, 7, 3}}, {"datatype", "UINT8"}, {"data", {pixels}}}}},
      {"outputs", {{{"name", "probs"}, {"parameters", {{"classification", 2}}}}}}};
  HttpResult u = c.post("/v2/models/tiny/infer", "application/json", u8.dump());
  ASSERT_EQ(u.status, 200) << u.body;
  json out = u.json()["outputs"][0];
  EXPECT_EQ(out["datatype"], "BYTES");
  EXPECT_EQ(out["shape"], json::array({1, 2}));
  ASSERT_EQ(out["data"].size(), 2u);
  // "score:index:label"
  const std::string top = out["data"][0];
  EXPECT_EQ(top.substr(top.find(':')), ":2:blue") << top;
  EXPECT_GT(std::atof(top.c_str()), 0.9);
}

TEST_F(ServerApi, InferBinaryData) {
  HttpClient c(port());
  const std::string png = str(solid_png(12, 12, 0, 250, 0));
  const std::string jpg = str(solid_jpeg(12, 12, 250, 0, 0));
  std::string bin;
  for (const std::string* img : {&png, &jpg}) {
    const uint32_t n = static_cast<uint32_t>(img->size());
    bin.append(reinterpret_cast<const char*>(&n), 4);
    bin += *img;
  }
  json header = {{"inputs",
                  {{{"name", "image"},
                    {"shape", {2}},
                    {"datatype", "BYTES"},
                    {"parameters", {{"binary_data_size", bin.size()}}}}}},
                 {"outputs", {{{"name", "probs"}, {"parameters", {{"binary_data", true}}}}}}};
  const std::string h = header.dump();
  HttpResult r = c.post("/v2/models/tiny/infer", "application/octet-stream", h + bin,
                        {{"Inference-Header-Content-Length", std::to_string(h.size())}});
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t jlen = std::stoul(r.header("inference-header-content-length"));
  ASSERT_LT(jlen, r.body.size());
  json j = json::parse(r.body.substr(0, jlen));
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({2, 4}));
  ASSERT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 32);
  ASSERT_EQ(r.body.size() - jlen, 32u);
  float p[8];
  std::memcpy(p, r.body.data() + jlen, 32);
  EXPECT_GT(p[1], 0.9f);  // green
  EXPECT_GT(p[4], 0.9f);  // red

  // Binary FP32 input with binary classification output.
  std::vector<float> x(8 * 8 * 3, 0.f);
  for (size_t i = 2; i < x.size(); i += 3) x[i] = 1.f;
  json h2 = {
      {"inputs",
       {{{"name", "image"},
         {"shape", {1, 8, 8, 3}},
         {"datatype", "FP32"},
         {"parameters", {{"binary_data_size", x.size() * 4}}}}}},
      {"outputs",
       {{{"name", "probs"}, {"parameters", {{"classification", 1}, {"binary_data", true}}}}}}};
  const std::string h2s = h2.dump();
  HttpResult r2 = c.post("/v2/models/tiny/infer", "application/octet-stream",
                         h2s + std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4),
                         {{"Inference-Header-Content-Length", std::to_string(h2s.size())}});
  ASSERT_EQ(r2.status, 200) << r2.body;
  const size_t j2 = std::stoul(r2.header("inference-header-content-length"));
  const std::string tail = r2.body.substr(j2);
  ASSERT_GE(tail.size(), 4u);
  uint32_t len;
  std::memcpy(&len, tail.data(), 4);
  ASSERT_EQ(len + 4, tail.size());
  EXPECT_NE(tail.find(":2:blue"), std::string::npos);

  // Wrong binary sizes are 400s.
  HttpResult bad = c.post("/v2/models/tiny/infer", "application/octet-stream", h2s + "abc",
                          {{"Inference-Header-Content-Length", std::to_string(h2s.size())}});
  expect_error(bad, 400, "bad_request");
  // An image over the limits inside a BYTES tensor.
  const std::string big = str(png_header_only(100000, 100000));
  std::string bin3;
  const uint32_t n3 = static_cast<uint32_t>(big.size());
  bin3.append(reinterpret_cast<const char*>(&n3), 4);
  bin3 += big;
  json h3 = {{"inputs",
              {{{"name", "image"},
                {"shape", {1}},
                {"datatype", "BYTES"},
                {"parameters", {{"binary_data_size", bin3.size()}}}}}}};
  expect_error(c.post("/v2/models/tiny/infer", "application/octet-stream", h3.dump() + bin3,
                      {{"Inference-Header-Content-Length", std::to_string(h3.dump().size())}}),
               413, "image_too_large");
}

TEST_F(ServerApi, InferBadRequests) {
  HttpClient c(port());
  expect_error(c.post("/v2/models/tiny/infer", "application/json", "{\"inputs\": [1, 2,"), 400,
               "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json", "[]"), 400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json", "{}"), 400, "bad_request");
  // Deeply nested JSON is refused before parsing.
  std::string deep = "{\"inputs\": " + std::string(5000, '[') + std::string(5000, ']') + "}";
  HttpResult d = c.post("/v2/models/tiny/infer", "application/json", deep);
  expect_error(d, 400, "bad_request");
  EXPECT_NE(d.body.find("deeper"), std::string::npos) << d.body;
  // Brackets inside strings do not count.
  json ok = fp32_request({1, 0, 0}, 1);
  ok["id"] = std::string(200, '[');
  EXPECT_EQ(c.post("/v2/models/tiny/infer", "application/json", ok.dump()).status, 200);

  auto with = [](const std::function<void(json&)>& edit) {
    json j = fp32_request({1, 0, 0}, 1);
    edit(j);
    return j.dump();
  };
  expect_error(c.post("/v2/models/tiny/infer", "application/json",
                      with([](json& j) { j["inputs"][0]["name"] = "x"; })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json",
                      with([](json& j) { j["inputs"][0]["datatype"] = "INT64"; })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json", with([](json& j) {
                        j["inputs"][0]["shape"] = {1, 9, 8, 3};
                      })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json",
                      with([](json& j) { j["inputs"][0]["data"].erase(0); })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json",
                      with([](json& j) { j["inputs"][0]["data"][0] = "x"; })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json",
                      with([](json& j) { j["inputs"][0]["shape"] = "1,8,8,3"; })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json", with([](json& j) {
                        j["outputs"] = {{{"name", "nope"}}};
                      })),
               400, "bad_request");
  expect_error(c.post("/v2/models/tiny/infer", "application/json", with([](json& j) {
                        j["inputs"][0]["shape"] = {100000, 8, 8, 3};
                      })),
               413, "payload_too_large");
  expect_error(c.post("/v2/models/tiny/infer", "text/plain", fp32_request({1, 0, 0}, 1).dump()),
               415, "unsupported_media_type");
  expect_error(
      c.post("/v2/models/nope/infer", "application/json", fp32_request({1, 0, 0}, 1).dump()), 404,
      "model_not_found");
  expect_error(c.post("/v2/models/tiny/versions/3/infer", "application/json",
                      fp32_request({1, 0, 0}, 1).dump()),
               404, "version_not_found");
}

TEST_F(ServerApi, BodyLimits) {
  HttpClient c(port());
  // Declared too large: answered from the header, without reading the body.
  HttpResult r = c.raw(
      "POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
      "Content-Length: 16777217\r\n\r\n");
  expect_error(r, 413, "payload_too_large");
  EXPECT_EQ(r.header("connection"), "close");

  // Sent too large: the whole 17 MiB body arrives, the server stops reading at 16 MiB.
  const std::string big(17 << 20, 'x');
  expect_error(c.post("/v1/models/tiny:classify", "image/png", big), 413, "payload_too_large");

  // Chunked, with no length announced: counted as it arrives.
  const int fd = connect_loopback(port());
  ASSERT_GE(fd, 0);
  std::string head =
      "POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  ASSERT_TRUE(send_all(fd, head.data(), head.size()));
  const std::string chunk = "100000\r\n" + std::string(1 << 20, 'y') + "\r\n";
  for (int i = 0; i < 17; i++)
    if (!send_all(fd, chunk.data(), chunk.size())) break;
  send_all(fd, "0\r\n\r\n", 5);
  HttpResult cr = read_response(fd, 30);
  ::close(fd);
  expect_error(cr, 413, "payload_too_large");

  // A small chunked body is fine.
  const std::string png = str(solid_png(8, 8, 255, 0, 0));
  char size_hex[16];
  std::snprintf(size_hex, sizeof size_hex, "%zx", png.size());
  HttpResult ok = c.raw(
      "POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      std::string(size_hex) + "\r\n" + png + "\r\n0\r\n\r\n");
  EXPECT_EQ(ok.status, 200) << ok.body;

  // Expect: 100-continue gets the interim response before the body is sent.
  const int ef = connect_loopback(port());
  const std::string ehead =
      "POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(png.size()) + "\r\n\r\n";
  ASSERT_TRUE(send_all(ef, ehead.data(), ehead.size()));
  char interim[25] = {};
  ASSERT_EQ(::recv(ef, interim, 25, MSG_WAITALL), 25);
  EXPECT_EQ(std::string(interim, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(send_all(ef, png.data(), png.size()));
  EXPECT_EQ(read_response(ef, 30).status, 200);
  ::close(ef);

  // No length at all on a POST: 411.
  HttpResult nl =
      c.raw("POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n\r\n");
  expect_error(nl, 411, "length_required");
}

TEST_F(ServerApi, HeaderAndUrlLimits) {
  HttpClient c(port());
  expect_error(c.get("/v2/health/live?x=" + std::string(9000, 'a')), 414, "uri_too_long");
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 120; i++) many.emplace_back("X-H" + std::to_string(i), "v");
  expect_error(c.request("GET", "/v2/health/live", many), 431, "header_too_large");
  expect_error(c.request("GET", "/v2/health/live", {{"X-Big", std::string(20000, 'b')}}), 431,
               "header_too_large");
  HttpResult garbage = c.raw("THIS IS NOT HTTP\r\n\r\n");
  expect_error(garbage, 400, "bad_request");
  HttpResult bad_chunk = c.raw(
      "POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
      "Transfer-Encoding: chunked\r\n\r\nzz\r\n");
  expect_error(bad_chunk, 400, "bad_request");
  // Ambiguous framing (request smuggling) is refused.
  expect_error(c.raw("POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "image/png\r\nContent-Length: 5\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
               400, "bad_request");
  expect_error(c.raw("POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "image/png\r\nContent-Length: 5\r\n"
                     "Content-Length: 6\r\n\r\nhello!"),
               400, "bad_request");
  // HTTP/1.0 gets its answer and the connection closes.
  HttpResult old = c.raw("GET /v2/health/live HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.status, 200);
  EXPECT_EQ(old.header("connection"), "close");
}

TEST_F(ServerApi, StaticFiles) {
  HttpClient c(port());
  HttpResult index = c.get("/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, "<!doctype html><title>morsel</title>");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("cross-origin-opener-policy"), "same-origin");
  EXPECT_EQ(index.header("cross-origin-embedder-policy"), "require-corp");
  EXPECT_EQ(index.header("cache-control"), "no-cache");
  const std::string etag = index.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(c.request("GET", "/", {{"If-None-Match", etag}}).status, 304);

  HttpResult wasm = c.get("/morsel.wasm");
  ASSERT_EQ(wasm.status, 200);
  EXPECT_EQ(wasm.header("content-type"), "application/wasm");
  HttpResult hashed = c.get("/app-3f9a1b2c.js");
  ASSERT_EQ(hashed.status, 200);
  EXPECT_EQ(hashed.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(hashed.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(c.get("/assets/chunk.css").header("cache-control"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(c.get("/sub/").body, "sub index");
  EXPECT_EQ(c.get("/sub").body, "sub index");
  // Client-side routes of the single-page app get index.html; missing files do not.
  EXPECT_EQ(c.get("/history/today").body, index.body);
  expect_error(c.get("/missing.js"), 404, "not_found");

  // No way out of the web root.
  for (const char* path : {"/../secret.txt", "/%2e%2e/secret.txt", "/sub/../../secret.txt",
                           "/%2E%2E%2Fsecret.txt", "/..%5csecret.txt", "/a%00b"}) {
    HttpResult r = c.raw(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(r.status == 400 || r.status == 404) << path << " " << r.status;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
  }
  HttpResult link = c.get("/escape.txt");  // a symlink pointing outside the root
  EXPECT_EQ(link.status, 404);
  EXPECT_EQ(link.body.find("root:"), std::string::npos);
  expect_error(c.post("/index.html", "text/plain", "x"), 405, "method_not_allowed");
}

TEST_F(ServerApi, ModelDownloadEtagAndRange) {
  HttpClient c(port());
  const std::vector<uint8_t> file = read_file_bytes(*dir_ + "/tiny.morsel");
  HttpResult r = c.get("/v1/models/tiny/model.morsel");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, str(file));
  EXPECT_EQ(r.header("content-type"), "application/octet-stream");
  EXPECT_EQ(r.header("accept-ranges"), "bytes");
  const std::string etag = r.header("etag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // "<16 hex digits>"
  EXPECT_EQ(c.request("GET", "/v1/models/tiny/model.morsel", {{"If-None-Match", etag}}).status,
            304);
  EXPECT_EQ(c.get("/v1/models/tiny/versions/1/model.morsel").body, str(file));

  HttpResult part = c.request("GET", "/v1/models/tiny/model.morsel", {{"Range", "bytes=0-7"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, std::string("MORSEL\0\0", 8));
  EXPECT_EQ(part.header("content-range"), "bytes 0-7/" + std::to_string(file.size()));
  HttpResult tail = c.request("GET", "/v1/models/tiny/model.morsel", {{"Range", "bytes=-8"}});
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, str(file).substr(file.size() - 8));
  HttpResult from = c.request("GET", "/v1/models/tiny/model.morsel", {{"Range", "bytes=100-"}});
  ASSERT_EQ(from.status, 206);
  EXPECT_EQ(from.body, str(file).substr(100));
  // A stale If-Range gets the whole file.
  EXPECT_EQ(c.request("GET", "/v1/models/tiny/model.morsel",
                      {{"Range", "bytes=0-7"}, {"If-Range", "\"stale\""}})
                .status,
            200);
  HttpResult out =
      c.request("GET", "/v1/models/tiny/model.morsel", {{"Range", "bytes=999999999-"}});
  expect_error(out, 416, "range_not_satisfiable");
  EXPECT_EQ(out.header("content-range"), "bytes */" + std::to_string(file.size()));
  HttpResult head = c.request("HEAD", "/v1/models/tiny/model.morsel");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(file.size()));
  EXPECT_TRUE(head.body.empty());
  expect_error(c.get("/v1/models/nope/model.morsel"), 404, "model_not_found");
}

TEST_F(ServerApi, ModelListAndOpenApi) {
  HttpClient c(port());
  HttpResult r = c.get("/api/models");
  ASSERT_EQ(r.status, 200);
  json j = r.json();
  EXPECT_EQ(j["default_model"], "tiny");
  ASSERT_EQ(j["models"].size(), 2u);
  json tiny = j["models"][0]["name"] == "tiny" ? j["models"][0] : j["models"][1];
  EXPECT_EQ(tiny["labels"], json::array({"red", "green", "blue", "other"}));
  EXPECT_EQ(tiny["num_classes"], 4);
  EXPECT_EQ(tiny["size_bytes"].get<size_t>(), read_file_bytes(*dir_ + "/tiny.morsel").size());
  EXPECT_EQ(tiny["preprocess"]["height"], 8);
  EXPECT_EQ(tiny["preprocess"]["resize"], "bilinear");
  EXPECT_EQ(tiny["url"], "/v1/models/tiny/versions/1/model.morsel");
  EXPECT_EQ(c.get(tiny["url"].get<std::string>()).status, 200);

  HttpResult o = c.get("/openapi.json");
  ASSERT_EQ(o.status, 200);
  json api = o.json();
  ASSERT_TRUE(api.is_object());
  EXPECT_EQ(api["openapi"], "3.0.3");
  for (const char* p : {"/v1/models/{name}:classify", "/v2/models/{name}/infer", "/api/classify",
                        "/api/models", "/v2/health/ready", "/metrics"})
    EXPECT_TRUE(api["paths"].contains(p)) << p;
}

TEST_F(ServerApi, MetricsAndAccessLog) {
  HttpClient c(port());
  ASSERT_EQ(c.post("/v1/models/tiny:classify", "image/png", str(solid_png(8, 8, 255, 0, 0)),
                   {{"X-Request-ID", "metrics-probe-1"}})
                .status,
            200);
  c.post("/v1/models/tiny:classify", "text/plain", "x");
  HttpResult m = c.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = m.body;
  EXPECT_GE(metric_value(t,
                         "morsel_http_requests_total{route=\"/v1/models/"
                         "{name}:classify\",method=\"POST\",status=\"200\"}"),
            1);
  EXPECT_GE(metric_value(t,
                         "morsel_http_requests_total{route=\"/v1/models/"
                         "{name}:classify\",method=\"POST\",status=\"415\"}"),
            1);
  EXPECT_GE(metric_value(t, "morsel_queue_duration_seconds_count{model=\"tiny\"}"), 1);
  EXPECT_GE(metric_value(t, "morsel_decode_duration_seconds_count{model=\"tiny\"}"), 1);
  EXPECT_GE(metric_value(t, "morsel_inference_duration_seconds_count{model=\"tiny\"}"), 1);
  EXPECT_GE(metric_value(t, "morsel_batch_size_count{model=\"tiny\"}"), 1);
  EXPECT_GE(
      metric_value(
          t, "morsel_http_request_duration_seconds_count{route=\"/v1/models/{name}:classify\"}"),
      2);
  EXPECT_EQ(metric_value(t, "morsel_queue_depth{model=\"tiny\"}"), 0);
  EXPECT_EQ(metric_value(t, "morsel_models_loaded"), 2);
  EXPECT_NE(t.find("# TYPE morsel_model_load_failures_total counter"), std::string::npos);
  // One JSON access-log line per request, with the request id.
  ASSERT_TRUE(server_->wait_for_log(
      {"\"request_id\":\"metrics-probe-1\"", "\"status\":200", "\"msg\":\"request\""}, 10))
      << server_->log();
  for (const std::string& line : server_->lines()) {
    if (line.find("metrics-probe-1") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_EQ(j["method"], "POST");
    EXPECT_EQ(j["model"], "tiny");
    EXPECT_GT(j["duration_ms"].get<double>(), 0);
  }
}

TEST_F(ServerApi, CorsAllowList) {
  HttpClient c(port());
  HttpResult ok = c.request("GET", "/api/models", {{"Origin", "https://app.example"}});
  EXPECT_EQ(ok.header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(ok.header("vary"), "Origin");
  HttpResult pre =
      c.request("OPTIONS", "/v1/models/tiny:classify",
                {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_NE(pre.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(pre.header("access-control-allow-headers").find("Content-Type"), std::string::npos);
  HttpResult other = c.request("GET", "/api/models", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.header("access-control-allow-origin"), "");
}

TEST_F(ServerApi, ManyRequestsOnOneConnection) {
  HttpClient c(port());
  const std::string png = str(solid_png(8, 8, 0, 0, 255));
  for (int i = 0; i < 50; i++) {
    HttpResult r = c.post("/v1/models/tiny:classify?top_k=1", "image/png", png);
    ASSERT_EQ(r.status, 200) << i;
    ASSERT_EQ(r.header("connection"), "keep-alive");
  }
  // Pipelined: two requests in one write, two answers in order.
  const std::string two =
      "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const int fd = connect_loopback(port());
  ASSERT_TRUE(send_all(fd, two.data(), two.size()));
  const std::string all = read_until_closed(fd, 10);
  ::close(fd);
  const size_t first = all.find("HTTP/1.1 200 OK");
  const size_t second = all.find("HTTP/1.1 200 OK", first + 1);
  ASSERT_NE(second, std::string::npos) << all;
  EXPECT_NE(all.find("\"live\":true"), std::string::npos) << all;
  EXPECT_GT(all.find("\"name\":\"morsel\""), second) << all;
}

}  // namespace
}  // namespace morsel::test
