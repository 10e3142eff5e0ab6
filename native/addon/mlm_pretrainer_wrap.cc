// N-API wrapper of md::MlmPretrainer (JS class `MlmPretrainer` on the addon).
//
// Raw surface (see RawMlmPretrainer in lib/binding.ts):
//   new MlmPretrainer(spec: { vocabSize, numClasses, hidden, layers, heads, intermediate, maxPositions,
//                             dropout, pooler, seed },                       (a transformer StudentSpec)
//                     rows: { ids: Int32Array, lengths: Int32Array, maxLength },
//                     vocab: { maskId, specialIds: Int32Array },
//                     options: { batchSize, maskProb, epochs, maxSteps, seed, threads,
//                                learningRate, weightDecay, warmup, clipNorm })
//   loadCheckpoint(path): { [key]: string }      the checkpoint's metadata; all-or-nothing
//   run({ checkpointPath, checkpointSeconds, encoderPath, metadata, stopAfterSteps }, onProgress)
//       : Promise<RawPretrainResult>            until finished, cancel() or stopAfterSteps (> 0);
//                                                 saves the checkpoint every checkpointSeconds and
//                                                 when it returns, the encoder when finished
//   cancel()                                     stop after the current step (the run saves first)
//   saveCheckpoint(path, metadata), saveEncoder(path, metadata)      atomic writes
//   step, totalSteps, stepsPerEpoch, finished, running               (properties)
//
// Every typed array is copied on the JS thread; the worker owns a shared_ptr
// to the state, and every other call is refused while a run is in flight.
#include "mlm_pretrainer_wrap.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mlm_pretrainer.h"

namespace md_addon {

namespace {

struct PretrainState {
  std::vector<int32_t> ids, lengths;  // the rows (the pretrainer points into them)
  std::unique_ptr<md::MlmPretrainer> pretrainer;
  std::atomic<bool> running{false};
  std::atomic<bool> cancel{false};
  std::atomic<int64_t> step{0};  // the pretrainer's step, published by the worker for the JS thread
};

double number_field(Napi::Env env, Napi::Object object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw Napi::TypeError::New(env, std::string("expected a number for ") + key);
  return value.As<Napi::Number>().DoubleValue();
}

int int_field(Napi::Env env, Napi::Object object, const char* key) {
  return static_cast<int>(number_field(env, object, key));
}

std::vector<int32_t> int32_array(Napi::Env env, Napi::Value value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, std::string("expected an Int32Array for ") + name);
  Napi::Int32Array a = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

md::Metadata read_metadata(Napi::Env env, Napi::Value value) {
  md::Metadata out;
  if (!value.IsObject()) return out;
  Napi::Object object = value.As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value v = object.Get(key);
    if (!v.IsString()) throw Napi::TypeError::New(env, "metadata value of \"" + key + "\" is not a string");
    out.emplace_back(key, v.As<Napi::String>().Utf8Value());
  }
  return out;
}

Napi::Object metadata_object(Napi::Env env, const md::Metadata& metadata) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& kv : metadata) o.Set(kv.first, kv.second);
  return o;
}

// What the worker reports to the JS thread.
struct PretrainEvent {
  bool checkpoint = false;  // a checkpoint was just written (else: progress)
  int64_t step = 0, total_steps = 0;
  double loss = 0;  // mean over the masked positions since the previous report
  double tokens_per_s = 0, learning_rate = 0, seconds = 0;
  int64_t tokens = 0;
};

