// Entry point of the N-API addon. Each wrapped class lives in its own file and
// registers itself here; nothing in native/core knows about N-API.
#include <napi.h>

#include "classifier_wrap.h"
#include "mlm_pretrainer_wrap.h"
#include "student_wrap.h"
#include "tokenizer_wrap.h"
#include "train_session_wrap.h"
#include "version.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("coreVersion", Napi::String::New(env, md::core_version()));
  exports.Set("simdLevel", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::String::New(info.Env(), md::simd_level());
              }));
  md_addon::RegisterTokenizer(env, exports);
  md_addon::RegisterStudent(env, exports);
  md_addon::RegisterTrainSession(env, exports);
  md_addon::RegisterClassifier(env, exports);
  md_addon::RegisterMlmPretrainer(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(model_distill, Init)
