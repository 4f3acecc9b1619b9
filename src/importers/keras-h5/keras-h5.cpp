// Keras .h5 import: reads model_config and every layer's weights with the HDF5 C API, then
// hands both to the shared Keras layer converter. Layout written by Keras 2.x model.save:
//   /            attrs: keras_version, backend, model_config (JSON), training_config
//   /model_weights   attrs: layer_names (or layer_names0, layer_names1, ... when large)
//   /model_weights/<layer>   attrs: weight_names ("<layer>/kernel:0", ...; chunked likewise)
//   /model_weights/<layer>/<weight name>   float datasets
#include "importers/keras-h5/keras-h5.h"

#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "importers/tfjs/layers.h"

namespace morsel::keras_h5 {

namespace {

constexpr int64_t kMaxElements = int64_t{1} << 31;
constexpr size_t kMaxAttrBytes = size_t{64} << 20;

// Closes an HDF5 handle with the matching H5?close.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

bool attr_exists(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

// A string or string-array attribute (fixed-length or variable-length). Keras writes an empty
// list as an empty float array: that reads as no strings.
Result<std::vector<std::string>> read_strings(hid_t obj, const std::string& name, const std::string& where) {
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!a.ok()) return MORSEL_ERROR(INVALID_MODEL, "%s: cannot open attribute '%s'", where.c_str(), name.c_str());
  Handle type(H5Aget_type(a.get()), H5Tclose);
  Handle space(H5Aget_space(a.get()), H5Sclose);
  if (!type.ok() || !space.ok())
    return MORSEL_ERROR(INVALID_MODEL, "%s: attribute '%s' is unreadable", where.c_str(), name.c_str());
  const hssize_t npoints = H5Sget_simple_extent_npoints(space.get());
  if (npoints < 0 || npoints > (1 << 20))
    return MORSEL_ERROR(INVALID_MODEL, "%s: attribute '%s' has a bad size", where.c_str(), name.c_str());
  std::vector<std::string> out;
  if (npoints == 0) return out;
  if (H5Tget_class(type.get()) != H5T_STRING)
    return MORSEL_ERROR(INVALID_MODEL, "%s: attribute '%s' is not a string", where.c_str(), name.c_str());
  const size_t n = static_cast<size_t>(npoints);
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0)
    return MORSEL_ERROR(INVALID_MODEL, "%s: attribute '%s' is unreadable", where.c_str(), name.c_str());
  if (variable) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    if (!mem.ok() || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
      return MORSEL_ERROR(INTERNAL, "HDF5 string type");
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(a.get(), mem.get(), ptrs.data()) < 0)
      return MORSEL_ERROR(INVALID_MODEL, "%s: cannot read attribute '%s'", where.c_str(), name.c_str());
    size_t total = 0;
    for (char* p : ptrs) {
      std::string s = p ? std::string(p, strnlen(p, kMaxAttrBytes)) : std::string();
      total += s.size();
      out.push_back(std::move(s));
    }
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    if (total > kMaxAttrBytes)
      return MORSEL_ERROR(LIMIT_EXCEEDED, "%s: attribute '%s' is too large", where.c_str(), name.c_str());
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0 || size > kMaxAttrBytes || n > kMaxAttrBytes / size)
    return MORSEL_ERROR(INVALID_MODEL, "%s: attribute '%s' has a bad size", where.c_str(), name.c_str());
  std::vector<char> buf(n * size);
  if (H5Aread(a.get(), type.get(), buf.data()) < 0)
    return MORSEL_ERROR(INVALID_MODEL, "%s: cannot read attribute '%s'", where.c_str(), name.c_str());
  for (size_t i = 0; i < n; i++) {
    const char* p = buf.data() + i * size;
    out.emplace_back(p, strnlen(p, size));
  }
  return out;
}

