// What .morsel readers must reject (docs/model-format.md, "What readers reject"): each case
// mutates a valid file's bytes. Mutations past the checksum reseal it so the deeper check runs.
#include <gtest/gtest.h>

#include <unistd.h>

#include "format/format-test-util.h"

namespace morsel {
namespace {

using namespace morsel::test;

class FormatReject : public ::testing::Test {
 protected:
  void SetUp() override {
    good_ = save_or_die(make_test_model());
    ASSERT_FALSE(good_.empty());
    ASSERT_TRUE(load_status(good_).ok());
  }

  // Expects `b` to be rejected with `code` and a message containing `needle`.
  static void expect_reject(const std::vector<uint8_t>& b, StatusCode code, const std::string& needle) {
    const Status st = load_status(b);
    ASSERT_FALSE(st.ok()) << "accepted a file that should fail with: " << needle;
    EXPECT_EQ(st.code(), code) << st.to_string();
    EXPECT_NE(st.message().find(needle), std::string::npos)
        << "message \"" << st.message() << "\" lacks \"" << needle << "\"";
  }

  std::vector<uint8_t> patched(size_t off, uint64_t v, int n) const {
    std::vector<uint8_t> b = good_;
    put_le(b, off, v, n);
    reseal(b);
    return b;
  }

  std::vector<uint8_t> edited(const std::function<void(json&)>& edit) const {
    return with_metadata(good_, edit);
  }

