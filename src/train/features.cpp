// Backbone cut, batched feature extraction and the on-disk feature cache (features.h).
#include "train/features.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "core/cpu.h"
#include "core/random.h"
#include "core/threadpool.h"
#include "image/decode/decode.h"
#include "runtime/session.h"

namespace morsel::train {

std::string default_cut(const Graph& g) {
  if (g.outputs.size() != 1) return "";
  int v = g.outputs[0];
  std::string cut;
  // Walk back over the head: Softmax, Dense, Identity, and a Reshape/Squeeze that flattens.
  while (v >= 0) {
    const int p = g.values[static_cast<size_t>(v)].producer;
    if (p < 0) break;
    const Node& n = g.nodes[static_cast<size_t>(p)];
    if (n.inputs.empty()) break;
    const OpType op = n.op;
    if (op == OpType::DENSE) {
      cut = g.values[static_cast<size_t>(n.inputs[0])].name;
    } else if (op != OpType::SOFTMAX && op != OpType::IDENTITY) {
      break;
    }
    v = n.inputs[0];
  }
  return cut;
}

namespace {

uint64_t hash_str(uint64_t h, const std::string& s) { return xxh64(s.data(), s.size(), h); }

uint64_t graph_hash(const Graph& g, const PreprocessSpec& pp) {
  uint64_t h = 0x6D6F7273656C6231ull;
  for (const Node& n : g.nodes) {
    h = hash_str(h, op_name(n.op));
    for (int i : n.inputs) h = seed_mix(h, static_cast<uint64_t>(static_cast<int64_t>(i)));
    for (int o : n.outputs) h = seed_mix(h, static_cast<uint64_t>(o));
    for (const auto& [k, v] : n.attrs.all()) {
      h = hash_str(h, k);
      if (auto* i = std::get_if<int64_t>(&v)) h = seed_mix(h, static_cast<uint64_t>(*i));
      else if (auto* d = std::get_if<double>(&v)) h = xxh64(d, sizeof *d, h);
      else if (auto* s = std::get_if<std::string>(&v)) h = hash_str(h, *s);
      else if (auto* is = std::get_if<std::vector<int64_t>>(&v)) h = xxh64(is->data(), is->size() * 8, h);
      else if (auto* ds = std::get_if<std::vector<double>>(&v)) h = xxh64(ds->data(), ds->size() * 8, h);
    }
  }
  for (const Value& v : g.values) {
    if (!v.is_const()) continue;
    h = xxh64(v.data.raw(), v.data.nbytes(), h);
    h = seed_mix(h, static_cast<uint64_t>(v.dtype));
    if (const AffineQuant* q = v.data.affine()) {  // compact weights: what the integers stand for
      h = xxh64(&q->scale, sizeof q->scale, h);
      h = xxh64(&q->offset, sizeof q->offset, h);
      h = seed_mix(h, static_cast<uint64_t>(q->axis + 1));
      h = xxh64(q->channel_scale.data(), q->channel_scale.size() * sizeof(float), h);
    }
  }
  const float ppv[] = {float(pp.height), float(pp.width), float(pp.resize), float(pp.crop),
                       pp.crop_fraction, float(pp.channel_order), pp.mean[0], pp.mean[1],
                       pp.mean[2], pp.std[0], pp.std[1], pp.std[2]};
  return xxh64(ppv, sizeof ppv, h);
}

// Append-only file of (key, dim floats) records after a 24-byte header.
class FeatureCache {
 public:
  ~FeatureCache() {
    if (f_) std::fclose(f_);
  }
  Status open(const std::string& dir, uint64_t backbone_hash, int64_t dim) {
    dim_ = dim;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return MORSEL_ERROR(IO_ERROR, "cannot create cache directory %s: %s", dir.c_str(),
                                ec.message().c_str());
    char name[64];
    std::snprintf(name, sizeof name, "/%016llx.features", (unsigned long long)backbone_hash);
    path_ = dir + name;
    uint8_t header[24] = {'M', 'F', 'E', 'A', 'T', '0', '0', '1'};
    std::memcpy(header + 8, &backbone_hash, 8);
    std::memcpy(header + 16, &dim, 8);
    const size_t rec = 8 + static_cast<size_t>(dim) * 4;
    size_t valid = 0;
    if (FILE* in = std::fopen(path_.c_str(), "rb")) {
      uint8_t got[24];
      if (std::fread(got, 1, 24, in) == 24 && std::memcmp(got, header, 24) == 0) {
        valid = 24;
        std::vector<uint8_t> buf(rec);
        while (std::fread(buf.data(), 1, rec, in) == rec) {
          uint64_t key;
          std::memcpy(&key, buf.data(), 8);
          index_[key] = data_.size();
          data_.insert(data_.end(), reinterpret_cast<const float*>(buf.data() + 8),
                       reinterpret_cast<const float*>(buf.data() + 8) + dim);
          valid += rec;
        }
      }
      std::fclose(in);
    }
    // A file from another backbone or with a torn last record: keep what is valid.
    if (valid == 0) {
      f_ = std::fopen(path_.c_str(), "wb");
      if (f_ && std::fwrite(header, 1, 24, f_) != 24) {
        std::fclose(f_);
        f_ = nullptr;
      }
    } else {
      std::filesystem::resize_file(path_, valid, ec);
      f_ = std::fopen(path_.c_str(), "ab");
    }
    if (!f_) return MORSEL_ERROR(IO_ERROR, "cannot write feature cache %s", path_.c_str());
    return Status();
  }
  const float* find(uint64_t key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : data_.data() + it->second;
  }
  void add(uint64_t key, const float* v) {
    if (!f_) return;
    std::fwrite(&key, 8, 1, f_);
    std::fwrite(v, 4, static_cast<size_t>(dim_), f_);
  }
  void flush() {
    if (f_) std::fflush(f_);
  }