class PretrainWorker : public Napi::AsyncProgressQueueWorker<PretrainEvent> {
 public:
  PretrainWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<PretrainState> state)
      : Napi::AsyncProgressQueueWorker<PretrainEvent>(env, "model-distill:pretrain"),
        deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  std::string checkpoint_path, encoder_path;
  double checkpoint_seconds = 300;
  int64_t stop_after = 0;
  md::Metadata metadata;
  Napi::FunctionReference on_progress;

  void Start() {
    state_->step = state_->pretrainer->step();
    state_->running = true;
    state_->cancel = false;
    Queue();
  }

  void Execute(const ExecutionProgress& progress) override {
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
    try {
      md::MlmPretrainer& p = *state_->pretrainer;
      Clock::time_point last_report = Clock::now() - std::chrono::seconds(1), last_save = Clock::now();
      int64_t saved_step = p.step(), steps = 0;
      double window_loss = 0, loss_sum = 0;
      int64_t window_masked = 0, masked_sum = 0;
      auto save = [&] {
        if (checkpoint_path.empty() || p.step() == saved_step) return;
        p.save_checkpoint(checkpoint_path, metadata);
        saved_step = p.step();
        last_save = Clock::now();
        PretrainEvent e;
        e.checkpoint = true;
        e.step = p.step();
        e.total_steps = p.total_steps();
        progress.Send(&e, 1);
      };
      while (!p.finished()) {
        if (state_->cancel) {
          result_.cancelled = true;
          break;
        }
        if (stop_after > 0 && steps >= stop_after) break;
        const Clock::time_point t0 = Clock::now();
        const md::MlmStepResult r = p.train_step();
        result_.seconds += since(t0);
        result_.tokens += r.tokens;
        ++steps;
        state_->step = p.step();
        window_loss += r.loss * double(r.masked);
        window_masked += r.masked;
        loss_sum += r.loss * double(r.masked);
        masked_sum += r.masked;
        if (since(last_report) >= 0.2 || p.finished()) {
          last_report = Clock::now();
          PretrainEvent e;
          e.step = p.step();
          e.total_steps = p.total_steps();
          e.loss = window_masked > 0 ? window_loss / double(window_masked) : 0;
          e.tokens = result_.tokens;
          e.seconds = result_.seconds;
          e.tokens_per_s = result_.seconds > 0 ? double(result_.tokens) / result_.seconds : 0;
          e.learning_rate = r.learning_rate;
          progress.Send(&e, 1);
          window_loss = 0;
          window_masked = 0;
        }
        if (checkpoint_seconds > 0 && since(last_save) >= checkpoint_seconds) save();
      }
      save();
      if (p.finished() && !encoder_path.empty()) p.save_encoder(encoder_path, metadata);
      result_.mean_loss = masked_sum > 0 ? loss_sum / double(masked_sum) : 0;
      result_.steps = steps;
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnProgress(const PretrainEvent* events, size_t count) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      if (on_progress.IsEmpty() || hook_error_) continue;
      const PretrainEvent& e = events[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("kind", e.checkpoint ? "checkpoint" : "progress");
      o.Set("step", static_cast<double>(e.step));
      o.Set("totalSteps", static_cast<double>(e.total_steps));
      if (!e.checkpoint) {
        o.Set("loss", e.loss);
        o.Set("tokens", static_cast<double>(e.tokens));
        o.Set("seconds", e.seconds);
        o.Set("tokensPerSecond", e.tokens_per_s);
        o.Set("learningRate", e.learning_rate);
      }
      try {
        on_progress.Call({o});
      } catch (const Napi::Error& error) {
        // A throwing hook stops the run (after its checkpoint); the promise rejects with the hook's error.
        hook_error_ = true;
        hook_error_value_ = Napi::Persistent(error.Value());
        state_->cancel = true;
      }
    }
  }

  void OnOK() override {
    state_->running = false;
    if (hook_error_) {
      deferred_.Reject(hook_error_value_.Value());
      return;
    }
    Napi::Env env = Env();
    const md::MlmPretrainer& p = *state_->pretrainer;
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", static_cast<double>(p.step()));
    o.Set("totalSteps", static_cast<double>(p.total_steps()));
    o.Set("finished", p.finished());
    o.Set("cancelled", result_.cancelled);
    o.Set("steps", static_cast<double>(result_.steps));
    o.Set("tokens", static_cast<double>(result_.tokens));
    o.Set("seconds", result_.seconds);
    o.Set("tokensPerSecond", result_.seconds > 0 ? double(result_.tokens) / result_.seconds : 0.0);
    o.Set("meanLoss", result_.mean_loss);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& error) override {
    state_->running = false;
    deferred_.Reject(hook_error_ ? hook_error_value_.Value() : error.Value());
  }

 private:
  struct Result {
    bool cancelled = false;
    int64_t steps = 0, tokens = 0;
    double seconds = 0, mean_loss = 0;
  };
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<PretrainState> state_;
  Napi::ObjectReference owner_;
  Result result_;
  bool hook_error_ = false;
  Napi::ObjectReference hook_error_value_;
};

