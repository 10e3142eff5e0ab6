// N-API wrapper of the serving hot path (JS class `NativeClassifier`; the public TypeScript class
// is Classifier in lib/classifier.ts, which checks every argument first).
//
// Raw surface (see RawNativeClassifier in lib/binding.ts):
//   new NativeClassifier(tokens: string[], lowercase: boolean, student: NativeStudent,
//                        maxLength: number, addSpecialTokens: boolean)
//   predict(joined: string, offsets: Uint32Array, threads: number): Float32Array    [n, C] probabilities
//   predictAsync(joined, offsets, threads): Promise<Float32Array>
//   close()                  drops the tokenizer and the model reference (later calls throw)
//   numClasses               (property)
//
// Texts arrive as ONE joined JS string plus the UTF-16 offset of each text (n + 1 entries), as for
// the tokenizer (tokenizer_wrap.cc explains why: one UTF-16 copy on the JS thread is ~3x cheaper
// than fetching n strings). Everything else runs on md::global_thread_pool(): WordPiece straight
// from the UTF-16 per text, then the student's fast path over batches of rows grouped by length
// (md::predict_logits), then a softmax per row.
#include "classifier_wrap.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "tokenizer_wrap.h"
#include "trainer.h"
#include "wordpiece_tokenizer.h"

namespace md_addon {

namespace {

struct Texts {
  std::u16string units;
  std::vector<uint32_t> offsets;  // n + 1
  std::size_t count() const { return offsets.size() - 1; }
};

Texts read_texts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "predict(joined: string, offsets: Uint32Array, threads: number)");
  Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
  if (typed.TypedArrayType() != napi_uint32_array || typed.ElementLength() == 0)
    throw Napi::TypeError::New(env, "offsets must be a non-empty Uint32Array");
  Napi::Uint32Array offsets = info[1].As<Napi::Uint32Array>();
  Texts texts;
  std::size_t length = 0;
  if (napi_get_value_string_utf16(env, info[0], nullptr, 0, &length) != napi_ok)
    throw Napi::Error::New(env, "cannot read the joined texts");
  texts.units.resize(length);
  std::size_t copied = 0;
  if (napi_get_value_string_utf16(env, info[0], texts.units.data(), length + 1, &copied) != napi_ok || copied != length)
    throw Napi::Error::New(env, "cannot read the joined texts");
  texts.offsets.assign(offsets.Data(), offsets.Data() + offsets.ElementLength());
  if (texts.offsets[0] > length) throw Napi::RangeError::New(env, "offsets out of range");
  for (std::size_t i = 0; i + 1 < texts.offsets.size(); ++i) {
    if (texts.offsets[i] > texts.offsets[i + 1] || texts.offsets[i + 1] > length)
      throw Napi::RangeError::New(env, "offsets must be non-decreasing and within the joined texts");
  }
  return texts;
}

// Softmax of every row in place (max subtracted, so large logits do not overflow).
void softmax_rows(float* values, std::size_t rows, int C) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = values + r * C;
    const float max = *std::max_element(row, row + C);
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += (row[c] = std::exp(row[c] - max));
    const float inv = static_cast<float>(1.0 / sum);
    for (int c = 0; c < C; ++c) row[c] *= inv;
  }
}

// The whole hot path; runs on the JS thread (predict) or a libuv worker (predictAsync).
std::vector<float> classify(const md::WordPieceTokenizer& tokenizer, StudentHandle& student, const Texts& texts,
                            int max_length, bool add_special_tokens, int threads) {
  const std::size_t n = texts.count();
  const int C = student.model->num_classes();
  if (n == 0) return {};
  std::vector<int32_t> ids(n * static_cast<std::size_t>(max_length)), lengths(n);
  md::BatchEncodeOptions options;
  options.max_length = max_length;
  options.add_special_tokens = add_special_tokens;
  tokenizer.encode_batch_utf16(texts.units.data(), texts.offsets.data(), n, options, ids.data(), lengths.data(),
                               threads);
  // Without [CLS]/[SEP] an empty text has no token; models need one, so it reads as one [UNK].
  for (std::size_t i = 0; i < n; ++i) {
    if (lengths[i] == 0) {
      ids[i * max_length] = tokenizer.unk_id();
      lengths[i] = 1;
    }
  }
  student.ensure_prepared();
  std::vector<float> probabilities = md::predict_logits(*student.model, ids.data(), lengths.data(),
                                                        static_cast<int64_t>(n), max_length, md::EvalPath::fast,
                                                        256, threads);
  softmax_rows(probabilities.data(), n, C);
  return probabilities;
}

