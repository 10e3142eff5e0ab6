// N-API wrapper of md::TrainSession (JS class `TrainSession` on the addon; the public
// TypeScript side is NativeStudent.trainStream in lib/student/native-student.ts, which checks every argument).
//
// Raw surface (see RawTrainSession in lib/student/native-student.ts):
//   new TrainSession(student: NativeStudent, options: RawStudentTrainOptions, totalSteps: number,
//                    eval: { ids, lengths, maxLength, labels } | null)
//       locks the student for training (its other methods refuse) until finish()
//   trainPart(rows: { ids, lengths, maxLength, labels|null, softTargets|null }, onProgress: fn|null)
//       : Promise<{ examples, steps, cancelled }>   shuffles the part, trains on it
//   endEpoch(): Promise<RawEpochReport>             closes the epoch, evaluates on `eval`
//   finish(): Promise<RawTrainReport>                restores the best epoch, unlocks the student
//   cancel()                                         stops the running part after its batch
//
// One call at a time: a call while another is in flight is refused. Rows are COPIED on the
// JS thread; only one part's rows (plus the eval rows) are held at once.
#include "train_session_wrap.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "student_args.h"
#include "student_wrap.h"
#include "trainer.h"

namespace md_addon {

// Shared by the JS object and its in-flight worker, so neither outlives what it uses.
struct SessionState {
  std::shared_ptr<StudentHandle> handle;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  Rows eval_rows;
  std::vector<int32_t> eval_labels;
  bool has_eval = false;
  std::unique_ptr<md::TrainSession> session;
  // Where the running part's progress goes (set and called on the worker thread).
  std::function<void(const md::TrainProgressEvent&)> sink;
  bool busy = false;      // a worker is in flight (JS thread only)
  bool finished = false;  // the student is unlocked

  md::EvalRows eval() const {
    md::EvalRows e;
    e.ids = eval_rows.ids.data();
    e.lengths = eval_rows.lengths.data();
    e.rows = eval_rows.rows;
    e.max_len = eval_rows.max_len;
    e.labels = eval_labels.data();
    return e;
  }
  // Unlocks the student (JS thread); the session can no longer train.
  void release() {
    if (finished) return;
    finished = true;
    handle->training = false;
    handle->cancel.reset();
    handle->invalidate();  // the parameters changed since any tables were built
  }
  void check_callable(Napi::Env env, const char* what) const {
    if (finished) throw Napi::Error::New(env, std::string("TrainSession is finished (") + what + ")");
    if (busy) throw Napi::Error::New(env, std::string("TrainSession is busy (") + what + " while another call runs)");
  }
};

namespace {

// trainPart: one part, with throttled progress events to the JS thread.
class PartWorker : public Napi::AsyncProgressQueueWorker<md::TrainProgressEvent> {
 public:
  PartWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<SessionState> state)
      : Napi::AsyncProgressQueueWorker<md::TrainProgressEvent>(env, "model-distill:trainPart"),
        deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  Rows rows;
  std::vector<int32_t> labels;
  std::vector<float> soft;
  Napi::FunctionReference on_progress;

  void Execute(const ExecutionProgress& progress) override {
    try {
      md::TrainRows data;
      data.ids = rows.ids.data();
      data.lengths = rows.lengths.data();
      data.rows = rows.rows;
      data.max_len = rows.max_len;
      data.labels = labels.empty() ? nullptr : labels.data();
      data.soft_targets = soft.empty() ? nullptr : soft.data();
      using Clock = std::chrono::steady_clock;
      Clock::time_point last = Clock::now() - std::chrono::seconds(1);
      if (!on_progress.IsEmpty()) {
        state_->sink = [&](const md::TrainProgressEvent& p) {
          const Clock::time_point now = Clock::now();
          if (now - last < std::chrono::milliseconds(100)) return;
          last = now;
          progress.Send(&p, 1);
        };
      }
      state_->session->train_part(data);
      state_->sink = nullptr;
      examples_ = state_->session->epoch_examples();
      steps_ = state_->session->steps();
      cancelled_ = state_->session->cancelled();
    } catch (const std::exception& e) {
      state_->sink = nullptr;
      SetError(e.what());
    }
  }
  void OnProgress(const md::TrainProgressEvent* events, size_t count) override {
    if (on_progress.IsEmpty() || count == 0) return;
    Napi::HandleScope scope(Env());
    try {
      on_progress.Call({progress_object(Env(), events[count - 1])});
    } catch (const Napi::Error&) {
      // A throwing progress hook must not take the training down; the caller sees its next call.
    }
  }
  void OnOK() override {
    state_->busy = false;
    Napi::Object o = Napi::Object::New(Env());
    o.Set("examples", static_cast<double>(examples_));
    o.Set("steps", static_cast<double>(steps_));
    o.Set("cancelled", cancelled_);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& error) override {
    state_->busy = false;
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<SessionState> state_;
  Napi::ObjectReference owner_;
  int64_t examples_ = 0, steps_ = 0;
  bool cancelled_ = false;
};

// endEpoch / finish: one session call off the JS thread.
class SessionWorker : public Napi::AsyncWorker {
 public:
  enum class Job { end_epoch, finish };
  SessionWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<SessionState> state, Job job)
      : Napi::AsyncWorker(env, "model-distill:trainSession"),
        deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)),
        job_(job) {
    owner_ = Napi::Persistent(owner);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      if (job_ == Job::end_epoch) {
        const md::EvalRows eval = state_->eval();
        epoch_ = state_->session->end_epoch(state_->has_eval ? &eval : nullptr);
      } else {
        result_ = state_->session->finish();
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    done();
    deferred_.Resolve(job_ == Job::end_epoch ? epoch_object(Env(), epoch_) : train_result_object(Env(), result_));
  }
  void OnError(const Napi::Error& error) override {
    done();
    deferred_.Reject(error.Value());
  }

 private:
  void done() {
    state_->busy = false;
    if (job_ == Job::finish) state_->release();
  }
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<SessionState> state_;
  Job job_;
  Napi::ObjectReference owner_;
  md::EpochReport epoch_;
  md::TrainReport result_;
};

}  // namespace

