// TF.js weights: the weightsManifest of a model.json and its binary shards.
// Shards are concatenated in manifest order; weights are laid out back to back and may
// straddle shard boundaries. Encodings: float32, int32 (raw little-endian), float16, and
// affine-quantized uint8/uint16 (value = q * scale + min) or float16 "quantization". Decoded to
// f32, or kept compact (qu8/qu16 with their AffineQuant, f16) when asked.
#include <fstream>

#include <nlohmann/json.hpp>

#include "importers/tfjs/tfjs.h"

namespace morsel::tfjs {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxShardBytes = size_t{4} << 30;

Result<std::vector<WeightSpec>> parse_specs(const json& manifest, std::vector<std::string>* paths) {
  if (!manifest.is_array()) return MORSEL_ERROR(INVALID_MODEL, "weightsManifest is not a list");
  std::vector<WeightSpec> specs;
  size_t offset = 0;
  for (const json& group : manifest) {
    if (!group.is_object() || !group.contains("paths") || !group.contains("weights"))
      return MORSEL_ERROR(INVALID_MODEL, "weightsManifest group lacks paths/weights");
    for (const json& p : group.at("paths")) paths->push_back(p.get<std::string>());
    for (const json& w : group.at("weights")) {
      WeightSpec s;
      s.name = w.at("name").get<std::string>();
      for (const json& d : w.at("shape")) {
        int64_t v = d.get<int64_t>();
        if (v < 0 || v > (int64_t{1} << 31))
          return MORSEL_ERROR(INVALID_MODEL, "weight '%s' has a bad shape", s.name.c_str());
        s.shape.push_back(v);
      }
      s.dtype = w.at("dtype").get<std::string>();
      size_t elem = 0;
      if (w.contains("quantization") && !w.at("quantization").is_null()) {
        const json& q = w.at("quantization");
        s.quant_dtype = q.at("dtype").get<std::string>();
        if (s.quant_dtype == "uint8") elem = 1;
        else if (s.quant_dtype == "uint16" || s.quant_dtype == "float16") elem = 2;
        else
          return MORSEL_ERROR(UNSUPPORTED, "weight '%s': quantization dtype '%s'", s.name.c_str(),
                              s.quant_dtype.c_str());
        if (s.quant_dtype != "float16") {
          s.quant_min = q.at("min").get<double>();
          s.quant_scale = q.at("scale").get<double>();
        }
      } else if (s.dtype == "float32" || s.dtype == "int32") {
        elem = 4;
      } else if (s.dtype == "float16") {
        elem = 2;
      } else {
        return MORSEL_ERROR(UNSUPPORTED, "weight '%s': dtype '%s' (supported: float32, int32, "
                            "float16, uint8/uint16 quantized)", s.name.c_str(), s.dtype.c_str());
      }
      if (s.dtype != "float32" && s.dtype != "int32" && s.dtype != "float16")
        return MORSEL_ERROR(UNSUPPORTED, "weight '%s': dtype '%s'", s.name.c_str(), s.dtype.c_str());
      int64_t n = shape_numel(s.shape);
      s.offset = offset;
      s.nbytes = static_cast<size_t>(n) * elem;
      offset += s.nbytes;
      specs.push_back(std::move(s));
    }
  }
  return specs;
}

}  // namespace

