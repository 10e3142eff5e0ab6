// The PackedSequence-style layout of a GRU batch, shared by the float GRU (gru.cc) and the
// int8 one (quantized_gru.cc).
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tensor.h"

namespace md {
namespace gru_packing {

// Rows sorted by length, longest first (stable, so the order is deterministic),
// and the PackedSequence-style layout that follows: at step t the first
// active[t] sorted rows are still running, and their tokens sit at packed rows
// offset[t] .. offset[t] + active[t] - 1.
struct Packing {
  std::vector<int> order;   // sorted position -> batch row
  std::vector<int> length;  // sorted position -> that row's length
  std::vector<int> active;  // [steps]
  std::vector<int> offset;  // [steps]
  int steps = 0;
  int tokens = 0;
};

inline Packing make_packing(const Batch& batch) {
  Packing p;
  p.order.resize(batch.batch);
  std::iota(p.order.begin(), p.order.end(), 0);
  std::stable_sort(p.order.begin(), p.order.end(),
                   [&](int a, int b) { return batch.lengths[a] > batch.lengths[b]; });
  p.length.resize(batch.batch);
  for (int i = 0; i < batch.batch; ++i) p.length[i] = batch.lengths[p.order[i]];
  p.steps = batch.batch > 0 ? p.length[0] : 0;
  p.active.assign(p.steps, 0);
  p.offset.assign(p.steps, 0);
  int n = batch.batch;
  for (int t = 0; t < p.steps; ++t) {
    while (n > 0 && p.length[n - 1] <= t) --n;
    p.active[t] = n;
    p.offset[t] = p.tokens;
    p.tokens += n;
  }
  return p;
}

// The token a direction reads at step t for sorted row i: forward reads
// position t, reverse reads position length-1-t.
inline int32_t token_at(const Batch& batch, const Packing& p, int direction, int t, int i) {
  const int pos = direction == 0 ? t : p.length[i] - 1 - t;
  return batch.ids[static_cast<int64_t>(p.order[i]) * batch.seq_len + pos];
}

}  // namespace gru_packing
}  // namespace md
