// N-API wrapper of a student model (JS class `NativeStudent` on the addon; the public TypeScript
// class is NativeStudent in lib/student/native-student.ts, which checks and defaults every argument first).
//
// Raw surface (see RawNativeStudent in lib/binding.ts):
//   new NativeStudent({ kind, vocabSize, numClasses, embeddingDim, windows, filters, hidden,
//                       bidirectional, dropout, seed })
//   setEmbeddings(vectors: Float32Array, rows, dim, found: Uint8Array | null)
//   train(train: { ids, lengths, maxLength, labels|null, softTargets|null }, eval: {...}|null,
//         options: {...}, onProgress: fn|null, onEpoch: fn|null): Promise<RawTrainReport>
//   cancel()                 asks the running train() to stop after its current batch
//   predictLogits(ids, lengths, maxLength, path: 'fast'|'reference', threads, batchSize): Float32Array
//   predictLogitsAsync(same): Promise<Float32Array>
//   prepareInference()       builds the fast-path tables now (otherwise the first prediction does)
//   saveWeights(path, metadata: { [key]: string })     atomic safetensors write
//   loadWeights(path)        all-or-nothing; errors name the file and the tensor
//   dispose()                frees the model (later calls throw)
//   parameterCount, kind, training   (properties)
//
// Off-thread safety: every typed array is COPIED on the JS thread before a worker starts, and
// workers hold the StudentHandle (shared_ptr) plus a reference to the JS object.
#include "student_wrap.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "safetensors.h"
#include "student_args.h"
#include "trainer.h"

