// N-API wrapper of md::WordPieceTokenizer (JS class `WordPieceTokenizer` on the addon; the public
// TypeScript class is lib/tokenizer.ts, which checks every argument before calling here).
//
// Raw surface (see RawWordPieceTokenizer in lib/binding.ts):
//   new WordPieceTokenizer(tokens: string[], lowercase: boolean)
//   encode(text, addSpecialTokens): Int32Array            tokenize(text): string[]
//   encodeBatch(joined, offsets, maxLength, addSpecialTokens): { ids, lengths }
//   encodeBatchAsync(joined, offsets, maxLength, addSpecialTokens): Promise<{ ids, lengths }>
//   profileStage(joined, offsets, maxLength, addSpecialTokens, stage): number   (benchmark only)
//   dispose()                frees the tables now (later calls throw "Tokenizer is disposed")
//   vocabSize, unkId, padId, clsId, sepId, maskId, lowercase (properties)
// plus the module function countInvalidUtf8(bytes: Uint8Array): number.
//
// HOW A BATCH OF JS STRINGS GETS IN: the caller joins the texts into ONE string and passes the
// UTF-16 offset of each text (a Uint32Array of n+1 entries, cheap: string lengths). Here that
// string is copied out once as UTF-16 (napi_get_value_string_utf16, a memcpy for V8's two-byte
// strings) and the worker threads tokenize the UTF-16 directly (no UTF-8 copy; see
// docs/benchmarks-tokenizer.md for the profile that led there). The alternative, fetching
// each array element and converting it with napi_get_value_string_utf8, does all of that work on
// the calling thread. Measured on shop10 train + unlabeled (56,722 texts, 9.6 MB UTF-8), with the
// tokenizing itself cut short (maxLength 1), best of 15: joined 10.7 ms (of which join + offsets
// in JS 5 ms) vs per string 15.4 ms, all of it on the main thread. The gap matters most for
// encodeBatchAsync, whose copy must happen on the main thread before the worker starts.
#include "tokenizer_wrap.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "unicode.h"
#include "wordpiece_tokenizer.h"

namespace md_addon {

namespace {

// The texts of one batch, copied out of JS so a worker thread may read them.
struct BatchInput {
  std::u16string units;
  std::vector<std::uint32_t> offsets;  // n + 1
  md::BatchEncodeOptions options;
  std::size_t count() const { return offsets.size() - 1; }
};

BatchInput read_batch_input(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsNumber() ||
      !info[3].IsBoolean()) {
    throw Napi::TypeError::New(env, "encodeBatch(joined: string, offsets: Uint32Array, maxLength: number, addSpecialTokens: boolean)");
  }
  Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
  if (typed.TypedArrayType() != napi_uint32_array || typed.ElementLength() == 0) {
    throw Napi::TypeError::New(env, "offsets must be a non-empty Uint32Array");
  }
  Napi::Uint32Array offsets = info[1].As<Napi::Uint32Array>();
  BatchInput input;
  std::size_t length = 0;
  napi_status status = napi_get_value_string_utf16(env, info[0], nullptr, 0, &length);
  if (status != napi_ok) throw Napi::Error::New(env, "cannot read the joined texts");
  input.units.resize(length);
  std::size_t copied = 0;
  // The buffer needs room for a terminating NUL, which std::u16string keeps past size().
  status = napi_get_value_string_utf16(env, info[0], input.units.data(), length + 1, &copied);
  if (status != napi_ok || copied != length) throw Napi::Error::New(env, "cannot read the joined texts");
  input.offsets.assign(offsets.Data(), offsets.Data() + offsets.ElementLength());
  for (std::size_t i = 0; i + 1 < input.offsets.size(); ++i) {
    if (input.offsets[i] > input.offsets[i + 1] || input.offsets[i + 1] > length) {
      throw Napi::RangeError::New(env, "offsets must be non-decreasing and within the joined texts");
    }
  }
  if (input.offsets[0] > length) throw Napi::RangeError::New(env, "offsets out of range");
  input.options.max_length = info[2].As<Napi::Number>().Int32Value();
  input.options.add_special_tokens = info[3].As<Napi::Boolean>().Value();
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
      tokenizer_->encode_batch_utf16(input_.units.data(), input_.offsets.data(), input_.count(), input_.options,
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

Napi::Value TokenizerWrap::EncodeBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const md::WordPieceTokenizer> tokenizer = live(env);
  BatchInput input = read_batch_input(info);
  const std::size_t n = input.count();
  Napi::Int32Array ids = Napi::Int32Array::New(env, n * static_cast<std::size_t>(std::max(0, input.options.max_length)));
  Napi::Int32Array lengths = Napi::Int32Array::New(env, n);
  try {
    tokenizer->encode_batch_utf16(input.units.data(), input.offsets.data(), n, input.options, ids.Data(),
                                   lengths.Data());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return make_result(env, ids, lengths);
}

Napi::Value TokenizerWrap::EncodeBatchAsync(const Napi::CallbackInfo& info) {
  const std::shared_ptr<const md::WordPieceTokenizer> tokenizer = live(info.Env());
  BatchInput input = read_batch_input(info);
  if (input.options.max_length < 1) throw Napi::RangeError::New(info.Env(), "maxLength must be positive");
  auto* worker = new EncodeBatchWorker(info.Env(), info.This().As<Napi::Object>(), tokenizer, std::move(input));
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

// One stage of encodeBatch alone, for bench/tokenizer.ts's profile: 'copy' (read the joined string
// out of JS, nothing else), 'to_utf8' / 'decode' / 'normalize' (md::WordPieceTokenizer::ProfileStage),
// 'via_utf8' (the whole former path: UTF-8 copy per text, then the UTF-8 tokenizer).
Napi::Value TokenizerWrap::ProfileStage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[4].IsString()) {
    throw Napi::TypeError::New(env, "profileStage(joined, offsets, maxLength, addSpecialTokens, stage: string)");
  }
  BatchInput input = read_batch_input(info);
  const std::string stage = info[4].As<Napi::String>().Utf8Value();
  using Stage = md::WordPieceTokenizer::ProfileStage;
  try {
    if (stage == "copy") return Napi::Number::New(env, static_cast<double>(input.units.size()));
    if (stage == "via_utf8") {
      const std::size_t n = input.count();
      std::vector<std::int32_t> ids(n * static_cast<std::size_t>(std::max(1, input.options.max_length))), lengths(n);
      live(env)->encode_batch_utf16_via_utf8(input.units.data(), input.offsets.data(), n, input.options, ids.data(),
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
        live(env)->profile_utf16(input.units.data(), input.offsets.data(), input.count(), which);
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
