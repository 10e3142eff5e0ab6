// Reading a student's arguments out of JS and writing its training reports back, shared by
// the wrappers that train (student_wrap.cc: train(); train_session_wrap.cc: chunked training).
// lib/student/checks.ts has already checked types and ranges; these guard the C++.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "trainer.h"

namespace md_addon {

template <class T>
std::vector<T> copy_typed(Napi::Env env, Napi::Value value, napi_typedarray_type type, const char* name,
                          std::size_t expected) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(env, std::string("wrong typed array type for ") + name);
  Napi::TypedArrayOf<T> array = value.As<Napi::TypedArrayOf<T>>();
  if (array.ElementLength() != expected) {
    throw Napi::RangeError::New(env, std::string("expected length ") + std::to_string(expected) + " for " + name +
                                         " but received length " + std::to_string(array.ElementLength()));
  }
  return std::vector<T>(array.Data(), array.Data() + array.ElementLength());
}

double number_field(Napi::Env env, Napi::Object object, const char* key);
int int_field(Napi::Env env, Napi::Object object, const char* key);
std::string string_field(Napi::Env env, Napi::Object object, const char* key);

// Token rows copied out of JS, checked so no kernel ever reads outside its tables.
struct Rows {
  std::vector<int32_t> ids, lengths;
  int64_t rows = 0;
  int max_len = 0;
};

// Copies and checks token rows (every length in [1, maxLength], every id in the vocabulary).
Rows read_rows(Napi::Env env, Napi::Value ids, Napi::Value lengths, Napi::Value max_length, int vocab_size);

// The raw train options of lib/binding.ts RawStudentTrainOptions; throws std::invalid_argument via validate().
md::StudentTrainOptions read_train_options(Napi::Env env, Napi::Object o);

Napi::Object epoch_object(Napi::Env env, const md::EpochReport& m);
Napi::Object progress_object(Napi::Env env, const md::TrainProgressEvent& p);
// lib/binding.ts RawTrainReport.
Napi::Object train_result_object(Napi::Env env, const md::TrainReport& r);

}  // namespace md_addon
