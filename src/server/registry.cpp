// ModelRegistry: discovery, loading (read, verify, warm up), publication and hot reload.
#include "server/registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "server/log.h"
#include "server/metrics.h"

namespace morsel::server {

namespace {

constexpr uint64_t kMaxModelFileBytes = uint64_t{4} << 30;

bool stat_file(const std::string& path, FileId* id) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
  id->dev = static_cast<uint64_t>(sb.st_dev);
  id->ino = static_cast<uint64_t>(sb.st_ino);
  id->size = static_cast<uint64_t>(sb.st_size);
  id->mtime_ns = int64_t{sb.st_mtim.tv_sec} * 1000000000 + sb.st_mtim.tv_nsec;
  return true;
}

bool is_dir(const std::string& path) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool parse_version(const std::string& s, int64_t* v) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return false;
  int64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + (c - '0');
  }
  *v = x;
  return true;
}

// Reads the whole file into a 64-byte-aligned buffer (constants are used in place from it).
Status read_aligned(const std::string& path, std::shared_ptr<const uint8_t>* out, size_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return MORSEL_ERROR(IO_ERROR, "cannot open %s: %s", path.c_str(), std::strerror(errno));
  struct stat sb;
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    return MORSEL_ERROR(IO_ERROR, "%s is not a regular file", path.c_str());
  }
  const uint64_t n = static_cast<uint64_t>(sb.st_size);
  if (n > kMaxModelFileBytes) {
    ::close(fd);
    return MORSEL_ERROR(LIMIT_EXCEEDED, "%s is larger than 4 GiB", path.c_str());
  }
  const size_t alloc = static_cast<size_t>((n + 63) / 64 * 64 + 64);
  uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(64, alloc));
  if (!p) {
    ::close(fd);
    return MORSEL_ERROR(OUT_OF_MEMORY, "cannot allocate %llu bytes for %s", (unsigned long long)n,
                        path.c_str());
  }
  std::shared_ptr<const uint8_t> buf(p,
                                     [](const uint8_t* q) { std::free(const_cast<uint8_t*>(q)); });
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, p + got, static_cast<size_t>(n - got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  if (got != n)
    return MORSEL_ERROR(IO_ERROR, "cannot read %s (file changed while reading?)", path.c_str());
  *out = std::move(buf);
  *size = static_cast<size_t>(n);
  return Status();
}

}  // namespace

bool valid_model_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool parse_model_spec(const std::string& spec, std::string* name, std::string* path) {
  const size_t eq = spec.find('=');
  if (eq != std::string::npos && valid_model_name(spec.substr(0, eq))) {
    *name = spec.substr(0, eq);
    *path = spec.substr(eq + 1);
  } else {
    *path = spec;
    std::string base = spec;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    const size_t slash = base.rfind('/');
    if (slash != std::string::npos) base = base.substr(slash + 1);
    if (base.size() > 7 && base.compare(base.size() - 7, 7, ".morsel") == 0)
      base.resize(base.size() - 7);
    *name = base;
  }
  return !path->empty() && valid_model_name(*name);
}

ModelRegistry::ModelRegistry(RegistryOptions options, Metrics* metrics, Logger* log)
    : opt_(std::move(options)), metrics_(metrics), log_(log) {
  for (const std::string& s : opt_.models) {
    std::string name, path;
    if (parse_model_spec(s, &name, &path)) specs_.emplace_back(name, path);
  }
}

ModelRegistry::~ModelRegistry() {
  shutdown();
}

Status ModelRegistry::validate_options() const {
  if (opt_.models.empty() && opt_.repo.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "no models: give --model PATH or --model-repo DIR");
  std::map<std::string, int> seen;
  for (const std::string& s : opt_.models) {
    std::string name, path;
    if (!parse_model_spec(s, &name, &path))
      return MORSEL_ERROR(
          INVALID_ARGUMENT,
          "--model %s: the model name must be 1-128 characters of A-Z a-z 0-9 . _ - "
          "(use NAME=PATH to choose one)",
          s.c_str());
    if (seen[name]++)
      return MORSEL_ERROR(INVALID_ARGUMENT, "two models are named '%s' (use NAME=PATH)",
                          name.c_str());
  }
  if (!opt_.repo.empty() && !is_dir(opt_.repo))
    return MORSEL_ERROR(IO_ERROR, "--model-repo %s is not a directory", opt_.repo.c_str());
  if (opt_.keep_versions < 1) return MORSEL_ERROR(INVALID_ARGUMENT, "--keep-versions must be >= 1");
  return Status();
}

