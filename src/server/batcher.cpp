// InferenceQueue: batch formation, per-image decode/preprocess and chunked engine runs.
#include "server/batcher.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "server/metrics.h"

namespace morsel::server {

struct InferenceQueue::State {
  std::string label;
  BatchOptions options;
  Metrics* metrics = nullptr;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<InferJob> queue;
  bool stop = false;
  std::vector<std::thread> threads;
};

namespace {

using State = InferenceQueue::State;

double seconds(double ms) {
  return ms / 1000.0;
}

// A worker's engines: one Classifier per batch size (1, 2, 4, ... up to max_batch).
struct Engines {
  std::shared_ptr<const Model> model;
  SessionOptions session_options;
  std::map<int64_t, std::unique_ptr<Classifier>> by_batch;
  // The preprocessed images of a batch: kept between batches (no allocation and zero-fill of
  // a few hundred KB per request), grown when a larger batch comes.
  std::vector<float> input;

  // The largest engine run (a power of two, at most max_batch) whose activations stay within
  // the micro-batch cache budget (runtime/session.h): one Session per run size, each with its
  // own arena, so a model whose images do not fit two at a time keeps one Session per worker
  // (for MobileNetV2 at one thread per worker, a 4 MB arena per image: runs of one).
  int64_t max_run = 0;
  int64_t run_limit(int max_batch) {
    if (max_run > 0) return max_run;
    Result<Classifier*> one = get(1);
    if (!one.ok()) return 1;
    const int64_t per_image = std::max<int64_t>(1, one.value()->session().batch1_activation_bytes());
    const int64_t budget = micro_batch_bytes(session_options.threads);
    max_run = 1;
    while (max_run * 2 <= max_batch && max_run * 2 * per_image <= budget) max_run *= 2;
    return max_run;
  }

  float* input_floats(int64_t n) {
    if (static_cast<int64_t>(input.size()) < n) input.resize(static_cast<size_t>(n));
    return input.data();
  }