 private:
  std::string path_;
  int64_t dim_ = 0;
  FILE* f_ = nullptr;
  std::unordered_map<uint64_t, size_t> index_;
  std::vector<float> data_;
};

std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

}  // namespace

Result<Backbone> make_backbone(const Model& model, const std::string& cut_in) {
  const std::string cut = cut_in.empty() ? default_cut(model.graph) : cut_in;
  if (cut.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "model '%s' does not end in a Dense head; name the "
                        "feature tensor to cut at (see `morsel inspect --nodes`)",
                        model.meta.name.c_str());
  auto m = std::make_shared<Model>(model);
  Graph& g = m->graph;
  // One or more comma-separated tensors, each made [N, C], concatenated in order.
  std::vector<int> parts;
  size_t start = 0;
  while (start <= cut.size()) {
    size_t comma = cut.find(',', start);
    if (comma == std::string::npos) comma = cut.size();
    std::string name = cut.substr(start, comma - start);
    start = comma + 1;
    // "name@G": average-pool to a G x G grid instead of one vector (keeps coarse layout).
    int64_t grid = 1;
    if (size_t at = name.rfind('@'); at != std::string::npos) {
      const std::string gs = name.substr(at + 1);
      char* end = nullptr;
      grid = std::strtoll(gs.c_str(), &end, 10);
      if (gs.empty() || *end || grid < 1 || grid > 64)
        return MORSEL_ERROR(INVALID_ARGUMENT, "'%s': the grid after @ must be 1..64", name.c_str());
      name.resize(at);
    }
    const int v = g.find_value(name);
    if (v < 0)
      return MORSEL_ERROR(INVALID_ARGUMENT, "model '%s' has no tensor named '%s'",
                          model.meta.name.c_str(), name.c_str());
    if (g.values[static_cast<size_t>(v)].is_const())
      return MORSEL_ERROR(INVALID_ARGUMENT, "'%s' is a weight, not a feature tensor", name.c_str());
    const Shape shape = g.values[static_cast<size_t>(v)].shape;
    const std::string tag = "features/" + std::to_string(parts.size());
    if (grid > 1) {
      if (shape.size() != 4 || shape[1] % grid || shape[2] % grid)
        return MORSEL_ERROR(INVALID_ARGUMENT, "'%s' is not [N,H,W,C] with H and W divisible by %lld",
                            name.c_str(), (long long)grid);
      Attrs a;
      a.set("kernel", std::vector<int64_t>{shape[1] / grid, shape[2] / grid});
      a.set("strides", std::vector<int64_t>{shape[1] / grid, shape[2] / grid});
      a.set("padding", std::string("VALID"));
      const int pooled = g.add_node(OpType::AVG_POOL, tag + "/grid", {v}, a, tag + "/grid");
      Attrs r;
      r.set("shape", std::vector<int64_t>{0, -1});
      parts.push_back(g.add_node(OpType::RESHAPE, tag + "/flatten", {pooled}, r, tag + "/flatten"));
    } else if (shape.size() == 4 && (shape[1] != 1 || shape[2] != 1)) {
      Attrs a;
      a.set("axes", std::vector<int64_t>{1, 2});
      a.set("keepdims", int64_t{0});
      parts.push_back(g.add_node(OpType::MEAN, tag + "/pool", {v}, a, tag + "/pool"));
    } else if (shape.size() == 4) {
      Attrs a;
      a.set("shape", std::vector<int64_t>{0, -1});
      parts.push_back(g.add_node(OpType::RESHAPE, tag + "/flatten", {v}, a, tag + "/flatten"));
    } else if (shape.size() == 2) {
      parts.push_back(v);
    } else {
      return MORSEL_ERROR(INVALID_ARGUMENT, "cannot take features from '%s' of rank %zu (need "
                          "[N,C] or [N,H,W,C])", name.c_str(), shape.size());
    }
  }
  int out = parts[0];
  if (parts.size() > 1) {
    Attrs a;
    a.set("axis", int64_t{1});
    out = g.add_node(OpType::CONCAT, "features/concat", parts, a, "features/concat");
  }
  g.outputs = {out};
  g.remove_dead();
  MORSEL_RETURN_IF_ERROR(g.infer_shapes());
  const Shape& os = g.values[static_cast<size_t>(g.outputs[0])].shape;
  if (os.size() != 2 || os[1] < 1)
    return MORSEL_ERROR(INVALID_ARGUMENT, "features from '%s' have no fixed size", cut.c_str());
  m->meta.labels.clear();
  Backbone b;
  b.cut = cut;
  b.dim = os[1];
  b.hash = hash_str(graph_hash(g, m->meta.preprocess), cut);
  b.model = std::move(m);
  return b;
}

Result<Features> compute_features(const Backbone& bb, const Dataset& data,
                                  const std::vector<size_t>& indices_in, int views,
                                  const FeatureOptions& o, FeatureStats* stats) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::vector<size_t> indices = indices_in;
  if (indices.empty())
    for (size_t i = 0; i < data.samples.size(); i++) indices.push_back(i);
  if (views < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "views must be >= 1");
  if (views > 1) MORSEL_RETURN_IF_ERROR(augment_params_validate(o.augment));
  const int threads = o.threads > 0 ? o.threads : physical_cores();
  const int batch = std::max(1, o.batch);

