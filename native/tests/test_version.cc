#include <string>

#include "check.h"
#include "cpu_features.h"
#include "version.h"

TEST(simd_level_is_one_of_the_known_names) {
  const std::string level = md::simd_level();
  CHECK(level == "avx512" || level == "avx2" || level == "scalar");
}

TEST(avx512_is_only_reported_with_avx2) {
  const md::CpuFeatures& f = md::cpu_features();
  CHECK(!f.avx512f || f.avx2_fma);
}

CHECK_MAIN()
