/**
 * `[teacher] kind = onnx`: a teacher trained elsewhere, exported to ONNX, scoring texts in
 * onnxruntime-node.
 *
 * The model must be a BERT-style sequence classifier as Hugging Face / optimum exports it (and
 * `model-distill export --model teacher` writes it):
 *   inputs   input_ids       int64 (or int32) [batch, sequence]
 *            attention_mask  int64 (or int32) [batch, sequence]   1 = token, 0 = padding
 *            token_type_ids  optional, same type and shape; fed zeros (single texts)
 *   output   logits          float [batch, C] with C = the number of classes of the data
 *            (the output named "logits", or the model's only output)
 * Every other input, a missing one, a wrong element type or an output of another shape is an
 * error naming the file and the offending name and shape. The shapes are checked from the
 * model's declared metadata and again on a one-row probe run (symbolic dims are common).
 *
 * Tokenisation: [CLS] pieces [SEP] with the model's vocab.txt ([teacher] vocab, default beside
 * the .onnx), at most [teacher] max_length ids; lower-casing from tokenizer_config.json's
 * do_lower_case beside the vocab when it says, else true (uncased and Chinese BERT/ERNIE).
 *
 * Speed: texts are sorted by length within each scoring call and run in batches trimmed to
 * their longest row; onnxruntime uses [train] threads intra-op threads (0 = every core).
 * Identity: the sha256 of the .onnx file keys the soft-label cache, so a rerun with the same
 * file never rescores a text, and a changed file never reuses old logits.
 *
 * onnxruntime-node is an optional peer dependency: it is required here lazily, and a missing
 * install gives one error saying how to add it.
 */
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import type * as Ort from 'onnxruntime-node';

import type { Config } from '../../config';
import { argmaxRows, classificationReport } from '../../metrics';
import { formatCount, formatDuration } from '../../progress';
import type { EncodedRows } from '../../student';
import { Tokenizer } from '../../tokenizer';
import { fileSha256 } from '../../util/files';
import { readLowercase } from '../checkpoint-import';
import type { PreparedData } from '../prepare-data';
import type { RunLog } from '../run-log';
import { singleModelTeacher } from './spec';
import type { Teacher, TeacherIdentity } from './types';

const REQUIRED_INPUTS = ['input_ids', 'attention_mask'] as const;
const OPTIONAL_INPUT = 'token_type_ids';
const OUTPUT_NAME = 'logits';
/** Rows per onnxruntime run when the caller does not say. */
const DEFAULT_BATCH = 32;

export interface OnnxTeacherOptions {
  /** The .onnx file. */
  file: string;
  /** Its vocab.txt. */
  vocab: string;
  numClasses: number;
  /** Ids per text, [CLS] and [SEP] included. */
  maxLength: number;
  /** onnxruntime intra-op threads; 0 = every core. */
  threads: number;
  /** Module to load (tests point it at a missing one); default 'onnxruntime-node'. */
  runtimeModule?: string;
}

/** Loads onnxruntime-node, or says in one error how to install it. */
export function loadOnnxRuntime(moduleName = 'onnxruntime-node'): typeof Ort {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(moduleName) as typeof Ort;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(moduleName)) {
      throw new Error(
        `[teacher] kind = onnx runs the teacher in onnxruntime-node, which is not installed (${moduleName} not found). ` +
          'Install it beside model-distill: npm install onnxruntime-node',
      );
    }
    throw new Error(`[teacher] kind = onnx: ${moduleName} did not load: ${e.message}`);
  }
}

export class OnnxTeacher {
  readonly file: string;
  /** sha256 of the .onnx file: the teacher's identity. */
  readonly sha256: string;
  readonly tokenizer: Tokenizer;
  readonly lowercase: boolean;
  readonly lowercaseSource: string;
  readonly numClasses: number;
  readonly maxLength: number;
  /** The model's inputs that are fed (input_ids, attention_mask and token_type_ids when it has one). */
  readonly inputs: readonly string[];
  readonly output: string;
  private session: Ort.InferenceSession | null;
  private readonly ort: typeof Ort;
  /** Element type per input ('int64' or 'int32'). */
  private readonly inputTypes: Map<string, 'int64' | 'int32'>;

