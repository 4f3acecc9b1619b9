// .morsel writer: lays out header | metadata JSON | 64-byte-aligned tensor data | XXH64, as
// specified in docs/model-format.md, then re-reads the bytes with the reader's checks.
// A new metadata field goes in format/common.cpp (metadata_to_json), not here.
#include "format/writer.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "format/lz4.h"

namespace morsel {

using json = nlohmann::json;
using namespace format_detail;

namespace {

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

Status invalid(const std::string& msg) {
  return Status(StatusCode::INVALID_ARGUMENT, "cannot save the model: " + msg);
}

Status check_shape(const Value& v, int64_t min_dim) {
  if (v.shape.size() > kMaxRank)
    return invalid(str_printf("value '%s' has rank %zu; the maximum is %zu", v.name.c_str(),
                              v.shape.size(), kMaxRank));
  for (int64_t d : v.shape)
    if (d < min_dim)
      return invalid(str_printf("value '%s' has an invalid shape %s", v.name.c_str(),
                                shape_str(v.shape).c_str()));
  return Status();
}

Status check_model(const Model& model) {
  const Graph& g = model.graph;
  if (g.values.size() > kMaxValues || g.nodes.size() > kMaxNodes)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "cannot save the model: %zu values / %zu nodes exceed the limits (%zu / %zu)",
                        g.values.size(), g.nodes.size(), kMaxValues, kMaxNodes);
  Status st = g.validate();
  if (!st.ok()) return invalid("graph: " + st.message());
  size_t nconst = 0;
  for (const Value& v : g.values) {
    if (!v.is_const()) {
      MORSEL_RETURN_IF_ERROR(check_shape(v, -1));
      continue;
    }
    nconst++;
    MORSEL_RETURN_IF_ERROR(check_shape(v, 0));
    if (v.data.dtype() != v.dtype || v.data.shape() != v.shape)
      return invalid(str_printf("value '%s' is declared %s %s but holds a %s %s tensor", v.name.c_str(),
                                dtype_name(v.dtype), shape_str(v.shape).c_str(),
                                dtype_name(v.data.dtype()), shape_str(v.data.shape()).c_str()));
    if (v.data.affine()) {
      if (!v.data.affine()->channel_scale.empty()) nconst++;  // its channel scales are a tensor too
      Status aq = affine_quant_check(*v.data.affine(), v.shape, "value '" + v.name + "'");
      if (!aq.ok()) return invalid(aq.message());
    }
  }
  if (nconst > kMaxTensors)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "cannot save the model: %zu constant tensors; the limit is %zu",
                        nconst, kMaxTensors);
  st = check_labels(g, model.meta);
  if (!st.ok()) return invalid(st.message());
  st = preprocess_spec_validate(model.meta.preprocess);
  if (!st.ok())
    return invalid((st.message().rfind("preprocess", 0) == 0 ? "" : "preprocess: ") + st.message());
  return Status();
}

struct Placement {
  const Tensor* tensor;
  uint64_t offset;
};