  Result<Classifier*> get(int64_t batch) {
    auto it = by_batch.find(batch);
    if (it != by_batch.end()) return it->second.get();
    // Sessions for other run sizes share the first one's packed weights (one copy per worker:
    // MobileNetV2 at runs of up to 2, 84 -> 65 MiB resident; bench/serve/run.sh).
    SessionOptions opts = session_options;
    if (!by_batch.empty()) opts.share_packed_from = &by_batch.begin()->second->session();
    MORSEL_ASSIGN_OR_RETURN(std::unique_ptr<Classifier> c, Classifier::create(model, opts));
    MORSEL_RETURN_IF_ERROR(c->session().prepare(batch));
    Classifier* p = c.get();
    by_batch[batch] = std::move(c);
    return p;
  }
};

// Fills `out` (f32 [H][W][3]) from one input; adds to the job's decode/preprocess times.
Status fill_row(const InferInput& in, const PreprocessSpec& spec, const DecodeLimits& limits,
                float* out, InferTimings* t, Metrics* metrics, const std::string& label) {
  switch (in.kind) {
    case InferInput::Kind::ENCODED: {
      const auto t0 = Clock::now();
      Result<Image> img = image_decode(in.data, in.size, limits);
      const auto t1 = Clock::now();
      t->decode_ms += ms_between(t0, t1);
      if (metrics) metrics->observe_decode(label, seconds(ms_between(t0, t1)));
      if (!img.ok()) return img.status();
      MORSEL_RETURN_IF_ERROR(preprocess(img.value(), spec, out));
      t->preprocess_ms += ms_between(t1, Clock::now());
      return Status();
    }
    case InferInput::Kind::PIXELS: {
      const auto t0 = Clock::now();
      MORSEL_RETURN_IF_ERROR(
          preprocess(in.data, in.width, in.height, 3, int64_t{in.width} * 3, spec, out));
      t->preprocess_ms += ms_between(t0, Clock::now());
      return Status();
    }
    case InferInput::Kind::TENSOR: {
      const size_t n = static_cast<size_t>(spec.height * spec.width * 3) * sizeof(float);
      if (in.size != n) return MORSEL_ERROR(INVALID_ARGUMENT, "input tensor has the wrong size");
      std::memcpy(out, in.data, n);
      return Status();
    }
  }
  return MORSEL_ERROR(INTERNAL, "unknown input kind");
}

void finish(InferJob& job, InferOutcome&& o) {
  auto done = std::move(job.done);
  job.done = nullptr;
  if (done) done(std::move(o));
}

// Takes the next batch of jobs (blocking); false when stopping.
bool take_batch(State& st, std::vector<InferJob>* batch) {
  batch->clear();
  std::unique_lock<std::mutex> lock(st.mu);
  st.cv.wait(lock, [&] { return st.stop || !st.queue.empty(); });
  if (st.stop) return false;
  const int64_t max_batch = std::max(1, st.options.max_batch);
  batch->push_back(std::move(st.queue.front()));
  st.queue.pop_front();
  int64_t images = static_cast<int64_t>(batch->front().inputs.size());
  const auto fill_deadline =
      batch->front().enqueued +
      std::chrono::microseconds(static_cast<int64_t>(st.options.max_queue_delay_ms * 1000));
  while (images < max_batch) {
    if (st.queue.empty()) {
      if (st.options.max_queue_delay_ms <= 0 || Clock::now() >= fill_deadline) break;
      st.cv.wait_until(lock, fill_deadline, [&] { return st.stop || !st.queue.empty(); });
      if (st.stop) break;
      continue;
    }
    const int64_t n = static_cast<int64_t>(st.queue.front().inputs.size());
    if (images + n > max_batch) break;
    images += n;
    batch->push_back(std::move(st.queue.front()));
    st.queue.pop_front();
  }
  return true;
}

void run_batch(State& st, Engines& engines, std::vector<InferJob>& batch) {
  const Model& model = *engines.model;
  const PreprocessSpec& spec = model.meta.preprocess;
  const int64_t row = spec.height * spec.width * 3;
  const auto start = Clock::now();

  struct Slot {
    size_t job;
    int64_t first_row = 0, rows = 0;
    InferTimings t;
  };
  std::vector<Slot> slots;
  int64_t total = 0;
  for (size_t j = 0; j < batch.size(); j++) {
    InferJob& job = batch[j];
    if (start > job.deadline) {
      if (st.metrics) st.metrics->count_rejected(st.label, "deadline");
      InferOutcome o;
      o.kind = InferOutcome::Kind::DEADLINE;
      finish(job, std::move(o));
      continue;
    }
    const double queue_ms = ms_between(job.enqueued, start);
    if (st.metrics) st.metrics->observe_queue(st.label, seconds(queue_ms));
    total += static_cast<int64_t>(job.inputs.size());
    slots.push_back({j, 0, 0, {}});
    slots.back().t.queue_ms = queue_ms;
  }
  if (slots.empty()) return;

  float* x = engines.input_floats(total * row);
  int64_t cursor = 0;
  std::vector<Slot> ready;
  for (Slot& s : slots) {
    InferJob& job = batch[s.job];
    s.first_row = cursor;
    Status st_fill;
    for (const InferInput& in : job.inputs) {
      st_fill = fill_row(in, spec, st.options.decode, x + (s.first_row + s.rows) * row,
                         &s.t, st.metrics, st.label);
      if (!st_fill.ok()) break;
      s.rows++;
    }
    if (!st_fill.ok()) {
      InferOutcome o;
      o.kind = InferOutcome::Kind::ERROR;
      o.status = st_fill;
      finish(job, std::move(o));
      continue;
    }
    cursor += s.rows;
    ready.push_back(s);
  }
  if (ready.empty()) return;

  // Engine runs in power-of-two chunks, so each worker keeps at most log2(max_batch)+1 Sessions.
  const auto t_inf = Clock::now();
  const int64_t max_run = engines.run_limit(std::max(1, st.options.max_batch));
  Tensor probs;
  Status run_status;
  int64_t classes = 0;
  for (int64_t off = 0; off < cursor && run_status.ok();) {
    int64_t b = 1;
    while (b * 2 <= cursor - off && b * 2 <= max_run) b *= 2;
    Result<Classifier*> c = engines.get(b);
    if (!c.ok()) {
      run_status = c.status();
      break;
    }
    Tensor chunk =
        Tensor::borrow(DType::F32, {b, spec.height, spec.width, 3}, x + off * row);
    Result<Tensor> y = c.value()->run_batch(chunk);
    if (!y.ok()) {
      run_status = y.status();
      break;
    }
    if (probs.empty()) {
      classes = y.value().dim(1);
      probs = Tensor(DType::F32, {cursor, classes});
    }
    std::memcpy(probs.mut<float>() + off * classes, y.value().data<float>(),
                static_cast<size_t>(b * classes) * sizeof(float));
    off += b;
  }
  if (st.options.test_delay_ms > 0)
    std::this_thread::sleep_for(
        std::chrono::microseconds(static_cast<int64_t>(st.options.test_delay_ms * 1000)));
  const double inference_ms = ms_between(t_inf, Clock::now());
  if (st.metrics && run_status.ok())
    st.metrics->observe_inference(st.label, seconds(inference_ms), static_cast<int>(cursor));

  for (Slot& s : ready) {
    InferOutcome o;
    if (!run_status.ok()) {
      o.kind = InferOutcome::Kind::ERROR;
      o.status = run_status;
    } else {
      o.probs = Tensor(DType::F32, {s.rows, classes});
      std::memcpy(o.probs.mut<float>(), probs.data<float>() + s.first_row * classes,
                  static_cast<size_t>(s.rows * classes) * sizeof(float));
      o.timings = s.t;
      o.timings.inference_ms = inference_ms;
      o.timings.batch_size = static_cast<int>(cursor);
    }
    finish(batch[s.job], std::move(o));
  }
}

void worker_loop(std::shared_ptr<State> st, Engines engines) {
  std::vector<InferJob> batch;
  while (take_batch(*st, &batch)) {
    try {
      run_batch(*st, engines, batch);
    } catch (const std::bad_alloc&) {
      for (InferJob& job : batch) {
        InferOutcome o;
        o.kind = InferOutcome::Kind::ERROR;
        o.status = MORSEL_ERROR(OUT_OF_MEMORY, "out of memory");
        finish(job, std::move(o));
      }
    } catch (...) {
      for (InferJob& job : batch) {
        InferOutcome o;
        o.kind = InferOutcome::Kind::ERROR;
        o.status = MORSEL_ERROR(INTERNAL, "exception in inference worker");
        finish(job, std::move(o));
      }
    }
    // Jobs (and their completions, which may own the last reference to this queue's version)
    // are released here, outside the lock.
    batch.clear();
  }
}

}  // namespace

InferenceQueue::InferenceQueue(std::string label, std::shared_ptr<const Model> model,
                               std::vector<std::unique_ptr<Classifier>> classifiers,
                               const BatchOptions& options, Metrics* metrics)
    : st_(std::make_shared<State>()) {
  st_->label = std::move(label);
  st_->options = options;
  st_->metrics = metrics;
  for (auto& c : classifiers) {
    Engines e;
    e.model = model;
    SessionOptions so;
    so.threads = std::max(1, options.threads_per_worker);
    e.session_options = so;
    e.by_batch[1] = std::move(c);
    st_->threads.emplace_back(worker_loop, st_, std::move(e));
  }
}

void InferenceQueue::shutdown() {
  std::deque<InferJob> rest;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    st_->stop = true;
    rest.swap(st_->queue);
    threads.swap(st_->threads);
  }
  st_->cv.notify_all();
  for (std::thread& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
  for (InferJob& job : rest) {
    InferOutcome o;
    o.kind = InferOutcome::Kind::SHUTDOWN;
    finish(job, std::move(o));
  }
}

InferenceQueue::~InferenceQueue() {
  shutdown();
}

InferenceQueue::Submit InferenceQueue::submit(InferJob&& job) {
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    if (st_->stop) return Submit::STOPPED;
    if (static_cast<int64_t>(st_->queue.size()) >= std::max(1, st_->options.max_queue)) {
      if (st_->metrics) st_->metrics->count_rejected(st_->label, "queue_full");
      return Submit::FULL;
    }
    st_->queue.push_back(std::move(job));
  }
  st_->cv.notify_one();
  return Submit::OK;
}

size_t InferenceQueue::depth() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->queue.size();
}

}  // namespace morsel::server