  std::vector<uint8_t> good_;
};

// ---- Header ----

TEST_F(FormatReject, WrongMagic) {
  std::vector<uint8_t> b = good_;
  b[0] = 'X';
  expect_reject(b, StatusCode::INVALID_MODEL, "not a .morsel file");
  const std::string png = "\x89PNG\r\n\x1a\n and more bytes to pass the header length check..........";
  expect_reject(std::vector<uint8_t>(png.begin(), png.end()), StatusCode::INVALID_MODEL, "not a .morsel file");
}

TEST_F(FormatReject, NewerMajorVersion) {
  std::vector<uint8_t> b = good_;
  put_le(b, H_MAJOR, 2, 2);
  expect_reject(b, StatusCode::UNSUPPORTED, "written by a newer morsel (format 2.0)");
  expect_reject(b, StatusCode::UNSUPPORTED, "this build reads 1.x");
  expect_reject(b, StatusCode::UNSUPPORTED, "upgrade morsel");
  // Even a truncated newer file says "newer", not "truncated": the version is what matters.
  std::vector<uint8_t> head(b.begin(), b.begin() + 12);
  expect_reject(head, StatusCode::UNSUPPORTED, "newer morsel");
}

TEST_F(FormatReject, PreReleaseMajorVersion) {
  expect_reject(patched(H_MAJOR, 0, 2), StatusCode::UNSUPPORTED, "format 0.0");
}

TEST_F(FormatReject, NewerMinorVersionIsAccepted) {
  const std::vector<uint8_t> b = patched(H_MINOR, 9, 2);
  Result<Model> r = model_load_buffer(b.data(), b.size(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_graph_eq(make_test_model().graph, r->graph);
}

TEST_F(FormatReject, UnknownJsonFieldsAreIgnored) {
  // What a 1.x writer may add: new top-level keys, new keys in nested objects.
  std::vector<uint8_t> b = edited([](json& j) {
    j["future_section"] = {{"anything", {1, 2, 3}}};
    j["preprocess"]["antialias"] = true;
    j["provenance"]["git_sha"] = "abc123";
    j["graph"]["values"][0]["quant"] = {{"scale", 0.5}};
    j["graph"]["nodes"][0]["hint"] = "fast";
    j["tensors"][0]["layout"] = "OHWI";
  });
  put_le(b, H_MINOR, 3, 2);
  reseal(b);
  Result<Model> r = model_load_buffer(b.data(), b.size(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_graph_eq(make_test_model().graph, r->graph);
}

TEST_F(FormatReject, UnknownFlags) {
  expect_reject(patched(H_FLAGS, 0x4, 4), StatusCode::UNSUPPORTED, "unknown header flags 0x00000004");
}

TEST_F(FormatReject, UnknownChecksumAlgorithm) {
  expect_reject(patched(H_CHECKSUM_ALGO, 7, 4), StatusCode::UNSUPPORTED, "checksum algorithm id 7");
}

TEST_F(FormatReject, BadHeaderSize) {
  expect_reject(patched(H_HEADER_SIZE, 32, 4), StatusCode::INVALID_MODEL, "bad header size 32");
  expect_reject(patched(H_HEADER_SIZE, 65, 4), StatusCode::INVALID_MODEL, "bad header size 65");
  expect_reject(patched(H_HEADER_SIZE, 1u << 20, 4), StatusCode::INVALID_MODEL, "bad header size");
}

// ---- Size and checksum ----

TEST_F(FormatReject, TruncatedAtEveryInterestingPoint) {
  const format_detail::FileHeader h = header_of(good_);
  const size_t cuts[] = {0, 1, 7, 8, 11, 12, 40, 63, 64, 65, static_cast<size_t>(h.metadata_offset + h.metadata_size / 2),
                         static_cast<size_t>(h.data_offset), static_cast<size_t>(h.data_offset + 100),
                         good_.size() - 8, good_.size() - 1};
  for (size_t cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    std::vector<uint8_t> b(good_.begin(), good_.begin() + static_cast<long>(cut));
    const Status st = load_status(b);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), StatusCode::INVALID_MODEL) << st.to_string();
    if (cut == 0) {
      EXPECT_NE(st.message().find("empty"), std::string::npos) << st.message();
    } else if (cut >= 8) {
      EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
    }
  }
}

TEST_F(FormatReject, TrailingBytes) {
  std::vector<uint8_t> b = good_;
  b.push_back(0);
  expect_reject(b, StatusCode::INVALID_MODEL, "header says");
}

TEST_F(FormatReject, FlippedBytesFailTheChecksum) {
  const format_detail::FileHeader h = header_of(good_);
  const size_t spots[] = {static_cast<size_t>(h.metadata_offset + 3), static_cast<size_t>(h.data_offset),
                          static_cast<size_t>(h.data_offset + h.data_size - 1), good_.size() - 1,
                          static_cast<size_t>(H_META_SIZE + 7)};
  for (size_t at : spots) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::vector<uint8_t> b = good_;
    b[at] ^= 0x10;
    expect_reject(b, StatusCode::INVALID_MODEL, "corrupted: checksum mismatch");
  }
}

// ---- Sections ----

TEST_F(FormatReject, MetadataOutsideTheFile) {
  const format_detail::FileHeader h = header_of(good_);
  expect_reject(patched(H_META_OFFSET, 8, 8), StatusCode::INVALID_MODEL, "metadata block");
  expect_reject(patched(H_META_OFFSET, h.file_size, 8), StatusCode::INVALID_MODEL, "outside the file body");
  expect_reject(patched(H_META_SIZE, h.file_size, 8), StatusCode::INVALID_MODEL, "outside the file body");
  expect_reject(patched(H_META_SIZE, 0, 8), StatusCode::INVALID_MODEL, "metadata block is empty");
  expect_reject(patched(H_META_OFFSET, UINT64_MAX - 4, 8), StatusCode::INVALID_MODEL, "outside the file body");
}

TEST_F(FormatReject, MetadataOverTheCap) {
  expect_reject(patched(H_META_SIZE, kMaxMetadataBytes + 1, 8), StatusCode::LIMIT_EXCEEDED, "limit");
}

TEST_F(FormatReject, DataSectionOutOfRangeOrMisaligned) {
  const format_detail::FileHeader h = header_of(good_);
  expect_reject(patched(H_DATA_OFFSET, h.data_offset + 8, 8), StatusCode::INVALID_MODEL, "not a multiple of 64");
  expect_reject(patched(H_DATA_OFFSET, 64, 8), StatusCode::INVALID_MODEL, "overlaps the metadata");
  expect_reject(patched(H_DATA_SIZE, h.data_size + 1, 8), StatusCode::INVALID_MODEL, "runs past the end");
  expect_reject(patched(H_DATA_SIZE, UINT64_MAX, 8), StatusCode::INVALID_MODEL, "runs past the end");
  expect_reject(patched(H_DATA_OFFSET, UINT64_MAX - 63, 8), StatusCode::INVALID_MODEL, "runs past the end");
}

// ---- Metadata JSON ----

TEST_F(FormatReject, MetadataThatIsNotJson) {
  std::string text = metadata_text(good_);
  text[text.size() / 2] = '\x01';
  expect_reject(with_metadata_text(good_, text), StatusCode::INVALID_MODEL, "not valid JSON");
  expect_reject(with_metadata_text(good_, "{\"name\": "), StatusCode::INVALID_MODEL, "not valid JSON");
  expect_reject(with_metadata_text(good_, metadata_text(good_) + "x"), StatusCode::INVALID_MODEL, "not valid JSON");
  expect_reject(with_metadata_text(good_, "{\"a\": \"\xff\"}"), StatusCode::INVALID_MODEL, "not valid JSON");
  expect_reject(with_metadata_text(good_, "[1,2,3]"), StatusCode::INVALID_MODEL, "JSON object");
  expect_reject(with_metadata_text(good_, std::string(100000, '[')), StatusCode::INVALID_MODEL, "not valid JSON");
}

TEST_F(FormatReject, MissingFields) {
  const char* top[] = {"graph", "tensors", "labels", "preprocess", "provenance", "name", "description"};
  for (const char* k : top) {
    SCOPED_TRACE(k);
    expect_reject(edited([&](json& j) { j.erase(k); }), StatusCode::INVALID_MODEL,
                  std::string("missing the required field \"") + k + "\"");
  }
  expect_reject(edited([](json& j) { j["preprocess"].erase("width"); }), StatusCode::INVALID_MODEL, "\"width\"");
  expect_reject(edited([](json& j) { j["provenance"].erase("created"); }), StatusCode::INVALID_MODEL, "\"created\"");
  expect_reject(edited([](json& j) { j["graph"].erase("nodes"); }), StatusCode::INVALID_MODEL, "\"nodes\"");
  expect_reject(edited([](json& j) { j["graph"].erase("outputs"); }), StatusCode::INVALID_MODEL, "\"outputs\"");
  expect_reject(edited([](json& j) { j["graph"]["values"][2].erase("dtype"); }), StatusCode::INVALID_MODEL,
                "graph.values[2] is missing the required field \"dtype\"");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][1].erase("attrs"); }), StatusCode::INVALID_MODEL,
                "graph.nodes[1] is missing the required field \"attrs\"");
  expect_reject(edited([](json& j) { j["tensors"][3].erase("nbytes"); }), StatusCode::INVALID_MODEL,
                "tensors[3] is missing the required field \"nbytes\"");
}

