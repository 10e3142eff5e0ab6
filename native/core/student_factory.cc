#include "student_factory.h"

#include "quantized_gru.h"
#include "quantized_textcnn.h"

#include <algorithm>
#include <stdexcept>

namespace md {

std::unique_ptr<StudentModel> create_student(const StudentSpec& spec) {
  if (spec.quantization == "int8") {
    if (spec.kind == "textcnn") return std::make_unique<QuantizedTextCnn>(spec.textcnn);
    if (spec.kind == "gru") return std::make_unique<QuantizedGru>(spec.gru);
    throw std::invalid_argument("int8 quantization supports textcnn and gru students, not \"" + spec.kind + "\"");
  }
  if (!spec.quantization.empty()) {
    throw std::invalid_argument("unknown quantization \"" + spec.quantization + "\" (expected \"int8\" or none)");
  }
  if (spec.kind == "textcnn") return std::make_unique<TextCnn>(spec.textcnn, spec.seed);
  if (spec.kind == "gru") return std::make_unique<Gru>(spec.gru, spec.seed);
  if (spec.kind == "transformer") return std::make_unique<Transformer>(spec.transformer, spec.seed);
  throw std::invalid_argument("unknown student kind \"" + spec.kind +
                              "\" (expected \"textcnn\", \"gru\" or \"transformer\")");
}

int student_embedding_dim(const StudentModel& model) {
  if (auto* cnn = dynamic_cast<const TextCnn*>(&model)) return cnn->config().embedding_dim;
  if (auto* gru = dynamic_cast<const Gru*>(&model)) return gru->config().embedding_dim;
  if (auto* tf = dynamic_cast<const Transformer*>(&model)) return tf->config().hidden;
  throw std::invalid_argument("unknown student kind \"" + model.kind() + "\"");
}

void set_student_embeddings(StudentModel& model, const float* vectors, int64_t rows, int64_t cols,
                            const uint8_t* found) {
  const int64_t V = model.vocab_size();
  const int64_t E = student_embedding_dim(model);
  if (rows != V || cols != E) {
    throw std::invalid_argument("embedding vectors have shape [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                "] but the model needs [" + std::to_string(V) + ", " + std::to_string(E) + "]");
  }
  // Start from the current matrix so rows without a vector keep their initialisation;
  // the model's own set_embeddings then re-zeroes the padding row.
  std::vector<float> merged;
  const float* source = vectors;
  if (found) {
    const Parameter* embedding = nullptr;
    for (const Parameter* p : model.parameters())
      if (p->name == "embedding.weight" || p->name == "bert.embeddings.word_embeddings.weight") embedding = p;
    if (!embedding) throw std::logic_error(model.kind() + " has no embedding.weight parameter");
    merged = embedding->value.data;
    for (int64_t r = 0; r < V; ++r)
      if (found[r]) std::copy(vectors + r * E, vectors + (r + 1) * E, merged.begin() + r * E);
    source = merged.data();
  }
  if (auto* cnn = dynamic_cast<TextCnn*>(&model)) {
    cnn->set_embeddings(source, static_cast<int>(rows), static_cast<int>(cols));
  } else if (auto* gru = dynamic_cast<Gru*>(&model)) {
    gru->set_embeddings(source, rows, cols);
  } else if (auto* tf = dynamic_cast<Transformer*>(&model)) {
    // Word embeddings only; the padding row stays zero (padding_idx).
    Parameter& word = tf->word_embeddings();
    std::copy(source, source + rows * cols, word.value.ptr());
    std::fill_n(word.value.ptr() + static_cast<int64_t>(tf->config().pad_id) * cols, cols, 0.0f);
  } else {
    throw std::invalid_argument("unknown student kind \"" + model.kind() + "\"");
  }
}

int64_t parameter_count(const StudentModel& model) {
  int64_t n = 0;
  for (const Parameter* p : model.parameters()) n += static_cast<int64_t>(p->value.size());
  return n;
}

}  // namespace md
