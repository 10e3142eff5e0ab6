// libFuzzer harness: the model-folder weights loader: parse_safetensors (header JSON, dtypes,
// shapes, offsets) and load_parameters into a tiny TextCNN and GRU (names, shapes, finite values).
// Any input must load or throw a std::exception with a message; never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>

#include "safetensors.h"
#include "student_factory.h"

namespace {

std::unique_ptr<md::StudentModel> make(const char* kind) {
  md::StudentSpec spec;
  spec.kind = kind;
  spec.textcnn.vocab_size = spec.gru.vocab_size = 6;
  spec.textcnn.num_classes = spec.gru.num_classes = 2;
  spec.textcnn.embedding_dim = spec.gru.embedding_dim = 3;
  spec.textcnn.windows = {2};
  spec.textcnn.filters = 2;
  spec.gru.hidden = 2;
  return md::create_student(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static std::unique_ptr<md::StudentModel> textcnn = make("textcnn");
  static std::unique_ptr<md::StudentModel> gru = make("gru");
  try {
    const md::SafeTensors file = md::parse_safetensors(reinterpret_cast<const char*>(data), size, "fuzz.safetensors");
    for (md::StudentModel* model : {textcnn.get(), gru.get()}) {
      try {
        md::load_parameters(*model, file);
      } catch (const std::exception&) {
        // names or shapes that do not fit this model
      }
    }
  } catch (const std::exception&) {
    // a corrupt file, reported with a message
  }
  return 0;
}