Result<std::vector<uint8_t>> serialize(const Model& model) {
  MORSEL_RETURN_IF_ERROR(check_model(model));
  const Graph& g = model.graph;

  // Tensor table: constants in value order, each at the next 64-byte boundary.
  json tensors = json::array();
  json values = json::array();
  std::vector<Placement> placements;
  std::deque<Tensor> channel_scales;  // f32 copies of qu8/qu16 channel scales, placed like tensors
  bool affine = false;
  uint64_t data_size = 0;
  auto place = [&](const std::string& name, const Tensor& t) {
    const uint64_t offset = round_up(data_size, kTensorAlignment);
    tensors.push_back({{"name", name},
                       {"dtype", dtype_name(t.dtype())},
                       {"shape", t.shape()},
                       {"offset", offset},
                       {"nbytes", t.nbytes()}});
    placements.push_back({&t, offset});
    data_size = offset + t.nbytes();
  };
  for (const Value& v : g.values) {
    json jv = {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", v.shape}};
    if (v.is_const()) {
      jv["tensor"] = tensors.size();
      place(v.name, v.data);
      if (v.dtype == DType::QU8 || v.dtype == DType::QU16) {
        // Compact weights: {"scale", "offset"} and, with channel scales, "axis" and the index of
        // an f32 [shape[axis]] tensor placed right after this one.
        affine = true;
        const AffineQuant q = v.data.affine() ? *v.data.affine() : AffineQuant();
        json aj = {{"scale", double_to_json(q.scale)}, {"offset", double_to_json(q.offset)}};
        if (!q.channel_scale.empty()) {
          const Shape cs_shape{static_cast<int64_t>(q.channel_scale.size())};
          Tensor& cs = channel_scales.emplace_back(DType::F32, cs_shape);
          std::memcpy(cs.raw_mut(), q.channel_scale.data(), cs.nbytes());
          aj["axis"] = q.axis;
          aj["channel_scale"] = tensors.size();
          tensors.back()["affine"] = std::move(aj);
          place(v.name + "/channel_scale", cs);
        } else {
          tensors.back()["affine"] = std::move(aj);
        }
      }
    }
    values.push_back(std::move(jv));
  }
  json nodes = json::array();
  for (const Node& n : g.nodes) {
    json attrs = json::object();
    for (const auto& [k, a] : n.attrs.all()) attr_to_json(a, &attrs[k]);
    nodes.push_back({{"op", op_name(n.op)},
                     {"name", n.name},
                     {"inputs", n.inputs},
                     {"outputs", n.outputs},
                     {"attrs", std::move(attrs)}});
  }

  ModelMetadata meta = model.meta;
  if (meta.provenance.converter.empty()) meta.provenance.converter = kConverterName;
  if (meta.provenance.created.empty()) meta.provenance.created = iso8601_utc_now();
  json root = json::object();
  metadata_to_json(meta, &root);
  root["graph"] = {{"values", std::move(values)},
                   {"nodes", std::move(nodes)},
                   {"inputs", g.inputs},
                   {"outputs", g.outputs}};
  root["tensors"] = std::move(tensors);

  std::string text;
  try {
    text = root.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::type_error& e) {
    return invalid(std::string("a name, label or string attribute is not valid UTF-8 (") + e.what() + ")");
  }
  if (text.size() > kMaxMetadataBytes)
    return MORSEL_ERROR(LIMIT_EXCEEDED, "cannot save the model: the metadata block is %zu bytes; the limit is %llu",
                        text.size(), static_cast<unsigned long long>(kMaxMetadataBytes));

  FileHeader h;
  // 1.1 added the int8 ops (QConv2D, QDepthwiseConv2D, QDense): files using them say so.
  for (const Node& n : model.graph.nodes)
    if (n.op == OpType::QCONV2D || n.op == OpType::QDEPTHWISE_CONV2D || n.op == OpType::QDENSE)
      h.version_minor = 1;
  // 1.2 added compact weights (qu8/qu16 tensors with an "affine" record).
  if (affine) h.version_minor = 2;
  // The metadata block is stored LZ4-compressed (header flag; JSON compresses about 5x, which
  // matters for small and quantized models, where it is a few percent of the file).
  std::vector<uint8_t> block(8);
  for (int i = 0; i < 8; i++) block[static_cast<size_t>(i)] = static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i));
  const std::vector<uint8_t> packed =
      lz4::compress(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  block.insert(block.end(), packed.begin(), packed.end());
  h.flags |= kFlagMetadataLz4;
  h.metadata_offset = kHeaderSize;
  h.metadata_size = block.size();
  h.data_offset = round_up(h.metadata_offset + h.metadata_size, kTensorAlignment);
  h.data_size = data_size;
  h.file_size = h.data_offset + h.data_size + kChecksumSize;

  std::vector<uint8_t> bytes(static_cast<size_t>(h.file_size), 0);
  encode_header(h, bytes.data());
  std::memcpy(bytes.data() + h.metadata_offset, block.data(), block.size());
  uint8_t* data = bytes.data() + h.data_offset;
  for (const Placement& p : placements)
    if (p.tensor->nbytes()) std::memcpy(data + p.offset, p.tensor->raw(), p.tensor->nbytes());
  const size_t body = static_cast<size_t>(h.file_size - kChecksumSize);
  const uint64_t sum = xxh64(bytes.data(), body, 0);
  for (int i = 0; i < 8; i++) bytes[body + static_cast<size_t>(i)] = static_cast<uint8_t>(sum >> (8 * i));

  Status st = verify_model_bytes(bytes.data(), bytes.size());
  if (!st.ok()) return invalid("the written file would not load: " + st.message());
  return bytes;
}

}  // namespace

std::string iso8601_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::vector<uint8_t>> model_save_buffer(const Model& model) {
  try {
    return serialize(model);
  } catch (const std::bad_alloc&) {
    return MORSEL_ERROR(OUT_OF_MEMORY, "out of memory while serializing the model");
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INTERNAL, "unexpected error while serializing the model: %s", e.what());
  }
}

Status model_save_file(const Model& model, const std::string& path) {
  MORSEL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, model_save_buffer(model));
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return MORSEL_ERROR(IO_ERROR, "cannot create a temporary file beside %s: %s", path.c_str(), std::strerror(errno));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return MORSEL_ERROR(IO_ERROR, "cannot write %s (%s): %s", path.c_str(), what, std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) return fail("chmod");
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return MORSEL_ERROR(IO_ERROR, "cannot write %s (close): %s", path.c_str(), std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return MORSEL_ERROR(IO_ERROR, "cannot rename %s to %s: %s", tmp.c_str(), path.c_str(), std::strerror(err));
  }
  // Make the rename itself durable; failure here does not undo a complete write.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status();
}

}  // namespace morsel
