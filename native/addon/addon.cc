// Entry point of the N-API addon. Each wrapped class lives in its own file and
// registers itself here; nothing in native/core knows about N-API.
#include <napi.h>

#include "classifier_wrap.h"
#include "gemm_probe.h"
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
  // Speed probes for bench/teacher.ts (synchronous: they block for `seconds`).
  exports.Set("benchGemm", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                if (info.Length() < 6 || !info[0].IsBoolean() || !info[1].IsBoolean() || !info[2].IsNumber() ||
                    !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber())
                  throw Napi::TypeError::New(info.Env(),
                                             "benchGemm(transA: boolean, transB: boolean, M, N, K, seconds: number)");
                const auto num = [&](int i) { return info[i].As<Napi::Number>().DoubleValue(); };
                return Napi::Number::New(info.Env(),
                                         md::sgemm_gflops(info[0].As<Napi::Boolean>(), info[1].As<Napi::Boolean>(),
                                                          static_cast<int>(num(2)), static_cast<int>(num(3)),
                                                          static_cast<int>(num(4)), num(5)));
              }));
  exports.Set("fmaPeakGflops", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                if (info.Length() < 1 || !info[0].IsNumber())
                  throw Napi::TypeError::New(info.Env(), "fmaPeakGflops(seconds: number)");
                return Napi::Number::New(info.Env(), md::fma_peak_gflops(info[0].As<Napi::Number>().DoubleValue()));
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
