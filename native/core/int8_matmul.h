// The integer matrix product of the int8 GRU's recurrence (quantized_gru.h): h W_hh^T with the
// state h quantized per row at every step and W_hh quantized per output row.
//
// Both operands are symmetric int8 in [-127, 127] (never -128), so a product of two is at most
// 127 * 127 and a pair of them fits int16 (32,258 < 32,767). That is what makes the AVX2 kernel
// exact: _mm256_maddubs_epi16 multiplies unsigned by signed bytes, so it is fed |a| and w with
// a's sign moved onto it (_mm256_sign_epi8), which cannot saturate, then _mm256_madd_epi16
// widens the pairs to int32. (The unsigned-offset trick, a + 128 against w, could saturate:
// 255 * 127 * 2 > 32,767.) The portable scalar kernel gives bit-identical sums (they are
// integers), and so would a VNNI kernel (_mm512_dpbusd_epi32 takes the same operands); there is
// none yet because no machine at hand has VNNI to test it on.
//
// Rows are padded with zeros to a multiple of kDotBlock so the kernel never needs a tail.
#pragma once
#include <cstdint>
#include <vector>

namespace md {
namespace int8 {

constexpr int kDotBlock = 32;

// The row length padded up to a multiple of kDotBlock.
inline int padded_row_length(int n) { return (n + kDotBlock - 1) / kDotBlock * kDotBlock; }

// Quantizes one row symmetrically with its own scale: scale = max|x| / 127, q[i] = round(x[i] /
// scale) (to nearest even, clamped to [-127, 127]); q[n .. padded) = 0. Returns the scale (0
// for an all-zero row, whose q is all zero). SIMD and scalar versions give the same q.
float quantize_row(const float* x, int n, int padded, std::int8_t* q);
float quantize_row_scalar(const float* x, int n, int padded, std::int8_t* q);

// The weight matrix w [G, K] (row g = output g) rearranged for the kernels: blocks of 8 output
// rows, and within a block, for each group of 4 columns, the 4 bytes of each of the 8 rows
// (packed[((g / 8) * (K / 4) + k / 4) * 32 + (g % 8) * 4 + k % 4] = w[g][k]; rows past G are
// zero). A 32-byte load then holds 4 columns of 8 outputs, and the SIMD kernel multiplies it by
// 4 bytes of the state broadcast to every lane: each lane accumulates one output, with no
// horizontal sums (the layout VNNI's dpbusd expects too).
std::vector<std::int8_t> pack_weight_rows(const std::int8_t* w, int G, int K);

// acc[i * G + g] = sum over k < K of a[i * K + k] * w[g][k], for i < rows and g < G, with w
// given as pack_weight_rows(w, G, K). K must be a multiple of kDotBlock; every value in
// [-127, 127].
void matmul_nt(const std::int8_t* a, int rows, const std::int8_t* packed_w, int G, int K, std::int32_t* acc);
void matmul_nt_scalar(const std::int8_t* a, int rows, const std::int8_t* packed_w, int G, int K, std::int32_t* acc);

// out[g] = (float(acc[g]) * w_scale[g]) * a_scale: one row of products back to real values.
// SIMD and scalar versions round alike (the same two multiplications in the same order).
void dequantize_products(const std::int32_t* acc, const float* w_scale, float a_scale, int n, float* out);
void dequantize_products_scalar(const std::int32_t* acc, const float* w_scale, float a_scale, int n, float* out);

}  // namespace int8
}  // namespace md
