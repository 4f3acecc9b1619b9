// .morsel reader (runtime): maps or reads a file, verifies every byte the spec constrains
// (docs/model-format.md, "What readers reject") and builds a Model whose constants borrow the
// file bytes. Nothing here throws or aborts on bad input: every failure is a Status.
// To check something new, add it where the spec lists it and add a mutation test for it.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <nlohmann/json.hpp>

#include "format/lz4.h"
#include "format/model.h"

#if !defined(__EMSCRIPTEN__) && (defined(__unix__) || defined(__APPLE__))
#define MORSEL_HAVE_MMAP 1
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#define MORSEL_HAVE_MMAP 0
#endif

namespace morsel {

using json = nlohmann::json;
using namespace format_detail;

namespace {

// ---- Byte sources ----

// A 64-byte-aligned owned copy of the file bytes.
std::shared_ptr<const void> aligned_copy(const void* data, size_t size, const uint8_t** base) {
  const size_t n = size + kTensorAlignment;
  std::shared_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[n]);
  if (!buf) return nullptr;
  uint8_t* p = buf.get();
  p += (kTensorAlignment - reinterpret_cast<uintptr_t>(p) % kTensorAlignment) % kTensorAlignment;
  if (size) std::memcpy(p, data, size);
  *base = p;
  return std::shared_ptr<const void>(buf, p);
}

#if MORSEL_HAVE_MMAP
struct MappedFile {
  void* addr = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (addr) munmap(addr, size);
  }
};
#endif

// Reads a whole file (no mmap) into an aligned buffer.
Status read_whole_file(const std::string& path, std::shared_ptr<const void>* backing,
                       const uint8_t** base, size_t* size) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s: %s", path.c_str(), std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return MORSEL_ERROR(IO_ERROR, "cannot read %s", path.c_str());
  *backing = aligned_copy(bytes.data(), bytes.size(), base);
  if (!*backing) return MORSEL_ERROR(OUT_OF_MEMORY, "cannot allocate %zu bytes for %s", bytes.size(), path.c_str());
  *size = bytes.size();
  return Status();
}

// ---- JSON ----

// nlohmann's DOM builder with exceptions off, keeping the parse error message.
struct CapturingSax : nlohmann::detail::json_sax_dom_parser<json> {
  std::string error;
  explicit CapturingSax(json& root) : nlohmann::detail::json_sax_dom_parser<json>(root, false) {}
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    error = ex.what();
    const size_t tag_end = error.find("] ");  // drop "[json.exception.parse_error.101] "
    if (error.rfind("[json.exception.", 0) == 0 && tag_end != std::string::npos) error.erase(0, tag_end + 2);
    return false;
  }
};

Status parse_json(const uint8_t* p, size_t n, json* out) {
  if (n > kMaxMetadataBytes)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "metadata block is %zu bytes; the limit is %llu", n,
                        static_cast<unsigned long long>(kMaxMetadataBytes));
  json root;
  CapturingSax sax(root);
  const bool ok = json::sax_parse(p, p + n, &sax, nlohmann::detail::input_format_t::json, true);
  if (!ok || !sax.error.empty())
    return MORSEL_ERROR(INVALID_MODEL, "metadata block is not valid JSON: %s",
                        sax.error.empty() ? "parse error" : sax.error.c_str());
  if (!root.is_object()) return MORSEL_ERROR(INVALID_MODEL, "metadata block must be a JSON object");
  *out = std::move(root);
  return Status();
}

