// Int8 students for serving: a model folder whose big tensors are int8 with one float scale per
// row (lib/quantize.ts writes it; config.json formatVersion 2) loads into one of these.
//
// Loading goes through a float "staging" model of the same architecture: load_parameters()
// fills it (the I8 tensors arrive as exact integer floats, each "<name>.scale" beside them), and
// prepare_inference() dequantizes it, builds the precomputed inference table in float block by
// block, quantizes that table per column into int8, keeps the few small float tensors it needs,
// and frees the staging model. What stays in memory is the int8 table, about a quarter of the
// float model's table, and no embedding.
//
// Inference only: the training methods throw std::logic_error (train the float32 model, then
// quantize it again).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "student_model.h"

namespace md {

class QuantizedStudent : public StudentModel {
 public:
  std::string kind() const override { return kind_; }
  int num_classes() const override { return num_classes_; }
  int vocab_size() const override { return vocab_size_; }

  // The staging model's parameters, each int8 one followed by its "<name>.scale" [rows] (the
  // staging model is recreated when a load follows a prepare).
  std::vector<Parameter*> parameters() override;

  std::unique_ptr<TrainContext> make_context() const override;
  void forward_train(TrainContext& ctx, const Batch& batch, Rng& rng, float* logits) const override;
  void backward(TrainContext& ctx, const Batch& batch, const float* dlogits, Gradients& grads) const override;

  // Builds the int8 tables from what was loaded, then frees the staging model. A second call
  // with nothing loaded since does nothing.
  void prepare_inference() override;

  // Names of the parameters an int8 folder stores as I8 + per-row scale, for a kind.
  static std::vector<std::string> int8_parameter_names(const StudentModel& float_model);

 protected:
  QuantizedStudent(std::string kind, int vocab_size, int num_classes);
  // Call from the subclass constructor (and it is called again to recreate the staging model).
  void set_staging(std::unique_ptr<StudentModel> staging);
  virtual std::unique_ptr<StudentModel> make_staging() const = 0;
  // Builds the subclass's int8 tables from the dequantized float model.
  virtual void build(StudentModel& float_model) = 0;
  bool built() const { return built_; }
  // Throws std::logic_error naming the model when called before prepare_inference().
  void require_built() const;
  // Throws std::out_of_range for a bad length or token id.
  void check_batch(const Batch& batch) const;

 private:
  std::string kind_;
  int vocab_size_ = 0, num_classes_ = 0;
  std::unique_ptr<StudentModel> staging_;
  std::vector<Parameter> scales_;          // one per int8 parameter, in parameters() order
  std::vector<Parameter*> int8_params_;    // the staging parameters they scale
  bool built_ = false;
};

}  // namespace md
