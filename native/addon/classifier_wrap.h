// N-API wrapper of the serving hot path "strings in -> probabilities out": a
// WordPiece tokenizer plus a student model; see classifier_wrap.cc.
#pragma once
#include <napi.h>

#include <memory>

#include "student_wrap.h"

namespace md {
class WordPieceTokenizer;
}

namespace md_addon {

class ClassifierWrap : public Napi::ObjectWrap<ClassifierWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ClassifierWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value PredictAsync(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value NumClasses(const Napi::CallbackInfo& info);
  void check_open(Napi::Env env) const;

  std::shared_ptr<const md::WordPieceTokenizer> tokenizer_;
  std::shared_ptr<StudentHandle> student_;  // shared with the NativeStudent it was built from
  int max_length_ = 0;
  bool add_special_tokens_ = true;
};

// Adds the NativeClassifier class to the addon's exports.
void RegisterClassifier(Napi::Env env, Napi::Object exports);

}  // namespace md_addon