// The metadata block's JSON: as stored, or decompressed when the header says it is LZ4
// (u64 little-endian JSON size, then one LZ4 block).
Status parse_metadata(const FileHeader& h, const uint8_t* block, json* out) {
  const size_t n = static_cast<size_t>(h.metadata_size);
  if (!(h.flags & kFlagMetadataLz4)) return parse_json(block, n, out);
  if (n < 8) return MORSEL_ERROR(INVALID_MODEL, "the compressed metadata block is %zu bytes, too short", n);
  uint64_t raw = 0;
  for (int i = 7; i >= 0; i--) raw = raw << 8 | block[i];
  if (raw == 0 || raw > kMaxMetadataBytes)
    return MORSEL_ERROR(INVALID_MODEL, "the metadata expands to %llu bytes; it must be 1..%llu",
                        static_cast<unsigned long long>(raw),
                        static_cast<unsigned long long>(kMaxMetadataBytes));
  std::vector<uint8_t> text;
  MORSEL_RETURN_IF_ERROR(lz4::decompress(block + 8, n - 8, static_cast<size_t>(raw), &text));
  return parse_json(text.data(), text.size(), out);
}

// ---- Layout ----

using ull = unsigned long long;

Status check_file_size(const FileHeader& h, size_t size) {
  if (h.file_size > size)
    return MORSEL_ERROR(INVALID_MODEL,
                        "truncated: the header says the file is %llu bytes but only %zu are present "
                        "(incomplete download or copy?)",
                        static_cast<ull>(h.file_size), size);
  if (h.file_size < size)
    return MORSEL_ERROR(INVALID_MODEL,
                        "the file is %zu bytes but its header says %llu: trailing bytes or a "
                        "corrupted header",
                        size, static_cast<ull>(h.file_size));
  if (h.file_size < h.header_size + kChecksumSize)
    return MORSEL_ERROR(INVALID_MODEL, "file size %llu is too small for a %u-byte header and a checksum",
                        static_cast<ull>(h.file_size), h.header_size);
  return Status();
}

Status check_metadata_bounds(const FileHeader& h) {
  const uint64_t body_end = h.file_size - kChecksumSize;
  if (h.metadata_size == 0) return MORSEL_ERROR(INVALID_MODEL, "the metadata block is empty");
  if (h.metadata_size > kMaxMetadataBytes)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "metadata block is %llu bytes; the limit is %llu",
                        static_cast<ull>(h.metadata_size), static_cast<ull>(kMaxMetadataBytes));
  if (h.metadata_offset < h.header_size || h.metadata_offset > body_end ||
      h.metadata_size > body_end - h.metadata_offset)
    return MORSEL_ERROR(INVALID_MODEL,
                        "metadata block [%llu, +%llu) lies outside the file body [%u, %llu)",
                        static_cast<ull>(h.metadata_offset), static_cast<ull>(h.metadata_size),
                        h.header_size, static_cast<ull>(body_end));
  return Status();
}

Status check_data_bounds(const FileHeader& h) {
  const uint64_t body_end = h.file_size - kChecksumSize;
  if (h.data_offset % kTensorAlignment != 0)
    return MORSEL_ERROR(INVALID_MODEL, "data section offset %llu is not a multiple of %llu",
                        static_cast<ull>(h.data_offset), static_cast<ull>(kTensorAlignment));
  if (h.data_offset < h.metadata_offset + h.metadata_size)
    return MORSEL_ERROR(INVALID_MODEL, "data section (offset %llu) overlaps the metadata block [%llu, %llu)",
                        static_cast<ull>(h.data_offset), static_cast<ull>(h.metadata_offset),
                        static_cast<ull>(h.metadata_offset + h.metadata_size));
  if (h.data_offset > body_end || h.data_size > body_end - h.data_offset)
    return MORSEL_ERROR(INVALID_MODEL, "data section [%llu, +%llu) runs past the end of the file body (%llu)",
                        static_cast<ull>(h.data_offset), static_cast<ull>(h.data_size),
                        static_cast<ull>(body_end));
  return Status();
}

