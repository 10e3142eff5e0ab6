// N-API wrapper of md::WordPieceTokenizer (JS class `WordPieceTokenizer` on the addon; the public
// TypeScript class is lib/tokenizer.ts, which checks every argument before calling here).
//
// Raw surface (see RawWordPieceTokenizer in lib/binding.ts):
//   new WordPieceTokenizer(tokens: string[], lowercase: boolean)
//   encode(text, addSpecialTokens): Int32Array            tokenize(text): string[]
//   encodeBatch(texts, from, offsets, maxLength, addSpecialTokens[, outIds, outLengths]): { ids, lengths }
//   encodeBatchAsync(texts, from, offsets, maxLength, addSpecialTokens): Promise<{ ids, lengths }>
//   encodeBatchJoined(joined, offsets, maxLength, addSpecialTokens): { ids, lengths }   (the former input path)
//   profileStage(joined, offsets, maxLength, addSpecialTokens, stage): number   (benchmark only)
//   dispose()                frees the tables now (later calls throw "Tokenizer is disposed")
//   vocabSize, unkId, padId, clsId, sepId, maskId, lowercase (properties)
// plus the module function countInvalidUtf8(bytes: Uint8Array): number.
//
// HOW A BATCH OF JS STRINGS GETS IN: the caller passes the array of texts, the first index to
// read, and the UTF-16 offset of each text in one buffer (a Uint32Array of n+1 entries, cheap in
// JS: string lengths). Here each string is copied straight into its place in that buffer with
// napi_get_value_string_utf16 (for V8's two-byte strings a memcpy, one-byte strings widened on
// the way), and the worker threads tokenize the UTF-16 directly (no UTF-8 copy; see
// docs/benchmarks-tokenizer.md). This replaced joining the texts into one JS string first,
// which made V8 build a copy of everything only to have it copied again here. encodeBatch copies
// while the pool's other threads already tokenize what is copied (encode_batch_utf16_filling).
// The result ids are new V8 arrays, or the caller's (the `out` option): fresh pages for the
// padded ids cost a page fault each, about as much CPU as the tokenizing, which arrays reused
// from batch to batch do not pay. Pooled external memory was tried for the new arrays and not
// kept: such ArrayBuffers cannot be transferred to a worker (docs/benchmarks-tokenizer.md).
// encodeBatchJoined and profileStage keep the joined input for the benchmark's profile and
// "before" rows.
#include "tokenizer_wrap.h"

#include <algorithm>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "unicode.h"
#include "wordpiece_tokenizer.h"

namespace md_addon {

namespace {

// The texts of one batch, copied out of JS so a worker thread may read them.
struct BatchInput {
  std::unique_ptr<char16_t[]> units;   // every text's UTF-16, at offsets; not zero-filled
  std::size_t length = 0;              // units in use
  std::vector<std::uint32_t> offsets;  // n + 1
  md::BatchEncodeOptions options;
  std::size_t count() const { return offsets.size() - 1; }
};

// The UTF-16 buffer of `length` units plus two: room for the NUL napi_get_value_string_utf16
// writes, and for the one unit more that read_text asks for to detect a longer string.
std::unique_ptr<char16_t[]> units_buffer(Napi::Env env, std::size_t length) {
  std::unique_ptr<char16_t[]> units(new (std::nothrow) char16_t[length + 2]);
  if (!units) throw Napi::RangeError::New(env, "cannot allocate " + std::to_string(length) + " UTF-16 units for the texts");
  return units;
}

void read_offsets(Napi::Env env, const Napi::Value& value, BatchInput& input) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      value.As<Napi::TypedArray>().ElementLength() == 0) {
    throw Napi::TypeError::New(env, "offsets must be a non-empty Uint32Array");
  }
  Napi::Uint32Array offsets = value.As<Napi::Uint32Array>();
  input.offsets.assign(offsets.Data(), offsets.Data() + offsets.ElementLength());
}

void read_options(const Napi::Value& max_length, const Napi::Value& add_special_tokens, BatchInput& input) {
  input.options.max_length = max_length.As<Napi::Number>().Int32Value();
  input.options.add_special_tokens = add_special_tokens.As<Napi::Boolean>().Value();
}