TEST_F(FormatReject, WrongTypes) {
  expect_reject(edited([](json& j) { j["labels"] = 5; }), StatusCode::INVALID_MODEL, "labels must be an array");
  expect_reject(edited([](json& j) { j["labels"][2] = 3; }), StatusCode::INVALID_MODEL, "labels[2] must be a string");
  expect_reject(edited([](json& j) { j["name"] = nullptr; }), StatusCode::INVALID_MODEL, "name must be a string");
  expect_reject(edited([](json& j) { j["graph"]["values"][0]["shape"] = "x"; }), StatusCode::INVALID_MODEL,
                "graph.values[0].shape must be an array of integers");
  expect_reject(edited([](json& j) { j["graph"]["values"][0]["shape"][1] = 4.5; }), StatusCode::INVALID_MODEL,
                "graph.values[0].shape[1] must be an integer");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][0]["attrs"]["strides"] = {{"ints", {1.5, 1}}}; }),
                StatusCode::INVALID_MODEL, "attrs.strides.ints[0] must be an integer");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][0]["attrs"]["act_min"] = {{"f", "zero"}}; }),
                StatusCode::INVALID_MODEL, "attrs.act_min.f must be a number");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][0]["attrs"]["groups"] = 1; }),
                StatusCode::INVALID_MODEL, "exactly one of");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][0]["attrs"]["groups"] = {{"i", 1}, {"f", 1.0}}; }),
                StatusCode::INVALID_MODEL, "exactly one of");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][0]["attrs"]["groups"] = {{"bf16", 1}}; }),
                StatusCode::UNSUPPORTED, "unknown attribute kind \"bf16\"");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][0]["attrs"]["groups"] = {{"i", 18446744073709551615ull}}; }),
                StatusCode::INVALID_MODEL, "out of range");
  expect_reject(edited([](json& j) { j["tensors"] = json::object(); }), StatusCode::INVALID_MODEL,
                "tensors must be an array");
  expect_reject(edited([](json& j) { j["preprocess"]["mean"] = {1, 2}; }), StatusCode::INVALID_MODEL,
                "preprocess.mean must be an array of 3 numbers");
  expect_reject(edited([](json& j) { j["preprocess"]["std"][0] = 1e300; }), StatusCode::INVALID_MODEL,
                "finite 32-bit float");
  expect_reject(edited([](json& j) { j["graph"]["inputs"] = {{"x", 1}}; }), StatusCode::INVALID_MODEL,
                "graph.inputs must be an array of integers");
}

