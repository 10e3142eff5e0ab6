// N-API wrapper of md::TrainSession (trainer.h): a student's training run fed
// in parts, so a pool far larger than memory can be streamed from its file one
// chunk at a time. See train_session_wrap.cc for the raw JS surface; the public
// TypeScript side is NativeStudent.trainStream in lib/student/native-student.ts.
#pragma once
#include <napi.h>

#include <memory>

namespace md_addon {

struct SessionState;

class TrainSessionWrap : public Napi::ObjectWrap<TrainSessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TrainSessionWrap(const Napi::CallbackInfo& info);
  ~TrainSessionWrap() override;

 private:
  Napi::Value TrainPart(const Napi::CallbackInfo& info);
  Napi::Value EndEpoch(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);

  std::shared_ptr<SessionState> state_;
};

// Adds the TrainSession class to the addon's exports.
void RegisterTrainSession(Napi::Env env, Napi::Object exports);

}  // namespace md_addon