  /** Opens the model, checks its inputs and output, and probes it with one row. */
  static async open(options: OnnxTeacherOptions): Promise<OnnxTeacher> {
    const file = path.resolve(options.file);
    if (!fs.existsSync(file)) throw new Error(`ONNX teacher not found: ${file}`);
    const ort = loadOnnxRuntime(options.runtimeModule);
    const { lowercase, lowercaseSource } = readLowercase(path.dirname(path.resolve(options.vocab)));
    const tokenizer = Tokenizer.fromFile(options.vocab, { lowercase });
    const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        intraOpNumThreads: options.threads > 0 ? options.threads : cores,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      });
    } catch (err) {
      throw new Error(`${file}: onnxruntime cannot load it: ${(err as Error).message}`);
    }
    try {
      const { inputs, inputTypes, output } = checkSignature(session, file, options.numClasses);
      const teacher = new OnnxTeacher(file, fileSha256(file), tokenizer, lowercase, lowercaseSource, options, inputs, inputTypes, output, session, ort);
      await teacher.probe();
      return teacher;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  private constructor(
    file: string,
    sha256: string,
    tokenizer: Tokenizer,
    lowercase: boolean,
    lowercaseSource: string,
    options: OnnxTeacherOptions,
    inputs: string[],
    inputTypes: Map<string, 'int64' | 'int32'>,
    output: string,
    session: Ort.InferenceSession,
    ort: typeof Ort,
  ) {
    this.file = file;
    this.sha256 = sha256;
    this.tokenizer = tokenizer;
    this.lowercase = lowercase;
    this.lowercaseSource = lowercaseSource;
    this.numClasses = options.numClasses;
    this.maxLength = options.maxLength;
    this.inputs = inputs;
    this.inputTypes = inputTypes;
    this.output = output;
    this.session = session;
    this.ort = ort;
  }

  /** [CLS] pieces [SEP] rows for `texts`, as the model expects them. */
  async encode(texts: string[]): Promise<EncodedRows> {
    const enc = await this.tokenizer.encodeBatchAsync(texts, { maxLength: this.maxLength, addSpecialTokens: true });
    return { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength };
  }

  /**
   * Logits [rows, C] for encoded rows (the same call shape as NativeStudent.predictLogits, so the
   * pipeline scores with either). Rows are run longest first in batches of `batchSize`, each
   * trimmed to its longest row.
   */
  async predictLogits(rows: EncodedRows, options: { batchSize?: number; threads?: number } = {}): Promise<Float32Array> {
    const session = this.live();
    const n = rows.lengths.length;
    const C = this.numClasses;
    const batchSize = options.batchSize ?? DEFAULT_BATCH;
    const out = new Float32Array(n * C);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => rows.lengths[b] - rows.lengths[a] || a - b);
    for (let start = 0; start < n; start += batchSize) {
      const part = order.slice(start, start + batchSize);
      const B = part.length;
      const T = rows.lengths[part[0]];
      // Filled in place (padding stays 0: id 0, mask 0); token types are all 0.
      const ids = this.buffer('input_ids', B * T);
      const mask = this.buffer('attention_mask', B * T);
      part.forEach((r, b) => {
        const L = rows.lengths[r];
        for (let t = 0; t < L; t++) {
          const v = rows.ids[r * rows.maxLength + t];
          if (ids instanceof BigInt64Array) ids[b * T + t] = BigInt(v);
          else ids[b * T + t] = v;
          if (mask instanceof BigInt64Array) mask[b * T + t] = 1n;
          else mask[b * T + t] = 1;
        }
      });
      const feeds: Record<string, Ort.Tensor> = {
        input_ids: this.tensor(ids, B, T),
        attention_mask: this.tensor(mask, B, T),
      };
      if (this.inputs.includes(OPTIONAL_INPUT)) feeds[OPTIONAL_INPUT] = this.tensor(this.buffer(OPTIONAL_INPUT, B * T), B, T);
      let result: Ort.InferenceSession.ReturnType;
      try {
        result = await session.run(feeds, [this.output]);
      } catch (err) {
        throw new Error(`${this.file}: onnxruntime failed on a batch of ${B} rows x ${T} tokens: ${(err as Error).message}`);
      }
      const logits = result[this.output];
      if (logits.dims.length !== 2 || logits.dims[0] !== B || logits.dims[1] !== C || logits.type !== 'float32') {
        throw new Error(`${this.file}: output "${this.output}" came back ${logits.type} [${logits.dims.join(', ')}] for ${B} rows; expected float32 [${B}, ${C}] (C = the data's classes)`);
      }
      const data = logits.data as Float32Array;
      part.forEach((r, b) => out.set(data.subarray(b * C, b * C + C), r * C));
    }
    return out;
  }

  /** Releases the onnxruntime session; later calls throw. */
  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await s.release();
  }

  private live(): Ort.InferenceSession {
    if (!this.session) throw new Error(`ONNX teacher ${this.file} is closed`);
    return this.session;
  }

  /** A zeroed buffer of the input's element type. */
  private buffer(name: string, size: number): BigInt64Array | Int32Array {
    return this.inputTypes.get(name) === 'int32' ? new Int32Array(size) : new BigInt64Array(size);
  }

  private tensor(values: BigInt64Array | Int32Array, B: number, T: number): Ort.Tensor {
    return values instanceof Int32Array ? new this.ort.Tensor('int32', values, [B, T]) : new this.ort.Tensor('int64', values, [B, T]);
  }

  /**
   * One [CLS] [SEP] row catches an output whose symbolic shape hid the wrong class count; one
   * row of max_length ids catches a model with fewer positions than [teacher] max_length, now
   * rather than at the first long text of the pool.
   */
  private async probe(): Promise<void> {
    const { clsId, sepId, unkId } = this.tokenizer;
    await this.predictLogits({ ids: Int32Array.from([clsId, sepId]), lengths: Int32Array.from([2]), maxLength: 2 }, { batchSize: 1 });
    const T = this.maxLength;
    const ids = new Int32Array(T).fill(unkId);
    ids[0] = clsId;
    ids[T - 1] = sepId;
    try {
      await this.predictLogits({ ids, lengths: Int32Array.from([T]), maxLength: T }, { batchSize: 1 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n(a row of [teacher] max_length = ${T} ids fails while a 2-id row runs: the model may have fewer positions; lower [teacher] max_length)`);
    }
  }
}

/** Checks the model's inputs and output against what the teacher feeds and expects. */
function checkSignature(session: Ort.InferenceSession, file: string, numClasses: number): { inputs: string[]; inputTypes: Map<string, 'int64' | 'int32'>; output: string } {
  const names = [...session.inputNames];
  const allowed = [...REQUIRED_INPUTS, OPTIONAL_INPUT] as string[];
  const missing = REQUIRED_INPUTS.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !allowed.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const problems = [
      ...missing.map((n) => `no input "${n}"`),
      ...extra.map((n) => `input "${n}" is not one the teacher can feed`),
    ];
    throw new Error(
      `${file}: ${problems.join('; ')} (its inputs: ${names.join(', ') || 'none'}; a teacher takes input_ids and attention_mask, optionally token_type_ids)`,
    );
  }
  const inputTypes = new Map<string, 'int64' | 'int32'>();
  const metadata = session.inputMetadata ?? [];
  for (const name of names) {
    const m = metadata.find((x) => x.name === name);
    if (m === undefined || !m.isTensor) {
      if (m !== undefined) throw new Error(`${file}: input "${name}" is not a tensor`);
      inputTypes.set(name, 'int64');
      continue;
    }
    if (m.type !== 'int64' && m.type !== 'int32') throw new Error(`${file}: input "${name}" has element type ${m.type}; expected int64 (or int32) token ids`);
    if (m.shape.length !== 0 && m.shape.length !== 2) throw new Error(`${file}: input "${name}" has shape [${m.shape.join(', ')}]; expected [batch, sequence]`);
    inputTypes.set(name, m.type);
  }
  const outputs = [...session.outputNames];
  const output = outputs.includes(OUTPUT_NAME) ? OUTPUT_NAME : outputs.length === 1 ? outputs[0] : null;
  if (output === null) throw new Error(`${file}: no output "${OUTPUT_NAME}" and more than one output (${outputs.join(', ')}); the teacher reads logits [batch, C]`);
  const om = (session.outputMetadata ?? []).find((x) => x.name === output);
  if (om !== undefined && om.isTensor && om.shape.length > 0) {
    const shape = `[${om.shape.join(', ')}]`;
    if (om.shape.length !== 2) throw new Error(`${file}: output "${output}" has shape ${shape}; expected [batch, ${numClasses}] logits`);
    const C = om.shape[1];
    if (typeof C === 'number' && C !== numClasses) {
      throw new Error(`${file}: output "${output}" has shape ${shape} (${C} classes) but the data has ${numClasses} classes`);
    }
    if (om.type !== 'float32') throw new Error(`${file}: output "${output}" has element type ${om.type}; expected float32 logits`);
  }
  return { inputs: names, inputTypes, output };
}

/**
 * Step 2 for kind = onnx: opens the teacher, reports its accuracy on the eval rows (to judge it
 * beside the students), and hands the pipeline a Teacher whose model scores through onnxruntime.
 */
export async function onnxTeacherStep(config: Config, data: PreparedData, log: RunLog): Promise<Teacher> {
  const t = config.teacher;
  const started = Date.now();
  const teacher = await OnnxTeacher.open({
    file: t.path!,
    vocab: t.vocab!,
    numClasses: data.classIds.labels.length,
    maxLength: t.max_length,
    threads: config.train.threads,
  });
  log.info(
    `teacher: ONNX ${teacher.file} (sha256 ${teacher.sha256.slice(0, 12)}…) in onnxruntime-node; inputs ${teacher.inputs.join(', ')}, output ${teacher.output} ` +
      `[batch, ${teacher.numClasses}]; vocab ${t.vocab} (${formatCount(teacher.tokenizer.vocabSize)} tokens, lowercase ${teacher.lowercase}: ${teacher.lowercaseSource}), max_length ${t.max_length}`,
  );
  let evalAccuracy: number | null = null;
  let evalMacroF1: number | null = null;
  if (data.eval.texts.length > 0) {
    const rows = await teacher.encode(data.eval.texts);
    const logits = await teacher.predictLogits(rows);
    const report = classificationReport(data.eval.labels, argmaxRows(logits, teacher.numClasses), data.classIds.labels);
    evalAccuracy = report.accuracy;
    evalMacroF1 = report.macroF1;
    log.info(
      `teacher: eval accuracy ${report.accuracy.toFixed(4)} macro-F1 ${report.macroF1.toFixed(4)} on ${formatCount(report.n)} rows ` +
        `(${formatDuration((Date.now() - started) / 1000)})`,
    );
  }
  const identity: TeacherIdentity = {
    kind: 'onnx',
    weightsSha256: teacher.sha256,
    dir: teacher.file,
    reused: false,
    fingerprint: teacher.sha256,
    evalAccuracy,
    bestEpoch: 0,
    parameters: 0,
  };
  log.record.teacher = { ...identity, vocab: t.vocab, evalMacroF1, evalRows: data.eval.texts.length, inputs: teacher.inputs, output: teacher.output };
  return singleModelTeacher(identity, teacher, teacher.tokenizer, t.max_length);
}
