#include "core/threadpool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MORSEL_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define MORSEL_PAUSE() __asm__ __volatile__("yield")
#else
#define MORSEL_PAUSE() ((void)0)
#endif

namespace morsel {

namespace {
// How long an idle worker spins before it sleeps. Ops within one run follow each other within
// microseconds; after the run the workers go to sleep and cost nothing.
constexpr auto kSpin = std::chrono::microseconds(200);
// A wasm build without pthreads cannot start a thread: everything runs on the caller.
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
constexpr int kMaxThreads = 1;
#else
constexpr int kMaxThreads = 256;
#endif
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::clamp(threads, 1, kMaxThreads)) {
  workers_.reserve(static_cast<size_t>(threads_ - 1));
  for (int i = 1; i < threads_; i++) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work(int tid) {
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= tasks_) break;
    fn_(ctx_, t, tid);
  }
}

void ThreadPool::run(int64_t tasks, TaskFn fn, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_ = tasks;
    fn_ = fn;
    ctx_ = ctx;
    next_.store(0, std::memory_order_relaxed);
    active_.store(threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  work(0);
  // Wait for the workers: spin briefly (they finish within microseconds of each other when
  // each has a core), then yield so a worker that lost its core can get it back.
  for (int spins = 0; active_.load(std::memory_order_acquire) != 0; spins++) {
    if (spins < 2000) MORSEL_PAUSE();
    else std::this_thread::yield();
  }
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  for (;;) {
    // Wait for a new generation: spin first, then sleep.
    auto deadline = std::chrono::steady_clock::now() + kSpin;
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      if (++spins < 1000) MORSEL_PAUSE();
      else std::this_thread::yield();  // let other threads of a busy machine run
      if (spins % 64 == 0 && std::chrono::steady_clock::now() > deadline) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        break;
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    work(tid);
    active_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace morsel