namespace md_addon {

namespace {

// Distinguishes NativeStudent objects from every other wrapped object.
const napi_type_tag kStudentTag = {0x6d642d73747564ULL, 0x656e742d77726170ULL};

[[noreturn]] void throw_js(Napi::Env env, const std::exception& e) { throw Napi::Error::New(env, e.what()); }

// ---- argument readers (lib/student/checks.ts has already checked types; these guard the C++) ----

md::StudentSpec read_spec(Napi::Env env, Napi::Object object) {
  md::StudentSpec spec;
  spec.kind = string_field(env, object, "kind");
  spec.seed = static_cast<uint64_t>(number_field(env, object, "seed"));
  // Optional: "int8" loads an int8 model folder's weights (md::QuantizedStudent).
  if (object.Has("quantization") && !object.Get("quantization").IsUndefined()) {
    spec.quantization = string_field(env, object, "quantization");
  }
  if (spec.kind == "textcnn") {
    md::TextCnnConfig& c = spec.textcnn;
    c.vocab_size = int_field(env, object, "vocabSize");
    c.num_classes = int_field(env, object, "numClasses");
    c.embedding_dim = int_field(env, object, "embeddingDim");
    c.filters = int_field(env, object, "filters");
    c.dropout = static_cast<float>(number_field(env, object, "dropout"));
    Napi::Value windows = object.Get("windows");
    if (!windows.IsArray()) throw Napi::TypeError::New(env, "expected an array for windows");
    Napi::Array array = windows.As<Napi::Array>();
    c.windows.clear();
    for (uint32_t i = 0; i < array.Length(); ++i) c.windows.push_back(array.Get(i).As<Napi::Number>().Int32Value());
  } else if (spec.kind == "gru") {
    md::GruConfig& c = spec.gru;
    c.vocab_size = int_field(env, object, "vocabSize");
    c.num_classes = int_field(env, object, "numClasses");
    c.embedding_dim = int_field(env, object, "embeddingDim");
    c.hidden = int_field(env, object, "hidden");
    c.bidirectional = object.Get("bidirectional").ToBoolean().Value();
    c.dropout = static_cast<float>(number_field(env, object, "dropout"));
  } else if (spec.kind == "transformer") {
    // A BERT-style teacher (lib/student/types.ts TransformerSpec); dropout is used for
    // both the hidden and the attention dropout, as BERT's configs usually do.
    md::TransformerConfig& c = spec.transformer;
    c.vocab_size = int_field(env, object, "vocabSize");
    c.num_classes = int_field(env, object, "numClasses");
    c.hidden = int_field(env, object, "hidden");
    c.layers = int_field(env, object, "layers");
    c.heads = int_field(env, object, "heads");
    c.intermediate = int_field(env, object, "intermediate");
    c.max_positions = int_field(env, object, "maxPositions");
    c.dropout = static_cast<float>(number_field(env, object, "dropout"));
    c.attention_dropout = c.dropout;
    c.pooler = object.Get("pooler").ToBoolean().Value();
    // Optional, for imported checkpoints (lib/pipeline/checkpoint-import.ts); absent =
    // BERT's 2 segment types and LayerNorm eps 1e-12 (TransformerConfig's defaults).
    if (!object.Get("typeVocabSize").IsUndefined()) c.type_vocab_size = int_field(env, object, "typeVocabSize");
    if (!object.Get("layerNormEps").IsUndefined()) c.layer_norm_eps = static_cast<float>(number_field(env, object, "layerNormEps"));
  }
  return spec;
}

md::EvalPath read_path(Napi::Env env, Napi::Value value) {
  const std::string path = value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string("fast");
  if (path == "fast") return md::EvalPath::fast;
  if (path == "reference") return md::EvalPath::reference;
  throw Napi::RangeError::New(env, "path must be \"fast\" or \"reference\", got \"" + path + "\"");
}

Napi::Float32Array to_float32(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array out = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(float));
  return out;
}

std::vector<float> run_prediction(StudentHandle& h, const Rows& rows, md::EvalPath path, int threads, int batch_size) {
  if (path == md::EvalPath::fast) h.ensure_prepared();
  return md::predict_logits(*h.model, rows.ids.data(), rows.lengths.data(), rows.rows, rows.max_len, path, batch_size,
                            threads);
}

// ---- predictLogitsAsync ----

class PredictWorker : public Napi::AsyncWorker {
 public:
  PredictWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<StudentHandle> handle, Rows rows, md::EvalPath path,
                int threads, int batch_size)
      : Napi::AsyncWorker(env, "model-distill:predictLogits"),
        deferred_(Napi::Promise::Deferred::New(env)),
        lease_(std::move(handle)),
        rows_(std::move(rows)),
        path_(path),
        threads_(threads),
        batch_size_(batch_size) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      logits_ = run_prediction(*lease_, rows_, path_, threads_, batch_size_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(to_float32(Env(), logits_)); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  ReaderLease lease_;
  Napi::ObjectReference owner_;
  Rows rows_;
  md::EvalPath path_;
  int threads_, batch_size_;
  std::vector<float> logits_;
};

// ---- train ----

// What the training thread reports to the JS thread (queued, in order).
struct TrainEvent {
  bool is_epoch = false;
  md::TrainProgressEvent progress;
  md::EpochReport epoch;
};

class TrainWorker : public Napi::AsyncProgressQueueWorker<TrainEvent> {
 public:
  TrainWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<StudentHandle> handle)
      : Napi::AsyncProgressQueueWorker<TrainEvent>(env, "model-distill:train"),
        deferred_(Napi::Promise::Deferred::New(env)),
        handle_(std::move(handle)),
        cancel_(std::make_shared<std::atomic<bool>>(false)) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  // Filled by Train() before Queue().
  Rows train_rows, eval_rows;
  bool has_eval = false;
  std::vector<int32_t> labels, eval_labels;
  std::vector<float> soft_targets;
  md::StudentTrainOptions options;
  Napi::FunctionReference on_progress, on_epoch;

  void Start() {
    handle_->training = true;
    handle_->cancel = cancel_;
    Queue();
  }