// The former input: one joined string (used by encodeBatchJoined and profileStage).
BatchInput read_batch_input(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsNumber() ||
      !info[3].IsBoolean()) {
    throw Napi::TypeError::New(env, "encodeBatchJoined(joined: string, offsets: Uint32Array, maxLength: number, addSpecialTokens: boolean)");
  }
  BatchInput input;
  read_offsets(env, info[1], input);
  std::size_t length = 0;
  napi_status status = napi_get_value_string_utf16(env, info[0], nullptr, 0, &length);
  if (status != napi_ok) throw Napi::Error::New(env, "cannot read the joined texts");
  input.units = units_buffer(env, length);
  input.length = length;
  std::size_t copied = 0;
  status = napi_get_value_string_utf16(env, info[0], input.units.get(), length + 1, &copied);
  if (status != napi_ok || copied != length) throw Napi::Error::New(env, "cannot read the joined texts");
  for (std::size_t i = 0; i + 1 < input.offsets.size(); ++i) {
    if (input.offsets[i] > input.offsets[i + 1] || input.offsets[i + 1] > length) {
      throw Napi::RangeError::New(env, "offsets must be non-decreasing and within the joined texts");
    }
  }
  if (input.offsets[0] > length) throw Napi::RangeError::New(env, "offsets out of range");
  read_options(info[2], info[3], input);
  return input;
}

// texts[first + i] copied to its place in input.units.
void read_text(napi_env env, napi_value texts, std::uint32_t first, std::size_t i, BatchInput& input) {
  napi_value text = nullptr;
  const std::uint32_t index = first + static_cast<std::uint32_t>(i);
  if (napi_get_element(env, texts, index, &text) != napi_ok) {
    throw Napi::Error::New(env, "cannot read texts[" + std::to_string(index) + "]");
  }
  const std::size_t expected = input.offsets[i + 1] - input.offsets[i];
  std::size_t copied = 0;
  // Asks for one unit more than expected, so a longer string shows as copied > expected. The
  // NUL lands on the next text's first unit (written next) or in the buffer's spare units.
  const napi_status status =
      napi_get_value_string_utf16(env, text, input.units.get() + input.offsets[i], expected + 2, &copied);
  if (status == napi_string_expected) {
    throw Napi::TypeError::New(env, "texts[" + std::to_string(index) + "] is not a string");
  }
  if (status != napi_ok) throw Napi::Error::New(env, "cannot read texts[" + std::to_string(index) + "]");
  if (copied != expected) {
    throw Napi::RangeError::New(env, "texts[" + std::to_string(index) + "] does not have the " +
                                         std::to_string(expected) + " UTF-16 units its offsets give it");
  }
}

// encodeBatch's texts array and first index, checked by prepare_texts_input.
struct TextsSource {
  napi_value texts = nullptr;
  std::uint32_t first = 0;
};

// The input of encodeBatch / encodeBatchAsync, checked, with room for texts[from + i] at
// units + offsets[i]; copy_texts fills it.
BatchInput prepare_texts_input(const Napi::CallbackInfo& info, TextsSource& source) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsTypedArray() ||
      !info[3].IsNumber() || !info[4].IsBoolean()) {
    throw Napi::TypeError::New(env, "encodeBatch(texts: string[], from: number, offsets: Uint32Array, maxLength: number, addSpecialTokens: boolean)");
  }
  BatchInput input;
  read_offsets(env, info[2], input);
  read_options(info[3], info[4], input);
  const std::size_t n = input.count();
  const Napi::Array texts = info[0].As<Napi::Array>();
  const double from = info[1].As<Napi::Number>().DoubleValue();
  if (!(from >= 0) || from + static_cast<double>(n) > texts.Length()) {
    throw Napi::RangeError::New(env, "texts[from .. from + offsets.length - 1) is outside the array");
  }
  if (input.offsets[0] != 0) throw Napi::RangeError::New(env, "offsets[0] must be 0");
  for (std::size_t i = 0; i < n; ++i) {
    if (input.offsets[i] > input.offsets[i + 1]) throw Napi::RangeError::New(env, "offsets must be non-decreasing");
  }
  input.length = input.offsets[n];
  input.units = units_buffer(env, input.length);
  source.texts = texts;
  source.first = static_cast<std::uint32_t>(from);
  return input;
}