// A string-list attribute that Keras may have split into name0, name1, ... when it exceeded
// HDF5's object header limit.
Result<std::vector<std::string>> read_string_list(hid_t obj, const std::string& name, const std::string& where,
                                                  bool* found) {
  *found = true;
  if (attr_exists(obj, name)) return read_strings(obj, name, where);
  std::vector<std::string> all;
  int chunk = 0;
  for (; attr_exists(obj, name + std::to_string(chunk)); chunk++) {
    MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> part, read_strings(obj, name + std::to_string(chunk), where));
    all.insert(all.end(), part.begin(), part.end());
    if (chunk > 10000) break;
  }
  *found = chunk > 0;
  return all;
}

Result<std::string> read_string(hid_t obj, const std::string& name, const std::string& where) {
  MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> v, read_strings(obj, name, where));
  if (v.size() != 1)
    return MORSEL_ERROR(INVALID_MODEL, "%s: attribute '%s' should hold one string", where.c_str(), name.c_str());
  return v[0];
}

// A float dataset (f16/f32/f64 on disk) as an f32 tensor.
Result<Tensor> read_weight(hid_t group, const std::string& name, const std::string& where) {
  // Link names may contain '/', which HDF5 resolves as a path below the layer's group: make
  // sure it exists step by step (H5Dopen on a missing path only fails, but be explicit).
  if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos)
    return MORSEL_ERROR(INVALID_MODEL, "%s: bad weight name '%s'", where.c_str(), name.c_str());
  size_t pos = 0;
  while (true) {
    size_t slash = name.find('/', pos);
    std::string prefix = name.substr(0, slash);
    if (H5Lexists(group, prefix.c_str(), H5P_DEFAULT) <= 0)
      return MORSEL_ERROR(INVALID_MODEL, "%s: weight '%s' is listed but missing from the file",
                          where.c_str(), name.c_str());
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  Handle d(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ok()) return MORSEL_ERROR(INVALID_MODEL, "%s: weight '%s' is not a dataset", where.c_str(), name.c_str());
  Handle type(H5Dget_type(d.get()), H5Tclose);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  if (!type.ok() || !space.ok())
    return MORSEL_ERROR(INVALID_MODEL, "%s: weight '%s' is unreadable", where.c_str(), name.c_str());
  if (H5Tget_class(type.get()) != H5T_FLOAT)
    return MORSEL_ERROR(UNSUPPORTED, "%s: weight '%s' is not floating point", where.c_str(), name.c_str());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8)
    return MORSEL_ERROR(INVALID_MODEL, "%s: weight '%s' has a bad rank", where.c_str(), name.c_str());
  hsize_t dims[8];
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank)
    return MORSEL_ERROR(INVALID_MODEL, "%s: weight '%s' has bad dims", where.c_str(), name.c_str());
  Shape shape;
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] > static_cast<hsize_t>(kMaxElements))
      return MORSEL_ERROR(INVALID_MODEL, "%s: weight '%s' has a bad dim", where.c_str(), name.c_str());
    shape.push_back(static_cast<int64_t>(dims[i]));
    numel *= static_cast<int64_t>(dims[i]);
    if (numel > kMaxElements)
      return MORSEL_ERROR(LIMIT_EXCEEDED, "%s: weight '%s' is too large", where.c_str(), name.c_str());
  }
  Tensor t(DType::F32, shape);
  if (numel > 0 && H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.mut<float>()) < 0)
    return MORSEL_ERROR(INVALID_MODEL, "%s: cannot read weight '%s' (truncated or corrupted file?)",
                        where.c_str(), name.c_str());
  return t;
}

