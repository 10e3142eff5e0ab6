#include <atomic>
#include <string>
#include <thread>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "progress_gate.h"
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

// parallel_for_led: the lead runs on the calling thread while the other slots take tasks that
// wait for its output; everything the lead publishes is visible to the task that waits for it.
TEST(led_job_tasks_see_what_the_lead_published) {
  md::ThreadPool pool(3);
  const std::size_t n = 2000;
  std::vector<int> input(n, 0);
  std::vector<int> output(n, 0);
  md::ProgressGate gate;
  const std::thread::id caller = std::this_thread::get_id();
  bool lead_on_caller = false;
  pool.parallel_for_led(
      n,
      [&](std::size_t i, int) {
        if (!gate.wait_for(i + 1)) return;
        output[i] = input[i] * 2;
      },
      [&] {
        lead_on_caller = std::this_thread::get_id() == caller;
        for (std::size_t i = 0; i < n; ++i) {
          input[i] = static_cast<int>(i) + 1;
          gate.publish(i + 1);
        }
      });
  CHECK(lead_on_caller);
  for (std::size_t i = 0; i < n; ++i) CHECK_EQ(output[i], 2 * (static_cast<int>(i) + 1));
}

TEST(led_job_rethrows_the_lead_error_and_frees_the_waiting_tasks) {
  md::ThreadPool pool(2);
  md::ProgressGate gate;
  std::atomic<int> ran{0};
  bool threw = false;
  try {
    pool.parallel_for_led(
        100,
        [&](std::size_t i, int) {
          if (gate.wait_for(i + 1)) ran++;
        },
        [&] {
          gate.publish(10);
          gate.abort();
          throw std::runtime_error("lead failed");
        });
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "lead failed";
  }
  CHECK(threw);
  CHECK(ran.load() <= 10);
  std::atomic<int> count{0};
  pool.parallel_for(10, [&](std::size_t, int) { count++; });
  CHECK_EQ(count.load(), 10);
}

// A lead that starts another job (a JS getter calling the addon again) must not deadlock on the
// pool: the inner job runs inline on the calling thread.
TEST(a_job_started_inside_a_lead_runs_inline) {
  md::ThreadPool pool(2);
  md::ProgressGate gate;
  std::atomic<int> inner{0};
  std::atomic<int> outer{0};
  pool.parallel_for_led(
      4,
      [&](std::size_t, int) {
        if (gate.wait_for(1)) outer++;
      },
      [&] {
        pool.parallel_for(50, [&](std::size_t, int slot) {
          CHECK_EQ(slot, 0);
          inner++;
        });
        gate.publish(1);
      });
  CHECK_EQ(inner.load(), 50);
  CHECK_EQ(outer.load(), 4);
}

CHECK_MAIN()
