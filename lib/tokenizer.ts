/**
 * The public tokenizer: BERT WordPiece with exactly the ids of Hugging Face's BertTokenizer /
 * `tokenizers` BertWordPiece for a given vocab.txt.
 *
 * Two backends give identical ids (test/tokenizer-parity.test.ts proves both against the oracle):
 *  - 'native': the C++ core (native/core/wordpiece_tokenizer.cc); encodeBatch runs on the addon's
 *    thread pool, encodeBatchAsync on a libuv worker so the event loop stays free;
 *  - 'typescript': lib/wordpiece/, used where the addon does not load (or when asked for, or
 *    with MODEL_DISTILL_BACKEND=wasm).
 * This class checks every argument and names the bad value; the backends assume valid input.
 */
import { types } from 'util';

import { AddonLoadError, loadAddon, type RawWordPieceTokenizer } from './binding';
import { readVocabFile, UNK_TOKEN } from './vocab';
import { argumentError, booleanOption, checkObject, checkString, checkStringArray, describe } from './util/check-args';
import { decodeWordPieceTokens, SPECIAL_TOKENS, WordPieceTokenizer } from './wordpiece';
import { DEFAULT_MAX_JOINED_UNITS, sliceTexts, textOffsets } from './joined-texts';

export interface TokenizerOptions {
  /** Lower-case and strip accents (uncased BERT). Default true. */
  lowercase?: boolean;
  /** Default 'native', falling back to 'typescript' when the addon does not load. */
  backend?: 'native' | 'typescript';
}

export interface EncodeOptions {
  /** Put [CLS] before and [SEP] after the pieces. Default true. */
  addSpecialTokens?: boolean;
}

export interface BatchEncodeOptions extends EncodeOptions {
  /** Row width, [CLS] and [SEP] included; longer texts keep their first maxLength-2 pieces. Default 128. */
  maxLength?: number;
}

/** Arrays encodeBatch writes into instead of new ones (its `out` option). */
export interface BatchEncodeOutput {
  /** At least texts.length x maxLength entries. */
  ids: Int32Array;
  /** At least texts.length entries; not overlapping ids. */
  lengths: Int32Array;
}

export interface SyncBatchEncodeOptions extends BatchEncodeOptions {
  /**
   * Write into these arrays instead of allocating new ones; the result's ids and lengths are then
   * views of their first texts.length x maxLength and texts.length entries. Reused from batch to
   * batch they save the allocation and the page faults of fresh arrays, which for short texts
   * cost about as much as the tokenizing. Each call overwrites them: copy what you keep.
   */
  out?: BatchEncodeOutput;
}

export interface BatchEncoding {
  /** Row-major texts.length x maxLength ids, each row padded with [PAD]. */
  ids: Int32Array;
  /** Real length of each row (specials included, padding not). */
  lengths: Int32Array;
  maxLength: number;
}

export interface DecodeOptions {
  /** Leave out [PAD] [UNK] [CLS] [SEP] [MASK]. Default true (as Hugging Face). */
  skipSpecialTokens?: boolean;
}

/**
 * Largest batch (UTF-16 units) handed to the addon at once: its offsets are 32-bit and the copy
 * of the texts is one buffer, so bigger batches go over in slices (results stitched together here).
 */
let maxJoinedUnits = DEFAULT_MAX_JOINED_UNITS;

/** @internal Lowers the slice size so tests can exercise the stitching; returns the old value. */
export function setMaxJoinedUnitsForTests(units: number): number {
  const old = maxJoinedUnits;
  maxJoinedUnits = units;
  return old;
}

export class Tokenizer {
  readonly backend: 'native' | 'typescript';
  readonly vocabSize: number;
  readonly lowercase: boolean;
  /** Ids of the specials; -1 when the vocab lacks one. */
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;

  private readonly tokens: readonly string[];
  private readonly native: RawWordPieceTokenizer | undefined;
  private readonly typescript: WordPieceTokenizer | undefined;
  private readonly specialIds: ReadonlySet<number>;
  private idOf: Map<string, number> | undefined; // built on first tokenToId()
  private disposed = false;

  /** Reads vocab.txt (one token a line, line number = id); errors name the file and line. */
  static fromFile(vocabPath: string, options: TokenizerOptions = {}): Tokenizer {
    checkObject(options, 'options');
    return new Tokenizer(readVocabFile(vocabPath), options);
  }

  /** `tokens[id]` is the token of `id`; it must hold [UNK] and no duplicate. */
  static fromTokens(tokens: string[], options: TokenizerOptions = {}): Tokenizer {
    checkStringArray(tokens, 'tokens');
    checkObject(options, 'options');
    const seen = new Map<string, number>();
    tokens.forEach((t, id) => {
      const first = seen.get(t);
      if (first !== undefined) throw new Error(`duplicate token ${JSON.stringify(t)} at ids ${first} and ${id}`);
      seen.set(t, id);
    });
    if (!seen.has(UNK_TOKEN)) throw new Error(`vocabulary has no ${UNK_TOKEN} token; WordPiece needs it`);
    return new Tokenizer(tokens.slice(), options);
  }

