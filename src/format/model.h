// The .morsel model file: a Model (graph + weights + labels + preprocessing + provenance) and
// the runtime reader. docs/model-format.md is the specification; the writer is format/writer.h.
// To add a metadata field: add it here, encode/decode it in format/common.cpp (optional on read,
// with a default, so older files stay valid), bump kFormatMinor and document it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "graph/graph.h"
#include "image/preprocess.h"

namespace morsel {

// Where a model came from. Strings are free-form but tools compare source_format/quantization.
struct Provenance {
  std::string source_format;  // "tfjs-layers", "tfjs-graph", "onnx", "keras-h5", "morsel-train"
  std::string source;         // source file name (no directories)
  std::string converter;      // "morsel 0.1.0"; the writer fills it in when empty
  std::string created;        // ISO-8601 UTC, "2024-05-01T12:00:00Z"; the writer fills it in when empty
  std::string quantization = "none";  // "none", "fp16", "int8"
};

struct ModelMetadata {
  std::string name;
  std::vector<std::string> labels;  // one per class, in output order; may be empty
  PreprocessSpec preprocess;
  Provenance provenance;
  std::string description;
};

// A loaded model. Constant tensors in `graph` may BORROW bytes owned by `backing` (an mmapped
// file or an owned aligned copy): keep the Model (or a copy of `backing`) alive as long as any
// of those tensors is used. Copying a Model shares the backing.
struct Model {
  Graph graph;
  ModelMetadata meta;
  std::shared_ptr<const void> backing;
};

// ---- Format constants (see docs/model-format.md) ----
inline constexpr char kModelMagic[8] = {'M', 'O', 'R', 'S', 'E', 'L', '\0', '\0'};
inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;
inline constexpr uint32_t kHeaderSize = 64;          // bytes written by this version
inline constexpr uint32_t kMaxHeaderSize = 4096;     // larger headers (future minors) are rejected
inline constexpr uint64_t kTensorAlignment = 64;     // every tensor's file offset is a multiple
inline constexpr uint32_t kChecksumXXH64 = 1;        // XXH64, seed 0, over [0, file_size - 8)
inline constexpr uint64_t kChecksumSize = 8;
inline constexpr uint64_t kMaxMetadataBytes = 64ull << 20;  // the JSON text, after decompression
// Header flags (must-understand bits; a reader rejects any it does not know).
inline constexpr uint32_t kFlagMetadataLz4 = 1u << 0;  // metadata block: u64 JSON size + LZ4 block
inline constexpr uint32_t kKnownFlags = kFlagMetadataLz4;
inline constexpr size_t kMaxTensors = 1u << 20;
inline constexpr size_t kMaxValues = 1u << 22;
inline constexpr size_t kMaxNodes = 1u << 22;
inline constexpr size_t kMaxRank = 8;
inline constexpr const char* kConverterName = "morsel 0.1.0";

// Loads and fully verifies a .morsel file: header, checksum, metadata, tensor table, graph.
// POSIX: the file is mmapped read-only and constants borrow the mapping (zero-copy).
// Emscripten/other: the file is read into one 64-byte-aligned buffer.
// Errors: IO_ERROR (cannot open/read), INVALID_MODEL (corrupt), UNSUPPORTED (newer format),
// LIMIT_EXCEEDED (metadata or tables over the caps above).
Result<Model> model_load_file(const std::string& path);

// Loads from memory. copy=false: constants borrow `data`, which the caller must keep alive and
// unmodified for the Model's lifetime; `data` must be 64-byte aligned to be borrowed (otherwise
// the bytes are copied into an aligned buffer, so tensors are always 64-byte aligned).
// copy=true: the bytes are copied first and the Model owns them.
Result<Model> model_load_buffer(const void* data, size_t size, bool copy);

// Reads only the header and the metadata block (name, labels, preprocess, provenance,
// description) without reading the weights or verifying the checksum: for `morsel inspect`.
// The metadata block is still fully validated as JSON.
Result<ModelMetadata> model_read_metadata(const std::string& path);
Result<ModelMetadata> model_read_metadata_buffer(const void* data, size_t size);

// XXH64 (Yann Collet's xxHash, 64-bit), the file checksum. xxh64("", 0) == 0xEF46DB3751D8E999.
uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

// ---- Shared by reader.cpp and writer.cpp (format/common.cpp); not a stable API ----
namespace format_detail {

// The fixed header, decoded. Byte offsets are in docs/model-format.md.
struct FileHeader {
  uint16_t version_major = kFormatMajor;
  uint16_t version_minor = kFormatMinor;
  uint32_t flags = 0;
  uint32_t header_size = kHeaderSize;
  uint32_t checksum_algo = kChecksumXXH64;
  uint64_t metadata_offset = 0, metadata_size = 0;
  uint64_t data_offset = 0, data_size = 0;
  uint64_t file_size = 0;
};
// Writes the 64-byte header into out[0..64).
void encode_header(const FileHeader& h, uint8_t* out);
// Parses the magic and header fields from `size` bytes (checks magic, version, flags, algo,
// header size; not the section bounds).
Status decode_header(const uint8_t* data, size_t size, FileHeader* out);

// ModelMetadata <-> the top-level JSON object (keys "name", "description", "labels",
// "preprocess", "provenance"). The decoder never throws.
void metadata_to_json(const ModelMetadata& m, nlohmann::json* out);
Status metadata_from_json(const nlohmann::json& j, ModelMetadata* out);

// AttrValue <-> {"i": int} | {"f": number or "nan"/"inf"/"-inf"} | {"s": string} |
// {"ints": [int...]} | {"floats": [number or "nan"/"inf"/"-inf"...]}. Exact round trip.
// `where` names the attribute in error messages ("graph.nodes[3].attrs.strides").
void attr_to_json(const AttrValue& v, nlohmann::json* out);
Status attr_from_json(const nlohmann::json& j, const std::string& where, AttrValue* out);

// Type-checked JSON access that never throws; errors are INVALID_MODEL and name `where`.
const nlohmann::json* json_find(const nlohmann::json& obj, const char* key);  // null if absent
Status json_member(const nlohmann::json& obj, const char* key, const std::string& where,
                   const nlohmann::json** out);  // error if absent
Status json_to_int(const nlohmann::json& j, const std::string& where, int64_t* out);
Status json_to_double(const nlohmann::json& j, const std::string& where, double* out);
Status json_to_string(const nlohmann::json& j, const std::string& where, std::string* out);
Status json_to_int_list(const nlohmann::json& j, const std::string& where,
                        std::vector<int64_t>* out);
Status json_get_int(const nlohmann::json& obj, const char* key, const std::string& where,
                    int64_t* out);
Status json_get_string(const nlohmann::json& obj, const char* key, const std::string& where,
                       std::string* out);
// Finite doubles as JSON numbers (shortest round-trip form); NaN/inf as "nan"/"inf"/"-inf".
nlohmann::json double_to_json(double d);

// Runs every check model_load_buffer runs, without requiring 64-byte alignment of `data` and
// without keeping anything: the writer's self-check.
Status verify_model_bytes(const void* data, size_t size);

// Checks labels against the first graph output's last dim (when static and labels non-empty).
Status check_labels(const Graph& g, const ModelMetadata& m);

}  // namespace format_detail

}  // namespace morsel
