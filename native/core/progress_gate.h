// How far a producer has got, for consumers on other threads that start before it is done.
//
// Used by ThreadPool::parallel_for_led: the calling thread produces the input (for encodeBatch,
// the texts copied out of JS, which only that thread may do) while the pool's other threads
// already work on the part that is ready. publish(k) says items [0, k) are written (a release
// store: what was written before it is visible to a thread whose wait_for saw it); abort() frees
// every waiter when the producer fails.
#pragma once
#include <atomic>
#include <cstddef>
#include <thread>

namespace md {

class ProgressGate {
 public:
  void publish(std::size_t ready) { ready_.store(ready, std::memory_order_release); }
  void abort() { aborted_.store(true, std::memory_order_release); }

  // Waits until items [0, needed) are published; false if the producer aborted first. Spins
  // briefly (the producer is usually a few microseconds ahead), then yields the core: on a busy
  // machine a waiter must not take the producer's time.
  bool wait_for(std::size_t needed) const {
    for (int spins = 0;; ++spins) {
      if (ready_.load(std::memory_order_acquire) >= needed) return true;
      if (aborted_.load(std::memory_order_acquire)) return false;
      if (spins >= kSpinsBeforeYield) std::this_thread::yield();
    }
  }

 private:
  static constexpr int kSpinsBeforeYield = 256;
  std::atomic<std::size_t> ready_{0};
  std::atomic<bool> aborted_{false};
};

}  // namespace md
