/** The options and results of the TypeScript WordPieceTokenizer (model.ts). */
export interface WordPieceOptions {
  /** Lower-case and strip accents (NFD, drop Mn) before splitting; default true (uncased BERT). */
  lowercase?: boolean;
}

export interface EncodeOptions {
  /** Add [CLS] before and [SEP] after the pieces; default true. */
  addSpecialTokens?: boolean;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** Row width of the result, counting [CLS] and [SEP]; longer texts are truncated. Default 128. */
  maxLength?: number;
}

export interface EncodedBatch {
  /** texts.length x maxLength ids, row-major, each row padded with the [PAD] id. */
  ids: Int32Array;
  /** Real (unpadded) length of each row, specials included. */
  lengths: Int32Array;
  maxLength: number;
}
