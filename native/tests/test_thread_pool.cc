#include <atomic>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "thread_pool.h"

TEST(parallel_for_runs_every_task_once) {
  md::ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallel_for(hits.size(), [&](std::size_t i, int slot) {
    CHECK(slot >= 0 && slot < 3);
    hits[i]++;
  });
  for (auto& h : hits) CHECK_EQ(h.load(), 1);
}

TEST(slots_are_exclusive_while_running) {
  md::ThreadPool pool(4);
  std::vector<std::atomic<int>> busy(4);
  std::atomic<int> clashes{0};
  pool.parallel_for(2000, [&](std::size_t, int slot) {
    if (busy[slot]++ != 0) clashes++;
    busy[slot]--;
  });
  CHECK_EQ(clashes.load(), 0);
}

TEST(max_threads_limits_the_slots) {
  md::ThreadPool pool(4);
  std::atomic<int> max_slot{0};
  pool.parallel_for(500, [&](std::size_t, int slot) {
    int seen = max_slot.load();
    while (slot > seen && !max_slot.compare_exchange_weak(seen, slot)) {
    }
  }, 2);
  CHECK(max_slot.load() <= 1);
}

TEST(first_exception_is_rethrown_after_join_and_pool_stays_usable) {
  md::ThreadPool pool(2);
  bool threw = false;
  try {
    pool.parallel_for(100, [&](std::size_t i, int) {
      if (i == 17) throw std::runtime_error("task 17 failed");
    });
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "task 17 failed";
  }
  CHECK(threw);
  std::atomic<int> count{0};
  pool.parallel_for(10, [&](std::size_t, int) { count++; });
  CHECK_EQ(count.load(), 10);
}

CHECK_MAIN()
