// A small persistent thread pool with one operation: parallel_for.
//
// Why persistent: batch-1 inference must not pay a thread start per call.
// Why one job at a time: calls may come from several libuv worker threads at
// once; a mutex serialises whole jobs, which keeps the pool simple and the
// per-thread state (indexed by thread slot) race-free.
// Exceptions thrown by a task are caught on the worker, the remaining tasks are
// skipped, and the first exception is rethrown to the caller after the join.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace md {

class ThreadPool {
 public:
  // threads <= 0 means hardware_concurrency(). Slot 0 is the calling thread.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(i, slot) for i in [0, n), spread over at most max_threads slots
  // (<= 0: all). `slot` is in [0, size()) and unique among concurrently running
  // tasks, so callers can keep per-slot scratch state. Tasks are handed out
  // dynamically (an atomic counter), so uneven tasks balance themselves.
  void parallel_for(std::size_t n, const std::function<void(std::size_t i, int slot)>& task, int max_threads = 0);

  // parallel_for whose calling thread first runs `lead` while the other slots already take
  // tasks, then joins them: a producer and its consumers. `lead` makes the tasks' input (work
  // only the calling thread may do, such as reading JS values) and publishes its progress on a
  // ProgressGate the tasks wait on. If `lead` throws, it must abort that gate first; no further
  // task is handed out and its exception is rethrown after the join.
  void parallel_for_led(std::size_t n, const std::function<void(std::size_t i, int slot)>& task,
                        const std::function<void()>& lead, int max_threads = 0);

 private:
  void run_job(std::size_t n, const std::function<void(std::size_t, int)>& task, const std::function<void()>* lead,
               int max_threads);
  void worker_loop(int slot);
  void run_tasks(int slot);

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Current job (guarded by mutex_ for hand-off; counters are atomics inside run_tasks).
  const std::function<void(std::size_t, int)>* task_ = nullptr;
  std::size_t n_tasks_ = 0;
  std::size_t next_task_ = 0;
  int active_slots_ = 0;      // how many worker slots take part in this job
  int pending_workers_ = 0;   // workers that have not finished this job
  unsigned long generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr first_error_;
};

// The process-wide pool (threads = hardware concurrency, or
// MODEL_DISTILL_THREADS when set). Created on first use.
ThreadPool& global_thread_pool();

}  // namespace md
