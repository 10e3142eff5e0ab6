// The interface every trainable classifier of the core implements (TextCNN,
// GRU; the transformer teacher later). The trainer, the losses and the model
// I/O talk to models only through it.
//
// Threading contract: parameters are shared and read-only during a step; each
// worker thread owns one TrainContext (activation caches, scratch) and one
// Gradients buffer, runs forward_train + backward on its shard of the batch,
// and the trainer sums the per-thread gradients in a fixed order (so results
// are deterministic for a given seed and thread count).
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tensor.h"

namespace md {

using Rng = std::mt19937_64;

// Per-thread activation caches for backward; models subclass it.
struct TrainContext {
  virtual ~TrainContext() = default;
};

// One gradient tensor per parameter, same order and shapes as parameters().
using Gradients = std::vector<Tensor>;

class StudentModel {
 public:
  virtual ~StudentModel() = default;

  virtual std::string kind() const = 0;      // "textcnn", "gru"
  virtual int num_classes() const = 0;
  virtual int vocab_size() const = 0;

  // Every trainable tensor, in a fixed order (also the safetensors order).
  virtual std::vector<Parameter*> parameters() = 0;
  std::vector<const Parameter*> parameters() const {
    std::vector<const Parameter*> out;
    for (Parameter* p : const_cast<StudentModel*>(this)->parameters()) out.push_back(p);
    return out;
  }
  Gradients make_gradients() const {
    Gradients g;
    for (const Parameter* p : parameters()) g.emplace_back(p->value.shape);
    return g;
  }

  // Training forward pass with dropout (drawn from rng); caches what backward needs
  // in ctx. logits: [batch.batch, num_classes].
  virtual std::unique_ptr<TrainContext> make_context() const = 0;
  virtual void forward_train(TrainContext& ctx, const Batch& batch, Rng& rng, float* logits) const = 0;
  // Accumulates (+=) d loss / d parameters into grads, given d loss / d logits.
  virtual void backward(TrainContext& ctx, const Batch& batch, const float* dlogits, Gradients& grads) const = 0;

  // Inference, plain reference path: no dropout, straight from the parameters.
  virtual void forward_reference(const Batch& batch, float* logits) const = 0;
  // Inference, fast path: precomputed tables built by prepare_inference() (call
  // again after the parameters change). Must agree with forward_reference.
  virtual void prepare_inference() = 0;
  virtual void forward_fast(const Batch& batch, float* logits) const = 0;
};

}  // namespace md
