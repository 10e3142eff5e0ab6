// N-API wrapper of md::WordPieceTokenizer; see tokenizer_wrap.cc for the raw JS surface.
#pragma once
#include <napi.h>

#include <memory>

namespace md {
class WordPieceTokenizer;
}

namespace md_addon {

class TokenizerWrap : public Napi::ObjectWrap<TokenizerWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TokenizerWrap(const Napi::CallbackInfo& info);
  ~TokenizerWrap() override;

 private:
  // The tokenizer, or a JS Error "Tokenizer is disposed" after dispose().
  const std::shared_ptr<const md::WordPieceTokenizer>& live(Napi::Env env) const;
  // Frees the tables now (JS's GC sees only a small object and may not run for a long time).
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void release_external_memory(napi_env env);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Tokenize(const Napi::CallbackInfo& info);
  Napi::Value EncodeBatch(const Napi::CallbackInfo& info);
  Napi::Value EncodeBatchAsync(const Napi::CallbackInfo& info);
  Napi::Value EncodeBatchJoined(const Napi::CallbackInfo& info);
  Napi::Value ProfileStage(const Napi::CallbackInfo& info);
  Napi::Value VocabSize(const Napi::CallbackInfo& info);
  Napi::Value Lowercase(const Napi::CallbackInfo& info);
  Napi::Value UnkId(const Napi::CallbackInfo& info);
  Napi::Value PadId(const Napi::CallbackInfo& info);
  Napi::Value ClsId(const Napi::CallbackInfo& info);
  Napi::Value SepId(const Napi::CallbackInfo& info);
  Napi::Value MaskId(const Napi::CallbackInfo& info);

  // Shared with async workers, which may outlive a call but never the tokenizer.
  std::shared_ptr<const md::WordPieceTokenizer> tokenizer_;
  // Bytes reported to V8 with napi_adjust_external_memory, so its GC counts the native tables.
  int64_t external_bytes_ = 0;
  napi_env env_ = nullptr;
};

// Builds the native tokenizer from a JS array of vocab tokens (index = id); shared by
// TokenizerWrap and ClassifierWrap so both read and check the vocabulary the same way.
std::shared_ptr<const md::WordPieceTokenizer> TokenizerFromJs(Napi::Env env, const Napi::Array& tokens, bool lowercase);

// Adds the WordPieceTokenizer class and countInvalidUtf8() to the addon's exports.
void RegisterTokenizer(Napi::Env env, Napi::Object exports);

}  // namespace md_addon
