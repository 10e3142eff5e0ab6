// The one SIMD header of the core: which instruction-set level this CPU runs
// (detected once, at run time), and simd::Vec<W>, the float operations the kernels
// share at every width (in the manner of ggml's SIMD mapping header).
//
// Why run time: a published build must run on any x86-64, so nothing is
// compiled with -march=native. Kernels exist per level and are picked with
// simd_default_level().
//
// Why Vec<W>: a kernel is written once as a template over the lane count W and
// instantiated per level: Vec<8> (AVX2 + FMA, 8 floats), Vec<16> (AVX-512F,
// 16 floats), Vec<1> (plain float, the portable fallback). The AVX2
// instantiation runs on every machine of CI, and it is the same code as the
// AVX-512 one, which needs a CPU with AVX-512 to run.
//
// Vec<8> and Vec<16> exist only where the compiler targets that instruction
// set, so a kernel instantiated for them lives in its own file compiled with
// the level's flags (e.g. gemm_kernels_avx2.cc; CMakeLists.txt sets -mavx2
// -mfma / -mavx512f on those files only). Every Vec member is always inlined:
// no out-of-line copy compiled for one level can be shared with a file of
// another level (the linker would keep any one copy of an inline function).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#define MD_SIMD_X86 1
#include <immintrin.h>
#endif

namespace md {

// Instruction-set levels, narrowest first (they compare: level >= SimdLevel::avx2).
enum class SimdLevel { scalar = 0, avx2 = 1, avx512 = 2 };

// True when this CPU can run `level` (whatever MODEL_DISTILL_SIMD says). avx2 means AVX2 and FMA.
bool simd_level_supported(SimdLevel level);
// The widest supported level, capped by MODEL_DISTILL_SIMD=scalar|avx2 in the environment (so
// tests can run every path on one machine). Detected on the first call, then cached.
SimdLevel simd_default_level();
// "scalar", "avx2" or "avx512".
const char* simd_level_name(SimdLevel level);
// Throws std::invalid_argument naming `what` and the level when this CPU cannot run `level`.
void check_simd_level_supported(SimdLevel level, const char* what);

#define MD_SIMD_INLINE inline __attribute__((always_inline))

// In its own namespace: "Vec" is a common local name (e.g. a std::vector alias) in md.
namespace simd {

// Vec<W>: F is a vector of W floats, Mask selects lanes for loads and stores at the edges.
//   zero(), set1(x), broadcast(p) (= set1(*p)), load(p), store(p, v),
//   first_lanes(n) (lanes [0, n) on; n <= 0: none, n >= W: all),
//   load(p, mask) (off lanes read as 0 and never touched), store(p, mask, v),
//   add(a, b), mul(a, b), fma(a, b, c) = a * b + c (one rounding where the level has FMA),
//   reduce_add(v): the lanes' sum by halving (lane i + lane i + W/2, then W/4, ...), so every
//   level sums in the same pairwise order.
// kRegisters: the vector registers of the level, for choosing how many accumulators a kernel keeps.
template <int W>
struct Vec;

template <>
struct Vec<1> {
  using F = float;
  using Mask = bool;
  static constexpr int kLanes = 1;
  static constexpr int kRegisters = 16;
  static MD_SIMD_INLINE F zero() { return 0.0f; }
  static MD_SIMD_INLINE F set1(float x) { return x; }
  static MD_SIMD_INLINE F broadcast(const float* p) { return *p; }
  static MD_SIMD_INLINE F load(const float* p) { return *p; }
  static MD_SIMD_INLINE void store(float* p, F v) { *p = v; }
  static MD_SIMD_INLINE Mask first_lanes(int n) { return n > 0; }
  static MD_SIMD_INLINE F load(const float* p, Mask m) { return m ? *p : 0.0f; }
  static MD_SIMD_INLINE void store(float* p, Mask m, F v) {
    if (m) *p = v;
  }
  static MD_SIMD_INLINE F add(F a, F b) { return a + b; }
  static MD_SIMD_INLINE F mul(F a, F b) { return a * b; }
  static MD_SIMD_INLINE F fma(F a, F b, F c) { return a * b + c; }
  static MD_SIMD_INLINE float reduce_add(F v) { return v; }
};

#if defined(MD_SIMD_X86) && defined(__AVX2__) && defined(__FMA__)
template <>
struct Vec<8> {
  using F = __m256;
  using Mask = __m256i;
  static constexpr int kLanes = 8;
  static constexpr int kRegisters = 16;
  static MD_SIMD_INLINE F zero() { return _mm256_setzero_ps(); }
  static MD_SIMD_INLINE F set1(float x) { return _mm256_set1_ps(x); }
  static MD_SIMD_INLINE F broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static MD_SIMD_INLINE F load(const float* p) { return _mm256_loadu_ps(p); }
  static MD_SIMD_INLINE void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static MD_SIMD_INLINE Mask first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static MD_SIMD_INLINE F load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static MD_SIMD_INLINE void store(float* p, Mask m, F v) { _mm256_maskstore_ps(p, m, v); }
  static MD_SIMD_INLINE F add(F a, F b) { return _mm256_add_ps(a, b); }
  static MD_SIMD_INLINE F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static MD_SIMD_INLINE F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static MD_SIMD_INLINE float reduce_add(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));  // i + i+4
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));                                         // i + i+2
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));                                     // 0 + 1
    return _mm_cvtss_f32(s);
  }
};
#endif

#if defined(MD_SIMD_X86) && defined(__AVX512F__)
template <>
struct Vec<16> {
  using F = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kRegisters = 32;
  static MD_SIMD_INLINE F zero() { return _mm512_setzero_ps(); }
  static MD_SIMD_INLINE F set1(float x) { return _mm512_set1_ps(x); }
  static MD_SIMD_INLINE F broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static MD_SIMD_INLINE F load(const float* p) { return _mm512_loadu_ps(p); }
  static MD_SIMD_INLINE void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static MD_SIMD_INLINE Mask first_lanes(int n) {
    return n >= 16 ? static_cast<Mask>(0xffff) : n <= 0 ? static_cast<Mask>(0) : static_cast<Mask>((1u << n) - 1);
  }
  static MD_SIMD_INLINE F load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static MD_SIMD_INLINE void store(float* p, Mask m, F v) { _mm512_mask_storeu_ps(p, m, v); }
  static MD_SIMD_INLINE F add(F a, F b) { return _mm512_add_ps(a, b); }
  static MD_SIMD_INLINE F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static MD_SIMD_INLINE F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  // By shuffles, in the maskz forms with every lane on: GCC 12 warns about the undefined operand
  // inside _mm512_reduce_add_ps and the unmasked shuffles.
  static MD_SIMD_INLINE float reduce_add(F v) {
    const __mmask16 all = 0xffff;
    v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0x4E));  // i + i+8 (256-bit halves)
    v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, 0xB1));  // i + i+4 (128-bit quarters)
    v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, 0x4E));        // i + i+2
    v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, 0xB1));        // i + i+1
    return _mm512_cvtss_f32(v);
  }
};
#endif

}  // namespace simd
}  // namespace md
