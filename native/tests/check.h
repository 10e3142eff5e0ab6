// A minimal test harness for the C++ unit tests of native/core (no framework to
// install). Each test file defines TEST cases; main() runs them all, prints one
// line per failure with file:line, and returns non-zero if any check failed.
#pragma once
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what.c_str());
  ++failures();
}

inline int run_all() {
  int failed_cases = 0;
  for (const Case& c : registry()) {
    const int before = failures();
    try {
      c.body();
    } catch (const std::exception& e) {
      fail(c.name, 0, std::string("uncaught exception: ") + e.what());
    }
    const bool ok = failures() == before;
    if (!ok) ++failed_cases;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
  }
  std::printf("%zu passed, %d failed\n", registry().size() - failed_cases, failed_cases);
  return failed_cases == 0 ? 0 : 1;
}

}  // namespace check

#define CHECK_CONCAT2(a, b) a##b
#define CHECK_CONCAT(a, b) CHECK_CONCAT2(a, b)
#define TEST(name)                                                              \
  static void name();                                                           \
  static check::Register CHECK_CONCAT(register_, name)(#name, name);            \
  static void name()

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) check::fail(__FILE__, __LINE__, #cond);                        \
  } while (0)

#define CHECK_EQ(a, b)                                                          \
  do {                                                                          \
    auto check_a_ = (a);                                                        \
    auto check_b_ = (b);                                                        \
    if (!(check_a_ == check_b_))                                                \
      check::fail(__FILE__, __LINE__, std::string(#a " == " #b));               \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                   \
  do {                                                                          \
    double check_a_ = (a), check_b_ = (b);                                      \
    if (!(std::fabs(check_a_ - check_b_) <= (tol)))                             \
      check::fail(__FILE__, __LINE__,                                           \
                  std::string(#a " ~ " #b ": ") + std::to_string(check_a_) +    \
                      " vs " + std::to_string(check_b_));                       \
  } while (0)

#define CHECK_THROWS(expr)                                                      \
  do {                                                                          \
    bool check_threw_ = false;                                                  \
    try {                                                                       \
      (void)(expr);                                                             \
    } catch (const std::exception&) {                                           \
      check_threw_ = true;                                                      \
    }                                                                           \
    if (!check_threw_) check::fail(__FILE__, __LINE__, "expected a throw: " #expr); \
  } while (0)

#define CHECK_MAIN()                                                            \
  int main() { return check::run_all(); }
