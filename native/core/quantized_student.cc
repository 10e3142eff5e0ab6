#include "quantized_student.h"

#include <stdexcept>

#include "memory_trim.h"

namespace md {

QuantizedStudent::QuantizedStudent(std::string kind, int vocab_size, int num_classes)
    : kind_(std::move(kind)), vocab_size_(vocab_size), num_classes_(num_classes) {}

std::vector<std::string> QuantizedStudent::int8_parameter_names(const StudentModel& float_model) {
  // Matrices with many rows: the embedding and the weights the tables are built from. Biases and
  // the small dense layer stay float (they are a few KB and set the logits' scale).
  std::vector<std::string> names;
  for (const Parameter* p : float_model.parameters()) {
    const std::string& n = p->name;
    const bool matrix = p->value.shape.size() >= 2;
    if (matrix && n != "fc.weight") names.push_back(n);
  }
  return names;
}

void QuantizedStudent::set_staging(std::unique_ptr<StudentModel> staging) {
  staging_ = std::move(staging);
  scales_.clear();
  int8_params_.clear();
  const std::vector<std::string> names = int8_parameter_names(*staging_);
  for (Parameter* p : staging_->parameters()) {
    for (const std::string& n : names) {
      if (p->name != n) continue;
      int8_params_.push_back(p);
      Parameter scale{n + ".scale", Tensor({p->value.shape[0]}), true};
      scales_.push_back(std::move(scale));
    }
  }
}

std::vector<Parameter*> QuantizedStudent::parameters() {
  if (!staging_) set_staging(make_staging());
  std::vector<Parameter*> out;
  for (Parameter* p : staging_->parameters()) {
    out.push_back(p);
    for (std::size_t i = 0; i < int8_params_.size(); ++i)
      if (int8_params_[i] == p) out.push_back(&scales_[i]);
  }
  return out;
}

namespace {
[[noreturn]] void inference_only(const std::string& kind) {
  throw std::logic_error("this " + kind + " model is int8-quantized and serves predictions only; train the float32 model and quantize it again");
}
}  // namespace

std::unique_ptr<TrainContext> QuantizedStudent::make_context() const { inference_only(kind_); }
void QuantizedStudent::forward_train(TrainContext&, const Batch&, Rng&, float*) const { inference_only(kind_); }
void QuantizedStudent::backward(TrainContext&, const Batch&, const float*, Gradients&) const { inference_only(kind_); }

void QuantizedStudent::prepare_inference() {
  if (!staging_) return;  // built from the last load; nothing new to build from
  for (std::size_t i = 0; i < int8_params_.size(); ++i) {
    Tensor& w = int8_params_[i]->value;
    const std::vector<float>& scale = scales_[i].value.data;
    const std::size_t rows = scale.size(), cols = w.size() / rows;
    for (std::size_t r = 0; r < rows; ++r) {
      if (!(scale[r] >= 0.0f) || scale[r] > 1e30f) {
        throw std::runtime_error(scales_[i].name + "[" + std::to_string(r) + "] = " + std::to_string(scale[r]) +
                                 " is not a finite non-negative scale");
      }
      for (std::size_t c = 0; c < cols; ++c) {
        float& q = w.data[r * cols + c];
        if (q < -127.0f || q > 127.0f) {
          throw std::runtime_error(int8_params_[i]->name + " holds " + std::to_string(q) + ", outside the int8 range [-127, 127]");
        }
        q *= scale[r];
      }
    }
  }
  build(*staging_);
  built_ = true;
  staging_.reset();  // the float weights are not needed any more: only the int8 tables serve
  scales_.clear();
  scales_.shrink_to_fit();
  int8_params_.clear();
  release_free_memory();  // the staging model was several times the size of what stays
}

void QuantizedStudent::require_built() const {
  if (!built_) throw std::logic_error("int8 " + kind_ + ": call prepare_inference() after loading the weights");
}

void QuantizedStudent::check_batch(const Batch& batch) const {
  if (batch.batch < 0) throw std::invalid_argument("negative batch size " + std::to_string(batch.batch));
  for (int b = 0; b < batch.batch; ++b) {
    const int len = batch.lengths[b];
    if (len < 1 || len > batch.seq_len)
      throw std::out_of_range("length " + std::to_string(len) + " of row " + std::to_string(b) + " is outside [1, " +
                              std::to_string(batch.seq_len) + "]");
    const int32_t* row = batch.ids + static_cast<std::size_t>(b) * batch.seq_len;
    for (int t = 0; t < len; ++t)
      if (row[t] < 0 || row[t] >= vocab_size_)
        throw std::out_of_range("token id " + std::to_string(row[t]) + " at row " + std::to_string(b) + ", position " +
                                std::to_string(t) + " is outside the vocabulary (size " + std::to_string(vocab_size_) + ")");
  }
}

}  // namespace md