Napi::Function TrainSessionWrap::Define(Napi::Env env) {
  return DefineClass(env, "TrainSession",
                     {
                         InstanceMethod<&TrainSessionWrap::TrainPart>("trainPart"),
                         InstanceMethod<&TrainSessionWrap::EndEpoch>("endEpoch"),
                         InstanceMethod<&TrainSessionWrap::Finish>("finish"),
                         InstanceMethod<&TrainSessionWrap::Cancel>("cancel"),
                     });
}

TrainSessionWrap::TrainSessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainSessionWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsObject() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "new TrainSession(student: NativeStudent, options: object, totalSteps: number, eval: object | null)");
  StudentWrap* student = StudentWrap::FromValue(info[0]);
  if (student == nullptr) throw Napi::TypeError::New(env, "TrainSession: the first argument is not a NativeStudent");
  auto state = std::make_shared<SessionState>();
  state->handle = student->live(env);
  state->handle->check_mutable(env, "trainStream");
  const int V = state->handle->model->vocab_size();
  if (info[3].IsObject()) {
    Napi::Object e = info[3].As<Napi::Object>();
    state->eval_rows = read_rows(env, e.Get("ids"), e.Get("lengths"), e.Get("maxLength"), V);
    state->eval_labels = copy_typed<int32_t>(env, e.Get("labels"), napi_int32_array, "eval labels",
                                             static_cast<std::size_t>(state->eval_rows.rows));
    state->has_eval = true;
  }
  const int64_t total_steps = info[2].As<Napi::Number>().Int64Value();
  try {
    md::StudentTrainOptions options = read_train_options(env, info[1].As<Napi::Object>());
    options.cancel = state->cancel.get();
    SessionState* raw = state.get();  // the session lives inside the state
    options.on_progress = [raw](const md::TrainProgressEvent& p) {
      if (raw->sink) raw->sink(p);
    };
    state->session = std::make_unique<md::TrainSession>(*state->handle->model, options, total_steps);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  state->handle->training = true;
  state->handle->cancel = state->cancel;  // NativeStudent.cancel() also stops the session
  state_ = std::move(state);
}

TrainSessionWrap::~TrainSessionWrap() {
  // Collected without finish() (and no worker in flight, or it would hold the JS object):
  // unlock the student so it stays usable.
  if (state_ && !state_->busy) state_->release();
}

Napi::Value TrainSessionWrap::TrainPart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  state_->check_callable(env, "trainPart");
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "trainPart(rows: object, onProgress: function | null)");
  const int V = state_->handle->model->vocab_size();
  const int C = state_->handle->model->num_classes();
  auto* worker = new PartWorker(env, info.This().As<Napi::Object>(), state_);
  try {
    Napi::Object t = info[0].As<Napi::Object>();
    worker->rows = read_rows(env, t.Get("ids"), t.Get("lengths"), t.Get("maxLength"), V);
    const std::size_t n = static_cast<std::size_t>(worker->rows.rows);
    Napi::Value labels = t.Get("labels"), soft = t.Get("softTargets");
    if (!labels.IsNull() && !labels.IsUndefined())
      worker->labels = copy_typed<int32_t>(env, labels, napi_int32_array, "labels", n);
    if (!soft.IsNull() && !soft.IsUndefined())
      worker->soft = copy_typed<float>(env, soft, napi_float32_array, "softTargets", n * C);
    if (info.Length() > 1 && info[1].IsFunction()) worker->on_progress = Napi::Persistent(info[1].As<Napi::Function>());
  } catch (...) {
    delete worker;  // never queued
    throw;
  }
  state_->busy = true;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value TrainSessionWrap::EndEpoch(const Napi::CallbackInfo& info) {
  state_->check_callable(info.Env(), "endEpoch");
  auto* worker = new SessionWorker(info.Env(), info.This().As<Napi::Object>(), state_, SessionWorker::Job::end_epoch);
  state_->busy = true;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value TrainSessionWrap::Finish(const Napi::CallbackInfo& info) {
  state_->check_callable(info.Env(), "finish");
  auto* worker = new SessionWorker(info.Env(), info.This().As<Napi::Object>(), state_, SessionWorker::Job::finish);
  state_->busy = true;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value TrainSessionWrap::Cancel(const Napi::CallbackInfo& info) {
  *state_->cancel = true;
  return info.Env().Undefined();
}

void RegisterTrainSession(Napi::Env env, Napi::Object exports) { exports.Set("TrainSession", TrainSessionWrap::Define(env)); }

}  // namespace md_addon
