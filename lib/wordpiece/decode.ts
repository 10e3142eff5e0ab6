/**
 * WordPiece decoding: tokens back to text, exactly as Hugging Face's WordPiece decoder with
 * cleanup on. A pure function of the tokens, so the native Tokenizer (lib/tokenizer.ts) and the
 * TypeScript one (model.ts) decode identically.
 */
import { CONTINUATION_PREFIX } from './tokens';

export interface DecodeOptions {
  /** Leave out [PAD] [UNK] [CLS] [SEP] [MASK]; default true (as Hugging Face). */
  skipSpecialTokens?: boolean;
}

/**
 * Joins WordPiece tokens back into text exactly as Hugging Face's WordPiece decoder (cleanup on):
 * each token after the first loses its "##" prefix or else gets a leading space, then the cleanup
 * replacements run on that single token (so "can ' t" stays as it is), then all are concatenated.
 * Pure function: the native Tokenizer uses it too, so both backends decode identically.
 */
export function decodeWordPieceTokens(tokens: readonly string[]): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    let token = tokens[i];
    if (i !== 0) {
      token = token.startsWith(CONTINUATION_PREFIX) ? token.slice(CONTINUATION_PREFIX.length) : ' ' + token;
    }
    out += cleanUpTokenizationSpaces(token);
  }
  return out;
}

/** Hugging Face's `cleanup`: removes the space WordPiece decoding puts before punctuation and clitics. */
function cleanUpTokenizationSpaces(s: string): string {
  if (s.indexOf(' ') < 0) return s; // every pattern starts with a space
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