Status verify_checksum(const uint8_t* data, const FileHeader& h) {
  const size_t body = static_cast<size_t>(h.file_size - kChecksumSize);
  uint64_t stored = 0;
  for (int i = 7; i >= 0; i--) stored = (stored << 8) | data[body + static_cast<size_t>(i)];
  const uint64_t computed = xxh64(data, body, 0);
  if (stored != computed)
    return MORSEL_ERROR(INVALID_MODEL,
                        "corrupted: checksum mismatch (stored %016llx, computed %016llx); the file "
                        "was damaged in transfer or storage — copy or convert it again",
                        static_cast<ull>(stored), static_cast<ull>(computed));
  return Status();
}

// ---- Tensor table ----

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t offset = 0, nbytes = 0;
  AffineQuant affine;          // qu8/qu16 only
  int64_t channel_scale = -1;  // tensor index of affine.channel_scale's f32 bytes; -1: none
};

bool is_affine_dtype(DType t) {
  return t == DType::QU8 || t == DType::QU16;
}

std::string at(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

Status parse_dtype(const json& obj, const std::string& where, DType* out) {
  std::string s;
  MORSEL_RETURN_IF_ERROR(json_get_string(obj, "dtype", where, &s));
  if (!dtype_from_name(s, out))
    return MORSEL_ERROR(UNSUPPORTED,
                        "metadata: %s.dtype \"%s\" is not a dtype this build knows (f32 f16 i8 u8 "
                        "i32 qu8 qu16); written by a newer morsel? upgrade morsel",
                        where.c_str(), s.c_str());
  return Status();
}

// min_dim: 0 for constant tensors, -1 where a dim may be dynamic.
Status parse_shape(const json& obj, const std::string& where, int64_t min_dim, Shape* out) {
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(obj, "shape", where, &j));
  const std::string w = where + ".shape";
  if (j->is_array() && j->size() > kMaxRank)
    return MORSEL_ERROR(INVALID_MODEL, "metadata: %s has rank %zu; the maximum is %zu", w.c_str(),
                        j->size(), kMaxRank);
  MORSEL_RETURN_IF_ERROR(json_to_int_list(*j, w, out));
  for (int64_t d : *out)
    if (d < min_dim)
      return MORSEL_ERROR(INVALID_MODEL, "metadata: %s %s has an invalid dimension %lld", w.c_str(),
                          shape_str(*out).c_str(), static_cast<long long>(d));
  return Status();
}

// The "affine" object of a qu8/qu16 tensor entry: {"scale": number, "offset": number} plus, for
// per-channel factors, "axis" (integer) and "channel_scale" (an f32 tensor's index); both or
// neither.
Status parse_affine(const json& e, const std::string& w, TensorEntry* t) {
  const json* aj = json_find(e, "affine");
  if (!is_affine_dtype(t->dtype)) {
    if (aj)
      return MORSEL_ERROR(INVALID_MODEL,
                          "metadata: %s has \"affine\" but dtype %s (only qu8 and qu16 tensors do)",
                          w.c_str(), dtype_name(t->dtype));
    return Status();
  }
  if (!aj)
    return MORSEL_ERROR(INVALID_MODEL, "metadata: %s is %s but has no \"affine\" record", w.c_str(),
                        dtype_name(t->dtype));
  const std::string wa = w + ".affine";
  if (!aj->is_object())
    return MORSEL_ERROR(INVALID_MODEL, "metadata: %s must be an object", wa.c_str());
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(*aj, "scale", wa, &j));
  MORSEL_RETURN_IF_ERROR(json_to_double(*j, wa + ".scale", &t->affine.scale));
  MORSEL_RETURN_IF_ERROR(json_member(*aj, "offset", wa, &j));
  MORSEL_RETURN_IF_ERROR(json_to_double(*j, wa + ".offset", &t->affine.offset));
  const json* axis = json_find(*aj, "axis");
  const json* cs = json_find(*aj, "channel_scale");
  if (!axis != !cs)
    return MORSEL_ERROR(INVALID_MODEL,
                        "metadata: %s needs both \"axis\" and \"channel_scale\" or neither",
                        wa.c_str());
  if (axis) {
    int64_t a = 0;
    MORSEL_RETURN_IF_ERROR(json_to_int(*axis, wa + ".axis", &a));
    if (a < 0 || a >= static_cast<int64_t>(t->shape.size()))
      return MORSEL_ERROR(INVALID_MODEL, "tensor '%s': affine axis %lld is not an axis of shape %s",
                          t->name.c_str(), static_cast<long long>(a), shape_str(t->shape).c_str());
    t->affine.axis = static_cast<int>(a);
    MORSEL_RETURN_IF_ERROR(json_to_int(*cs, wa + ".channel_scale", &t->channel_scale));
  }
  return Status();
}