// Copies the texts into input.units, in order; with a gate, publishes after each text how many
// are in place, so the pool's other threads can start on them (encode_batch_utf16_filling).
void copy_texts(napi_env env, const TextsSource& source, BatchInput& input, md::ProgressGate* gate = nullptr) {
  const std::size_t n = input.count();
  // One handle scope per block of texts: the element handles are released block by block (a
  // scope per text cost more than the copy of a short text).
  constexpr std::size_t kTextsPerScope = 1024;
  for (std::size_t block = 0; block < n; block += kTextsPerScope) {
    Napi::HandleScope scope(env);
    for (std::size_t i = block; i < std::min(n, block + kTextsPerScope); ++i) {
      read_text(env, source.texts, source.first, i, input);
      if (gate) gate->publish(i + 1);
    }
  }
}

// The input of encodeBatchAsync and profileStage: checked and copied now.
BatchInput read_texts_input(const Napi::CallbackInfo& info) {
  TextsSource source;
  BatchInput input = prepare_texts_input(info, source);
  copy_texts(info.Env(), source, input);
  return input;
}

Napi::Object make_result(Napi::Env env, Napi::Int32Array ids, Napi::Int32Array lengths) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ids", ids);
  result.Set("lengths", lengths);
  return result;
}

// Runs a batch on the thread pool from a libuv worker thread; the output arrays are allocated on
// the main thread and written in place (their backing stores do not move).
class EncodeBatchWorker : public Napi::AsyncWorker {
 public:
  EncodeBatchWorker(Napi::Env env, Napi::Object owner, std::shared_ptr<const md::WordPieceTokenizer> tokenizer,
                    BatchInput input)
      : Napi::AsyncWorker(env, "model-distill:encodeBatch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        tokenizer_(std::move(tokenizer)),
        input_(std::move(input)) {
    owner_ = Napi::Persistent(owner);  // keeps the JS tokenizer alive while we run
    const std::size_t n = input_.count();
    Napi::Int32Array ids = Napi::Int32Array::New(env, n * static_cast<std::size_t>(input_.options.max_length));
    Napi::Int32Array lengths = Napi::Int32Array::New(env, n);
    ids_data_ = ids.Data();
    lengths_data_ = lengths.Data();
    ids_ = Napi::Persistent(ids);
    lengths_ = Napi::Persistent(lengths);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      tokenizer_->encode_batch_utf16(input_.units.get(), input_.offsets.data(), input_.count(), input_.options,
                                     ids_data_, lengths_data_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(make_result(Env(), ids_.Value(), lengths_.Value())); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const md::WordPieceTokenizer> tokenizer_;
  BatchInput input_;
  Napi::ObjectReference owner_;
  Napi::Reference<Napi::Int32Array> ids_;
  Napi::Reference<Napi::Int32Array> lengths_;
  std::int32_t* ids_data_ = nullptr;
  std::int32_t* lengths_data_ = nullptr;
};

}  // namespace

Napi::Function TokenizerWrap::Define(Napi::Env env) {
  return DefineClass(env, "WordPieceTokenizer",
                     {
                         InstanceMethod<&TokenizerWrap::Encode>("encode"),
                         InstanceMethod<&TokenizerWrap::Tokenize>("tokenize"),
                         InstanceMethod<&TokenizerWrap::EncodeBatch>("encodeBatch"),
                         InstanceMethod<&TokenizerWrap::EncodeBatchAsync>("encodeBatchAsync"),
                         InstanceMethod<&TokenizerWrap::EncodeBatchJoined>("encodeBatchJoined"),
                         InstanceMethod<&TokenizerWrap::ProfileStage>("profileStage"),
                         InstanceMethod<&TokenizerWrap::Dispose>("dispose"),
                         InstanceAccessor<&TokenizerWrap::VocabSize>("vocabSize"),
                         InstanceAccessor<&TokenizerWrap::Lowercase>("lowercase"),
                         InstanceAccessor<&TokenizerWrap::UnkId>("unkId"),
                         InstanceAccessor<&TokenizerWrap::PadId>("padId"),
                         InstanceAccessor<&TokenizerWrap::ClsId>("clsId"),
                         InstanceAccessor<&TokenizerWrap::SepId>("sepId"),
                         InstanceAccessor<&TokenizerWrap::MaskId>("maskId"),
                     });
}

TokenizerWrap::TokenizerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TokenizerWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsBoolean()) {
    throw Napi::TypeError::New(env, "new WordPieceTokenizer(tokens: string[], lowercase: boolean)");
  }
  tokenizer_ = TokenizerFromJs(env, info[0].As<Napi::Array>(), info[1].As<Napi::Boolean>().Value());
  // A rough size of the vocab tables and the trie (measured: about 320 bytes per token for the
  // bert-base-chinese vocab). Without it V8 sees a tiny object, and 2,000 tokenizers built in a
  // loop reached 12.5 GB before any GC ran.
  env_ = env;
  external_bytes_ = static_cast<int64_t>(tokenizer_->vocab_size()) * 320;
  int64_t total = 0;
  napi_adjust_external_memory(env, external_bytes_, &total);
}

