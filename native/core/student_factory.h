// Building a StudentModel from a kind and its sizes, and the few model-agnostic
// operations the N-API layer needs (embedding import, parameter count), so the
// addon never has to know the concrete classes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gru.h"
#include "student_model.h"
#include "textcnn.h"
#include "transformer.h"

namespace md {

// Everything needed to create a student: its kind, the config of that kind
// (only the matching one is read) and the seed of its initial weights.
struct StudentSpec {
  std::string kind;  // "textcnn", "gru" or "transformer"
  TextCnnConfig textcnn;
  GruConfig gru;
  TransformerConfig transformer;
  uint64_t seed = 1;
  // "" (float32) or "int8": an int8 model folder (quantized_student.h); textcnn and gru only.
  std::string quantization;
};

// Throws std::invalid_argument naming the bad kind or config field.
std::unique_ptr<StudentModel> create_student(const StudentSpec& spec);

// Embedding dimension of a student (the width set_student_embeddings expects).
int student_embedding_dim(const StudentModel& model);

// Copies pretrained vectors [rows, cols] into the embedding. Rows whose
// found[i] is 0 keep their current (initial) value; found == null means every
// row. The padding row stays zero. Throws std::invalid_argument when the shape
// is not [vocab_size, embedding_dim] or the model kind is unknown.
void set_student_embeddings(StudentModel& model, const float* vectors, int64_t rows, int64_t cols,
                            const uint8_t* found = nullptr);

// Number of trainable floats.
int64_t parameter_count(const StudentModel& model);

}  // namespace md
