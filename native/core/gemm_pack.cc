// Packing of op(A) and op(B) blocks for sgemm's blocked path (gemm_pack.h).
#include "gemm_pack.h"

#include <algorithm>
#include <cstring>

#include "simd.h"

namespace md {

namespace {

// ---- transposing pack: dst[p * R + r] = src[r * ld + p] (r < rows, p < kc), 0 for r in [rows, R) ----
// The packs of a row-major A and of a transposed B are this transpose of a
// rows x kc block. Element by element it is a strided scatter (a store every
// R floats) costing tens of times a multiply-add of the micro-kernel, which
// made packing a third of the kernel's time at the teacher's shapes (N = 256).
// With SIMD: 8 x 8 blocks by AVX shuffles, then 4 x 4 blocks by SSE, then
// single elements; every one writes the same values.
void interleave_rows_scalar(const float* src, long ld, int rows, int R, int kc, int r0, int p0, float* dst) {
  for (int p = p0; p < kc; ++p)
    for (int r = r0; r < rows; ++r) dst[static_cast<long>(p) * R + r] = src[r * ld + p];
}

#ifdef MD_SIMD_X86
// A transpose by shuffles, not a Vec<W> operation, and only this AVX2 form exists (the AVX-512
// level uses it too): so a target attribute here rather than a file per level.
__attribute__((target("avx2"))) void interleave_rows_simd(const float* src, long ld, int rows, int R, int kc,
                                                          float* dst) {
  int r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    const float* s = src + r0 * ld;
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * ld + p);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* d = dst + static_cast<long>(p) * R + r0;
      _mm256_storeu_ps(d + 0 * R, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * R, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * R, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * R, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * R, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * R, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * R, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * R, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; p < kc; ++p)
      for (int i = 0; i < 8; ++i) dst[static_cast<long>(p) * R + r0 + i] = s[i * ld + p];
  }
  for (; r0 + 4 <= rows; r0 += 4) {
    const float* s = src + r0 * ld;
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
      __m128 a = _mm_loadu_ps(s + p), b = _mm_loadu_ps(s + ld + p), c = _mm_loadu_ps(s + 2 * ld + p),
             e = _mm_loadu_ps(s + 3 * ld + p);
      _MM_TRANSPOSE4_PS(a, b, c, e);
      float* d = dst + static_cast<long>(p) * R + r0;
      _mm_storeu_ps(d, a);
      _mm_storeu_ps(d + R, b);
      _mm_storeu_ps(d + 2 * R, c);
      _mm_storeu_ps(d + 3 * R, e);
    }
    for (; p < kc; ++p)
      for (int i = 0; i < 4; ++i) dst[static_cast<long>(p) * R + r0 + i] = s[i * ld + p];
  }
  interleave_rows_scalar(src, ld, rows, R, kc, r0, 0, dst);
}
#endif

void interleave_rows(const float* src, long ld, int rows, int R, int kc, float* dst, bool simd) {
#ifdef MD_SIMD_X86
  if (simd)
    interleave_rows_simd(src, ld, rows, R, kc, dst);
  else
#endif
    interleave_rows_scalar(src, ld, rows, R, kc, 0, 0, dst);
  if (rows < R)
    for (int p = 0; p < kc; ++p)
      std::fill(dst + static_cast<long>(p) * R + rows, dst + static_cast<long>(p) * R + R, 0.0f);
}

}  // namespace

void gemm_pack_a(bool trans_a, const float* A, int lda, int i0, int p0, int mc, int kc, int mr, float* dst, bool simd) {
  for (int ip = 0; ip < mc; ip += mr) {
    const int rows = std::min(mr, mc - ip);
    float* panel = dst + static_cast<long>(ip) * kc;
    if (!trans_a) {
      // a(i, p) = A[i * lda + p]: each row is contiguous in p.
      interleave_rows(A + static_cast<long>(i0 + ip) * lda + p0, lda, rows, mr, kc, panel, simd);
    } else {
      // a(i, p) = A[p * lda + i]: each k step is contiguous in i.
      for (int p = 0; p < kc; ++p) {
        const float* src = A + static_cast<long>(p0 + p) * lda + i0 + ip;
        float* out = panel + p * mr;
        for (int r = 0; r < rows; ++r) out[r] = src[r];
        for (int r = rows; r < mr; ++r) out[r] = 0.0f;
      }
    }
  }
}

void gemm_pack_b(bool trans_b, const float* B, int ldb, int p0, int j0, int kc, int nc, int nr, float* dst, bool simd) {
  for (int jp = 0; jp < nc; jp += nr) {
    const int cols = std::min(nr, nc - jp);
    float* panel = dst + static_cast<long>(jp) * kc;
    if (!trans_b) {
      // b(p, j) = B[p * ldb + j]: each k step is contiguous in j.
      for (int p = 0; p < kc; ++p) {
        const float* src = B + static_cast<long>(p0 + p) * ldb + j0 + jp;
        float* out = panel + p * nr;
        std::memcpy(out, src, sizeof(float) * cols);
        for (int j = cols; j < nr; ++j) out[j] = 0.0f;
      }
    } else {
      // b(p, j) = B[j * ldb + p]: each column is contiguous in p.
      interleave_rows(B + static_cast<long>(j0 + jp) * ldb + p0, ldb, cols, nr, kc, panel, simd);
    }
  }
}

}  // namespace md