Napi::Float32Array to_float32(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array out = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(float));
  return out;
}

class ClassifyWorker : public Napi::AsyncWorker {
 public:
  ClassifyWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<const md::WordPieceTokenizer> tokenizer,
                 std::shared_ptr<StudentHandle> student, Texts texts, int max_length, bool add_special_tokens,
                 int threads)
      : Napi::AsyncWorker(env, "model-distill:classify"),
        deferred_(Napi::Promise::Deferred::New(env)),
        tokenizer_(std::move(tokenizer)),
        lease_(std::move(student)),
        texts_(std::move(texts)),
        max_length_(max_length),
        add_special_tokens_(add_special_tokens),
        threads_(threads) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      probabilities_ = classify(*tokenizer_, *lease_, texts_, max_length_, add_special_tokens_, threads_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(to_float32(Env(), probabilities_)); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const md::WordPieceTokenizer> tokenizer_;
  ReaderLease lease_;
  Napi::ObjectReference owner_;
  Texts texts_;
  int max_length_;
  bool add_special_tokens_;
  int threads_;
  std::vector<float> probabilities_;
};

}  // namespace

Napi::Function ClassifierWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeClassifier",
                     {
                         InstanceMethod<&ClassifierWrap::Predict>("predict"),
                         InstanceMethod<&ClassifierWrap::PredictAsync>("predictAsync"),
                         InstanceMethod<&ClassifierWrap::Close>("close"),
                         InstanceAccessor<&ClassifierWrap::NumClasses>("numClasses"),
                     });
}

ClassifierWrap::ClassifierWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClassifierWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsArray() || !info[1].IsBoolean() || !info[3].IsNumber() || !info[4].IsBoolean()) {
    throw Napi::TypeError::New(env, "new NativeClassifier(tokens: string[], lowercase: boolean, student: NativeStudent, "
                                    "maxLength: number, addSpecialTokens: boolean)");
  }
  StudentWrap* student = StudentWrap::FromValue(info[2]);
  if (!student) throw Napi::TypeError::New(env, "student must be a NativeStudent");
  student_ = student->live(env);
  student_->check_usable(env, "new NativeClassifier");
  max_length_ = info[3].As<Napi::Number>().Int32Value();
  add_special_tokens_ = info[4].As<Napi::Boolean>().Value();
  if (max_length_ < (add_special_tokens_ ? 3 : 1))
    throw Napi::RangeError::New(env, "maxLength " + std::to_string(max_length_) + " is too small");

  tokenizer_ = TokenizerFromJs(env, info[0].As<Napi::Array>(), info[1].As<Napi::Boolean>().Value());
  // The model's embedding rows are the vocab's ids, and its padding row is 0: check both now
  // rather than read outside the tables (or treat real tokens as padding) later.
  const std::size_t V = static_cast<std::size_t>(student_->model->vocab_size());
  if (tokenizer_->vocab_size() != V) {
    throw Napi::RangeError::New(env, "the vocab has " + std::to_string(tokenizer_->vocab_size()) +
                                         " tokens but the model was built for vocabSize " + std::to_string(V));
  }
  if (tokenizer_->pad_id() != 0) {
    throw Napi::RangeError::New(env, "the vocab's [PAD] token must have id 0 (the model's padding row), found id " +
                                         std::to_string(tokenizer_->pad_id()));
  }
}

void ClassifierWrap::check_open(Napi::Env env) const {
  if (!student_) throw Napi::Error::New(env, "Classifier is closed");
  student_->check_usable(env, "predict");
}

Napi::Value ClassifierWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  Texts texts = read_texts(info);
  const int threads = info[2].As<Napi::Number>().Int32Value();
  ReaderLease lease(student_);
  try {
    return to_float32(env, classify(*tokenizer_, *lease, texts, max_length_, add_special_tokens_, threads));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Value ClassifierWrap::PredictAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  Texts texts = read_texts(info);
  auto* worker = new ClassifyWorker(env, info.This().As<Napi::Object>(), tokenizer_, student_, std::move(texts),
                                    max_length_, add_special_tokens_, info[2].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ClassifierWrap::Close(const Napi::CallbackInfo& info) {
  // Workers in flight keep their own references; memory goes when the last one finishes.
  tokenizer_.reset();
  student_.reset();
  return info.Env().Undefined();
}

Napi::Value ClassifierWrap::NumClasses(const Napi::CallbackInfo& info) {
  check_open(info.Env());
  return Napi::Number::New(info.Env(), student_->model->num_classes());
}

void RegisterClassifier(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeClassifier", ClassifierWrap::Define(env));
}

}  // namespace md_addon