TEST_F(FormatReject, InvalidPreprocessing) {
  expect_reject(edited([](json& j) { j["preprocess"]["std"][1] = 0.0; }), StatusCode::INVALID_MODEL, "preprocess");
  expect_reject(edited([](json& j) { j["preprocess"]["height"] = 0; }), StatusCode::INVALID_MODEL, "preprocess");
  expect_reject(edited([](json& j) { j["preprocess"]["resize"] = "lanczos"; }), StatusCode::UNSUPPORTED,
                "\"lanczos\"");
  expect_reject(edited([](json& j) { j["preprocess"]["crop"] = "random"; }), StatusCode::UNSUPPORTED, "\"random\"");
  expect_reject(edited([](json& j) { j["preprocess"]["channel_order"] = "rgba"; }), StatusCode::UNSUPPORTED,
                "\"rgba\"");
}

// ---- Tensor table ----

TEST_F(FormatReject, TensorOffsetsOutOfRangeOrMisaligned) {
  expect_reject(edited([](json& j) { j["tensors"][1]["offset"] = 65; }), StatusCode::INVALID_MODEL,
                "offset 65 is not a multiple of 64");
  expect_reject(edited([](json& j) { j["tensors"][5]["offset"] = 1 << 20; }), StatusCode::INVALID_MODEL,
                "run past the end of the data section");
  expect_reject(edited([](json& j) { j["tensors"][5]["offset"] = -64; }), StatusCode::INVALID_MODEL, "negative");
  expect_reject(edited([](json& j) { j["tensors"][5]["offset"] = INT64_MAX - 63; }), StatusCode::INVALID_MODEL,
                "run past the end");
}

TEST_F(FormatReject, OverlappingTensors) {
  expect_reject(edited([](json& j) { j["tensors"][2]["offset"] = j["tensors"][1]["offset"]; }),
                StatusCode::INVALID_MODEL, "overlap");
}

TEST_F(FormatReject, TensorSizeDisagreesWithShape) {
  expect_reject(edited([](json& j) { j["tensors"][0]["nbytes"] = 44; }), StatusCode::INVALID_MODEL,
                "44 bytes stored, but shape [1,1,3,4] of f32 needs 48 bytes");
  expect_reject(edited([](json& j) { j["tensors"][0]["dtype"] = "f16"; }), StatusCode::INVALID_MODEL, "needs 24");
}

TEST_F(FormatReject, BadTensorShapes) {
  expect_reject(edited([](json& j) { j["tensors"][0]["shape"] = {-1, 12}; }), StatusCode::INVALID_MODEL,
                "invalid dimension -1");
  expect_reject(edited([](json& j) { j["tensors"][0]["shape"] = {int64_t{1} << 62, int64_t{1} << 62, 4}; }),
                StatusCode::INVALID_MODEL, "more than the whole data section");
  expect_reject(edited([](json& j) { j["tensors"][0]["shape"] = {1, 1, 1, 1, 1, 1, 1, 3, 4}; }),
                StatusCode::INVALID_MODEL, "rank 9");
  expect_reject(edited([](json& j) { j["graph"]["values"][0]["shape"] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; }),
                StatusCode::INVALID_MODEL, "rank 9");
  expect_reject(edited([](json& j) { j["graph"]["values"][0]["shape"][0] = -2; }), StatusCode::INVALID_MODEL,
                "invalid dimension -2");
}

TEST_F(FormatReject, UnknownDtype) {
  expect_reject(edited([](json& j) { j["tensors"][0]["dtype"] = "bf16"; }), StatusCode::UNSUPPORTED,
                "dtype \"bf16\"");
  expect_reject(edited([](json& j) { j["graph"]["values"][0]["dtype"] = "f64"; }), StatusCode::UNSUPPORTED,
                "dtype \"f64\"");
}

