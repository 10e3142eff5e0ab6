// A dense float tensor: a shape and a contiguous row-major buffer. Deliberately
// plain (no views, no strides): models index it directly, kernels take raw
// pointers. Named parameters of a model are Tensors; so are their gradients.
#pragma once
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace md {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s) : shape(std::move(s)), data(count(shape), 0.0f) {}

  static std::size_t count(const std::vector<int64_t>& s) {
    return static_cast<std::size_t>(std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<int64_t>()));
  }
  std::size_t size() const { return data.size(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  int64_t dim(std::size_t i) const { return shape.at(i); }
  void zero() { std::fill(data.begin(), data.end(), 0.0f); }

  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

// A named, trainable tensor. Names follow the model folder's safetensors keys
// (e.g. "embedding.weight", "conv3.weight", "fc.bias").
struct Parameter {
  std::string name;
  Tensor value;
  // Excluded from weight decay (biases, LayerNorm, embeddings' padding row is handled by the model).
  bool no_decay = false;
};

// A batch of token ids, row-major [batch, seq_len], padded with pad_id (0) after
// each row's true length. lengths[b] >= 1 for every row (an empty text is one [UNK]).
struct Batch {
  const int32_t* ids = nullptr;
  const int32_t* lengths = nullptr;
  int batch = 0;
  int seq_len = 0;
};

}  // namespace md
