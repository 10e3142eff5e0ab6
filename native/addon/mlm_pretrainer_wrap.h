// N-API wrapper of md::MlmPretrainer (native/core/mlm_pretrainer.h): masked-LM
// pre-training of the transformer teacher, run off the JS thread with progress,
// cancellation and periodic checkpoints. See mlm_pretrainer_wrap.cc for the raw
// JS surface; lib/pipeline/pretrain.ts is its only user and checks every
// argument first.
#pragma once
#include <napi.h>

namespace md_addon {

// Adds the MlmPretrainer class to the addon's exports.
void RegisterMlmPretrainer(Napi::Env env, Napi::Object exports);

}  // namespace md_addon