TokenizerWrap::~TokenizerWrap() { release_external_memory(env_); }

void TokenizerWrap::release_external_memory(napi_env env) {
  if (external_bytes_ == 0 || env == nullptr) return;
  int64_t total = 0;
  // Status ignored on purpose: this may run while the environment is torn down, where a throw
  // would abort the process, and there is nothing to correct anyway.
  napi_adjust_external_memory(env, -external_bytes_, &total);
  external_bytes_ = 0;
}

const std::shared_ptr<const md::WordPieceTokenizer>& TokenizerWrap::live(Napi::Env env) const {
  if (!tokenizer_) throw Napi::Error::New(env, "Tokenizer is disposed");
  return tokenizer_;
}

Napi::Value TokenizerWrap::Dispose(const Napi::CallbackInfo& info) {
  // Async encodes in flight hold their own reference; the tables go when the last one finishes.
  tokenizer_.reset();
  release_external_memory(info.Env());
  return info.Env().Undefined();
}

std::shared_ptr<const md::WordPieceTokenizer> TokenizerFromJs(Napi::Env env, const Napi::Array& tokens, bool lowercase) {
  std::vector<std::string> vocab;
  vocab.reserve(tokens.Length());
  for (std::uint32_t i = 0; i < tokens.Length(); ++i) {
    Napi::Value token = tokens.Get(i);
    if (!token.IsString()) throw Napi::TypeError::New(env, "tokens[" + std::to_string(i) + "] is not a string");
    vocab.push_back(token.As<Napi::String>().Utf8Value());
  }
  md::WordPieceOptions options;
  options.lowercase = lowercase;
  try {
    return std::make_shared<const md::WordPieceTokenizer>(std::move(vocab), options);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

static std::string text_argument(const Napi::CallbackInfo& info, const char* usage) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), usage);
  return info[0].As<Napi::String>().Utf8Value();  // a lone surrogate arrives as U+FFFD
}

