// N-API wrapper of a student model (md::StudentModel via student_factory.h);
// see student_wrap.cc for the raw JS surface. The public TypeScript class is
// NativeStudent in lib/student/native-student.ts, which checks every argument before calling here.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "student_factory.h"

namespace md_addon {

// The model plus the bookkeeping that keeps concurrent JS calls safe. Shared
// (shared_ptr) by the JS object, its async workers and any NativeClassifier
// built on it, so a worker never outlives the model it reads.
//
// Rules (all checked on the JS thread, where every call starts):
//   - training: set while train() runs; every other call is refused;
//   - readers:  async predictions in flight; mutators (load, set embeddings,
//               train, dispose) are refused while it is non-zero;
//   - the fast-inference tables are built lazily by the first reader that
//     needs them (under prepare_mutex) and dropped by every mutation.
struct StudentHandle {
  md::StudentSpec spec;
  std::unique_ptr<md::StudentModel> model;
  std::atomic<bool> training{false};
  std::atomic<int> readers{0};
  std::mutex prepare_mutex;
  bool prepared = false;  // guarded by prepare_mutex
  std::shared_ptr<std::atomic<bool>> cancel;  // of the running train(), if any

  // Builds the inference tables if needed (thread-safe; may run off the JS thread).
  void ensure_prepared();
  // Marks the tables stale after the parameters change (JS thread, no readers).
  void invalidate();
  // Throws a JS error naming `what` when the model is training.
  void check_usable(Napi::Env env, const char* what) const;
  // check_usable + no reader in flight (for calls that change the parameters).
  void check_mutable(Napi::Env env, const char* what) const;
};

// Counts one reader for as long as it lives (async workers own one).
class ReaderLease {
 public:
  explicit ReaderLease(std::shared_ptr<StudentHandle> handle) : handle_(std::move(handle)) { ++handle_->readers; }
  ~ReaderLease() { --handle_->readers; }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;
  StudentHandle& operator*() const { return *handle_; }
  StudentHandle* operator->() const { return handle_.get(); }

 private:
  std::shared_ptr<StudentHandle> handle_;
};

class StudentWrap : public Napi::ObjectWrap<StudentWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit StudentWrap(const Napi::CallbackInfo& info);

  // The StudentWrap behind `value`, or null when it is not a NativeStudent
  // (checked with a type tag, so another wrapped class is never misread).
  static StudentWrap* FromValue(Napi::Value value);
  // The shared model state; throws "NativeStudent is disposed" after dispose().
  const std::shared_ptr<StudentHandle>& live(Napi::Env env) const;

 private:
  Napi::Value SetEmbeddings(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value PredictLogits(const Napi::CallbackInfo& info);
  Napi::Value PredictLogitsAsync(const Napi::CallbackInfo& info);
  Napi::Value PrepareInference(const Napi::CallbackInfo& info);
  Napi::Value SaveWeights(const Napi::CallbackInfo& info);
  Napi::Value LoadWeights(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);
  Napi::Value Kind(const Napi::CallbackInfo& info);
  Napi::Value Training(const Napi::CallbackInfo& info);

  std::shared_ptr<StudentHandle> handle_;  // null after dispose()
};

// Adds the NativeStudent class to the addon's exports.
void RegisterStudent(Napi::Env env, Napi::Object exports);

}  // namespace md_addon
