// The element-wise part of one GRU step, for one row of a batch (the matrix
// products around it are sgemm calls made by the model).
//
// PyTorch's equations and gate order (r, z, n), with the input projection
// gi = W_ih x + b_ih and the recurrent product gh = W_hh h (bias added here):
//   r  = sigmoid(gi_r + gh_r + b_hr)
//   z  = sigmoid(gi_z + gh_z + b_hz)
//   n  = tanh(gi_n + r * (gh_n + b_hn))
//   h' = (1 - z) * n + z * h
//
// Why a file of its own: this is the only transcendental-heavy code of the GRU.
// With std::exp it would cost more than the recurrent GEMM, so there is an
// AVX2 path with a vectorised exp (Cephes polynomial, relative error ~1e-7),
// chosen at run time; the scalar path (std::exp / std::tanh) stays as the
// portable fallback and as what the tests compare against.
#pragma once

namespace md {

// One row, forward. gi, gh: [3H] (r, z, n blocks); b_hh: [3H]; h_prev, h_out: [H]
// (they may be the same buffer: each element is read before it is written).
// When gates is not null it receives r, z, n ([3H]) and ghn receives
// gh_n + b_hn ([H]) -- what backward needs.
void gru_cell_forward(int H, const float* gi, const float* gh, const float* b_hh, const float* h_prev, float* h_out,
                      float* gates, float* ghn);

// The same with the portable scalar kernel regardless of the CPU (for tests).
void gru_cell_forward_scalar(int H, const float* gi, const float* gh, const float* b_hh, const float* h_prev,
                             float* h_out, float* gates, float* ghn);

// One row, backward. Inputs: the cached gates (r, z, n), ghn and h_prev of the
// forward step, and dh = dL/dh' on entry. Outputs: dgi = dL/d(gi) [3H] (also
// dL/d b_ih), dgh = dL/d(gh + b_hh) [3H] (also dL/d b_hh), and dh overwritten by
// the direct part of dL/dh_prev (z * dh); the caller adds dgh . W_hh.
void gru_cell_backward(int H, const float* gates, const float* ghn, const float* h_prev, float* dh, float* dgi,
                       float* dgh);

}  // namespace md