std::map<std::string, std::vector<ModelRegistry::Candidate>> ModelRegistry::discover(
    std::vector<std::string>* sticky) const {
  std::map<std::string, std::vector<Candidate>> out;
  for (const auto& [name, path] : specs_) {
    sticky->push_back(name);  // a --model file that is briefly missing keeps serving
    FileId id;
    if (stat_file(path, &id)) out[name].push_back({1, path, id});
  }
  if (!opt_.repo.empty()) {
    for (const std::string& name : list_dir(opt_.repo)) {
      if (!valid_model_name(name) || out.count(name)) continue;
      const std::string dir = opt_.repo + "/" + name;
      if (!is_dir(dir)) continue;
      for (const std::string& v : list_dir(dir)) {
        int64_t version;
        if (!parse_version(v, &version)) continue;
        const std::string path = dir + "/" + v + "/model.morsel";
        FileId id;
        if (stat_file(path, &id)) out[name].push_back({version, path, id});
      }
      auto& c = out[name];
      std::sort(c.begin(), c.end(),
                [](const Candidate& a, const Candidate& b) { return a.version > b.version; });
    }
  }
  return out;
}

Result<std::shared_ptr<ModelVersion>> ModelRegistry::load_version(const std::string& name,
                                                                  int64_t version,
                                                                  const std::string& path,
                                                                  const FileId& id) {
  auto mv = std::make_shared<ModelVersion>();
  mv->name = name;
  mv->version = std::to_string(version);
  mv->path = path;
  mv->file_id = id;
  MORSEL_RETURN_IF_ERROR(read_aligned(path, &mv->bytes, &mv->size));
  MORSEL_ASSIGN_OR_RETURN(Model m, model_load_buffer(mv->bytes.get(), mv->size, /*copy=*/false));
  m.backing = mv->bytes;  // the constants borrow these bytes
  auto model = std::make_shared<const Model>(std::move(m));
  mv->model = model;
  const uint8_t* tail = mv->bytes.get() + mv->size - kChecksumSize;
  std::string hex;
  for (int i = 7; i >= 0; i--) hex += str_printf("%02x", tail[i]);
  mv->etag = "\"" + hex + "\"";

  const int workers = std::max(1, opt_.batch.workers);
  SessionOptions so;
  so.threads = std::max(1, opt_.batch.threads_per_worker);
  std::vector<std::unique_ptr<Classifier>> classifiers;
  for (int w = 0; w < workers; w++) {
    MORSEL_ASSIGN_OR_RETURN(std::unique_ptr<Classifier> c, Classifier::create(model, so));
    // Warm-up: one run on a blank image, so the first request does not pay for first-touch
    // allocation, and so a model that cannot run is refused here rather than per request.
    const PreprocessSpec& pp = model->meta.preprocess;
    Tensor x(DType::F32, {1, pp.height, pp.width, 3});
    MORSEL_ASSIGN_OR_RETURN(Tensor y, c->run_batch(x));
    if (opt_.batch.test_warmup_delay_ms > 0)  // tests: make the warm-up observable
      std::this_thread::sleep_for(
          std::chrono::microseconds(static_cast<int64_t>(opt_.batch.test_warmup_delay_ms * 1000)));
    if (y.rank() != 2 || y.dim(0) != 1)
      return MORSEL_ERROR(INVALID_MODEL, "warm-up run returned a bad shape");
    mv->num_classes = c->num_classes();
    classifiers.push_back(std::move(c));
  }
  const Graph& g = model->graph;
  mv->input_name = g.values[static_cast<size_t>(g.inputs[0])].name;
  mv->output_name = g.values[static_cast<size_t>(g.outputs[0])].name;
  mv->loaded_at = utc_now_iso8601();
  mv->queue =
      std::make_unique<InferenceQueue>(name, model, std::move(classifiers), opt_.batch, metrics_);
  return mv;
}

void ModelRegistry::scan() {
  std::lock_guard<std::mutex> scan_lock(scan_mu_);
  std::vector<std::string> sticky;
  auto found = discover(&sticky);
  std::map<std::string, std::map<int64_t, std::shared_ptr<ModelVersion>>> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = loaded_;
  }
  std::map<std::string, std::map<int64_t, std::shared_ptr<ModelVersion>>> next;
  for (const auto& [name, cands] : found) {
    auto& cur = current[name];
    auto& chosen = next[name];
    for (const Candidate& c : cands) {
      if (static_cast<int>(chosen.size()) >= opt_.keep_versions) break;
      auto it = cur.find(c.version);
      std::shared_ptr<ModelVersion> have = it == cur.end() ? nullptr : it->second;
      if (have && have->file_id == c.id) {
        chosen[c.version] = have;
        continue;
      }
      auto f = failed_.find(c.path);
      if (f != failed_.end() && f->second == c.id) {  // same bytes failed before
        if (have) chosen[c.version] = have;
        continue;
      }
      const auto t0 = Clock::now();
      Result<std::shared_ptr<ModelVersion>> r = Status();
      try {
        r = load_version(name, c.version, c.path, c.id);
      } catch (const std::bad_alloc&) {
        r = MORSEL_ERROR(OUT_OF_MEMORY, "out of memory while loading");
      } catch (...) {
        r = MORSEL_ERROR(INTERNAL, "exception while loading");
      }
      if (!r.ok()) {
        failed_[c.path] = c.id;
        if (metrics_) metrics_->count_load_failure(name);
        if (log_)
          log_->error("model load failed",
                      {{"model", name},
                       {"version", std::to_string(c.version)},
                       {"path", c.path},
                       {"error", r.status().to_string()},
                       {"serving", have ? "previous contents" : "older version if any"}});
        if (have) chosen[c.version] = have;
        continue;
      }
      failed_.erase(c.path);
      if (metrics_) metrics_->count_load_success(name);
      if (log_)
        log_->info(have ? "model reloaded" : "model loaded",
                   {{"model", name},
                    {"version", std::to_string(c.version)},
                    {"path", c.path},
                    {"classes", r.value()->num_classes},
                    {"bytes", r.value()->size},
                    {"workers", std::max(1, opt_.batch.workers)},
                    {"load_ms", ms_between(t0, Clock::now())}});
      chosen[c.version] = r.value();
    }
    if (chosen.empty()) next.erase(name);
  }
  for (const std::string& name : sticky) {
    if (!next.count(name) && current.count(name) && !current[name].empty())
      next[name] = current[name];
  }
  std::vector<std::shared_ptr<ModelVersion>> retired;
  for (const auto& [name, vs] : current) {
    for (const auto& [v, mv] : vs) {
      auto n = next.find(name);
      if (n == next.end() || !n->second.count(v) || n->second.at(v) != mv) retired.push_back(mv);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    loaded_ = std::move(next);
  }
  for (const auto& mv : retired)
    if (log_)
      log_->info("model version retired (in-flight requests finish on it)",
                 {{"model", mv->name}, {"version", mv->version}});
  // `retired` and `current` drop their references here; a version still used by requests lives
  // until the last of them completes.
}

