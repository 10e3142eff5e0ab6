// The scalar GEMM kernels (the portable level, and the reference the SIMD levels are tested
// against) and the table that picks a level's kernels.
#include "gemm_kernels.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "gemm_kernel_templates.h"

namespace md {

namespace {

// Small M at the scalar level: not the Vec<1> instance of the template, whose axpy blocks would
// sweep all of K once per two columns; here each row of C sweeps the rows of B once (the same
// sums, in the same order per entry).
void small_m_scalar(bool trans_b, int m, int N, int K, float alpha, const float* const* a, const float* B, int ldb,
                    float beta, float* C, int ldc) {
  if (trans_b) {
    for (int j = 0; j < N; ++j) {
      const float* b = B + static_cast<long>(j) * ldb;
      for (int i = 0; i < m; ++i) {
        float sum = 0.0f;
        for (int p = 0; p < K; ++p) sum += a[i][p] * b[p];
        float* c = C + static_cast<long>(i) * ldc + j;
        *c = scaled(sum, alpha, beta, c);
      }
    }
    return;
  }
  thread_local std::vector<float> acc;
  acc.resize(static_cast<std::size_t>(N));
  for (int i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int p = 0; p < K; ++p) {
      const float ap = a[i][p];
      const float* b = B + static_cast<long>(p) * ldb;
      for (int j = 0; j < N; ++j) acc[j] += ap * b[j];
    }
    float* c = C + static_cast<long>(i) * ldc;
    for (int j = 0; j < N; ++j) c[j] = scaled(acc[j], alpha, beta, c + j);
  }
}

}  // namespace

GemmKernels gemm_kernels_scalar() {
  // 4 rows x 8 columns of plain floats.
  return {4, 8, micro_kernel<1, 4, 8>, small_m_scalar, false};
}

GemmKernels gemm_kernels_for(SimdLevel level) {
  switch (level) {
#ifdef MD_SIMD_X86
    case SimdLevel::avx512: return gemm_kernels_avx512();
    case SimdLevel::avx2: return gemm_kernels_avx2();
#endif
    default: return gemm_kernels_scalar();
  }
}

}  // namespace md
