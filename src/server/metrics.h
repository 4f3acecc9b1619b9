// Prometheus metrics (text exposition format 0.0.4) for `morsel serve`: request counts by route
// and status, latency histograms (queue, decode, inference, total), batch sizes, queue depth,
// model load failures. Label values are route templates and model names, never raw URLs, so
// the number of series stays bounded. To add a metric: a member here, a line in render().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace morsel::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double v);
  // Appends the _bucket/_sum/_count lines of `name` with `labels` ("model=\"x\"" or "").
  void render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void count_request(const std::string& route, const std::string& method, int status,
                     double total_seconds);
  void observe_queue(const std::string& model, double seconds);
  void observe_decode(const std::string& model, double seconds);
  void observe_inference(const std::string& model, double seconds, int batch_size);
  void count_load_failure(const std::string& model);
  void count_load_success(const std::string& model);
  void count_rejected(const std::string& model, const std::string& reason);  // queue_full, deadline

  std::atomic<int64_t> open_connections{0};
  std::atomic<int64_t> inflight_requests{0};

  // Gauges read at scrape time: queue depth per model, models ready.
  using GaugeFn = std::function<void(std::map<std::string, int64_t>* queue_depth, int64_t* models)>;
  void set_gauge_source(GaugeFn fn);

  std::string render() const;
  uint64_t load_failures(const std::string& model) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;  // label string -> count
  std::map<std::string, Histogram> request_seconds_, queue_seconds_, decode_seconds_,
      inference_seconds_, batch_size_;
  std::map<std::string, uint64_t> load_failures_, load_successes_, rejected_;
  GaugeFn gauges_;
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string prom_escape(const std::string& v);

}  // namespace morsel::server