// Reads every qu8/qu16 tensor's channel scales (an f32 [shape[axis]] tensor of finite numbers)
// and checks the whole record.
Status resolve_affine(const uint8_t* data_base, std::vector<TensorEntry>* ts) {
  for (TensorEntry& t : *ts) {
    if (!is_affine_dtype(t.dtype)) continue;
    if (t.channel_scale >= 0 || t.affine.axis >= 0) {
      if (t.channel_scale < 0 || t.channel_scale >= static_cast<int64_t>(ts->size()))
        return MORSEL_ERROR(
            INVALID_MODEL,
            "tensor '%s': affine channel_scale %lld is not a tensor index (%zu tensors)",
            t.name.c_str(), static_cast<long long>(t.channel_scale), ts->size());
      const TensorEntry& c = (*ts)[static_cast<size_t>(t.channel_scale)];
      const int64_t want = t.shape[static_cast<size_t>(t.affine.axis)];
      if (c.dtype != DType::F32 || c.shape.size() != 1 || c.shape[0] != want)
        return MORSEL_ERROR(
            INVALID_MODEL,
            "tensor '%s': its channel scales '%s' are %s %s; axis %d of shape %s wants "
            "f32 [%lld]",
            t.name.c_str(), c.name.c_str(), dtype_name(c.dtype), shape_str(c.shape).c_str(),
            t.affine.axis, shape_str(t.shape).c_str(), static_cast<long long>(want));
      t.affine.channel_scale.resize(static_cast<size_t>(want));
      if (want)
        std::memcpy(t.affine.channel_scale.data(), data_base + c.offset,
                    static_cast<size_t>(want) * 4);
    }
    MORSEL_RETURN_IF_ERROR(affine_quant_check(t.affine, t.shape, "tensor '" + t.name + "'"));
  }
  return Status();
}