  SessionOptions so;
  so.threads = threads;
  std::shared_ptr<const Graph> graph(bb.model, &bb.model->graph);
  MORSEL_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(graph, so));
  const PreprocessSpec& pp = bb.model->meta.preprocess;
  const size_t in_size = static_cast<size_t>(pp.height * pp.width * 3);
  const size_t dim = static_cast<size_t>(bb.dim);

  FeatureCache cache;
  const bool use_cache = !o.cache_dir.empty();
  if (use_cache) MORSEL_RETURN_IF_ERROR(cache.open(o.cache_dir, bb.hash, bb.dim));
  const uint64_t aug_key = seed_mix(augment_params_hash(o.augment), o.augment_seed);

  // Work items: (sample, view) in sample-major order.
  struct Item {
    size_t sample;
    int view;
    uint64_t key = 0;
    bool ok = false;
  };
  std::vector<Item> items;
  items.reserve(indices.size() * static_cast<size_t>(views));
  for (size_t s : indices)
    for (int v = 0; v < views; v++) items.push_back({s, v});

  Features out;
  out.dim = bb.dim;
  out.data.reserve(items.size() * dim);
  FeatureStats st;
  ThreadPool pool(threads);
  std::vector<std::string> errors(static_cast<size_t>(batch));
  std::vector<float> feat_rows;
  size_t done = 0;
  auto last_print = clock::now();
  const bool tty = isatty(2) != 0;
  int last_decile = -1;

  for (size_t b0 = 0; b0 < items.size(); b0 += static_cast<size_t>(batch)) {
    const size_t nb = std::min(items.size() - b0, static_cast<size_t>(batch));
    // 1. Load bytes, hash, look up the cache; decode + augment + preprocess the misses.
    Tensor input(DType::F32, {static_cast<int64_t>(nb), pp.height, pp.width, 3});
    std::vector<int> need(nb, 0);
    pool.parallel_for(static_cast<int64_t>(nb), [&](int64_t j, int) {
      Item& it = items[b0 + static_cast<size_t>(j)];
      errors[static_cast<size_t>(j)].clear();
      auto bytes = data.read_bytes(it.sample);
      if (!bytes.ok()) {
        errors[static_cast<size_t>(j)] = bytes.status().message();
        return;
      }
      const uint64_t content = xxh64(bytes->data(), bytes->size());
      it.key = seed_mix(seed_mix(content, static_cast<uint64_t>(it.view)),
                        it.view == 0 ? 0 : aug_key);
      if (use_cache && cache.find(it.key)) {
        it.ok = true;
        return;
      }
      Result<Image> img = data.samples[it.sample].idx_index >= 0
                              ? data.load(it.sample)
                              : image_decode(bytes->data(), bytes->size());
      if (!img.ok()) {
        errors[static_cast<size_t>(j)] = img.status().message();
        return;
      }
      Image view = it.view == 0 ? std::move(img).value()
                                : augment_image(*img, o.augment,
                                                seed_mix(seed_mix(o.augment_seed, content),
                                                         static_cast<uint64_t>(it.view)));
      Status ps = preprocess(view, pp, input.mut<float>() + static_cast<size_t>(j) * in_size);
      if (!ps.ok()) {
        errors[static_cast<size_t>(j)] = ps.message();
        return;
      }
      it.ok = true;
      need[static_cast<size_t>(j)] = 1;
    });
    // 2. Run the backbone on the misses (packed to the front of a batch).
    std::vector<size_t> miss;
    for (size_t j = 0; j < nb; j++)
      if (need[j]) miss.push_back(j);
    Tensor y;
    if (!miss.empty()) {
      Tensor x(DType::F32, {static_cast<int64_t>(miss.size()), pp.height, pp.width, 3});
      for (size_t m = 0; m < miss.size(); m++)
        std::memcpy(x.mut<float>() + m * in_size, input.data<float>() + miss[m] * in_size,
                    in_size * sizeof(float));
      MORSEL_RETURN_IF_ERROR(run_micro_batched(*session, x, &y));
    }
    // 3. Collect rows in item order.
    size_t m = 0;
    for (size_t j = 0; j < nb; j++) {
      const Item& it = items[b0 + j];
      if (!it.ok) {
        if (it.view == 0)
          st.skipped.push_back(data.samples[it.sample].path + ": " + errors[j]);
        continue;
      }
      const float* row;
      if (need[j]) {
        row = y.data<float>() + (m++) * dim;
        if (use_cache) cache.add(it.key, row);
        st.computed++;
      } else {
        row = cache.find(it.key);
        st.cached++;
      }
      out.data.insert(out.data.end(), row, row + dim);
      out.sample.push_back(it.sample);
      out.view.push_back(it.view);
      out.label.push_back(data.samples[it.sample].label);
    }
    if (use_cache) cache.flush();
    done += nb;
    // Progress.
    if (o.progress) {
      const auto now = clock::now();
      const double el = std::chrono::duration<double>(now - t0).count();
      const int decile = static_cast<int>(10 * done / items.size());
      const bool end = done == items.size();
      if ((tty && (std::chrono::duration<double>(now - last_print).count() > 0.25 || end)) ||
          (!tty && (decile != last_decile || end))) {
        last_print = now;
        last_decile = decile;
        const double rate = done / std::max(el, 1e-9);
        const double eta = (items.size() - done) / std::max(rate, 1e-9);
        const int width = 24, fill = static_cast<int>(width * done / items.size());
        std::string bar(static_cast<size_t>(fill), '=');
        bar.resize(static_cast<size_t>(width), ' ');
        std::fprintf(stderr, "%sfeatures [%s] %zu/%zu  %.0f img/s  %s %s%s", tty ? "\r" : "",
                     bar.c_str(), done, items.size(), rate, end ? "took" : "ETA",
                     format_duration(end ? el : eta).c_str(), tty && !end ? "" : "\n");
        std::fflush(stderr);
      }
    }
  }
  st.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  if (stats) *stats = std::move(st);
  return out;
}

}  // namespace morsel::train