Napi::Value TokenizerWrap::Encode(const Napi::CallbackInfo& info) {
  const std::string text = text_argument(info, "encode(text: string, addSpecialTokens: boolean)");
  const bool add_special_tokens = info.Length() < 2 || info[1].ToBoolean().Value();
  std::vector<std::int32_t> ids;
  try {
    ids = live(info.Env())->encode(text, add_special_tokens);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  Napi::Int32Array out = Napi::Int32Array::New(info.Env(), ids.size());
  std::copy(ids.begin(), ids.end(), out.Data());
  return out;
}

Napi::Value TokenizerWrap::Tokenize(const Napi::CallbackInfo& info) {
  const std::string text = text_argument(info, "tokenize(text: string)");
  const std::vector<std::string> pieces = live(info.Env())->tokenize(text);
  Napi::Array out = Napi::Array::New(info.Env(), pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) out.Set(static_cast<std::uint32_t>(i), pieces[i]);
  return out;
}

namespace {

// Where encodeBatch writes: new arrays, or the caller's (its `out` option). Reused across
// batches, the caller's cost no allocation and no page faults: for Chinese text the fresh,
// mostly padding ids rows cost about as much as the tokenizing (docs/benchmarks-tokenizer.md).
struct BatchOutput {
  Napi::Int32Array ids;
  Napi::Int32Array lengths;
};

BatchOutput new_batch_output(Napi::Env env, std::size_t n, std::size_t width) {
  return {Napi::Int32Array::New(env, n * width), Napi::Int32Array::New(env, n)};
}

Napi::Int32Array caller_array(const Napi::CallbackInfo& info, std::size_t at, std::size_t entries, const char* name) {
  const Napi::Value value = info[at];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an Int32Array");
  }
  Napi::Int32Array array = value.As<Napi::Int32Array>();
  if (array.ElementLength() != entries) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " has " + std::to_string(array.ElementLength()) +
                                                " entries; this batch needs " + std::to_string(entries));
  }
  return array;
}

// The caller's arrays from info[at] and info[at + 1] when given (exactly n * width and n entries,
// not overlapping), else new ones.
BatchOutput batch_output(const Napi::CallbackInfo& info, std::size_t at, std::size_t n, std::size_t width) {
  Napi::Env env = info.Env();
  if (info.Length() <= at || info[at].IsUndefined()) return new_batch_output(env, n, width);
  BatchOutput out{caller_array(info, at, n * width, "out.ids"), caller_array(info, at + 1, n, "out.lengths")};
  const auto* ids = reinterpret_cast<const char*>(out.ids.Data());
  const auto* lengths = reinterpret_cast<const char*>(out.lengths.Data());
  if (ids < lengths + out.lengths.ByteLength() && lengths < ids + out.ids.ByteLength()) {
    throw Napi::RangeError::New(env, "out.ids and out.lengths overlap");
  }
  return out;
}

std::size_t row_width(const BatchInput& input) { return static_cast<std::size_t>(std::max(0, input.options.max_length)); }

// The batch encoded now, on the pool, with every text already copied (the joined input, and
// the profile's "before the overlap" stage).
BatchOutput encode_batch_now(Napi::Env env, const md::WordPieceTokenizer& tokenizer, const BatchInput& input) {
  const std::size_t n = input.count();
  BatchOutput out = new_batch_output(env, n, row_width(input));
  try {
    tokenizer.encode_batch_utf16(input.units.get(), input.offsets.data(), n, input.options, out.ids.Data(),
                                 out.lengths.Data());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return out;
}

}  // namespace

// The texts are copied out of JS on this thread while the pool's other threads already tokenize
// the ones copied (encode_batch_utf16_filling): the copy, which only this thread may do, no
// longer comes before the tokenizing.
Napi::Value TokenizerWrap::EncodeBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const md::WordPieceTokenizer> tokenizer = live(env);
  TextsSource source;
  BatchInput input = prepare_texts_input(info, source);
  const std::size_t n = input.count();
  BatchOutput out = batch_output(info, 5, n, row_width(input));
  try {
    tokenizer->encode_batch_utf16_filling(input.units.get(), input.offsets.data(), n, input.options, out.ids.Data(),
                                          out.lengths.Data(),
                                          [&](md::ProgressGate& gate) { copy_texts(env, source, input, &gate); });
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return make_result(env, out.ids, out.lengths);
}

// The former input path (one joined string), whole, for the benchmark's "before" row.
Napi::Value TokenizerWrap::EncodeBatchJoined(const Napi::CallbackInfo& info) {
  const std::shared_ptr<const md::WordPieceTokenizer> tokenizer = live(info.Env());
  const BatchOutput out = encode_batch_now(info.Env(), *tokenizer, read_batch_input(info));
  return make_result(info.Env(), out.ids, out.lengths);
}

