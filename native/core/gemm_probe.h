// Speed probes for the benchmarks (bench/teacher.ts): how fast md::sgemm runs at
// a given shape, and the machine's measured FMA peak at the level sgemm uses,
// so GEMM GFLOP/s can be read against what the core could do at best.
// Not used by any model; single-threaded; they block the caller for about
// `seconds` each.
#pragma once

namespace md {

// GFLOP/s (2*M*N*K per call) of md::sgemm on random data of this shape
// (C = op(A) op(B), beta 0), after one untimed warm-up call; repeats for at
// least `seconds` and returns the best of three timed spans.
double sgemm_gflops(bool trans_a, bool trans_b, int M, int N, int K, double seconds);

// GFLOP/s of a loop of independent register FMAs at the widest level the CPU
// allows (the same level sgemm uses; MODEL_DISTILL_SIMD caps it): the
// practical single-core peak of any matrix product at that level.
double fma_peak_gflops(double seconds);

}  // namespace md
