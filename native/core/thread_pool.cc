#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>

namespace md {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int slot = 1; slot < threads; ++slot) workers_.emplace_back([this, slot] { worker_loop(slot); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_tasks(int slot) {
  for (;;) {
    std::size_t i;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_task_ >= n_tasks_ || first_error_) return;
      i = next_task_++;
    }
    try {
      (*task_)(i, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_error_) first_error_ = std::current_exception();
    }
  }
}

void ThreadPool::worker_loop(int slot) {
  unsigned long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (slot >= active_slots_) continue;  // not part of this job
    }
    run_tasks(slot);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_workers_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t, int)>& task, int max_threads) {
  run_job(n, task, nullptr, max_threads);
}

void ThreadPool::parallel_for_led(std::size_t n, const std::function<void(std::size_t, int)>& task,
                                  const std::function<void()>& lead, int max_threads) {
  run_job(n, task, &lead, max_threads);
}

namespace {
// True on a thread while it runs a job's lead: the lead may call back into code that starts a
// job of its own (a JS getter on the texts array calling the addon again), which must then run
// inline, since this thread already holds job_mutex_.
thread_local bool leading_a_job = false;
}  // namespace

void ThreadPool::run_job(std::size_t n, const std::function<void(std::size_t, int)>& task,
                         const std::function<void()>* lead, int max_threads) {
  int slots = size();
  if (max_threads > 0) slots = std::min(slots, max_threads);
  slots = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(slots), n));
  if (slots <= 1 || leading_a_job) {
    if (lead) (*lead)();
    for (std::size_t i = 0; i < n; ++i) task(i, 0);
    return;
  }
  std::lock_guard<std::mutex> job_lock(job_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    n_tasks_ = n;
    next_task_ = 0;
    active_slots_ = slots;
    pending_workers_ = slots - 1;
    first_error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  std::exception_ptr lead_error;
  if (lead) {
    leading_a_job = true;
    try {
      (*lead)();
    } catch (...) {
      lead_error = std::current_exception();
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_error_) first_error_ = lead_error;  // hands out no further task
    }
    leading_a_job = false;
  }
  run_tasks(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_workers_ == 0; });
    error = lead_error ? lead_error : first_error_;
    first_error_ = nullptr;
    task_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

ThreadPool& global_thread_pool() {
  static ThreadPool pool([] {
    const char* env = std::getenv("MODEL_DISTILL_THREADS");
    int n = env ? std::atoi(env) : 0;
    return n > 0 ? n : 0;
  }());
  return pool;
}

}  // namespace md