  void Execute(const ExecutionProgress& progress) override {
    try {
      md::TrainRows data;
      data.ids = train_rows.ids.data();
      data.lengths = train_rows.lengths.data();
      data.rows = train_rows.rows;
      data.max_len = train_rows.max_len;
      data.labels = labels.empty() ? nullptr : labels.data();
      data.soft_targets = soft_targets.empty() ? nullptr : soft_targets.data();
      md::EvalRows eval;
      if (has_eval) {
        eval.ids = eval_rows.ids.data();
        eval.lengths = eval_rows.lengths.data();
        eval.rows = eval_rows.rows;
        eval.max_len = eval_rows.max_len;
        eval.labels = eval_labels.data();
      }
      md::StudentTrainOptions run = options;
      run.cancel = cancel_.get();
      // Progress is throttled (every update would flood the JS thread); epoch ends always go.
      using Clock = std::chrono::steady_clock;
      Clock::time_point last = Clock::now() - std::chrono::seconds(1);
      const int64_t per_epoch = (data.rows + run.batch_size - 1) / run.batch_size;
      const bool want_progress = !on_progress.IsEmpty();
      if (want_progress) {
        run.on_progress = [&, per_epoch](const md::TrainProgressEvent& p) {
          const Clock::time_point now = Clock::now();
          if (now - last < std::chrono::milliseconds(100) && p.step % per_epoch != 0) return;
          last = now;
          TrainEvent event;
          event.progress = p;
          progress.Send(&event, 1);
        };
      }
      run.on_epoch = [&](const md::EpochReport& m) {
        TrainEvent event;
        event.is_epoch = true;
        event.epoch = m;
        progress.Send(&event, 1);
      };
      result_ = md::train_model(*handle_->model, data, has_eval ? &eval : nullptr, run);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnProgress(const TrainEvent* events, size_t count) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      const TrainEvent& e = events[i];
      Napi::FunctionReference& fn = e.is_epoch ? on_epoch : on_progress;
      if (fn.IsEmpty() || hook_error_) continue;
      try {
        fn.Call({e.is_epoch ? epoch_object(env, e.epoch) : progress_object(env, e.progress)});
      } catch (const Napi::Error& error) {
        // A throwing hook stops training; the promise rejects with the hook's error.
        hook_error_ = true;
        hook_error_value_ = Napi::Persistent(error.Value());
        *cancel_ = true;
      }
    }
  }

  void OnOK() override {
    finish();
    Napi::Env env = Env();
    if (hook_error_) {
      deferred_.Reject(hook_error_value_.Value());
      return;
    }
    deferred_.Resolve(train_result_object(env, result_));
  }
  void OnError(const Napi::Error& error) override {
    finish();
    deferred_.Reject(hook_error_ ? hook_error_value_.Value() : error.Value());
  }

 private:
  void finish() {
    handle_->training = false;
    handle_->cancel.reset();
    handle_->invalidate();  // parameters changed (tables may be from an earlier epoch)
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<StudentHandle> handle_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::ObjectReference owner_;
  md::TrainReport result_;
  bool hook_error_ = false;
  Napi::ObjectReference hook_error_value_;
};

}  // namespace

// ---- StudentHandle ----

void StudentHandle::ensure_prepared() {
  std::lock_guard<std::mutex> lock(prepare_mutex);
  if (!prepared) {
    model->prepare_inference();
    prepared = true;
  }
}

void StudentHandle::invalidate() {
  std::lock_guard<std::mutex> lock(prepare_mutex);
  prepared = false;
}

void StudentHandle::check_usable(Napi::Env env, const char* what) const {
  if (!model) throw Napi::Error::New(env, std::string("NativeStudent is disposed (") + what + ")");
  if (training) throw Napi::Error::New(env, std::string("NativeStudent is busy training (") + what + ")");
}

void StudentHandle::check_mutable(Napi::Env env, const char* what) const {
  check_usable(env, what);
  if (readers > 0) {
    throw Napi::Error::New(env, std::string("NativeStudent has ") + std::to_string(readers.load()) +
                                    " prediction(s) in flight (" + what + " would change the weights under them)");
  }
}

// ---- StudentWrap ----

Napi::Function StudentWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeStudent",
                     {
                         InstanceMethod<&StudentWrap::SetEmbeddings>("setEmbeddings"),
                         InstanceMethod<&StudentWrap::Train>("train"),
                         InstanceMethod<&StudentWrap::Cancel>("cancel"),
                         InstanceMethod<&StudentWrap::PredictLogits>("predictLogits"),
                         InstanceMethod<&StudentWrap::PredictLogitsAsync>("predictLogitsAsync"),
                         InstanceMethod<&StudentWrap::PrepareInference>("prepareInference"),
                         InstanceMethod<&StudentWrap::SaveWeights>("saveWeights"),
                         InstanceMethod<&StudentWrap::LoadWeights>("loadWeights"),
                         InstanceMethod<&StudentWrap::Dispose>("dispose"),
                         InstanceAccessor<&StudentWrap::ParameterCount>("parameterCount"),
                         InstanceAccessor<&StudentWrap::Kind>("kind"),
                         InstanceAccessor<&StudentWrap::Training>("training"),
                     });
}

StudentWrap::StudentWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StudentWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "new NativeStudent(spec: object)");
  handle_ = std::make_shared<StudentHandle>();
  handle_->spec = read_spec(env, info[0].As<Napi::Object>());
  try {
    handle_->model = md::create_student(handle_->spec);
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
  info.This().As<Napi::Object>().TypeTag(&kStudentTag);
}

