// Kernels of the int8 students (quantized_textcnn.h, quantized_gru.h): symmetric per-column
// quantization of precomputed tables, and the TextCNN window maximum over int8 table rows.
//
// Each kernel has a portable scalar version (the reference of the tests, native/tests/test_int8.cc)
// and an AVX2 version chosen at run time (cpu_features(); MODEL_DISTILL_SIMD=scalar forces the
// scalar one). Both give bit-identical results: the sums are integers.
#pragma once
#include <cstdint>

namespace md {
namespace int8 {

// The largest window whose sum of k int8 values (|q| <= 127) still fits int16, the AVX2
// kernel's accumulator: 258 * 127 = 32766.
constexpr int kMaxWindow = 258;

// colmax[c] = max(colmax[c], max over rows of |m[r][c]|).
void column_abs_max(const float* m, int rows, int cols, float* colmax);

// q[r][c] = round(m[r][c] * inv_scale[c]) clamped to [-127, 127] (inv_scale 0: q = 0).
void quantize_columns(const float* m, int rows, int cols, const float* inv_scale, std::int8_t* q);

// For f in [0, F): out[f] = max over t in [0, nw) of sum_{j<k} rows[t+j][(off + j) * F + f].
// rows[s] points at the int8 table row of the token at position s (R*F values) or at a zero row.
// Requires k <= kMaxWindow.
void window_max(const std::int8_t* const* rows, int nw, int k, int off, int F, std::int32_t* out);
void window_max_scalar(const std::int8_t* const* rows, int nw, int k, int off, int F, std::int32_t* out);

// out[i] = q[i] * scale[i].
void dequantize(const std::int8_t* q, const float* scale, int n, float* out);

}  // namespace int8
}  // namespace md
