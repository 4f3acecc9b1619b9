// ONNX TensorProto -> OnnxTensor: every field of a hostile file is checked (dims, data type,
// raw_data length vs the declared shape, typed-field counts, external data offsets and paths).
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "core/fp16.h"
#include "importers/onnx/importer.h"

namespace morsel::onnx_import {

namespace {

constexpr int64_t kMaxElements = int64_t{1} << 31;

size_t element_size(int type) {
  switch (type) {
    case ::onnx::TensorProto::FLOAT: return 4;
    case ::onnx::TensorProto::DOUBLE: return 8;
    case ::onnx::TensorProto::FLOAT16: return 2;
    case ::onnx::TensorProto::INT64: return 8;
    case ::onnx::TensorProto::INT32: return 4;
    case ::onnx::TensorProto::INT8: return 1;
    case ::onnx::TensorProto::UINT8: return 1;
    case ::onnx::TensorProto::BOOL: return 1;
    default: return 0;
  }
}

const char* type_name(int type) {
  if (::onnx::TensorProto_DataType_IsValid(type))
    return ::onnx::TensorProto_DataType_Name(static_cast<::onnx::TensorProto_DataType>(type)).c_str();
  return "an unknown type";
}

// Reads the external bytes of `t` (location/offset/length entries) from `dir`.
Status read_external(const ::onnx::TensorProto& t, const std::string& dir, size_t nbytes,
                     std::string* out) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (...) {
      return MORSEL_ERROR(INVALID_MODEL, "initializer '%s': external_data %s is not a number",
                          t.name().c_str(), kv.key().c_str());
    }
  }
  if (location.empty())
    return MORSEL_ERROR(INVALID_MODEL, "initializer '%s' is external but names no location",
                        t.name().c_str());
  if (dir.empty())
    return MORSEL_ERROR(UNSUPPORTED,
                        "initializer '%s' stores its data in external file '%s'; load the model "
                        "from a file so that the file can be found beside it",
                        t.name().c_str(), location.c_str());
  if (location[0] == '/' || location.find('\0') != std::string::npos ||
      location == ".." || location.rfind("../", 0) == 0 ||
      location.find("/../") != std::string::npos ||
      (location.size() >= 3 && location.compare(location.size() - 3, 3, "/..") == 0))
    return MORSEL_ERROR(INVALID_MODEL,
                        "initializer '%s': external data location '%s' must be a relative path "
                        "inside the model's directory",
                        t.name().c_str(), location.c_str());
  if (offset < 0 || (length >= 0 && static_cast<uint64_t>(length) != nbytes))
    return MORSEL_ERROR(INVALID_MODEL,
                        "initializer '%s': external data offset %lld / length %lld do not fit "
                        "its %zu bytes",
                        t.name().c_str(), (long long)offset, (long long)length, nbytes);
  const std::string path = dir + "/" + location;
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return MORSEL_ERROR(INVALID_MODEL,
                        "initializer '%s' stores its data in external file '%s', which is missing "
                        "(looked for %s): keep the data file beside the .onnx file",
                        t.name().c_str(), location.c_str(), path.c_str());
  if (static_cast<uint64_t>(offset) + nbytes > static_cast<uint64_t>(st.st_size))
    return MORSEL_ERROR(INVALID_MODEL,
                        "initializer '%s': external file '%s' has %lld bytes, the tensor needs "
                        "%zu at offset %lld",
                        t.name().c_str(), location.c_str(), (long long)st.st_size, nbytes,
                        (long long)offset);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
  out->resize(nbytes);
  bool ok = std::fseek(f, static_cast<long>(offset), SEEK_SET) == 0 &&
            (nbytes == 0 || std::fread(out->data(), 1, nbytes, f) == nbytes);
  std::fclose(f);
  if (!ok) return MORSEL_ERROR(IO_ERROR, "cannot read %zu bytes from %s", nbytes, path.c_str());
  return Status();
}

}  // namespace

