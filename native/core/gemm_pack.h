// Packing for the blocked path of sgemm (gemm.cc): copies a block of op(A) or op(B) into the
// exact order the micro-kernel (gemm_kernels.h) reads, contiguous and zero-padded to full MR / NR,
// so all four transpose combinations share one kernel and the kernel never branches on edges
// inside its k loop.
#pragma once

namespace md {

// op(A)[i0 .. i0+mc, p0 .. p0+kc] -> MR-row panels (mr rows each), each kc x mr, zero-padded rows.
void gemm_pack_a(bool trans_a, const float* A, int lda, int i0, int p0, int mc, int kc, int mr, float* dst, bool simd);

// op(B)[p0 .. p0+kc, j0 .. j0+nc] -> NR-column panels (nr columns each), each kc x nr, zero-padded columns.
void gemm_pack_b(bool trans_b, const float* B, int ldb, int p0, int j0, int kc, int nc, int nr, float* dst, bool simd);

}  // namespace md