// "block_1/conv/kernel:0" -> "block_1/conv/kernel" (TF.js names weights without the ":0").
std::string weight_key(const std::string& name) {
  size_t colon = name.rfind(':');
  if (colon != std::string::npos && colon + 1 < name.size() &&
      name.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    return name.substr(0, colon);
  return name;
}

// What the HDF5 reading produces: the model config text, the Keras version and the weights.
struct H5Contents {
  std::string config_text, keras_version;
  std::map<std::string, Tensor> weights;
};

Result<H5Contents> read_h5(const std::string& path) {
  H5Contents c;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors come back as statuses, not on stderr
  if (H5Fis_hdf5(path.c_str()) <= 0)
    return MORSEL_ERROR(INVALID_MODEL, "%s is not an HDF5 file", path.c_str());
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    return MORSEL_ERROR(INVALID_MODEL, "%s: libhdf5 cannot open it (truncated or corrupted?)", path.c_str());
  const hid_t f = file.get();
  if (!attr_exists(f, "model_config"))
    return MORSEL_ERROR(INVALID_MODEL,
                        "%s has no model_config attribute: not a whole Keras model (weights-only "
                        "files from save_weights have no architecture; save with model.save)",
                        path.c_str());
  MORSEL_ASSIGN_OR_RETURN(c.config_text, read_string(f, "model_config", "the file"));
  if (attr_exists(f, "keras_version")) {
    MORSEL_ASSIGN_OR_RETURN(c.keras_version, read_string(f, "keras_version", "the file"));
  }

  // Weights: every layer named in layer_names, every weight named in its weight_names.
  if (H5Lexists(f, "model_weights", H5P_DEFAULT) <= 0)
    return MORSEL_ERROR(INVALID_MODEL, "%s has no model_weights group", path.c_str());
  Handle mw(H5Gopen2(f, "model_weights", H5P_DEFAULT), H5Gclose);
  if (!mw.ok()) return MORSEL_ERROR(INVALID_MODEL, "model_weights is not a group");
  bool found;
  MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> layer_names,
                          read_string_list(mw.get(), "layer_names", "model_weights", &found));
  if (!found) return MORSEL_ERROR(INVALID_MODEL, "model_weights has no layer_names attribute");
  std::map<std::string, Tensor>& weights = c.weights;
  for (const std::string& layer : layer_names) {
    const std::string where = "model_weights/" + layer;
    if (layer.empty() || layer.find('/') != std::string::npos || layer == "." || layer == "..")
      return MORSEL_ERROR(INVALID_MODEL, "bad layer name '%s' in layer_names", layer.c_str());
    if (H5Lexists(mw.get(), layer.c_str(), H5P_DEFAULT) <= 0)
      return MORSEL_ERROR(INVALID_MODEL, "layer '%s' is listed but has no group in model_weights", layer.c_str());
    Handle g(H5Gopen2(mw.get(), layer.c_str(), H5P_DEFAULT), H5Gclose);
    if (!g.ok()) return MORSEL_ERROR(INVALID_MODEL, "%s is not a group", where.c_str());
    MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            read_string_list(g.get(), "weight_names", where, &found));
    for (const std::string& wn : names) {
      MORSEL_ASSIGN_OR_RETURN(Tensor t, read_weight(g.get(), wn, where));
      const std::string key = weight_key(wn);
      if (weights.count(key))
        return MORSEL_ERROR(INVALID_MODEL, "weight '%s' appears twice", wn.c_str());
      weights.emplace(key, std::move(t));
    }
  }
  return c;
}

// ---- running read_h5 in a child process ----
// libhdf5 trusts the file's internal structure (a damaged B-tree or heap can crash it), so the
// reading happens in a forked child that sends its result back through a pipe; a crash or hang
// there becomes an error here.

void put_u64(std::string* b, uint64_t v) { b->append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string* b, const std::string& s) {
  put_u64(b, s.size());
  b->append(s);
}