StudentWrap* StudentWrap::FromValue(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object object = value.As<Napi::Object>();
  if (!object.CheckTypeTag(&kStudentTag)) return nullptr;
  return StudentWrap::Unwrap(object);
}

Napi::Value StudentWrap::SetEmbeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(info.Env())->check_mutable(env, "setEmbeddings");
  if (info.Length() < 4 || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "setEmbeddings(vectors: Float32Array, rows, dim, found: Uint8Array | null)");
  const int64_t rows = info[1].As<Napi::Number>().Int64Value();
  const int64_t dim = info[2].As<Napi::Number>().Int64Value();
  if (rows < 0 || dim < 0) throw Napi::RangeError::New(env, "rows and dim must be non-negative");
  const std::vector<float> vectors =
      copy_typed<float>(env, info[0], napi_float32_array, "vectors", static_cast<std::size_t>(rows * dim));
  std::vector<uint8_t> found;
  if (!info[3].IsNull() && !info[3].IsUndefined())
    found = copy_typed<uint8_t>(env, info[3], napi_uint8_array, "found", static_cast<std::size_t>(rows));
  try {
    md::set_student_embeddings(*live(info.Env())->model, vectors.data(), rows, dim, found.empty() ? nullptr : found.data());
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
  live(info.Env())->invalidate();
  return env.Undefined();
}

Napi::Value StudentWrap::Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(info.Env())->check_mutable(env, "train");
  if (info.Length() < 5 || !info[0].IsObject() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "train(train: object, eval: object | null, options: object, onProgress, onEpoch)");
  const int V = live(info.Env())->model->vocab_size();
  const int C = live(info.Env())->model->num_classes();
  auto* worker = new TrainWorker(env, info.This().As<Napi::Object>(), live(env));
  try {
    Napi::Object t = info[0].As<Napi::Object>();
    worker->train_rows = read_rows(env, t.Get("ids"), t.Get("lengths"), t.Get("maxLength"), V);
    const std::size_t n = static_cast<std::size_t>(worker->train_rows.rows);
    Napi::Value labels = t.Get("labels"), soft = t.Get("softTargets");
    if (!labels.IsNull() && !labels.IsUndefined())
      worker->labels = copy_typed<int32_t>(env, labels, napi_int32_array, "labels", n);
    if (!soft.IsNull() && !soft.IsUndefined())
      worker->soft_targets = copy_typed<float>(env, soft, napi_float32_array, "softTargets", n * C);
    if (info[1].IsObject()) {
      Napi::Object e = info[1].As<Napi::Object>();
      worker->eval_rows = read_rows(env, e.Get("ids"), e.Get("lengths"), e.Get("maxLength"), V);
      worker->eval_labels = copy_typed<int32_t>(env, e.Get("labels"), napi_int32_array, "eval labels",
                                                static_cast<std::size_t>(worker->eval_rows.rows));
      worker->has_eval = true;
    }
    try {
      worker->options = read_train_options(env, info[2].As<Napi::Object>());
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, e.what());
    }
    if (info[3].IsFunction()) worker->on_progress = Napi::Persistent(info[3].As<Napi::Function>());
    if (info[4].IsFunction()) worker->on_epoch = Napi::Persistent(info[4].As<Napi::Function>());
  } catch (...) {
    delete worker;  // never queued
    throw;
  }
  Napi::Promise promise = worker->Promise();
  worker->Start();  // the worker deletes itself when done
  return promise;
}

Napi::Value StudentWrap::Cancel(const Napi::CallbackInfo& info) {
  if (handle_ && handle_->cancel) *handle_->cancel = true;
  return info.Env().Undefined();
}

Napi::Value StudentWrap::PredictLogits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(info.Env())->check_usable(env, "predictLogits");
  if (info.Length() < 6) throw Napi::TypeError::New(env, "predictLogits(ids, lengths, maxLength, path, threads, batchSize)");
  Rows rows = read_rows(env, info[0], info[1], info[2], live(info.Env())->model->vocab_size());
  const md::EvalPath path = read_path(env, info[3]);
  ReaderLease lease(live(env));
  try {
    return to_float32(env, run_prediction(*lease, rows, path, info[4].As<Napi::Number>().Int32Value(),
                                          std::max(1, info[5].As<Napi::Number>().Int32Value())));
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
}