Status parse_tensor_table(const json& root, const FileHeader& h, std::vector<TensorEntry>* out) {
  const json* arr = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(root, "tensors", "metadata", &arr));
  if (!arr->is_array()) return MORSEL_ERROR(INVALID_MODEL, "metadata: tensors must be an array");
  if (arr->size() > kMaxTensors)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%zu tensors; the limit is %zu", arr->size(), kMaxTensors);
  std::vector<TensorEntry>& ts = *out;
  ts.resize(arr->size());
  for (size_t i = 0; i < arr->size(); i++) {
    const json& e = (*arr)[i];
    const std::string w = at("tensors", i);
    TensorEntry& t = ts[i];
    if (!e.is_object()) return MORSEL_ERROR(INVALID_MODEL, "metadata: %s must be an object", w.c_str());
    MORSEL_RETURN_IF_ERROR(json_get_string(e, "name", w, &t.name));
    MORSEL_RETURN_IF_ERROR(parse_dtype(e, w, &t.dtype));
    MORSEL_RETURN_IF_ERROR(parse_shape(e, w, 0, &t.shape));
    int64_t off = 0, nb = 0;
    MORSEL_RETURN_IF_ERROR(json_get_int(e, "offset", w, &off));
    MORSEL_RETURN_IF_ERROR(json_get_int(e, "nbytes", w, &nb));
    if (off < 0 || nb < 0)
      return MORSEL_ERROR(INVALID_MODEL, "tensor '%s': negative offset or size", t.name.c_str());
    t.offset = static_cast<uint64_t>(off);
    t.nbytes = static_cast<uint64_t>(nb);
    MORSEL_RETURN_IF_ERROR(parse_affine(e, w, &t));
    if (t.offset % kTensorAlignment != 0)
      return MORSEL_ERROR(INVALID_MODEL, "tensor '%s': offset %llu is not a multiple of %llu",
                          t.name.c_str(), static_cast<ull>(t.offset), static_cast<ull>(kTensorAlignment));
    if (t.offset > h.data_size || t.nbytes > h.data_size - t.offset)
      return MORSEL_ERROR(INVALID_MODEL,
                          "tensor '%s': bytes [%llu, +%llu) run past the end of the data section (%llu bytes)",
                          t.name.c_str(), static_cast<ull>(t.offset), static_cast<ull>(t.nbytes),
                          static_cast<ull>(h.data_size));
    // numel * dtype size, refusing anything that cannot fit in the data section.
    const uint64_t esize = dtype_size(t.dtype);
    uint64_t expect = esize;
    bool zero = false;
    for (int64_t d : t.shape) zero = zero || d == 0;
    if (zero) {
      expect = 0;
    } else {
      for (int64_t d : t.shape) {
        const uint64_t ud = static_cast<uint64_t>(d);
        if (expect > h.data_size / ud) {
          expect = UINT64_MAX;
          break;
        }
        expect *= ud;
      }
    }
    if (expect != t.nbytes)
      return MORSEL_ERROR(INVALID_MODEL,
                          "tensor '%s': %llu bytes stored, but shape %s of %s needs %s",
                          t.name.c_str(), static_cast<ull>(t.nbytes), shape_str(t.shape).c_str(),
                          dtype_name(t.dtype),
                          expect == UINT64_MAX ? "more than the whole data section"
                                               : (std::to_string(expect) + " bytes").c_str());
  }
  std::vector<size_t> order(ts.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return ts[a].offset != ts[b].offset ? ts[a].offset < ts[b].offset : ts[a].nbytes < ts[b].nbytes;
  });
  for (size_t k = 1; k < order.size(); k++) {
    const TensorEntry& a = ts[order[k - 1]];
    const TensorEntry& b = ts[order[k]];
    if (a.offset + a.nbytes > b.offset)
      return MORSEL_ERROR(INVALID_MODEL, "tensors '%s' and '%s' overlap in the data section",
                          a.name.c_str(), b.name.c_str());
  }
  return Status();
}

// ---- Graph ----

Status parse_id_list(const json& obj, const char* key, const std::string& where, int64_t min_id,
                     size_t num_values, std::vector<int>* out) {
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(obj, key, where, &j));
  std::vector<int64_t> ids;
  const std::string w = where + "." + key;
  MORSEL_RETURN_IF_ERROR(json_to_int_list(*j, w, &ids));
  out->clear();
  for (size_t i = 0; i < ids.size(); i++) {
    if (ids[i] < min_id || ids[i] >= static_cast<int64_t>(num_values))
      return MORSEL_ERROR(INVALID_MODEL, "metadata: %s = %lld is not a value id (the graph has %zu values)",
                          at(w, i).c_str(), static_cast<long long>(ids[i]), num_values);
    out->push_back(static_cast<int>(ids[i]));
  }
  return Status();
}