Napi::Value TokenizerWrap::EncodeBatchAsync(const Napi::CallbackInfo& info) {
  const std::shared_ptr<const md::WordPieceTokenizer> tokenizer = live(info.Env());
  BatchInput input = read_texts_input(info);
  if (input.options.max_length < 1) throw Napi::RangeError::New(info.Env(), "maxLength must be positive");
  auto* worker = new EncodeBatchWorker(info.Env(), info.This().As<Napi::Object>(), tokenizer, std::move(input));
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

// One stage of encodeBatch alone, for bench/tokenizer.ts's profile: 'copy' (read the texts out of
// JS, nothing else), 'copy_then_encode' (all of encodeBatch, but the texts all copied before the
// tokenizing starts, as before the copy overlapped it; texts input only),
// 'to_utf8' / 'decode' / 'normalize' (md::WordPieceTokenizer::ProfileStage),
// 'via_utf8' (the whole UTF-8 path: UTF-8 copy per text, then the UTF-8 tokenizer). The input is
// either encodeBatch's (texts, from, offsets, maxLength, addSpecialTokens, stage) or the former
// joined one (joined, offsets, maxLength, addSpecialTokens, stage).
Napi::Value TokenizerWrap::ProfileStage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool array_input = info.Length() > 0 && info[0].IsArray();
  const std::size_t stage_at = array_input ? 5 : 4;
  if (info.Length() <= stage_at || !info[stage_at].IsString()) {
    throw Napi::TypeError::New(env, "profileStage(texts, from, offsets, maxLength, addSpecialTokens, stage: string) or profileStage(joined, offsets, maxLength, addSpecialTokens, stage: string)");
  }
  BatchInput input = array_input ? read_texts_input(info) : read_batch_input(info);
  const std::string stage = info[stage_at].As<Napi::String>().Utf8Value();
  using Stage = md::WordPieceTokenizer::ProfileStage;
  try {
    if (stage == "copy") return Napi::Number::New(env, static_cast<double>(input.length));
    if (stage == "copy_then_encode") {  // encodeBatch before the copy overlapped the tokenizing
      const BatchOutput out = encode_batch_now(env, *live(env), input);
      return Napi::Number::New(env, input.count() > 0 ? out.lengths[0] : 0);
    }
    if (stage == "via_utf8") {
      const std::size_t n = input.count();
      std::vector<std::int32_t> ids(n * static_cast<std::size_t>(std::max(1, input.options.max_length))), lengths(n);
      live(env)->encode_batch_utf16_via_utf8(input.units.get(), input.offsets.data(), n, input.options, ids.data(),
                                              lengths.data());
      return Napi::Number::New(env, n > 0 ? lengths[0] : 0);
    }
    Stage which;
    if (stage == "to_utf8") {
      which = Stage::to_utf8;
    } else if (stage == "decode") {
      which = Stage::decode;
    } else if (stage == "normalize") {
      which = Stage::normalize;
    } else {
      throw Napi::RangeError::New(env, "unknown profile stage \"" + stage + "\"");
    }
    const std::uint64_t sum =
        live(env)->profile_utf16(input.units.get(), input.offsets.data(), input.count(), which);
    return Napi::Number::New(env, static_cast<double>(sum));
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Value TokenizerWrap::VocabSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->vocab_size()));
}
Napi::Value TokenizerWrap::Lowercase(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), live(info.Env())->lowercase());
}
Napi::Value TokenizerWrap::UnkId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->unk_id()); }
Napi::Value TokenizerWrap::PadId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->pad_id()); }
Napi::Value TokenizerWrap::ClsId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->cls_id()); }
Napi::Value TokenizerWrap::SepId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->sep_id()); }
Napi::Value TokenizerWrap::MaskId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->mask_id()); }

Napi::Value CountInvalidUtf8(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "countInvalidUtf8(bytes: Uint8Array)");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const std::size_t count =
      md::unicode::count_invalid_utf8(std::string_view(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength()));
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

void RegisterTokenizer(Napi::Env env, Napi::Object exports) {
  exports.Set("WordPieceTokenizer", TokenizerWrap::Define(env));
  exports.Set("countInvalidUtf8", Napi::Function::New(env, CountInvalidUtf8, "countInvalidUtf8"));
}

}  // namespace md_addon