Napi::Value StudentWrap::PredictLogitsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(info.Env())->check_usable(env, "predictLogits");
  if (info.Length() < 6) throw Napi::TypeError::New(env, "predictLogitsAsync(ids, lengths, maxLength, path, threads, batchSize)");
  Rows rows = read_rows(env, info[0], info[1], info[2], live(info.Env())->model->vocab_size());
  const md::EvalPath path = read_path(env, info[3]);
  auto* worker = new PredictWorker(env, info.This().As<Napi::Object>(), live(env), std::move(rows), path,
                                   info[4].As<Napi::Number>().Int32Value(),
                                   std::max(1, info[5].As<Napi::Number>().Int32Value()));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value StudentWrap::PrepareInference(const Napi::CallbackInfo& info) {
  live(info.Env())->check_usable(info.Env(), "prepareInference");
  try {
    live(info.Env())->ensure_prepared();
  } catch (const std::exception& e) {
    throw_js(info.Env(), e);
  }
  return info.Env().Undefined();
}

Napi::Value StudentWrap::SaveWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(info.Env())->check_usable(env, "saveWeights");
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "saveWeights(path: string, metadata)");
  std::vector<std::pair<std::string, std::string>> metadata;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object object = info[1].As<Napi::Object>();
    Napi::Array keys = object.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string key = keys.Get(i).ToString().Utf8Value();
      Napi::Value value = object.Get(key);
      if (!value.IsString()) throw Napi::TypeError::New(env, "metadata value of \"" + key + "\" is not a string");
      metadata.emplace_back(key, value.As<Napi::String>().Utf8Value());
    }
  }
  try {
    md::save_parameters(*live(info.Env())->model, info[0].As<Napi::String>().Utf8Value(), metadata);
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
  return env.Undefined();
}

Napi::Value StudentWrap::LoadWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(info.Env())->check_mutable(env, "loadWeights");
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadWeights(path: string)");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  try {
    const md::SafeTensors file = md::read_safetensors(path);
    // A tensor the model lacks means the file is for another architecture: refuse it
    // before copying anything, rather than load a model that silently ignores weights.
    std::vector<std::string> unexpected;
    for (const md::NamedTensor& t : file.tensors) {
      bool known = false;
      for (const md::Parameter* p : live(info.Env())->model->parameters()) known = known || p->name == t.name;
      if (!known) unexpected.push_back(t.name);
    }
    if (!unexpected.empty()) {
      std::string missing, extra;
      for (const md::Parameter* p : live(env)->model->parameters())
        if (!file.find(p->name)) missing += (missing.empty() ? "" : ", ") + p->name;
      for (const std::string& n : unexpected) extra += (extra.empty() ? "" : ", ") + n;
      throw std::runtime_error(path + ": " + (missing.empty() ? "" : "missing tensor(s) " + missing + "; ") +
                               "unexpected tensor(s) " + extra + " (not parameters of this " +
                               live(env)->model->kind() + " model)");
    }
    md::load_parameters(*live(info.Env())->model, file);
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
  live(info.Env())->invalidate();
  return env.Undefined();
}

Napi::Value StudentWrap::Dispose(const Napi::CallbackInfo& info) {
  // Drops this object's share of the model: predictions in flight and any NativeClassifier
  // built on it keep theirs, and the memory goes when the last one lets go.
  Napi::Env env = info.Env();
  if (!handle_) return env.Undefined();  // twice is fine
  if (handle_->training) throw Napi::Error::New(env, "NativeStudent is busy training (dispose); cancel() it first");
  handle_.reset();
  return env.Undefined();
}

Napi::Value StudentWrap::ParameterCount(const Napi::CallbackInfo& info) {
  live(info.Env())->check_usable(info.Env(), "parameterCount");
  return Napi::Number::New(info.Env(), static_cast<double>(md::parameter_count(*live(info.Env())->model)));
}

Napi::Value StudentWrap::Kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), live(info.Env())->spec.kind); }

const std::shared_ptr<StudentHandle>& StudentWrap::live(Napi::Env env) const {
  if (!handle_) throw Napi::Error::New(env, "NativeStudent is disposed");
  return handle_;
}

Napi::Value StudentWrap::Training(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), handle_ && handle_->training.load());
}

void RegisterStudent(Napi::Env env, Napi::Object exports) { exports.Set("NativeStudent", StudentWrap::Define(env)); }

}  // namespace md_addon