Status parse_graph(const json& root, const std::vector<TensorEntry>& tensors, const uint8_t* data_base,
                   Graph* out) {
  const json* gj = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(root, "graph", "metadata", &gj));
  if (!gj->is_object()) return MORSEL_ERROR(INVALID_MODEL, "metadata: graph must be an object");
  const json* vals = nullptr;
  const json* nodes = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(*gj, "values", "graph", &vals));
  MORSEL_RETURN_IF_ERROR(json_member(*gj, "nodes", "graph", &nodes));
  if (!vals->is_array()) return MORSEL_ERROR(INVALID_MODEL, "metadata: graph.values must be an array");
  if (!nodes->is_array()) return MORSEL_ERROR(INVALID_MODEL, "metadata: graph.nodes must be an array");
  if (vals->size() > kMaxValues)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%zu values; the limit is %zu", vals->size(), kMaxValues);
  if (nodes->size() > kMaxNodes)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%zu nodes; the limit is %zu", nodes->size(), kMaxNodes);

  Graph g;
  g.values.resize(vals->size());
  for (size_t i = 0; i < vals->size(); i++) {
    const json& e = (*vals)[i];
    const std::string w = at("graph.values", i);
    Value& v = g.values[i];
    if (!e.is_object()) return MORSEL_ERROR(INVALID_MODEL, "metadata: %s must be an object", w.c_str());
    MORSEL_RETURN_IF_ERROR(json_get_string(e, "name", w, &v.name));
    MORSEL_RETURN_IF_ERROR(parse_dtype(e, w, &v.dtype));
    MORSEL_RETURN_IF_ERROR(parse_shape(e, w, -1, &v.shape));
    if (const json* tj = json_find(e, "tensor")) {
      int64_t ti = 0;
      MORSEL_RETURN_IF_ERROR(json_to_int(*tj, w + ".tensor", &ti));
      if (ti < 0 || ti >= static_cast<int64_t>(tensors.size()))
        return MORSEL_ERROR(INVALID_MODEL, "metadata: %s.tensor = %lld is not a tensor index (%zu tensors)",
                            w.c_str(), static_cast<long long>(ti), tensors.size());
      const TensorEntry& t = tensors[static_cast<size_t>(ti)];
      if (t.dtype != v.dtype || t.shape != v.shape)
        return MORSEL_ERROR(INVALID_MODEL,
                            "value '%s' is declared %s %s but its tensor '%s' is %s %s", v.name.c_str(),
                            dtype_name(v.dtype), shape_str(v.shape).c_str(), t.name.c_str(),
                            dtype_name(t.dtype), shape_str(t.shape).c_str());
      v.data = Tensor::borrow(t.dtype, t.shape, data_base + t.offset);
      if (is_affine_dtype(t.dtype)) v.data = v.data.with_affine(t.affine);
    }
  }

  g.nodes.resize(nodes->size());
  for (size_t i = 0; i < nodes->size(); i++) {
    const json& e = (*nodes)[i];
    const std::string w = at("graph.nodes", i);
    Node& n = g.nodes[i];
    if (!e.is_object()) return MORSEL_ERROR(INVALID_MODEL, "metadata: %s must be an object", w.c_str());
    MORSEL_RETURN_IF_ERROR(json_get_string(e, "name", w, &n.name));
    std::string op;
    MORSEL_RETURN_IF_ERROR(json_get_string(e, "op", w, &op));
    if (!op_from_name(op, &n.op))
      return MORSEL_ERROR(UNSUPPORTED,
                          "node '%s' uses op \"%s\", which this build of morsel does not know; "
                          "upgrade morsel",
                          n.name.c_str(), op.c_str());
    MORSEL_RETURN_IF_ERROR(parse_id_list(e, "inputs", w, -1, g.values.size(), &n.inputs));
    MORSEL_RETURN_IF_ERROR(parse_id_list(e, "outputs", w, 0, g.values.size(), &n.outputs));
    const json* attrs = nullptr;
    MORSEL_RETURN_IF_ERROR(json_member(e, "attrs", w, &attrs));
    if (!attrs->is_object())
      return MORSEL_ERROR(INVALID_MODEL, "metadata: %s.attrs must be an object", w.c_str());
    for (auto it = attrs->begin(); it != attrs->end(); ++it) {
      AttrValue av;
      MORSEL_RETURN_IF_ERROR(attr_from_json(it.value(), w + ".attrs." + it.key(), &av));
      n.attrs.set(it.key(), std::move(av));
    }
    for (int o : n.outputs) {
      Value& v = g.values[static_cast<size_t>(o)];
      if (v.producer == -1) v.producer = static_cast<int>(i);
    }
  }
  MORSEL_RETURN_IF_ERROR(parse_id_list(*gj, "inputs", "graph", 0, g.values.size(), &g.inputs));
  MORSEL_RETURN_IF_ERROR(parse_id_list(*gj, "outputs", "graph", 0, g.values.size(), &g.outputs));
  Status st = g.validate();
  if (!st.ok()) return Status(StatusCode::INVALID_MODEL, "graph: " + st.message());
  for (const Node& n : g.nodes) MORSEL_RETURN_IF_ERROR(check_quant_params(g, n));  // int8 nodes
  *out = std::move(g);
  return Status();
}