  private constructor(tokens: string[], options: TokenizerOptions) {
    const lowercase = options.lowercase ?? true;
    if (typeof lowercase !== 'boolean') throw argumentError('boolean', 'lowercase', lowercase);
    const requested = options.backend;
    if (requested !== undefined && requested !== 'native' && requested !== 'typescript') {
      throw argumentError("'native' or 'typescript'", 'backend', requested);
    }
    let backend: 'native' | 'typescript' = requested ?? (process.env.MODEL_DISTILL_BACKEND === 'wasm' ? 'typescript' : 'native');
    if (backend === 'native') {
      try {
        const addon = loadAddon();
        this.native = new addon.WordPieceTokenizer(tokens, lowercase);
      } catch (err) {
        // An explicit request for native fails loudly; the default falls back.
        if (requested === 'native' || !(err instanceof AddonLoadError)) throw err;
        backend = 'typescript';
      }
    }
    if (backend === 'typescript') this.typescript = new WordPieceTokenizer(tokens, { lowercase });
    this.backend = backend;
    this.tokens = tokens;
    this.lowercase = lowercase;
    const ids = (this.native ?? this.typescript)!;
    this.vocabSize = tokens.length;
    this.unkId = ids.unkId;
    this.padId = ids.padId;
    this.clsId = ids.clsId;
    this.sepId = ids.sepId;
    this.maskId = ids.maskId;
    this.specialIds = new Set(SPECIAL_TOKENS.map((t) => tokens.indexOf(t)).filter((id) => id >= 0));
  }

