// The safetensors weight format (https://github.com/huggingface/safetensors):
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON header: { "<name>": {"dtype": "F32", "shape": [..],
//                                       "data_offsets": [begin, end]}, ...,
//                            "__metadata__": {"<key>": "<string>", ...} }
//   rest      the tensors' raw little-endian bytes; offsets are relative to
//             the start of this data section
//
// Reading accepts F32, F16, BF16, F64 and I8 and converts to float (the core
// computes in float); writing produces F32. A bad file is rejected with an
// error naming the file and the problem (truncated header, header JSON invalid,
// offsets out of range or overlapping, truncated weights, unknown dtype, ...).
// Writing is atomic: a temporary file in the same folder, fsync, rename, so a
// crash never leaves a half-written weights file under the final name.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "student_model.h"
#include "tensor.h"

namespace md {

struct NamedTensor {
  std::string name;
  std::string dtype;  // as stored in the file ("F32", "F16", ...)
  Tensor tensor;      // converted to float
};

struct SafeTensors {
  std::string source;  // the path (or label) it was read from, used in error messages
  std::vector<NamedTensor> tensors;  // in header order
  std::vector<std::pair<std::string, std::string>> metadata;  // "__metadata__", in header order

  const NamedTensor* find(const std::string& name) const;
  const std::string* find_metadata(const std::string& key) const;
};

// Reads and validates a whole file. Throws std::runtime_error("<path>: <problem>").
SafeTensors read_safetensors(const std::string& path);
// Same, from bytes in memory; `source` names them in errors.
SafeTensors parse_safetensors(const char* bytes, std::size_t size, const std::string& source);

// Serialises F32 tensors (header padded with spaces to a multiple of 8 bytes so
// the data is aligned, as the reference implementation does). Tensor names
// must be unique and not "__metadata__".
std::string serialize_safetensors(const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                                  const std::vector<std::pair<std::string, std::string>>& metadata = {});
// serialize + atomic write. Throws std::runtime_error naming the path on I/O errors.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata = {});

// Writes `bytes` to `path` atomically: temp file beside it, fsync, rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

// All of the model's parameters, by name, in parameters() order.
void save_parameters(const StudentModel& model, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& metadata = {});

struct LoadReport {
  std::vector<std::string> unexpected;  // tensors in the file that the model does not have
  int loaded = 0;
};
// Copies every parameter of the model from `file`. All-or-nothing: every
// parameter is checked first, and nothing is copied when one is missing or has
// another shape; the error lists every problem, e.g.
//   "weights.safetensors: missing tensor fc.bias"
//   "weights.safetensors: shape mismatch for conv3.weight: file [128, 3, 200] vs model [128, 3, 128]"
// Tensors the model does not have are not an error: they come back in
// LoadReport::unexpected for the caller to report (or reject).
LoadReport load_parameters(StudentModel& model, const SafeTensors& file);

// IEEE half / bfloat16 -> float (exact; subnormals, inf and NaN preserved).
float half_to_float(uint16_t h);
float bfloat16_to_float(uint16_t h);

}  // namespace md
