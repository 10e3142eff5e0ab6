#include "student_args.h"

namespace md_addon {

double number_field(Napi::Env env, Napi::Object object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw Napi::TypeError::New(env, std::string("expected a number for ") + key);
  return value.As<Napi::Number>().DoubleValue();
}

int int_field(Napi::Env env, Napi::Object object, const char* key) {
  return static_cast<int>(number_field(env, object, key));
}

std::string string_field(Napi::Env env, Napi::Object object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsString()) throw Napi::TypeError::New(env, std::string("expected a string for ") + key);
  return value.As<Napi::String>().Utf8Value();
}

Rows read_rows(Napi::Env env, Napi::Value ids, Napi::Value lengths, Napi::Value max_length, int vocab_size) {
  Rows r;
  if (!max_length.IsNumber()) throw Napi::TypeError::New(env, "expected a number for maxLength");
  r.max_len = max_length.As<Napi::Number>().Int32Value();
  if (r.max_len < 1) throw Napi::RangeError::New(env, "maxLength must be positive");
  if (!lengths.IsTypedArray()) throw Napi::TypeError::New(env, "expected an Int32Array for lengths");
  r.rows = static_cast<int64_t>(lengths.As<Napi::TypedArray>().ElementLength());
  r.lengths = copy_typed<int32_t>(env, lengths, napi_int32_array, "lengths", static_cast<std::size_t>(r.rows));
  r.ids = copy_typed<int32_t>(env, ids, napi_int32_array, "ids", static_cast<std::size_t>(r.rows) * r.max_len);
  for (int64_t i = 0; i < r.rows; ++i) {
    const int32_t len = r.lengths[i];
    if (len < 1 || len > r.max_len) {
      throw Napi::RangeError::New(env, "length " + std::to_string(len) + " at row " + std::to_string(i) +
                                           " is outside [1, " + std::to_string(r.max_len) + "]");
    }
    const int32_t* row = r.ids.data() + i * r.max_len;
    for (int32_t t = 0; t < len; ++t) {
      if (row[t] < 0 || row[t] >= vocab_size) {
        throw Napi::RangeError::New(env, "token id " + std::to_string(row[t]) + " at row " + std::to_string(i) +
                                             ", position " + std::to_string(t) + " is outside the vocabulary [0, " +
                                             std::to_string(vocab_size) + ")");
      }
    }
  }
  return r;
}

md::StudentTrainOptions read_train_options(Napi::Env env, Napi::Object o) {
  md::StudentTrainOptions t;
  t.epochs = int_field(env, o, "epochs");
  t.batch_size = int_field(env, o, "batchSize");
  t.seed = static_cast<uint64_t>(number_field(env, o, "seed"));
  t.threads = int_field(env, o, "threads");
  t.optimizer.kind = md::parse_optimizer_kind(string_field(env, o, "optimizer"));
  t.optimizer.learning_rate = static_cast<float>(number_field(env, o, "learningRate"));
  t.optimizer.weight_decay = static_cast<float>(number_field(env, o, "weightDecay"));
  t.optimizer.clip_norm = static_cast<float>(number_field(env, o, "clipNorm"));
  t.schedule.decay = md::parse_decay_kind(string_field(env, o, "lrDecay"));
  t.schedule.warmup_fraction = static_cast<float>(number_field(env, o, "warmup"));
  t.loss.distill = md::parse_distill_kind(string_field(env, o, "distillLoss"));
  t.loss.temperature = static_cast<float>(number_field(env, o, "temperature"));
  t.loss.alpha = static_cast<float>(number_field(env, o, "alpha"));
  t.keep_best = o.Get("keepBest").ToBoolean().Value();
  t.validate();
  return t;
}

Napi::Object epoch_object(Napi::Env env, const md::EpochReport& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epoch", m.epoch);
  o.Set("trainLoss", m.train_loss);
  o.Set("examples", static_cast<double>(m.examples));
  o.Set("trainSeconds", m.train_seconds);
  o.Set("examplesPerSecond", m.examples_per_s);
  o.Set("learningRate", m.learning_rate);
  o.Set("gradientNorm", m.gradient_norm);
  o.Set("evaluated", m.evaluated);
  o.Set("evalLoss", m.eval_loss);
  o.Set("evalAccuracy", m.eval_accuracy);
  o.Set("evalMacroF1", m.eval_macro_f1);
  o.Set("evalSeconds", m.eval_seconds);
  return o;
}

Napi::Object progress_object(Napi::Env env, const md::TrainProgressEvent& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epoch", p.epoch);
  o.Set("epochs", p.epochs);
  o.Set("step", static_cast<double>(p.step));
  o.Set("totalSteps", static_cast<double>(p.total_steps));
  o.Set("examplesPerSecond", p.examples_per_s);
  o.Set("runningLoss", p.running_loss);
  o.Set("learningRate", p.learning_rate);
  return o;
}

Napi::Object train_result_object(Napi::Env env, const md::TrainReport& r) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array epochs = Napi::Array::New(env, r.epochs.size());
  for (std::size_t i = 0; i < r.epochs.size(); ++i) epochs.Set(static_cast<uint32_t>(i), epoch_object(env, r.epochs[i]));
  o.Set("epochs", epochs);
  o.Set("bestEpoch", r.best_epoch);
  o.Set("restoredBest", r.restored_best);
  o.Set("cancelled", r.cancelled);
  o.Set("steps", static_cast<double>(r.steps));
  o.Set("trainSeconds", r.train_seconds);
  o.Set("examplesPerSecond", r.examples_per_s);
  return o;
}

}  // namespace md_addon