  /**
   * Frees the native tables now rather than at the next GC (a loop of fromFile() calls without it
   * grew to gigabytes). Later encode/tokenize calls throw "Tokenizer is disposed"; async encodes
   * already running still finish. close() is the same.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native?.dispose();
  }

  close(): void {
    this.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private checkLive(): void {
    if (this.disposed) throw new Error('Tokenizer is disposed');
  }

  /** Ids of `text`, untruncated, with [CLS] ... [SEP] unless addSpecialTokens is false. */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    this.checkLive();
    checkString(text, 'text');
    const addSpecialTokens = booleanOption(options, 'addSpecialTokens', true);
    if (addSpecialTokens) this.requireWrappingSpecials();
    if (this.native) return this.native.encode(text, addSpecialTokens);
    return this.typescript!.encode(text, { addSpecialTokens });
  }

  /**
   * Ids of many texts as one padded matrix: [CLS] + the first maxLength-2 pieces + [SEP] per row.
   * Native: the calling thread copies the texts out of JS while the addon's other threads
   * tokenize those already copied; the call returns when all are done.
   */
  encodeBatch(texts: string[], options: SyncBatchEncodeOptions = {}): BatchEncoding {
    this.checkLive();
    const { maxLength, addSpecialTokens } = this.checkBatch(texts, options);
    const out = checkBatchOutput(options.out, texts.length, maxLength);
    if (!this.native) {
      const result = this.typescript!.encodeBatch(texts, { maxLength, addSpecialTokens });
      if (!out) return result;
      out.ids.set(result.ids);
      out.lengths.set(result.lengths);
      return { ids: out.ids, lengths: out.lengths, maxLength };
    }
    const native = this.native;
    if (out) {
      // Each slice writes straight into its rows of the caller's arrays: nothing to stitch.
      for (const [from, to] of sliceTexts(texts, maxJoinedUnits)) {
        native.encodeBatch(texts, from, textOffsets(texts, from, to), maxLength, addSpecialTokens,
          out.ids.subarray(from * maxLength, to * maxLength), out.lengths.subarray(from, to));
      }
      return { ids: out.ids, lengths: out.lengths, maxLength };
    }
    return this.inSlices(texts, maxLength, (from, offsets) => native.encodeBatch(texts, from, offsets, maxLength, addSpecialTokens));
  }

  /** encodeBatch that leaves the event loop free (native: a libuv worker; typescript: runs inline). */
  async encodeBatchAsync(texts: string[], options: BatchEncodeOptions = {}): Promise<BatchEncoding> {
    this.checkLive();
    // Arrays the worker threads write while JS runs could be read half-written or detached.
    if (options !== null && typeof options === 'object' && 'out' in options) {
      throw new TypeError('encodeBatchAsync takes no out option (only encodeBatch writes into given arrays)');
    }
    const { maxLength, addSpecialTokens } = this.checkBatch(texts, options);
    if (!this.native) return this.typescript!.encodeBatch(texts, { maxLength, addSpecialTokens });
    const native = this.native;
    // The caller's frames are captured now but formatted only if the call fails: reading .stack
    // formats it, which with source maps on (tsx, --enable-source-maps) costs ~0.05-0.1 ms a call.
    const caller = new Error();
    // Slices are copied out of JS on this thread now; the tokenizing runs on the workers.
    const slices = sliceTexts(texts, maxJoinedUnits);
    try {
      const parts = await Promise.all(
        slices.map(([from, to]) => native.encodeBatchAsync(texts, from, textOffsets(texts, from, to), maxLength, addSpecialTokens)),
      );
      return stitch(parts, texts.length, maxLength);
    } catch (err) {
      // The native rejection has no JS frames: add the caller's.
      if (err instanceof Error) err.stack = `${err.stack}\n    --- encodeBatchAsync called from ---\n${(caller.stack ?? '').split('\n').slice(2).join('\n')}`;
      throw err;
    }
  }

  /** Word pieces of `text` (no [CLS]/[SEP]; specials written in the text stay whole). */
  tokenize(text: string): string[] {
    this.checkLive();
    checkString(text, 'text');
    return this.native ? this.native.tokenize(text) : this.typescript!.tokenize(text);
  }

  /** Text of `ids`, as Hugging Face's WordPiece decoder (cleanup on); ids outside the vocab are left out. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') {
      throw argumentError('an array of ids', 'ids', ids);
    }
    const skipSpecialTokens = booleanOption(options, 'skipSpecialTokens', true);
    const pieces: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.idToToken(id);
      if (token === undefined || (skipSpecialTokens && this.specialIds.has(id))) continue;
      pieces.push(token);
    }
    return decodeWordPieceTokens(pieces);
  }

  tokenToId(token: string): number | undefined {
    checkString(token, 'token');
    if (this.idOf === undefined) this.idOf = new Map(this.tokens.map((t, id) => [t, id]));
    return this.idOf.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.tokens.length ? this.tokens[id] : undefined;
  }

  private requireWrappingSpecials(): void {
    if (this.clsId < 0 || this.sepId < 0) {
      throw new Error(`vocabulary has no ${this.clsId < 0 ? '[CLS]' : '[SEP]'} token; pass { addSpecialTokens: false }`);
    }
  }

  private checkBatch(texts: string[], options: BatchEncodeOptions): { maxLength: number; addSpecialTokens: boolean } {
    checkStringArray(texts, 'texts');
    const addSpecialTokens = booleanOption(options, 'addSpecialTokens', true);
    const maxLength = options.maxLength ?? 128;
    const minLength = addSpecialTokens ? 2 : 1;
    if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < minLength || maxLength > 0x7fffffff) {
      throw new TypeError(`Expected integer >= ${minLength} for maxLength but received ${describe(maxLength)}`);
    }
    if (texts.length * maxLength > 0x7fffffff) {
      throw new RangeError(`texts.length x maxLength = ${texts.length * maxLength} ids is too large for one batch; split it`);
    }
    if (addSpecialTokens) this.requireWrappingSpecials();
    if (this.padId < 0) throw new Error('vocabulary has no [PAD] token; encodeBatch pads with it');
    return { maxLength, addSpecialTokens };
  }

  private inSlices(
    texts: string[],
    maxLength: number,
    run: (from: number, offsets: Uint32Array) => { ids: Int32Array; lengths: Int32Array },
  ): BatchEncoding {
    const parts = sliceTexts(texts, maxJoinedUnits).map(([from, to]) => run(from, textOffsets(texts, from, to)));
    return stitch(parts, texts.length, maxLength);
  }
}


/** `out` checked: undefined, or views of exactly the rows this batch fills. */
function checkBatchOutput(out: unknown, n: number, maxLength: number): BatchEncodeOutput | undefined {
  if (out === undefined) return undefined;
  checkObject(out, 'out');
  const { ids, lengths } = out as Partial<BatchEncodeOutput>;
  // util.types rather than instanceof: arrays from another realm (vm, a worker's) count too.
  if (!types.isInt32Array(ids)) throw argumentError('an Int32Array', 'out.ids', ids);
  if (!types.isInt32Array(lengths)) throw argumentError('an Int32Array', 'out.lengths', lengths);
  if (ids.length < n * maxLength) {
    throw new RangeError(`out.ids has ${ids.length} entries; ${n} texts x maxLength ${maxLength} need ${n * maxLength}`);
  }
  if (lengths.length < n) throw new RangeError(`out.lengths has ${lengths.length} entries; ${n} texts need ${n}`);
  const idsView = ids.subarray(0, n * maxLength);
  const lengthsView = lengths.subarray(0, n);
  if (overlap(idsView, lengthsView)) throw new RangeError('out.ids and out.lengths share memory; give them separate arrays');
  return { ids: idsView, lengths: lengthsView };
}

function overlap(a: Int32Array, b: Int32Array): boolean {
  if (a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function stitch(parts: { ids: Int32Array; lengths: Int32Array }[], n: number, maxLength: number): BatchEncoding {
  if (parts.length === 1) return { ids: parts[0].ids, lengths: parts[0].lengths, maxLength };
  const ids = new Int32Array(n * maxLength);
  const lengths = new Int32Array(n);
  let row = 0;
  for (const part of parts) {
    ids.set(part.ids, row * maxLength);
    lengths.set(part.lengths, row);
    row += part.lengths.length;
  }
  return { ids, lengths, maxLength };
}
