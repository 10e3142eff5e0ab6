// Training losses of the students, with their gradients w.r.t. the logits.
//
// Every loss is per example; a batch loss is the mean over its rows. The
// gradient functions take a `grad_scale` so that a batch split into shards
// (one per thread) can give each shard d(batch mean)/d logits directly: every
// shard passes grad_scale = 1 / (rows of the whole batch).
//
// Kinds of rows (as in the reference training loop, torch_baseline.py):
//   - label >= 0, no soft target: cross-entropy on the hard label;
//   - label >= 0 and a soft target: alpha * distill + (1 - alpha) * CE;
//   - label == -1 and a soft target (an unlabelled pool row): distill alone;
//   - label == -1 and no soft target: an error (nothing to learn from).
// Soft targets are the teacher's LOGITS (not probabilities), so the
// temperature can be applied here. A row of soft targets whose values are all
// NaN means "no soft target for this row" (lets one [N, C] buffer cover a mix
// of scored and unscored rows); any other non-finite value is an error.
//
// Note on the mix: the reference mixes batch means (alpha * mean KL over all
// rows + (1 - alpha) * mean CE over labelled rows); here the mix is per row,
// then averaged, which is the same when every row of the batch is labelled.
//
// All softmaxes are computed with log-sum-exp (max subtracted), in double, so
// large logits neither overflow nor lose the small probabilities.
#pragma once
#include <cstdint>
#include <string>

namespace md {

enum class DistillKind {
  kl,   // T^2 * KL(softmax(teacher / T) || softmax(student / T))  (Hinton et al. 2015)
  mse,  // mean over classes of (student_logit - teacher_logit)^2
};

// Parses "kl" / "mse"; throws std::invalid_argument naming the value otherwise.
DistillKind parse_distill_kind(const std::string& name);
const char* distill_kind_name(DistillKind kind);

struct LossOptions {
  DistillKind distill = DistillKind::kl;
  float temperature = 1.0f;  // > 0; used by kl only
  float alpha = 0.5f;        // weight of the distillation term for labelled rows with a soft target, in [0, 1]

  // Throws std::invalid_argument naming the bad field and value.
  void validate() const;
};

// ---- per-example losses. dlogits may be null; when given, it is OVERWRITTEN
// with grad_scale * d loss / d logits. Return the loss (unscaled). ----

// -log softmax(logits)[label]. label must be in [0, C).
double cross_entropy(const float* logits, int C, int label, float* dlogits, float grad_scale = 1.0f);

// T^2 * sum_c p_c (log p_c - log q_c), p = softmax(teacher / T), q = softmax(logits / T).
// Gradient: T * (q - p).
double kl_distill(const float* logits, const float* teacher_logits, int C, float temperature, float* dlogits,
                  float grad_scale = 1.0f);

// (1 / C) * sum_c (logits_c - teacher_c)^2. Gradient: 2 (logits - teacher) / C.
double mse_distill(const float* logits, const float* teacher_logits, int C, float* dlogits, float grad_scale = 1.0f);

// True when a soft-target row means "absent" (all NaN); throws
// std::invalid_argument for a row mixing NaN/inf with finite values.
bool soft_target_absent(const float* teacher_logits, int C, int64_t row);

// ---- batches ----

// Loss of `rows` examples starting at logits [rows, C]. labels: rows ints (-1 =
// none) or null (no labels at all); teacher_logits: [rows, C] or null.
// dlogits (nullable) [rows, C] is overwritten with grad_scale * d loss_i / d logits_i.
// Returns the SUM of the per-example losses. first_row is only used in error
// messages ("label 12 at row 345 is outside [0, 10)"), so a shard can report
// rows by their index in the whole data set.
double loss_sum(const float* logits, int rows, int C, const int32_t* labels, const float* teacher_logits,
                const LossOptions& options, float* dlogits, float grad_scale, int64_t first_row = 0);

// Mean loss over the rows, with dlogits = d mean / d logits (grad_scale = 1 / rows).
double mean_loss(const float* logits, int rows, int C, const int32_t* labels, const float* teacher_logits,
                 const LossOptions& options, float* dlogits);

}  // namespace md
