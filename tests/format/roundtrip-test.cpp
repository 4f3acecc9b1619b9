// .morsel round trips: save -> load gives back the same graph, attributes, bytes and metadata;
// constants are borrowed, 64-byte aligned; the layout matches docs/model-format.md.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "format/format-test-util.h"
#include "util/test_util.h"

namespace morsel {
namespace {

using namespace morsel::test;

bool points_into(const void* p, const void* base, size_t size) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const auto b = reinterpret_cast<uintptr_t>(base);
  return a >= b && a < b + size;
}

void expect_consts_aligned(const Graph& g) {
  for (const Value& v : g.values) {
    if (v.is_const()) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data.raw()) % kTensorAlignment, 0u) << v.name;
    }
  }
}

// A 64-byte-aligned copy of `b`, kept alive by the returned holder.
struct AlignedBytes {
  explicit AlignedBytes(const std::vector<uint8_t>& b) : size(b.size()) {
    p = static_cast<uint8_t*>(std::aligned_alloc(64, (b.size() + 63) / 64 * 64));
    std::memcpy(p, b.data(), b.size());
  }
  ~AlignedBytes() { std::free(p); }
  uint8_t* p;
  size_t size;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/morsel-format-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    for (const std::string& f : files()) ::unlink((path_ + "/" + f).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

TEST(FormatChecksum, Xxh64TestVectors) {
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(xxh64("a", 1), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(xxh64("abc", 3), 0x44BC2CF5AD770999ull);
  EXPECT_EQ(xxh64("abc", 3, 1), 0xBEA9CA8199328908ull);
  EXPECT_EQ(xxh64("morsel", 6), 0xCAEB49D21464046Eull);  // the vector in docs/model-format.md
  const char* fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(xxh64(fox, std::strlen(fox)), 0x0B242D361FDA71BCull);
  std::vector<uint8_t> buf;  // 1027 bytes: stripes of 32 plus every tail length path
  for (int r = 0; r < 4; r++)
    for (int i = 0; i < 256; i++) buf.push_back(static_cast<uint8_t>(i));
  buf.insert(buf.end(), {'x', 'y', 'z'});
  EXPECT_EQ(xxh64(buf.data(), buf.size()), 0xE146CB31B65BC21Aull);
}

TEST(FormatHeader, EncodeDecodeRoundTrip) {
  format_detail::FileHeader h;
  h.version_minor = 7;
  h.metadata_offset = 64;
  h.metadata_size = 0x123456789ull;
  h.data_offset = 0x1000;
  h.data_size = 0xABCDEF0123ull;
  h.file_size = 0xFFFFFFFFFFull;
  uint8_t buf[64];
  format_detail::encode_header(h, buf);
  EXPECT_EQ(std::memcmp(buf, "MORSEL\0\0", 8), 0);
  format_detail::FileHeader d;
  ASSERT_TRUE(format_detail::decode_header(buf, sizeof buf, &d).ok());
  EXPECT_EQ(d.version_major, 1);
  EXPECT_EQ(d.version_minor, 7);
  EXPECT_EQ(d.flags, 0u);
  EXPECT_EQ(d.header_size, 64u);
  EXPECT_EQ(d.checksum_algo, kChecksumXXH64);
  EXPECT_EQ(d.metadata_offset, h.metadata_offset);
  EXPECT_EQ(d.metadata_size, h.metadata_size);
  EXPECT_EQ(d.data_offset, h.data_offset);
  EXPECT_EQ(d.data_size, h.data_size);
  EXPECT_EQ(d.file_size, h.file_size);
}

TEST(FormatRoundTrip, BufferGivesBackTheSameModel) {
  const Model m = make_test_model();
  const std::vector<uint8_t> bytes = save_or_die(m);
  ASSERT_FALSE(bytes.empty());
  Result<Model> r = model_load_buffer(bytes.data(), bytes.size(), /*copy=*/true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_graph_eq(m.graph, r->graph);
  expect_meta_eq(m.meta, r->meta);
  expect_consts_aligned(r->graph);
  ASSERT_NE(r->backing, nullptr);
  // Loaded values have producers set, so the graph is immediately usable.
  EXPECT_TRUE(r->graph.validate().ok());
}

TEST(FormatRoundTrip, EveryDtypeAndAttrKindIsPresent) {
  // Guards the fixture: the round trip above only proves something if it covers every kind.
  const Model m = make_test_model();
  bool dt[5] = {};
  for (const Value& v : m.graph.values)
    if (v.is_const()) dt[static_cast<int>(v.dtype)] = true;
  for (bool b : dt) EXPECT_TRUE(b);
  bool kinds[5] = {};
  for (const Node& n : m.graph.nodes)
    for (const auto& [k, v] : n.attrs.all()) kinds[v.index()] = true;
  for (bool b : kinds) EXPECT_TRUE(b);
}

TEST(FormatRoundTrip, SaveIsDeterministicAndSaveLoadSaveIsIdentical) {
  const Model m = make_test_model();
  const std::vector<uint8_t> a = save_or_die(m);
  const std::vector<uint8_t> b = save_or_die(m);
  EXPECT_EQ(a, b);
  Result<Model> r = model_load_buffer(a.data(), a.size(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(save_or_die(*r), a);
}

TEST(FormatRoundTrip, DoublesRoundTripBitExactly) {
  Model m = make_test_model();
  std::mt19937_64 rng(42);
  std::vector<double> ds;
  while (ds.size() < 2000) {
    const uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    if (std::isfinite(d)) ds.push_back(d);
  }
  ds.push_back(std::numeric_limits<double>::denorm_min());
  ds.push_back(std::numeric_limits<double>::max());
  ds.push_back(std::numeric_limits<double>::lowest());
  ds.push_back(std::numeric_limits<double>::min());
  ds.push_back(-0.0);
  ds.push_back(static_cast<double>(0.1f));
  m.graph.nodes[0].attrs.set("random", ds);
  m.graph.nodes[0].attrs.set("one", ds[7]);
  const std::vector<uint8_t> bytes = save_or_die(m);
  Result<Model> r = model_load_buffer(bytes.data(), bytes.size(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const auto got = r->graph.nodes[0].attrs.get_floats("random");
  ASSERT_EQ(got.size(), ds.size());
  for (size_t i = 0; i < ds.size(); i++) ASSERT_TRUE(same_bits(got[i], ds[i])) << i << ": " << ds[i];
  EXPECT_TRUE(same_bits(r->graph.nodes[0].attrs.get_float("one"), ds[7]));
}

TEST(FormatRoundTrip, IntsStayIntsAndFloatsStayFloats) {
  Model m = make_test_model();
  m.graph.nodes[0].attrs.set("three_f", 3.0);
  m.graph.nodes[0].attrs.set("three_i", int64_t{3});
  m.graph.nodes[0].attrs.set("whole_floats", std::vector<double>{1.0, 2.0});
  const std::vector<uint8_t> bytes = save_or_die(m);
  Result<Model> r = model_load_buffer(bytes.data(), bytes.size(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const auto& attrs = r->graph.nodes[0].attrs.all();
  EXPECT_TRUE(std::holds_alternative<double>(attrs.at("three_f")));
  EXPECT_TRUE(std::holds_alternative<int64_t>(attrs.at("three_i")));
  EXPECT_TRUE(std::holds_alternative<std::vector<double>>(attrs.at("whole_floats")));
  EXPECT_TRUE(std::holds_alternative<std::vector<double>>(attrs.at("empty_floats")));
  EXPECT_TRUE(std::holds_alternative<std::vector<int64_t>>(attrs.at("empty_ints")));
}

TEST(FormatRoundTrip, ConstantsBorrowTheCallersBufferWhenNotCopying) {
  const Model m = make_test_model();
  const std::vector<uint8_t> bytes = save_or_die(m);
  AlignedBytes buf(bytes);
  Result<Model> r = model_load_buffer(buf.p, buf.size, /*copy=*/false);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->backing, nullptr);
  int consts = 0;
  for (const Value& v : r->graph.values) {
    if (!v.is_const()) continue;
    consts++;
    EXPECT_FALSE(v.data.owns_data()) << v.name;
    EXPECT_TRUE(points_into(v.data.raw(), buf.p, buf.size)) << v.name;
  }
  EXPECT_EQ(consts, 6);
  expect_consts_aligned(r->graph);
  expect_graph_eq(m.graph, r->graph);
}

TEST(FormatRoundTrip, CopyModeOwnsAnAlignedCopy) {
  const Model m = make_test_model();
  const std::vector<uint8_t> bytes = save_or_die(m);
  AlignedBytes buf(bytes);
  Result<Model> r = model_load_buffer(buf.p, buf.size, /*copy=*/true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_NE(r->backing, nullptr);
  for (const Value& v : r->graph.values) {
    if (!v.is_const()) continue;
    EXPECT_FALSE(points_into(v.data.raw(), buf.p, buf.size)) << v.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data.raw()) % 64, 0u) << v.name;
  }
  std::memset(buf.p, 0, buf.size);  // the model does not depend on the caller's bytes
  expect_graph_eq(m.graph, r->graph);
}

TEST(FormatRoundTrip, MisalignedBufferIsCopiedSoTensorsStayAligned) {
  const Model m = make_test_model();
  const std::vector<uint8_t> bytes = save_or_die(m);
  std::vector<uint8_t> shifted(bytes.size() + 64 + 1);
  uint8_t* base = shifted.data();
  base += (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64 + 1;  // 1 past a 64-byte boundary
  std::memcpy(base, bytes.data(), bytes.size());
  Result<Model> r = model_load_buffer(base, bytes.size(), /*copy=*/false);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_NE(r->backing, nullptr);
  expect_consts_aligned(r->graph);
  expect_graph_eq(m.graph, r->graph);
}

TEST(FormatRoundTrip, ModelOutlivesNothingButItsBacking) {
  const std::vector<uint8_t> bytes = save_or_die(make_test_model());
  Graph g;
  std::shared_ptr<const void> keep;
  {
    Result<Model> r = model_load_buffer(bytes.data(), bytes.size(), true);
    ASSERT_TRUE(r.ok());
    g = r->graph;
    keep = r->backing;
  }
  expect_graph_eq(make_test_model().graph, g);  // constants still readable through `keep`
}

TEST(FormatFile, SaveAndLoadFileAtomically) {
  TempDir dir;
  const std::string path = dir.path() + "/net.morsel";
  const Model m = make_test_model();
  ASSERT_TRUE(model_save_file(m, path).ok());
  EXPECT_EQ(dir.files(), std::vector<std::string>{"net.morsel"});  // no temp file left behind
  Result<Model> r = model_load_file(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_graph_eq(m.graph, r->graph);
  expect_meta_eq(m.meta, r->meta);
  expect_consts_aligned(r->graph);
  for (const Value& v : r->graph.values) EXPECT_FALSE(v.is_const() && v.data.owns_data()) << v.name;
  EXPECT_EQ(test::read_file_bytes(path), save_or_die(m));
  // Overwriting replaces the file in one step; the old mapping stays valid.
  Model m2 = make_test_model();
  m2.meta.name = "second";
  ASSERT_TRUE(model_save_file(m2, path).ok());
  EXPECT_EQ(dir.files(), std::vector<std::string>{"net.morsel"});
  expect_graph_eq(m.graph, r->graph);
  Result<Model> r2 = model_load_file(path);
  ASSERT_TRUE(r2.ok()) << r2.status().to_string();
  EXPECT_EQ(r2->meta.name, "second");
}

TEST(FormatFile, ReadMetadataWithoutWeights) {
  TempDir dir;
  const std::string path = dir.path() + "/net.morsel";
  const Model m = make_test_model();
  ASSERT_TRUE(model_save_file(m, path).ok());
  Result<ModelMetadata> r = model_read_metadata(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_meta_eq(m.meta, *r);
  const std::vector<uint8_t> bytes = save_or_die(m);
  Result<ModelMetadata> rb = model_read_metadata_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(rb.ok()) << rb.status().to_string();
  expect_meta_eq(m.meta, *rb);
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(model_read_metadata_buffer(cut.data(), cut.size()).status().code(), StatusCode::INVALID_MODEL);
  EXPECT_EQ(model_read_metadata(dir.path() + "/missing.morsel").status().code(), StatusCode::IO_ERROR);
}

TEST(FormatFile, MissingFileIsAnIoError) {
  Result<Model> r = model_load_file("/nonexistent/dir/model.morsel");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::IO_ERROR);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/model.morsel"), std::string::npos);
}

TEST(FormatFile, DirectoryAndEmptyFileAreRejected) {
  TempDir dir;
  EXPECT_EQ(model_load_file(dir.path()).status().code(), StatusCode::IO_ERROR);
  const std::string empty = dir.path() + "/empty.morsel";
  std::FILE* f = std::fopen(empty.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  Result<Model> r = model_load_file(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_MODEL);
  EXPECT_NE(r.status().message().find("empty"), std::string::npos) << r.status().message();
}

TEST(FormatFile, SaveIntoMissingDirectoryIsAnIoError) {
  Status st = model_save_file(make_test_model(), "/nonexistent/dir/model.morsel");
  EXPECT_EQ(st.code(), StatusCode::IO_ERROR) << st.to_string();
}

TEST(FormatLayout, MatchesTheSpecification) {
  const Model m = make_test_model();
  const std::vector<uint8_t> b = save_or_die(m);
  ASSERT_GE(b.size(), 72u);
  EXPECT_EQ(std::memcmp(b.data(), "MORSEL\0\0", 8), 0);
  EXPECT_EQ(get_le(b, H_MAJOR, 2), 1u);
  EXPECT_EQ(get_le(b, H_MINOR, 2), 0u);
  EXPECT_EQ(get_le(b, H_FLAGS, 4), kFlagMetadataLz4);  // the writer compresses the metadata
  EXPECT_EQ(get_le(b, H_HEADER_SIZE, 4), 64u);
  EXPECT_EQ(get_le(b, H_CHECKSUM_ALGO, 4), 1u);
  const uint64_t meta_off = get_le(b, H_META_OFFSET, 8), meta_size = get_le(b, H_META_SIZE, 8);
  const uint64_t data_off = get_le(b, H_DATA_OFFSET, 8), data_size = get_le(b, H_DATA_SIZE, 8);
  EXPECT_EQ(meta_off, 64u);
  const std::string text = metadata_text(b);  // u64 JSON size, then the LZ4 block
  EXPECT_EQ(get_le(b, meta_off, 8), text.size());
  EXPECT_EQ(text.front(), '{');
  EXPECT_EQ(text.back(), '}');
  EXPECT_EQ(data_off % 64, 0u);
  EXPECT_GE(data_off, meta_off + meta_size);
  EXPECT_LT(data_off, meta_off + meta_size + 64);
  for (uint64_t i = meta_off + meta_size; i < data_off; i++) EXPECT_EQ(b[i], 0) << "padding at " << i;
  EXPECT_EQ(get_le(b, H_FILE_SIZE, 8), b.size());
  EXPECT_EQ(data_off + data_size + 8, b.size());
  EXPECT_EQ(get_le(b, b.size() - 8, 8), xxh64(b.data(), b.size() - 8));
  // The tensor table points at each constant's bytes, 64-byte aligned in the file.
  const json j = json::parse(metadata_text(b));
  ASSERT_EQ(j["tensors"].size(), 6u);
  for (const json& t : j["tensors"]) {
    const uint64_t off = t["offset"].get<uint64_t>();
    EXPECT_EQ(off % 64, 0u);
    const int id = m.graph.find_value(t["name"].get<std::string>());
    ASSERT_GE(id, 0);
    const Tensor& data = m.graph.values[static_cast<size_t>(id)].data;
    EXPECT_EQ(t["nbytes"].get<uint64_t>(), data.nbytes());
    EXPECT_EQ(std::memcmp(b.data() + data_off + off, data.raw(), data.nbytes()), 0);
  }
  // Attributes use the typed encoding.
  const json& conv_attrs = j["graph"]["nodes"][0]["attrs"];
  EXPECT_EQ(conv_attrs["groups"], json({{"i", 1}}));
  EXPECT_EQ(conv_attrs["padding"], json({{"s", "SAME"}}));
  EXPECT_EQ(conv_attrs["strides"], json({{"ints", {1, 1}}}));
  EXPECT_EQ(conv_attrs["inf"], json({{"f", "inf"}}));
  EXPECT_TRUE(conv_attrs["tenth"]["f"].is_number_float());
  EXPECT_EQ(j["graph"]["nodes"][0]["inputs"], json({0, 1, -1}));
}

TEST(FormatWriter, FillsInConverterAndCreatedWhenEmpty) {
  Model m = make_test_model();
  m.meta.provenance.converter.clear();
  m.meta.provenance.created.clear();
  const std::vector<uint8_t> b = save_or_die(m);
  Result<Model> r = model_load_buffer(b.data(), b.size(), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->meta.provenance.converter, kConverterName);
  const std::string& c = r->meta.provenance.created;
  ASSERT_EQ(c.size(), 20u) << c;  // 2024-05-01T12:00:00Z
  EXPECT_EQ(c[4], '-');
  EXPECT_EQ(c[10], 'T');
  EXPECT_EQ(c[19], 'Z');
}

TEST(FormatWriter, RejectsInconsistentModels) {
  {
    Model m = make_test_model();
    m.meta.labels.push_back("extra");
    Result<std::vector<uint8_t>> r = model_save_buffer(m);
    EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(r.status().message().find("6 labels"), std::string::npos) << r.status().message();
  }
  {
    Model m = make_test_model();
    m.meta.labels[1] = "bad \xff utf-8";
    Result<std::vector<uint8_t>> r = model_save_buffer(m);
    EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
  }
  {
    Model m = make_test_model();
    m.graph.values[1].shape = {3, 4};  // declared shape disagrees with the tensor
    EXPECT_EQ(model_save_buffer(m).status().code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    Model m = make_test_model();
    m.graph.outputs = {99};
    EXPECT_EQ(model_save_buffer(m).status().code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    Model m = make_test_model();
    m.graph.values[0].shape = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    EXPECT_EQ(model_save_buffer(m).status().code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    Model m = make_test_model();
    m.meta.preprocess.std[1] = 0;
    EXPECT_EQ(model_save_buffer(m).status().code(), StatusCode::INVALID_ARGUMENT);
  }
}

TEST(FormatRoundTrip, ModelWithoutConstantsOrLabels) {
  Model m;
  const int x = m.graph.add_input("x", DType::F32, {1, 10});
  const int y = m.graph.add_node(OpType::RELU, "relu", {x}, Attrs());
  m.graph.values[static_cast<size_t>(y)].shape = {1, 10};
  m.graph.outputs = {y};
  const std::vector<uint8_t> b = save_or_die(m);
  EXPECT_EQ(get_le(b, H_DATA_SIZE, 8), 0u);
  Result<Model> r = model_load_buffer(b.data(), b.size(), true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_graph_eq(m.graph, r->graph);
  EXPECT_TRUE(r->meta.labels.empty());
}

}  // namespace
}  // namespace morsel
