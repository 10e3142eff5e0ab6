#include <string>

#include "check.h"
#include "simd.h"
#include "version.h"

TEST(simd_level_is_one_of_the_known_names) {
  const std::string level = md::simd_level();
  CHECK(level == "avx512" || level == "avx2" || level == "scalar");
}

TEST(simd_level_is_the_default_level_and_the_cpu_runs_it) {
  CHECK(md::simd_level() == md::simd_level_name(md::simd_default_level()));
  CHECK(md::simd_level_supported(md::simd_default_level()));
  CHECK(md::simd_level_supported(md::SimdLevel::scalar));
}

TEST(avx512_is_only_supported_with_avx2) {
  CHECK(!md::simd_level_supported(md::SimdLevel::avx512) || md::simd_level_supported(md::SimdLevel::avx2));
}

CHECK_MAIN()