// ---- Whole file ----

Status parse_model(const uint8_t* data, size_t size, Model* out) {
  FileHeader h;
  MORSEL_RETURN_IF_ERROR(decode_header(data, size, &h));
  MORSEL_RETURN_IF_ERROR(check_file_size(h, size));
  MORSEL_RETURN_IF_ERROR(verify_checksum(data, h));
  MORSEL_RETURN_IF_ERROR(check_metadata_bounds(h));
  MORSEL_RETURN_IF_ERROR(check_data_bounds(h));
  json root;
  MORSEL_RETURN_IF_ERROR(parse_metadata(h, data + h.metadata_offset, &root));
  Model m;
  MORSEL_RETURN_IF_ERROR(metadata_from_json(root, &m.meta));
  std::vector<TensorEntry> tensors;
  MORSEL_RETURN_IF_ERROR(parse_tensor_table(root, h, &tensors));
  MORSEL_RETURN_IF_ERROR(resolve_affine(data + h.data_offset, &tensors));
  MORSEL_RETURN_IF_ERROR(parse_graph(root, tensors, data + h.data_offset, &m.graph));
  MORSEL_RETURN_IF_ERROR(check_labels(m.graph, m.meta));
  *out = std::move(m);
  return Status();
}

// Runs `fn`, turning any escaped exception (allocation failure, a library bug) into a Status.
template <typename Fn>
Status guarded(Fn&& fn) {
#if defined(__cpp_exceptions)
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return MORSEL_ERROR(OUT_OF_MEMORY, "out of memory while reading the model");
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "unexpected error while reading the model: %s", e.what());
  } catch (...) {
    return MORSEL_ERROR(INTERNAL, "unknown exception while reading the model");
  }
#else
  return fn();
#endif
}

Result<Model> load_from(const uint8_t* base, size_t size, std::shared_ptr<const void> backing) {
  Model m;
  MORSEL_RETURN_IF_ERROR(guarded([&] { return parse_model(base, size, &m); }));
  m.backing = std::move(backing);
  return m;
}

Result<ModelMetadata> metadata_from_bytes(const FileHeader& h, const uint8_t* meta) {
  ModelMetadata md;
  MORSEL_RETURN_IF_ERROR(guarded([&] {
    json root;
    MORSEL_RETURN_IF_ERROR(parse_metadata(h, meta, &root));
    return metadata_from_json(root, &md);
  }));
  return md;
}

}  // namespace

Status format_detail::verify_model_bytes(const void* data, size_t size) {
  if (!data && size) return MORSEL_ERROR(INVALID_ARGUMENT, "verify_model_bytes: null data");
  const uint8_t* p = data ? static_cast<const uint8_t*>(data) : reinterpret_cast<const uint8_t*>("");
  return guarded([&] {
    Model m;
    return parse_model(p, size, &m);
  });
}

