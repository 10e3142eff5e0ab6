// Optimisers of the trainer: Adam / AdamW, global-norm gradient clipping, and
// the learning-rate schedule (warmup, then constant, linear or cosine decay).
//
// Adam follows torch.optim.Adam exactly (bias-corrected moments, eps added to
// the corrected sqrt(v)), so a run is comparable with the PyTorch reference.
// Weight decay:
//   - Adam:  L2, as torch: g += weight_decay * w before the moments;
//   - AdamW: decoupled (Loshchilov & Hutter), as torch: w -= lr * weight_decay * w
//            before the Adam update.
// Both skip parameters marked Parameter::no_decay (biases, norms).
//
// The update is elementwise, so it is split over the global thread pool in
// fixed chunks: each weight gets the same arithmetic whatever the thread count.
// Like torch's default Adam it is dense: every weight (also embedding rows
// absent from the batch) decays its moments and moves every step. The loop is
// compiled twice (AVX2 and portable) with identical IEEE operations (no FMA
// contraction), so both give bit-identical weights.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "student_model.h"
#include "tensor.h"

namespace md {

enum class OptimizerKind { adam, adamw };
// "adam" / "adamw"; throws std::invalid_argument naming the value otherwise.
OptimizerKind parse_optimizer_kind(const std::string& name);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::adam;
  float learning_rate = 1e-3f;  // peak rate; the schedule scales it
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // L2 for adam, decoupled for adamw
  float clip_norm = 0.0f;     // global gradient norm limit; 0 = no clipping

  // Throws std::invalid_argument naming the bad field and value.
  void validate() const;
};

enum class DecayKind { constant, linear, cosine };
// "constant" / "linear" / "cosine"; throws std::invalid_argument otherwise.
DecayKind parse_decay_kind(const std::string& name);

// Learning-rate multiplier over training: a linear warmup from ~0 to 1 over
// the warmup steps, then `decay` from 1 down to min_ratio at the last step.
struct LrSchedule {
  DecayKind decay = DecayKind::constant;
  int64_t warmup_steps = 0;     // used when warmup_fraction == 0
  float warmup_fraction = 0.0f; // of total steps, in [0, 1); overrides warmup_steps when > 0
  float min_ratio = 0.0f;       // floor of the decay, as a fraction of the peak rate

  void validate() const;
  // Multiplier for update number `step` (0-based) of `total_steps`. Warmup step
  // s (0-based) uses (s + 1) / warmup so the very first update is not zero.
  double multiplier(int64_t step, int64_t total_steps) const;
  int64_t warmup_for(int64_t total_steps) const;
};

// Scales all gradients so that their global L2 norm is at most max_norm (as
// torch.nn.utils.clip_grad_norm_); max_norm <= 0 only measures. Returns the
// norm BEFORE clipping.
double clip_gradients(Gradients& grads, float max_norm);
double global_norm(const Gradients& grads);

class Adam {
 public:
  // Moments are allocated for every parameter of `model` (zeros). The model's
  // parameter list must not change afterwards.
  Adam(StudentModel& model, const OptimizerOptions& options);
  // Same, for an explicit parameter list (the pointers must outlive the optimiser).
  Adam(std::vector<Parameter*> params, const OptimizerOptions& options);

  // One update with learning rate `lr` (the schedule's choice) from
  // grad_scale * grads (same order/shapes as the model's parameters); the
  // scale lets the trainer fold clipping into this pass. grads are not modified.
  void step(const Gradients& grads, float lr, float grad_scale = 1.0f);

  int64_t steps() const { return steps_; }
  const OptimizerOptions& options() const { return options_; }
  // Moment buffers, exposed for tests and for saving a checkpoint later.
  const std::vector<Tensor>& first_moments() const { return m_; }
  const std::vector<Tensor>& second_moments() const { return v_; }
  // Resumes from a checkpoint: moments (same order and shapes as the
  // parameters) and the number of updates already done (bias correction).
  // Throws std::invalid_argument naming the first tensor that does not match.
  void restore_state(std::vector<Tensor> first, std::vector<Tensor> second, int64_t steps);

 private:
  std::vector<Parameter*> params_;
  OptimizerOptions options_;
  std::vector<Tensor> m_, v_;
  int64_t steps_ = 0;
};

}  // namespace md
