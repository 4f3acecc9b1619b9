// InferenceQueue: the bounded queue and worker threads of one model version, with dynamic
// batching. Each worker owns its Classifiers (a Session is not thread-safe), one per batch size
// it has used (powers of two up to max_batch), and runs decode + preprocess + inference for the
// jobs it takes, so all CPU work happens on the workers and none on the I/O threads.
//
// Lifetime: the owner (a ModelVersion) may be destroyed from a worker thread (when a job's
// completion drops the last reference); the destructor then detaches that thread instead of
// joining it. Jobs keep their ModelVersion alive, so a version is destroyed only when its queue
// is empty: in-flight requests always finish on the version that accepted them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "image/decode/decode.h"
#include "runtime/classifier.h"
#include "server/http-types.h"

namespace morsel::server {

class Metrics;

struct BatchOptions {
  int max_batch = 8;                // images per engine run
  double max_queue_delay_ms = 0;    // wait this long for a batch to fill (0: run what is queued)
  int max_queue = 64;               // jobs waiting; submit() refuses more (429)
  int workers = 1;                  // worker threads (each with its own Sessions)
  int threads_per_worker = 1;       // SessionOptions::threads
  double test_delay_ms = 0;         // fault injection for tests: sleep after every batch
  double test_warmup_delay_ms = 0;  // ... and after each warm-up run
  DecodeLimits decode;
};

// One image of a job.
struct InferInput {
  enum class Kind {
    ENCODED,  // JPEG/PNG/WebP bytes: decoded, then preprocessed
    PIXELS,   // RGB8, width x height x 3: preprocessed
    TENSOR,   // f32 [H][W][3], already the model's input: copied as is
  };
  Kind kind = Kind::ENCODED;
  const uint8_t* data = nullptr;  // borrowed from `owner`
  size_t size = 0;                // bytes
  int width = 0, height = 0;      // PIXELS
  std::shared_ptr<const void> owner;
};

struct InferTimings {
  double queue_ms = 0;
  double decode_ms = 0;      // this job's images
  double preprocess_ms = 0;  // this job's images
  double inference_ms = 0;   // the whole batch the job ran in
  int batch_size = 0;        // images in that batch
};

struct InferOutcome {
  enum class Kind { OK, ERROR, DEADLINE, SHUTDOWN };
  Kind kind = Kind::OK;
  Status status;  // ERROR: what went wrong (image errors keep their code)
  Tensor probs;   // OK: [images, classes] probabilities
  InferTimings timings;
};

struct InferJob {
  std::vector<InferInput> inputs;
  Clock::time_point enqueued;
  Clock::time_point deadline;
  // Called exactly once with the outcome, from a worker thread (or from shutdown()).
  std::function<void(InferOutcome&&)> done;
};

class InferenceQueue {
 public:
  // `classifiers`: one per worker, made from `model`, prepared for batch 1 and warmed up.
  // `label` names the model in metrics.
  InferenceQueue(std::string label, std::shared_ptr<const Model> model,
                 std::vector<std::unique_ptr<Classifier>> classifiers, const BatchOptions& options,
                 Metrics* metrics);
  ~InferenceQueue();
  InferenceQueue(const InferenceQueue&) = delete;
  InferenceQueue& operator=(const InferenceQueue&) = delete;

  enum class Submit { OK, FULL, STOPPED };
  // Queues the job unless the queue is full or stopped; `done` is not called when refused.
  Submit submit(InferJob&& job);
  size_t depth() const;
  // Stops the workers after their current batch and answers queued jobs with SHUTDOWN.
  void shutdown();

  struct State;

 private:
  std::shared_ptr<State> st_;
};

}  // namespace morsel::server
