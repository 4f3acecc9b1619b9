// .morsel pieces shared by the reader (runtime) and the writer (convert): the XXH64 checksum,
// the fixed header codec, and ModelMetadata/AttrValue <-> JSON. Decoders never throw: every
// JSON access is type-checked first (the WASM build cannot catch exceptions).
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "format/model.h"

namespace morsel {

// ---- XXH64 ----

namespace {
constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kP3 = 0x165667B19E3779F9ull;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ull;

inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
inline uint32_t read_le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
inline uint16_t read_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline void write_le(uint8_t* p, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t xxh_round(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = rotl64(acc, 31);
  return acc * kP1;
}
inline uint64_t xxh_merge(uint64_t acc, uint64_t v) {
  acc ^= xxh_round(0, v);
  return acc * kP1 + kP4;
}
}  // namespace

uint64_t xxh64(const void* data, size_t size, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const uint8_t* const end = p + size;
  uint64_t h;
  if (size >= 32) {
    uint64_t v1 = seed + kP1 + kP2, v2 = seed + kP2, v3 = seed, v4 = seed - kP1;
    const uint8_t* const limit = end - 32;
    do {
      v1 = xxh_round(v1, read_le64(p));
      v2 = xxh_round(v2, read_le64(p + 8));
      v3 = xxh_round(v3, read_le64(p + 16));
      v4 = xxh_round(v4, read_le64(p + 24));
      p += 32;
    } while (p <= limit);
    h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    h = xxh_merge(h, v1);
    h = xxh_merge(h, v2);
    h = xxh_merge(h, v3);
    h = xxh_merge(h, v4);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint64_t>(size);
  while (end - p >= 8) {
    h ^= xxh_round(0, read_le64(p));
    h = rotl64(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (end - p >= 4) {
    h ^= static_cast<uint64_t>(read_le32(p)) * kP1;
    h = rotl64(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= (*p) * kP5;
    h = rotl64(h, 11) * kP1;
    p++;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

namespace format_detail {

// ---- Header ----
// offset size field
//  0      8   magic "MORSEL\0\0"
//  8      2   version_major        10  2  version_minor
// 12      4   flags                16  4  header_size
// 20      4   checksum_algo        24  8  metadata_offset
// 32      8   metadata_size        40  8  data_offset
// 48      8   data_size            56  8  file_size

void encode_header(const FileHeader& h, uint8_t* out) {
  std::memset(out, 0, kHeaderSize);
  std::memcpy(out, kModelMagic, 8);
  write_le(out + 8, h.version_major, 2);
  write_le(out + 10, h.version_minor, 2);
  write_le(out + 12, h.flags, 4);
  write_le(out + 16, h.header_size, 4);
  write_le(out + 20, h.checksum_algo, 4);
  write_le(out + 24, h.metadata_offset, 8);
  write_le(out + 32, h.metadata_size, 8);
  write_le(out + 40, h.data_offset, 8);
  write_le(out + 48, h.data_size, 8);
  write_le(out + 56, h.file_size, 8);
}

Status decode_header(const uint8_t* data, size_t size, FileHeader* out) {
  if (size == 0) return MORSEL_ERROR(INVALID_MODEL, "not a .morsel file: the file is empty");
  const size_t magic_len = size < 8 ? size : 8;
  if (std::memcmp(data, kModelMagic, magic_len) != 0)
    return MORSEL_ERROR(INVALID_MODEL,
                        "not a .morsel file (wrong magic bytes; expected \"MORSEL\\0\\0\"). "
                        "Convert the model first with `morsel convert`");
  if (size < 12)
    return MORSEL_ERROR(INVALID_MODEL, "truncated: %zu bytes, shorter than the %u-byte header",
                        size, kHeaderSize);
  FileHeader h;
  h.version_major = read_le16(data + 8);
  h.version_minor = read_le16(data + 10);
  if (h.version_major > kFormatMajor)
    return MORSEL_ERROR(UNSUPPORTED,
                        "written by a newer morsel (format %u.%u); this build reads %u.x — "
                        "upgrade morsel",
                        h.version_major, h.version_minor, kFormatMajor);
  if (h.version_major < kFormatMajor)
    return MORSEL_ERROR(UNSUPPORTED,
                        "format %u.%u is a pre-release format this build does not read; "
                        "re-convert the source model",
                        h.version_major, h.version_minor);
  if (size < kHeaderSize)
    return MORSEL_ERROR(INVALID_MODEL, "truncated: %zu bytes, shorter than the %u-byte header",
                        size, kHeaderSize);
  h.flags = read_le32(data + 12);
  h.header_size = read_le32(data + 16);
  h.checksum_algo = read_le32(data + 20);
  h.metadata_offset = read_le64(data + 24);
  h.metadata_size = read_le64(data + 32);
  h.data_offset = read_le64(data + 40);
  h.data_size = read_le64(data + 48);
  h.file_size = read_le64(data + 56);
  if (h.flags & ~kKnownFlags)
    return MORSEL_ERROR(UNSUPPORTED,
                        "unknown header flags 0x%08x (format %u.%u); this build understands 0x%08x "
                        "— upgrade morsel",
                        h.flags, h.version_major, h.version_minor, kKnownFlags);
  if (h.header_size < kHeaderSize || h.header_size > kMaxHeaderSize || h.header_size % 8 != 0)
    return MORSEL_ERROR(INVALID_MODEL,
                        "bad header size %u (must be a multiple of 8 in %u..%u)", h.header_size,
                        kHeaderSize, kMaxHeaderSize);
  if (h.checksum_algo != kChecksumXXH64)
    return MORSEL_ERROR(UNSUPPORTED,
                        "unknown checksum algorithm id %u (this build knows 1 = XXH64); "
                        "upgrade morsel",
                        h.checksum_algo);
  *out = h;
  return Status();
}

// ---- JSON access ----

using json = nlohmann::json;

namespace {
Status bad_type(const std::string& where, const char* want) {
  return MORSEL_ERROR(INVALID_MODEL, "metadata: %s must be %s", where.c_str(), want);
}
}  // namespace

const json* json_find(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Status json_member(const json& obj, const char* key, const std::string& where, const json** out) {
  if (!obj.is_object()) return bad_type(where, "an object");
  const json* j = json_find(obj, key);
  if (!j)
    return MORSEL_ERROR(INVALID_MODEL, "metadata: %s is missing the required field \"%s\"",
                        where.c_str(), key);
  *out = j;
  return Status();
}

Status json_to_int(const json& j, const std::string& where, int64_t* out) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get_ref<const json::number_unsigned_t&>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return MORSEL_ERROR(INVALID_MODEL, "metadata: %s is out of range", where.c_str());
    *out = static_cast<int64_t>(u);
    return Status();
  }
  if (j.is_number_integer()) {
    *out = j.get_ref<const json::number_integer_t&>();
    return Status();
  }
  return bad_type(where, "an integer");
}

Status json_to_double(const json& j, const std::string& where, double* out) {
  if (j.is_number_float()) {
    *out = j.get_ref<const json::number_float_t&>();
    return Status();
  }
  if (j.is_number_unsigned()) {
    *out = static_cast<double>(j.get_ref<const json::number_unsigned_t&>());
    return Status();
  }
  if (j.is_number_integer()) {
    *out = static_cast<double>(j.get_ref<const json::number_integer_t&>());
    return Status();
  }
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s == "nan") {
      *out = std::numeric_limits<double>::quiet_NaN();
      return Status();
    }
    if (s == "inf") {
      *out = std::numeric_limits<double>::infinity();
      return Status();
    }
    if (s == "-inf") {
      *out = -std::numeric_limits<double>::infinity();
      return Status();
    }
  }
  return bad_type(where, "a number (or \"nan\", \"inf\", \"-inf\")");
}

json double_to_json(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return d;
}

Status json_to_string(const json& j, const std::string& where, std::string* out) {
  if (!j.is_string()) return bad_type(where, "a string");
  *out = j.get_ref<const std::string&>();
  return Status();
}

Status json_to_int_list(const json& j, const std::string& where, std::vector<int64_t>* out) {
  if (!j.is_array()) return bad_type(where, "an array of integers");
  out->clear();
  out->reserve(j.size());
  for (size_t i = 0; i < j.size(); i++) {
    int64_t v = 0;
    MORSEL_RETURN_IF_ERROR(json_to_int(j[i], where + "[" + std::to_string(i) + "]", &v));
    out->push_back(v);
  }
  return Status();
}

Status json_get_string(const json& obj, const char* key, const std::string& where, std::string* out) {
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(obj, key, where, &j));
  return json_to_string(*j, where + "." + key, out);
}

Status json_get_int(const json& obj, const char* key, const std::string& where, int64_t* out) {
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(obj, key, where, &j));
  return json_to_int(*j, where + "." + key, out);
}

// ---- Attributes ----

void attr_to_json(const AttrValue& v, json* out) {
  json o = json::object();
  if (auto* i = std::get_if<int64_t>(&v)) {
    o["i"] = *i;
  } else if (auto* d = std::get_if<double>(&v)) {
    o["f"] = double_to_json(*d);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    o["s"] = *s;
  } else if (auto* is = std::get_if<std::vector<int64_t>>(&v)) {
    o["ints"] = *is;
  } else if (auto* fs = std::get_if<std::vector<double>>(&v)) {
    json a = json::array();
    for (double d : *fs) a.push_back(double_to_json(d));
    o["floats"] = std::move(a);
  }
  *out = std::move(o);
}

namespace {
Status attr_from_json_at(const json& j, const std::string& where, AttrValue* out) {
  if (!j.is_object() || j.size() != 1)
    return bad_type(where, "an object with exactly one of \"i\", \"f\", \"s\", \"ints\", \"floats\"");
  const auto it = j.begin();
  const std::string& kind = it.key();
  const json& v = it.value();
  const std::string at = where + "." + kind;
  if (kind == "i") {
    int64_t i = 0;
    MORSEL_RETURN_IF_ERROR(json_to_int(v, at, &i));
    *out = i;
  } else if (kind == "f") {
    double d = 0;
    MORSEL_RETURN_IF_ERROR(json_to_double(v, at, &d));
    *out = d;
  } else if (kind == "s") {
    std::string s;
    MORSEL_RETURN_IF_ERROR(json_to_string(v, at, &s));
    *out = std::move(s);
  } else if (kind == "ints") {
    std::vector<int64_t> is;
    MORSEL_RETURN_IF_ERROR(json_to_int_list(v, at, &is));
    *out = std::move(is);
  } else if (kind == "floats") {
    if (!v.is_array()) return bad_type(at, "an array of numbers");
    std::vector<double> fs;
    fs.reserve(v.size());
    for (size_t i = 0; i < v.size(); i++) {
      double d = 0;
      MORSEL_RETURN_IF_ERROR(json_to_double(v[i], at + "[" + std::to_string(i) + "]", &d));
      fs.push_back(d);
    }
    *out = std::move(fs);
  } else {
    return MORSEL_ERROR(UNSUPPORTED,
                        "metadata: %s has unknown attribute kind \"%s\" (known: i, f, s, ints, "
                        "floats); written by a newer morsel? upgrade morsel",
                        where.c_str(), kind.c_str());
  }
  return Status();
}
}  // namespace

Status attr_from_json(const json& j, const std::string& where, AttrValue* out) {
  return attr_from_json_at(j, where, out);
}

// ---- Metadata ----

namespace {
const char* channel_order_name(ChannelOrder c) { return c == ChannelOrder::BGR ? "bgr" : "rgb"; }

Status json_to_finite_float(const json& j, const std::string& at, float* out) {
  if (!j.is_number()) return bad_type(at, "a number");
  double d = 0;
  MORSEL_RETURN_IF_ERROR(json_to_double(j, at, &d));
  if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
    return MORSEL_ERROR(INVALID_MODEL, "metadata: %s must be a finite 32-bit float", at.c_str());
  *out = static_cast<float>(d);
  return Status();
}

Status get_finite_float(const json& obj, const char* key, const std::string& where, float* out) {
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(obj, key, where, &j));
  return json_to_finite_float(*j, where + "." + key, out);
}

Status get_float3(const json& obj, const char* key, const std::string& where, float out[3]) {
  const json* j = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(obj, key, where, &j));
  const std::string at = where + "." + key;
  if (!j->is_array() || j->size() != 3) return bad_type(at, "an array of 3 numbers");
  for (size_t i = 0; i < 3; i++)
    MORSEL_RETURN_IF_ERROR(json_to_finite_float((*j)[i], at + "[" + std::to_string(i) + "]", &out[i]));
  return Status();
}

Status preprocess_from_json(const json& j, PreprocessSpec* out) {
  const std::string w = "preprocess";
  if (!j.is_object()) return bad_type(w, "an object");
  PreprocessSpec p;
  MORSEL_RETURN_IF_ERROR(json_get_int(j, "height", w, &p.height));
  MORSEL_RETURN_IF_ERROR(json_get_int(j, "width", w, &p.width));
  std::string s;
  MORSEL_RETURN_IF_ERROR(json_get_string(j, "resize", w, &s));
  if (!resize_method_from_name(s, &p.resize))
    return MORSEL_ERROR(UNSUPPORTED, "metadata: preprocess.resize \"%s\" is not a resize method this build knows",
                        s.c_str());
  MORSEL_RETURN_IF_ERROR(json_get_string(j, "crop", w, &s));
  if (!crop_mode_from_name(s, &p.crop))
    return MORSEL_ERROR(UNSUPPORTED, "metadata: preprocess.crop \"%s\" is not a crop mode this build knows",
                        s.c_str());
  MORSEL_RETURN_IF_ERROR(get_finite_float(j, "crop_fraction", w, &p.crop_fraction));
  MORSEL_RETURN_IF_ERROR(json_get_string(j, "channel_order", w, &s));
  if (s == "rgb") {
    p.channel_order = ChannelOrder::RGB;
  } else if (s == "bgr") {
    p.channel_order = ChannelOrder::BGR;
  } else {
    return MORSEL_ERROR(UNSUPPORTED, "metadata: preprocess.channel_order \"%s\" is not \"rgb\" or \"bgr\"",
                        s.c_str());
  }
  MORSEL_RETURN_IF_ERROR(get_float3(j, "mean", w, p.mean));
  MORSEL_RETURN_IF_ERROR(get_float3(j, "std", w, p.std));
  Status st = preprocess_spec_validate(p);
  if (!st.ok()) {
    const bool named = st.message().rfind("preprocess", 0) == 0;  // avoid "preprocess: preprocess:"
    return Status(StatusCode::INVALID_MODEL, "metadata: " + std::string(named ? "" : "preprocess: ") + st.message());
  }
  *out = p;
  return Status();
}
}  // namespace

void metadata_to_json(const ModelMetadata& m, json* out) {
  json& j = *out;
  if (!j.is_object()) j = json::object();
  j["name"] = m.name;
  j["description"] = m.description;
  j["labels"] = m.labels;
  const PreprocessSpec& p = m.preprocess;
  j["preprocess"] = {
      {"height", p.height},
      {"width", p.width},
      {"resize", resize_method_name(p.resize)},
      {"crop", crop_mode_name(p.crop)},
      {"crop_fraction", static_cast<double>(p.crop_fraction)},
      {"channel_order", channel_order_name(p.channel_order)},
      {"mean", {double{p.mean[0]}, double{p.mean[1]}, double{p.mean[2]}}},
      {"std", {double{p.std[0]}, double{p.std[1]}, double{p.std[2]}}},
  };
  const Provenance& v = m.provenance;
  j["provenance"] = {
      {"source_format", v.source_format}, {"source", v.source},     {"converter", v.converter},
      {"created", v.created},             {"quantization", v.quantization},
  };
}

Status metadata_from_json(const json& j, ModelMetadata* out) {
  if (!j.is_object()) return bad_type("the metadata block", "a JSON object");
  ModelMetadata m;
  MORSEL_RETURN_IF_ERROR(json_get_string(j, "name", "metadata", &m.name));
  MORSEL_RETURN_IF_ERROR(json_get_string(j, "description", "metadata", &m.description));
  const json* labels = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(j, "labels", "metadata", &labels));
  if (!labels->is_array()) return bad_type("labels", "an array of strings");
  m.labels.reserve(labels->size());
  for (size_t i = 0; i < labels->size(); i++) {
    std::string s;
    MORSEL_RETURN_IF_ERROR(json_to_string((*labels)[i], "labels[" + std::to_string(i) + "]", &s));
    m.labels.push_back(std::move(s));
  }
  const json* pre = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(j, "preprocess", "metadata", &pre));
  MORSEL_RETURN_IF_ERROR(preprocess_from_json(*pre, &m.preprocess));
  const json* prov = nullptr;
  MORSEL_RETURN_IF_ERROR(json_member(j, "provenance", "metadata", &prov));
  if (!prov->is_object()) return bad_type("provenance", "an object");
  Provenance& v = m.provenance;
  MORSEL_RETURN_IF_ERROR(json_get_string(*prov, "source_format", "provenance", &v.source_format));
  MORSEL_RETURN_IF_ERROR(json_get_string(*prov, "source", "provenance", &v.source));
  MORSEL_RETURN_IF_ERROR(json_get_string(*prov, "converter", "provenance", &v.converter));
  MORSEL_RETURN_IF_ERROR(json_get_string(*prov, "created", "provenance", &v.created));
  MORSEL_RETURN_IF_ERROR(json_get_string(*prov, "quantization", "provenance", &v.quantization));
  *out = std::move(m);
  return Status();
}

Status check_labels(const Graph& g, const ModelMetadata& m) {
  if (m.labels.empty() || g.outputs.empty()) return Status();
  const int id = g.outputs[0];
  if (id < 0 || static_cast<size_t>(id) >= g.values.size()) return Status();  // validate() reports it
  const Value& out = g.values[static_cast<size_t>(id)];
  if (out.shape.empty() || out.shape.back() < 0) return Status();
  if (static_cast<int64_t>(m.labels.size()) != out.shape.back())
    return MORSEL_ERROR(INVALID_MODEL,
                        "%zu labels, but the output '%s' has shape %s (%lld classes); the labels "
                        "list must have one entry per class",
                        m.labels.size(), out.name.c_str(), shape_str(out.shape).c_str(),
                        static_cast<long long>(out.shape.back()));
  return Status();
}

}  // namespace format_detail
}  // namespace morsel