Status decode_tensor(const ::onnx::TensorProto& t, const std::string& dir, OnnxTensor* out) {
  const std::string& name = t.name();
  if (t.dims_size() > 8)
    return MORSEL_ERROR(UNSUPPORTED, "tensor '%s' has rank %d (at most 8)", name.c_str(),
                        t.dims_size());
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements)
      return MORSEL_ERROR(INVALID_MODEL, "tensor '%s' has a bad dim %lld", name.c_str(), (long long)d);
    shape.push_back(d);
    numel = d == 0 ? 0 : numel * d;
    if (numel > kMaxElements)
      return MORSEL_ERROR(LIMIT_EXCEEDED, "tensor '%s' has more than 2^31 elements", name.c_str());
  }
  if (t.has_segment())
    return MORSEL_ERROR(UNSUPPORTED, "tensor '%s' is segmented", name.c_str());
  const int type = t.data_type();
  const size_t esize = element_size(type);
  if (esize == 0)
    return MORSEL_ERROR(UNSUPPORTED, "tensor '%s' has data type %s (morsel reads FLOAT, FLOAT16, "
                        "DOUBLE, INT64, INT32, INT8, UINT8, BOOL)", name.c_str(), type_name(type));
  const size_t n = static_cast<size_t>(numel);
  const size_t nbytes = n * esize;
  out->shape = shape;
  out->is_int = !(type == ::onnx::TensorProto::FLOAT || type == ::onnx::TensorProto::DOUBLE ||
                  type == ::onnx::TensorProto::FLOAT16);
  out->f.clear();
  out->i.clear();

  std::string external;
  const std::string* raw = nullptr;
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
    MORSEL_RETURN_IF_ERROR(read_external(t, dir, nbytes, &external));
    raw = &external;
  } else if (t.has_raw_data()) {
    raw = &t.raw_data();
    if (raw->size() != nbytes)
      return MORSEL_ERROR(INVALID_MODEL, "tensor '%s': raw_data has %zu bytes, shape %s of %s needs %zu",
                          name.c_str(), raw->size(), shape_str(shape).c_str(), type_name(type), nbytes);
  }

  if (out->is_int) out->i.resize(n);
  else out->f.resize(n);
  if (raw) {  // little-endian bytes
    const uint8_t* p = reinterpret_cast<const uint8_t*>(raw->data());
    for (size_t k = 0; k < n; k++, p += esize) {
      switch (type) {
        case ::onnx::TensorProto::FLOAT: std::memcpy(&out->f[k], p, 4); break;
        case ::onnx::TensorProto::DOUBLE: {
          double d;
          std::memcpy(&d, p, 8);
          out->f[k] = static_cast<float>(d);
          break;
        }
        case ::onnx::TensorProto::FLOAT16: {
          uint16_t h;
          std::memcpy(&h, p, 2);
          out->f[k] = fp16_to_f32(h);
          break;
        }
        case ::onnx::TensorProto::INT64: std::memcpy(&out->i[k], p, 8); break;
        case ::onnx::TensorProto::INT32: {
          int32_t v;
          std::memcpy(&v, p, 4);
          out->i[k] = v;
          break;
        }
        case ::onnx::TensorProto::INT8: out->i[k] = static_cast<int8_t>(*p); break;
        default: out->i[k] = *p; break;  // UINT8, BOOL
      }
    }
    return Status();
  }
  // Typed fields: the count must match the shape exactly.
  auto count_error = [&](int have) {
    return MORSEL_ERROR(INVALID_MODEL, "tensor '%s': shape %s needs %zu values, the file has %d",
                        name.c_str(), shape_str(shape).c_str(), n, have);
  };
  switch (type) {
    case ::onnx::TensorProto::FLOAT:
      if (static_cast<size_t>(t.float_data_size()) != n) return count_error(t.float_data_size());
      for (size_t k = 0; k < n; k++) out->f[k] = t.float_data(static_cast<int>(k));
      break;
    case ::onnx::TensorProto::DOUBLE:
      if (static_cast<size_t>(t.double_data_size()) != n) return count_error(t.double_data_size());
      for (size_t k = 0; k < n; k++) out->f[k] = static_cast<float>(t.double_data(static_cast<int>(k)));
      break;
    case ::onnx::TensorProto::INT64:
      if (static_cast<size_t>(t.int64_data_size()) != n) return count_error(t.int64_data_size());
      for (size_t k = 0; k < n; k++) out->i[k] = t.int64_data(static_cast<int>(k));
      break;
    default:  // FLOAT16 (bits), INT32, INT8, UINT8, BOOL all live in int32_data
      if (static_cast<size_t>(t.int32_data_size()) != n) return count_error(t.int32_data_size());
      for (size_t k = 0; k < n; k++) {
        int32_t v = t.int32_data(static_cast<int>(k));
        if (type == ::onnx::TensorProto::FLOAT16) out->f[k] = fp16_to_f32(static_cast<uint16_t>(v));
        else out->i[k] = v;
      }
      break;
  }
  return Status();
}

}  // namespace morsel::onnx_import
