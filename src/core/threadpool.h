// A small thread pool for parallel-for over independent tasks (output tiles). The calling
// thread takes part, so ThreadPool(1) runs everything inline with no synchronization.
// Workers spin briefly between jobs (ops follow each other within microseconds during a run),
// then sleep on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace morsel {

class ThreadPool {
 public:
  // `threads` in total, including the caller; clamped to 1..256 (to 1 in a wasm build without
  // pthreads).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls fn(task, thread_index) for every task in [0, tasks), spread over the threads, and
  // returns when all are done. thread_index is in [0, threads()). Not reentrant: one job at a
  // time per pool (a Session owns its pool and runs one op at a time).
  template <typename F>
  void parallel_for(int64_t tasks, F&& fn) {
    if (tasks <= 0) return;
    if (threads_ == 1 || tasks == 1) {
      for (int64_t t = 0; t < tasks; t++) fn(t, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    run(tasks, [](void* ctx, int64_t t, int tid) { (*static_cast<Fn*>(ctx))(t, tid); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using TaskFn = void (*)(void* ctx, int64_t task, int tid);
  void run(int64_t tasks, TaskFn fn, void* ctx);
  void worker(int tid);
  void work(int tid);

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};  // workers still working on the current job
  std::atomic<bool> stop_{false};
  int64_t tasks_ = 0;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace morsel