class MlmPretrainerWrap : public Napi::ObjectWrap<MlmPretrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MlmPretrainer",
                       {
                           InstanceMethod<&MlmPretrainerWrap::LoadCheckpoint>("loadCheckpoint"),
                           InstanceMethod<&MlmPretrainerWrap::Run>("run"),
                           InstanceMethod<&MlmPretrainerWrap::Cancel>("cancel"),
                           InstanceMethod<&MlmPretrainerWrap::SaveCheckpoint>("saveCheckpoint"),
                           InstanceMethod<&MlmPretrainerWrap::SaveEncoder>("saveEncoder"),
                           InstanceAccessor<&MlmPretrainerWrap::Step>("step"),
                           InstanceAccessor<&MlmPretrainerWrap::TotalSteps>("totalSteps"),
                           InstanceAccessor<&MlmPretrainerWrap::StepsPerEpoch>("stepsPerEpoch"),
                           InstanceAccessor<&MlmPretrainerWrap::Finished>("finished"),
                           InstanceAccessor<&MlmPretrainerWrap::Running>("running"),
                       });
  }

  explicit MlmPretrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MlmPretrainerWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject() || !info[3].IsObject())
      throw Napi::TypeError::New(env, "new MlmPretrainer(spec: object, rows: object, vocab: object, options: object)");
    Napi::Object s = info[0].As<Napi::Object>(), rows = info[1].As<Napi::Object>(), v = info[2].As<Napi::Object>(),
                 o = info[3].As<Napi::Object>();
    md::TransformerConfig c;
    c.vocab_size = int_field(env, s, "vocabSize");
    c.num_classes = int_field(env, s, "numClasses");
    c.hidden = int_field(env, s, "hidden");
    c.layers = int_field(env, s, "layers");
    c.heads = int_field(env, s, "heads");
    c.intermediate = int_field(env, s, "intermediate");
    c.max_positions = int_field(env, s, "maxPositions");
    c.dropout = static_cast<float>(number_field(env, s, "dropout"));
    c.attention_dropout = c.dropout;  // as NativeStudent's transformer spec
    c.pooler = s.Get("pooler").ToBoolean().Value();
    const uint64_t model_seed = static_cast<uint64_t>(number_field(env, s, "seed"));

    state_ = std::make_shared<PretrainState>();
    state_->lengths = int32_array(env, rows.Get("lengths"), "rows.lengths");
    const int max_len = int_field(env, rows, "maxLength");
    state_->ids = int32_array(env, rows.Get("ids"), "rows.ids");
    if (max_len < 1 || state_->ids.size() != state_->lengths.size() * static_cast<std::size_t>(max_len))
      throw Napi::RangeError::New(env, "rows.ids has " + std::to_string(state_->ids.size()) + " values, expected " +
                                           std::to_string(state_->lengths.size()) + " rows x maxLength " +
                                           std::to_string(max_len));
    md::MlmPretrainOptions options;
    options.batch_size = int_field(env, o, "batchSize");
    options.mask_prob = static_cast<float>(number_field(env, o, "maskProb"));
    options.epochs = int_field(env, o, "epochs");
    options.max_steps = static_cast<int64_t>(number_field(env, o, "maxSteps"));
    options.seed = static_cast<uint64_t>(number_field(env, o, "seed"));
    options.threads = int_field(env, o, "threads");
    options.optimizer.kind = md::OptimizerKind::adamw;
    options.optimizer.learning_rate = static_cast<float>(number_field(env, o, "learningRate"));
    options.optimizer.weight_decay = static_cast<float>(number_field(env, o, "weightDecay"));
    options.optimizer.clip_norm = static_cast<float>(number_field(env, o, "clipNorm"));
    options.schedule.decay = md::DecayKind::linear;
    options.schedule.warmup_fraction = static_cast<float>(number_field(env, o, "warmup"));
    const std::vector<int32_t> specials = int32_array(env, v.Get("specialIds"), "vocab.specialIds");
    try {
      const md::MaskingVocab vocab(c.vocab_size, int_field(env, v, "maskId"), specials);
      md::MlmData data{state_->ids.data(), state_->lengths.data(), static_cast<int64_t>(state_->lengths.size()), max_len};
      state_->pretrainer = std::make_unique<md::MlmPretrainer>(c, model_seed, vocab, options, data);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

 private:
  md::MlmPretrainer& idle(Napi::Env env, const char* what) {
    if (state_->running) throw Napi::Error::New(env, std::string("MlmPretrainer is running (") + what + "); cancel() it first");
    return *state_->pretrainer;
  }

  Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    md::MlmPretrainer& p = idle(env, "loadCheckpoint");
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadCheckpoint(path: string)");
    try {
      return metadata_object(env, p.load_checkpoint(info[0].As<Napi::String>().Utf8Value()));
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    idle(env, "run");
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "run(options: object, onProgress)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto* worker = new PretrainWorker(env, info.This().As<Napi::Object>(), state_);
    try {
      if (o.Get("checkpointPath").IsString()) worker->checkpoint_path = o.Get("checkpointPath").As<Napi::String>().Utf8Value();
      if (o.Get("encoderPath").IsString()) worker->encoder_path = o.Get("encoderPath").As<Napi::String>().Utf8Value();
      if (o.Get("checkpointSeconds").IsNumber()) worker->checkpoint_seconds = number_field(env, o, "checkpointSeconds");
      if (o.Get("stopAfterSteps").IsNumber()) worker->stop_after = static_cast<int64_t>(number_field(env, o, "stopAfterSteps"));
      worker->metadata = read_metadata(env, o.Get("metadata"));
      if (info.Length() > 1 && info[1].IsFunction()) worker->on_progress = Napi::Persistent(info[1].As<Napi::Function>());
    } catch (...) {
      delete worker;  // never queued
      throw;
    }
    Napi::Promise promise = worker->Promise();
    worker->Start();  // deletes itself when done
    return promise;
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    state_->cancel = true;
    return info.Env().Undefined();
  }

  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) { return save(info, false); }
  Napi::Value SaveEncoder(const Napi::CallbackInfo& info) { return save(info, true); }
  Napi::Value save(const Napi::CallbackInfo& info, bool encoder) {
    Napi::Env env = info.Env();
    md::MlmPretrainer& p = idle(env, encoder ? "saveEncoder" : "saveCheckpoint");
    if (info.Length() < 1 || !info[0].IsString())
      throw Napi::TypeError::New(env, encoder ? "saveEncoder(path: string, metadata)" : "saveCheckpoint(path: string, metadata)");
    const md::Metadata metadata = read_metadata(env, info.Length() > 1 ? info[1] : env.Undefined());
    try {
      if (encoder)
        p.save_encoder(info[0].As<Napi::String>().Utf8Value(), metadata);
      else
        p.save_checkpoint(info[0].As<Napi::String>().Utf8Value(), metadata);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  // The step may be read while a run is in flight (the worker publishes it);
  // the others never change after construction.
  Napi::Value Step(const Napi::CallbackInfo& info) {
    const int64_t step = state_->running ? state_->step.load() : state_->pretrainer->step();
    return Napi::Number::New(info.Env(), static_cast<double>(step));
  }
  Napi::Value TotalSteps(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(state_->pretrainer->total_steps()));
  }
  Napi::Value StepsPerEpoch(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(state_->pretrainer->steps_per_epoch()));
  }
  Napi::Value Finished(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !state_->running && state_->pretrainer->finished());
  }
  Napi::Value Running(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), state_->running.load()); }

  std::shared_ptr<PretrainState> state_;
};

}  // namespace

void RegisterMlmPretrainer(Napi::Env env, Napi::Object exports) {
  exports.Set("MlmPretrainer", MlmPretrainerWrap::Define(env));
}

}  // namespace md_addon