Result<Model> model_load_buffer(const void* data, size_t size, bool copy) {
  if (!data && size) return MORSEL_ERROR(INVALID_ARGUMENT, "model_load_buffer: null data");
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (!p) p = reinterpret_cast<const uint8_t*>("");
  if (!copy && reinterpret_cast<uintptr_t>(p) % kTensorAlignment == 0) return load_from(p, size, nullptr);
  const uint8_t* base = nullptr;
  std::shared_ptr<const void> owned = aligned_copy(p, size, &base);
  if (!owned) return MORSEL_ERROR(OUT_OF_MEMORY, "cannot allocate %zu bytes for the model", size);
  return load_from(base, size, std::move(owned));
}

Result<Model> model_load_file(const std::string& path) {
#if MORSEL_HAVE_MMAP
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MORSEL_ERROR(IO_ERROR, "cannot open %s: %s", path.c_str(), std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return MORSEL_ERROR(IO_ERROR, "cannot stat %s: %s", path.c_str(), std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return MORSEL_ERROR(IO_ERROR, "%s is a directory, not a .morsel file", path.c_str());
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    const size_t size = static_cast<size_t>(st.st_size);
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (addr == MAP_FAILED)
      return MORSEL_ERROR(IO_ERROR, "cannot map %s: %s", path.c_str(), std::strerror(errno));
    auto mapping = std::make_shared<MappedFile>();
    mapping->addr = addr;
    mapping->size = size;
    Result<Model> r = load_from(static_cast<const uint8_t*>(addr), size, mapping);
    if (!r.ok()) return r.status().with_context(path);
    return r;
  }
  ::close(fd);  // empty or not a regular file (pipe, device): read it instead
#endif
  std::shared_ptr<const void> backing;
  const uint8_t* base = nullptr;
  size_t size = 0;
  MORSEL_RETURN_IF_ERROR(read_whole_file(path, &backing, &base, &size));
  Result<Model> r = load_from(base, size, std::move(backing));
  if (!r.ok()) return r.status().with_context(path);
  return r;
}

Result<ModelMetadata> model_read_metadata_buffer(const void* data, size_t size) {
  if (!data && size) return MORSEL_ERROR(INVALID_ARGUMENT, "model_read_metadata_buffer: null data");
  const uint8_t* p = data ? static_cast<const uint8_t*>(data) : reinterpret_cast<const uint8_t*>("");
  FileHeader h;
  MORSEL_RETURN_IF_ERROR(decode_header(p, size, &h));
  MORSEL_RETURN_IF_ERROR(check_file_size(h, size));
  MORSEL_RETURN_IF_ERROR(check_metadata_bounds(h));
  return metadata_from_bytes(h, p + h.metadata_offset);
}

Result<ModelMetadata> model_read_metadata(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s: %s", path.c_str(), std::strerror(errno));
  auto close_f = std::unique_ptr<std::FILE, int (*)(std::FILE*)>(f, std::fclose);
  uint8_t hdr[kHeaderSize];
  const size_t got = std::fread(hdr, 1, sizeof hdr, f);
  FileHeader h;
  Status st = decode_header(hdr, got, &h);
  if (!st.ok()) return st.with_context(path);
  if (std::fseek(f, 0, SEEK_END) != 0) return MORSEL_ERROR(IO_ERROR, "cannot seek in %s", path.c_str());
  const long end = std::ftell(f);
  if (end < 0) return MORSEL_ERROR(IO_ERROR, "cannot get the size of %s", path.c_str());
  st = check_file_size(h, static_cast<size_t>(end));
  if (st.ok()) st = check_metadata_bounds(h);
  if (!st.ok()) return st.with_context(path);
  std::vector<uint8_t> meta(static_cast<size_t>(h.metadata_size));
  if (std::fseek(f, static_cast<long>(h.metadata_offset), SEEK_SET) != 0 ||
      std::fread(meta.data(), 1, meta.size(), f) != meta.size())
    return MORSEL_ERROR(IO_ERROR, "cannot read the metadata block of %s", path.c_str());
  Result<ModelMetadata> r = metadata_from_bytes(h, meta.data());
  if (!r.ok()) return r.status().with_context(path);
  return r;
}

}  // namespace morsel
