// Metrics: counters and histograms behind one mutex (a few map lookups per request).
#include "server/metrics.h"

#include "core/status.h"

namespace morsel::server {

namespace {

const std::vector<double> kSecondsBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30};
const std::vector<double> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64};

std::string fmt_double(double v) {
  return str_printf("%.9g", v);
}

Histogram& hist(std::map<std::string, Histogram>& m, const std::string& key,
                const std::vector<double>& bounds) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(key, Histogram(bounds)).first;
  return it->second;
}

std::string model_label(const std::string& model) {
  return "model=\"" + prom_escape(model) + "\"";
}

void render_hist_family(const std::string& name, const std::string& help,
                        const std::map<std::string, Histogram>& m, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  for (const auto& [labels, h] : m) h.render(name, labels, out);
}

void render_counter_family(const std::string& name, const std::string& help,
                           const std::map<std::string, uint64_t>& m, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
  for (const auto& [labels, v] : m)
    *out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
}

}  // namespace

std::string prom_escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) i++;
  counts_[i]++;
  sum_ += v;
  count_++;
}

void Histogram::render(const std::string& name, const std::string& labels, std::string* out) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); i++) {
    cum += counts_[i];
    *out += name + "_bucket{" + labels + sep + "le=\"" + fmt_double(bounds_[i]) + "\"} " +
            std::to_string(cum) + "\n";
  }
  cum += counts_.back();
  *out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(cum) + "\n";
  const std::string l = labels.empty() ? "" : "{" + labels + "}";
  *out += name + "_sum" + l + " " + fmt_double(sum_) + "\n";
  *out += name + "_count" + l + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() = default;

void Metrics::count_request(const std::string& route, const std::string& method, int status,
                            double total_seconds) {
  const std::string labels = "route=\"" + prom_escape(route) + "\",method=\"" +
                             prom_escape(method) + "\",status=\"" + std::to_string(status) + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  requests_[labels]++;
  hist(request_seconds_, "route=\"" + prom_escape(route) + "\"", kSecondsBuckets)
      .observe(total_seconds);
}

void Metrics::observe_queue(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  hist(queue_seconds_, model_label(model), kSecondsBuckets).observe(seconds);
}

void Metrics::observe_decode(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  hist(decode_seconds_, model_label(model), kSecondsBuckets).observe(seconds);
}

void Metrics::observe_inference(const std::string& model, double seconds, int batch_size) {
  std::lock_guard<std::mutex> lock(mu_);
  hist(inference_seconds_, model_label(model), kSecondsBuckets).observe(seconds);
  hist(batch_size_, model_label(model), kBatchBuckets).observe(batch_size);
}

void Metrics::count_load_failure(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  load_failures_[model_label(model)]++;
}

void Metrics::count_load_success(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  load_successes_[model_label(model)]++;
}

void Metrics::count_rejected(const std::string& model, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  rejected_[model_label(model) + ",reason=\"" + prom_escape(reason) + "\""]++;
}

uint64_t Metrics::load_failures(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = load_failures_.find(model_label(model));
  return it == load_failures_.end() ? 0 : it->second;
}

void Metrics::set_gauge_source(GaugeFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_ = std::move(fn);
}

std::string Metrics::render() const {
  std::map<std::string, int64_t> depth;
  int64_t models = 0;
  GaugeFn g;
  {
    std::lock_guard<std::mutex> lock(mu_);
    g = gauges_;
  }
  if (g) g(&depth, &models);
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  render_counter_family("morsel_http_requests_total", "HTTP requests by route, method and status.",
                        requests_, &out);
  render_hist_family("morsel_http_request_duration_seconds",
                     "Time from a request fully received to its response ready.", request_seconds_,
                     &out);
  render_hist_family("morsel_queue_duration_seconds", "Time an inference job waited in the queue.",
                     queue_seconds_, &out);
  render_hist_family("morsel_decode_duration_seconds", "Image decode time per image.",
                     decode_seconds_, &out);
  render_hist_family("morsel_inference_duration_seconds", "Engine time per batch.",
                     inference_seconds_, &out);
  render_hist_family("morsel_batch_size", "Images per engine batch.", batch_size_, &out);
  out +=
      "# HELP morsel_queue_depth Inference jobs waiting per model.\n# TYPE morsel_queue_depth "
      "gauge\n";
  for (const auto& [m, d] : depth)
    out += "morsel_queue_depth{" + model_label(m) + "} " + std::to_string(d) + "\n";
  out +=
      "# HELP morsel_models_loaded Model versions loaded and serving.\n# TYPE morsel_models_loaded "
      "gauge\n";
  out += "morsel_models_loaded " + std::to_string(models) + "\n";
  render_counter_family("morsel_model_load_failures_total", "Model versions that failed to load.",
                        load_failures_, &out);
  render_counter_family("morsel_model_loads_total", "Model versions loaded.", load_successes_,
                        &out);
  render_counter_family("morsel_rejected_requests_total",
                        "Inference requests refused (queue full) or past their deadline.",
                        rejected_, &out);
  out +=
      "# HELP morsel_open_connections Open client connections.\n# TYPE morsel_open_connections "
      "gauge\n";
  out += "morsel_open_connections " + std::to_string(open_connections.load()) + "\n";
  out +=
      "# HELP morsel_inflight_requests Requests received and not yet answered.\n# TYPE "
      "morsel_inflight_requests gauge\n";
  out += "morsel_inflight_requests " + std::to_string(inflight_requests.load()) + "\n";
  return out;
}

}  // namespace morsel::server