Status ModelRegistry::load_initial() {
  scan();
  std::vector<std::string> sticky;
  auto found = discover(&sticky);
  std::string missing;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, path] : specs_)
    if (!loaded_.count(name)) missing += (missing.empty() ? "" : ", ") + name + " (" + path + ")";
  for (const auto& entry : found) {
    const std::string& name = entry.first;  // not a structured binding: clang 14 cannot capture one
    if (!loaded_.count(name) &&
        std::none_of(specs_.begin(), specs_.end(), [&](auto& s) { return s.first == name; }))
      missing += (missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty())
    return MORSEL_ERROR(INVALID_MODEL, "cannot load model(s): %s (see the log for the reason)",
                        missing.c_str());
  if (loaded_.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "no models found in %s", opt_.repo.c_str());
  return Status();
}

void ModelRegistry::start_watching() {
  std::lock_guard<std::mutex> lock(watch_mu_);
  if (watcher_.joinable()) return;
  watch_stop_ = false;
  watcher_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    for (;;) {
      if (opt_.poll_interval_s > 0) {
        watch_cv_.wait_for(
            lock, std::chrono::microseconds(static_cast<int64_t>(opt_.poll_interval_s * 1e6)),
            [&] { return watch_stop_ || rescan_; });
      } else {
        watch_cv_.wait(lock, [&] { return watch_stop_ || rescan_; });
      }
      if (watch_stop_) return;
      rescan_ = false;
      lock.unlock();
      scan();
      lock.lock();
    }
  });
}

void ModelRegistry::request_rescan() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    rescan_ = true;
  }
  watch_cv_.notify_all();
}

void ModelRegistry::shutdown() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  std::map<std::string, std::map<int64_t, std::shared_ptr<ModelVersion>>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all = loaded_;
  }
  for (auto& [name, vs] : all)
    for (auto& [v, mv] : vs) mv->queue->shutdown();
}

std::shared_ptr<ModelVersion> ModelRegistry::find(std::string_view name,
                                                  std::string_view version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = loaded_.find(std::string(name));
  if (it == loaded_.end() || it->second.empty()) return nullptr;
  if (version.empty()) return it->second.rbegin()->second;
  int64_t v;
  if (!parse_version(std::string(version), &v)) return nullptr;
  auto vit = it->second.find(v);
  return vit == it->second.end() ? nullptr : vit->second;
}

std::vector<std::shared_ptr<ModelVersion>> ModelRegistry::versions(std::string_view name) const {
  std::vector<std::shared_ptr<ModelVersion>> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = loaded_.find(std::string(name));
  if (it == loaded_.end()) return out;
  for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) out.push_back(v->second);
  return out;
}

std::vector<std::shared_ptr<ModelVersion>> ModelRegistry::all() const {
  std::vector<std::shared_ptr<ModelVersion>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, vs] : loaded_)
    for (auto v = vs.rbegin(); v != vs.rend(); ++v) out.push_back(v->second);
  return out;
}

std::string ModelRegistry::default_model() const {
  if (!specs_.empty()) return specs_.front().first;
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_.empty() ? "" : loaded_.begin()->first;
}

void ModelRegistry::queue_depths(std::map<std::string, int64_t>* depth, int64_t* count) const {
  std::lock_guard<std::mutex> lock(mu_);
  *count = 0;
  for (const auto& [name, vs] : loaded_) {
    int64_t d = 0;
    for (const auto& [v, mv] : vs) {
      d += static_cast<int64_t>(mv->queue->depth());
      (*count)++;
    }
    (*depth)[name] = d;
  }
}

}  // namespace morsel::server