// ---- Graph ----

TEST_F(FormatReject, ValueIdsOutOfRange) {
  expect_reject(edited([](json& j) { j["graph"]["nodes"][1]["inputs"][0] = 12; }), StatusCode::INVALID_MODEL,
                "graph.nodes[1].inputs[0] = 12 is not a value id (the graph has 12 values)");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][1]["inputs"][0] = -2; }), StatusCode::INVALID_MODEL,
                "is not a value id");
  expect_reject(edited([](json& j) { j["graph"]["nodes"][1]["outputs"][0] = -1; }), StatusCode::INVALID_MODEL,
                "graph.nodes[1].outputs[0] = -1");
  expect_reject(edited([](json& j) { j["graph"]["outputs"][0] = 1000; }), StatusCode::INVALID_MODEL,
                "graph.outputs[0] = 1000");
  expect_reject(edited([](json& j) { j["graph"]["inputs"][0] = INT64_MAX; }), StatusCode::INVALID_MODEL,
                "graph.inputs[0]");
  expect_reject(edited([](json& j) { j["graph"]["values"][1]["tensor"] = 6; }), StatusCode::INVALID_MODEL,
                "graph.values[1].tensor = 6 is not a tensor index");
}

TEST_F(FormatReject, UnknownOp) {
  expect_reject(edited([](json& j) { j["graph"]["nodes"][3]["op"] = "Gelu"; }), StatusCode::UNSUPPORTED,
                "node 'softmax' uses op \"Gelu\"");
}

TEST_F(FormatReject, ValueDisagreesWithItsTensor) {
  expect_reject(edited([](json& j) { j["graph"]["values"][1]["dtype"] = "i32"; }), StatusCode::INVALID_MODEL,
                "value 'conv/w' is declared i32 [1,1,3,4] but its tensor 'conv/w' is f32 [1,1,3,4]");
  expect_reject(edited([](json& j) { j["graph"]["values"][1]["shape"] = {3, 4}; }), StatusCode::INVALID_MODEL,
                "declared f32 [3,4]");
}

TEST_F(FormatReject, LabelsContradictTheOutputShape) {
  expect_reject(edited([](json& j) { j["labels"].push_back("fig"); }), StatusCode::INVALID_MODEL,
                "6 labels, but the output 'probs' has shape [?,5] (5 classes)");
  // Dynamic last dim or no labels: nothing to check.
  EXPECT_TRUE(load_status(edited([](json& j) { j["labels"] = json::array(); })).ok());
  EXPECT_TRUE(load_status(edited([](json& j) {
                j["labels"].push_back("fig");
                j["graph"]["values"][11]["shape"] = {-1, -1};
              })).ok());
}

TEST_F(FormatReject, GraphThatFailsValidation) {
  // Nodes out of topological order.
  expect_reject(edited([](json& j) { std::swap(j["graph"]["nodes"][0], j["graph"]["nodes"][1]); }),
                StatusCode::INVALID_MODEL, "graph: node 'gap' reads 'conv:0' before it is computed");
  // A value written twice.
  expect_reject(edited([](json& j) { j["graph"]["nodes"][1]["outputs"][0] = 2; }), StatusCode::INVALID_MODEL,
                "written more than once");
  // A constant as a graph input.
  expect_reject(edited([](json& j) { j["graph"]["inputs"][0] = 1; }), StatusCode::INVALID_MODEL, "graph:");
  expect_reject(edited([](json& j) { j["graph"]["outputs"] = json::array(); }), StatusCode::INVALID_MODEL,
                "graph has no outputs");
}

TEST_F(FormatReject, MessagesNameTheFileWhenLoadingFromDisk) {
  char tmpl[] = "/tmp/morsel-reject-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> b = good_;
  b[good_.size() / 2] ^= 1;
  ASSERT_EQ(::write(fd, b.data(), b.size()), static_cast<ssize_t>(b.size()));
  ::close(fd);
  Result<Model> r = model_load_file(tmpl);
  ::unlink(tmpl);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(std::string(tmpl) + ": corrupted: checksum mismatch", 0), 0u)
      << r.status().message();
}

}  // namespace
}  // namespace morsel