std::string serialize(const Result<H5Contents>& r) {
  std::string b;
  put_u64(&b, static_cast<uint64_t>(r.status().code()));
  if (!r.ok()) {
    put_str(&b, r.status().message());
    return b;
  }
  put_str(&b, r.value().config_text);
  put_str(&b, r.value().keras_version);
  put_u64(&b, r.value().weights.size());
  for (const auto& [name, t] : r.value().weights) {
    put_str(&b, name);
    put_u64(&b, t.shape().size());
    for (int64_t d : t.shape()) put_u64(&b, static_cast<uint64_t>(d));
    b.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  return b;
}

// Parses what serialize() wrote (our own child wrote it, but check every length anyway).
Result<H5Contents> deserialize(const std::string& b) {
  size_t pos = 0;
  bool ok = true;
  auto u64 = [&]() -> uint64_t {
    if (pos + 8 > b.size()) {
      ok = false;
      return 0;
    }
    uint64_t v;
    std::memcpy(&v, b.data() + pos, 8);
    pos += 8;
    return v;
  };
  auto str = [&]() -> std::string {
    uint64_t n = u64();
    if (!ok || n > b.size() - pos) {
      ok = false;
      return {};
    }
    std::string s = b.substr(pos, n);
    pos += n;
    return s;
  };
  const auto code = static_cast<StatusCode>(u64());
  if (ok && code != StatusCode::OK) {
    std::string msg = str();
    if (ok) return Status(code, msg);
  }
  H5Contents c;
  c.config_text = str();
  c.keras_version = str();
  uint64_t n = u64();
  for (uint64_t i = 0; ok && i < n; i++) {
    std::string name = str();
    uint64_t rank = u64();
    if (!ok || rank > 8) break;
    Shape shape;
    for (uint64_t d = 0; d < rank; d++) shape.push_back(static_cast<int64_t>(u64()));
    if (!ok) break;
    const int64_t numel = shape_numel(shape);
    if (numel < 0 || numel > kMaxElements || static_cast<uint64_t>(numel) * 4 > b.size() - pos) {
      ok = false;
      break;
    }
    Tensor t(DType::F32, shape);
    std::memcpy(t.raw_mut(), b.data() + pos, t.nbytes());
    pos += t.nbytes();
    c.weights.emplace(std::move(name), std::move(t));
  }
  if (!ok || pos != b.size()) return MORSEL_ERROR(INTERNAL, "the .h5 reader process sent a malformed result");
  return c;
}

Result<H5Contents> read_h5_isolated(const std::string& path) {
  int fds[2];
  if (pipe(fds) != 0) return read_h5(path);  // no process isolation available: read in place
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return read_h5(path);
  }
  if (pid == 0) {  // child: read, send, exit without running the parent's atexit handlers
    close(fds[0]);
    const std::string b = serialize(read_h5(path));
    size_t off = 0;
    while (off < b.size()) {
      ssize_t w = write(fds[1], b.data() + off, b.size() - off);
      if (w <= 0) _exit(1);
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string b;
  char buf[1 << 16];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  bool timed_out = false;
  while (true) {
    pollfd p{fds[0], POLLIN, 0};
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      timed_out = true;
      break;
    }
    ssize_t r = read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    b.append(buf, static_cast<size_t>(r));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return MORSEL_ERROR(INVALID_MODEL, "%s: reading the .h5 file did not finish in 300 s (corrupted?)",
                        path.c_str());
  if (WIFSIGNALED(status))
    return MORSEL_ERROR(INVALID_MODEL, "%s: libhdf5 crashed reading the file (signal %d): it is "
                        "corrupted or not a file Keras wrote", path.c_str(), WTERMSIG(status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return MORSEL_ERROR(INVALID_MODEL, "%s: the .h5 reader process failed", path.c_str());
  return deserialize(b);
}

}  // namespace

Result<tfjs::ImportResult> import_model(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
  MORSEL_ASSIGN_OR_RETURN(H5Contents c, read_h5_isolated(path));
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(c.config_text);
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "model_config is not valid JSON: %s", e.what());
  }
  if (!config.is_object() || !config.contains("class_name") || !config.contains("config"))
    return MORSEL_ERROR(INVALID_MODEL, "model_config is not a Keras model config");
  const std::map<std::string, Tensor>& weights = c.weights;
  const std::string& keras_version = c.keras_version;

  tfjs::ImportResult out;
  MORSEL_RETURN_IF_ERROR(tfjs::import_keras_model(config, weights, "keras-h5", "this Keras .h5 model", &out));
  out.graph.remove_dead();
  MORSEL_RETURN_IF_ERROR(out.graph.validate().with_context("imported graph"));
  MORSEL_RETURN_IF_ERROR(out.graph.infer_shapes());
  if (!keras_version.empty()) out.notes.push_back("saved by Keras " + keras_version);
  return out;
}

}  // namespace morsel::keras_h5