Result<std::map<std::string, Tensor>> decode_weights(const std::string& manifest_json,
                                                     const std::vector<uint8_t>& bytes,
                                                     bool keep_compact) {
  try {
    std::vector<std::string> paths;
    MORSEL_ASSIGN_OR_RETURN(std::vector<WeightSpec> specs,
                            parse_specs(json::parse(manifest_json), &paths));
    std::map<std::string, Tensor> out;
    for (const WeightSpec& s : specs) {
      if (s.offset + s.nbytes > bytes.size())
        return MORSEL_ERROR(INVALID_MODEL,
                            "weight '%s' needs bytes %zu..%zu but the shards hold only %zu bytes "
                            "(missing or truncated shard?)",
                            s.name.c_str(), s.offset, s.offset + s.nbytes, bytes.size());
      const uint8_t* p = bytes.data() + s.offset;
      const int64_t n = shape_numel(s.shape);
      Tensor t;
      if (s.dtype == "int32" && s.quant_dtype.empty()) {
        t = Tensor(DType::I32, s.shape);
        std::memcpy(t.raw_mut(), p, s.nbytes);
      } else if (s.quant_dtype == "uint8" || s.quant_dtype == "uint16") {
        // Kept as stored: value = float(q * scale + min), computed in double (what TF.js does).
        const bool u8 = s.quant_dtype == "uint8";
        t = Tensor(u8 ? DType::QU8 : DType::QU16, s.shape);
        if (u8) {
          std::memcpy(t.raw_mut(), p, s.nbytes);
        } else {
          uint16_t* q = t.mut<uint16_t>();
          for (int64_t i = 0; i < n; i++)
            q[i] = static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
        }
        AffineQuant aq;
        aq.scale = s.quant_scale;
        aq.offset = s.quant_min;
        MORSEL_RETURN_IF_ERROR(affine_quant_check(aq, s.shape, "weight '" + s.name + "'"));
        t = t.with_affine(std::move(aq));
      } else if (s.quant_dtype == "float16" || s.dtype == "float16") {
        t = Tensor(DType::F16, s.shape);
        uint16_t* h = t.mut<uint16_t>();
        for (int64_t i = 0; i < n; i++)
          h[i] = static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
      } else {
        t = Tensor(DType::F32, s.shape);
        std::memcpy(t.raw_mut(), p, s.nbytes);
      }
      if (s.dtype == "int32" && t.dtype() != DType::I32) {
        // Quantized int32: round back to integers.
        const Tensor f = tensor_to_f32(t);
        Tensor it(DType::I32, s.shape);
        for (int64_t i = 0; i < n; i++)
          it.mut<int32_t>()[i] = static_cast<int32_t>(std::lround(f.data<float>()[i]));
        t = it;
      } else if (!keep_compact && t.dtype() != DType::I32) {
        t = tensor_to_f32(t);
      }
      if (out.count(s.name))
        return MORSEL_ERROR(INVALID_MODEL, "weight '%s' appears twice in the manifest", s.name.c_str());
      out.emplace(s.name, std::move(t));
    }
    return out;
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "malformed weightsManifest: %s", e.what());
  }
}

Result<std::map<std::string, Tensor>> load_weights(const std::string& manifest_json,
                                                   const std::string& dir, bool keep_compact) {
  std::vector<std::string> paths;
  try {
    MORSEL_ASSIGN_OR_RETURN(auto specs, parse_specs(json::parse(manifest_json), &paths));
    (void)specs;
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "malformed weightsManifest: %s", e.what());
  }
  std::vector<uint8_t> bytes;
  for (const std::string& rel : paths) {
    if (rel.find("..") != std::string::npos || (!rel.empty() && rel[0] == '/') ||
        rel.find("://") != std::string::npos)
      return MORSEL_ERROR(INVALID_MODEL, "weight shard path '%s' must be a plain relative file name",
                          rel.c_str());
    std::string path = dir.empty() ? rel : dir + "/" + rel;
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open weight shard %s", path.c_str());
    std::streamoff size = f.tellg();
    if (size < 0 || static_cast<size_t>(size) > kMaxShardBytes)
      return MORSEL_ERROR(IO_ERROR, "cannot read weight shard %s", path.c_str());
    f.seekg(0);
    size_t old = bytes.size();
    bytes.resize(old + static_cast<size_t>(size));
    if (!f.read(reinterpret_cast<char*>(bytes.data() + old), size))
      return MORSEL_ERROR(IO_ERROR, "cannot read weight shard %s", path.c_str());
  }
  return decode_weights(manifest_json, bytes, keep_compact);
}

}  // namespace morsel::tfjs
