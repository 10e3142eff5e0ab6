/**
 * ONNX export of the native transformer teacher (native/core/transformer.h), opset 17 (the first
 * with LayerNormalization), in the layout Hugging Face exports of BertForSequenceClassification
 * have, so any BERT-style ONNX consumer (and `[teacher] kind = onnx`) can run it:
 *
 *   inputs   input_ids       int64 [batch, sequence]  [CLS] pieces [SEP] from the teacher's vocab.txt
 *            attention_mask  int64 [batch, sequence]  1 = real token, 0 = padding
 *            token_type_ids  int64 [batch, sequence]  segment ids (0 for single texts); left out
 *                                                     with { tokenTypeIds: false }, then all 0
 *   output   logits          float [batch, C]         class order = the teacher's labels
 *
 * The graph is BERT's forward written out op by op, the way PyTorch's exporter writes it (which is
 * also the pattern onnxruntime's graph optimiser recognises and fuses):
 *   embeddings  Gather(word, ids) + Gather(position, 0..T-1) + Gather(type, token_type_ids) -> LayerNorm
 *   per layer   Q, K, V = x W^T + b, split into heads by Reshape [0, 0, heads, d] + Transpose;
 *               softmax(Q K^T / sqrt(d) + (1 - mask) * -1e9) V; merge heads; dense; residual; LayerNorm;
 *               GELU(x W1^T + b1) with the exact erf form 0.5 x (1 + erf(x / sqrt 2)); W2; residual; LayerNorm
 *   head        the [CLS] state (position 0) -> pooler dense + tanh (when the teacher has one) -> classifier
 * Masking: the native core sees only a row's first `length` tokens; here keys whose mask is 0 get
 * -1e9 added to their scores, so exp() makes their weight exactly 0 in float32 and the [CLS] state
 * (the only one the head reads) is the native one. Padding query positions are computed and unused.
 * Linear weights are stored transposed ([in, out]) for MatMul; Gemm layers (pooler, classifier)
 * keep PyTorch's [out, in] with transB = 1.
 *
 * Weights come from a NativeStudent of kind 'transformer' (saved to a temporary safetensors file
 * and read back; the addon has no other way out for them) or from a teacher model folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readModelFolder } from '../model-folder';
import { describe, NativeStudent, type TransformerSpec } from '../student';
import { GraphBuilder } from './graph-builder';
import { DataType, encodeModel, floatTensor, int64Tensor, type GraphDef, type ValueInfoDef } from './proto';
import { readSafetensors, type SafeTensor } from '../safetensors/reader';
import { writeFileAtomic } from '../util/files';

export const TEACHER_ONNX_OPSET = 17;
const ONNX_IR_VERSION = 8;
export const TEACHER_ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export const TEACHER_ONNX_OUTPUT = 'logits';
/** Added to the attention scores of padding keys: exp(-1e9 + s - max) is exactly 0 in float32. */
const MASKED_SCORE = -1e9;

export interface TeacherExportOptions {
  /** Give the graph a token_type_ids input, as Hugging Face exports have; default true. Without it every token is segment 0. */
  tokenTypeIds?: boolean;
  /** Extra model metadata (metadata_props), e.g. labels or the tokenizer settings. */
  metadata?: Record<string, string>;
  /** Written into the model's doc_string. */
  description?: string;
}

/**
 * Exports a transformer NativeStudent to `outPath`, atomically (temp file + rename); returns the
 * absolute path written. This is the one entry point the teacher benchmark calls.
 */
export function exportTeacherOnnx(student: NativeStudent, outPath: string, options: TeacherExportOptions = {}): string {
  if (typeof outPath !== 'string' || outPath.length === 0) throw new TypeError(`Expected a non-empty string for outPath but received ${describe(outPath)}`);
  return writeFileAtomic(path.resolve(outPath), exportTeacherOnnxBytes(student, options));
}

/** The ONNX bytes of a transformer NativeStudent (see exportTeacherOnnx). */
export function exportTeacherOnnxBytes(student: NativeStudent, options: TeacherExportOptions = {}): Uint8Array {
  if (!(student instanceof NativeStudent)) throw new TypeError(`Expected a NativeStudent but received ${describe(student)}`);
  if (student.spec.kind !== 'transformer') {
    throw new TypeError(`Expected a NativeStudent of kind 'transformer' (the teacher) but received kind '${student.spec.kind}'; students export with exportOnnx`);
  }
  checkOptions(options);
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-teacher-export-'));
  try {
    const file = path.join(temp, 'weights.safetensors');
    student.saveWeights(file);
    return teacherOnnxBytes(student.spec, readSafetensors(file), 'the teacher', options);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * Exports a teacher model folder (<run>/teacher/: config.json architecture kind 'transformer') to
 * `outPath` atomically; the folder's labels and tokenizer settings go into the model metadata.
 */
export function exportTeacherFolderOnnx(modelDir: string, outPath: string, options: TeacherExportOptions = {}): string {
  if (typeof outPath !== 'string' || outPath.length === 0) throw new TypeError(`Expected a non-empty string for outPath but received ${describe(outPath)}`);
  checkOptions(options);
  const folder = readModelFolder(modelDir);
  if (folder.spec.kind !== 'transformer') throw new Error(`${folder.configPath}: architecture kind is ${folder.spec.kind}, not a transformer teacher`);
  const metadata = {
    labels: JSON.stringify(folder.labels),
    maxLength: String(folder.config.maxLength),
    lowercase: String(folder.config.lowercase),
    ...options.metadata,
  };
  const bytes = teacherOnnxBytes(folder.spec, readSafetensors(folder.weightsPath), folder.weightsPath, { ...options, metadata });
  return writeFileAtomic(path.resolve(outPath), bytes);
}

function checkOptions(options: TeacherExportOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`Expected an object for options but received ${describe(options)}`);
  if (options.tokenTypeIds !== undefined && typeof options.tokenTypeIds !== 'boolean') {
    throw new TypeError(`Expected boolean for options.tokenTypeIds but received ${describe(options.tokenTypeIds)}`);
  }
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (typeof value !== 'string') throw new TypeError(`Expected string for options.metadata.${key} but received ${describe(value)}`);
  }
}

// ---- the graph ----------------------------------------------------------------------------------

function teacherOnnxBytes(spec: TransformerSpec, weights: Map<string, SafeTensor>, source: string, options: TeacherExportOptions): Uint8Array {
  const { vocabSize: V, hidden: H, heads, intermediate: I, maxPositions: P, numClasses: C } = spec;
  const S = spec.typeVocabSize ?? 2;
  const eps = spec.layerNormEps ?? 1e-12;
  const d = H / heads;
  const withTypes = options.tokenTypeIds ?? true;
  const get = (name: string, shape: number[]): Float32Array => {
    const t = weights.get(name);
    if (!t) throw new Error(`${source}: missing tensor ${JSON.stringify(name)} (needed by the teacher export)`);
    if (t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i])) {
      throw new Error(`${source}: tensor ${JSON.stringify(name)} has shape [${t.shape.join(', ')}] but the teacher's architecture implies [${shape.join(', ')}]`);
    }
    return t.data;
  };
  const g = new GraphBuilder();
  const param = (name: string, shape: number[]) => g.constant(floatTensor(name, shape, get(name, shape)));
  /** A Linear layer's weight [out, in] stored as [in, out] for MatMul. */
  const transposed = (name: string, out: number, inn: number) => {
    const w = get(name, [out, inn]);
    const t = new Float32Array(out * inn);
    for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) t[i * out + o] = w[o * inn + i];
    return g.constant(floatTensor(`${name}.T`, [inn, out], t));
  };
  const scalarF = (name: string, v: number) => g.constant(floatTensor(name, [], [v]));
  const layerNorm = (x: string, prefix: string) =>
    g.add('LayerNormalization', [x, param(`${prefix}.weight`, [H]), param(`${prefix}.bias`, [H])], { attributes: { axis: -1, epsilon: { float: eps } } });
  const linear = (x: string, prefix: string, out: number, inn: number) => g.add('Add', [g.add('MatMul', [x, transposed(`${prefix}.weight`, out, inn)]), param(`${prefix}.bias`, [out])]);

  // Embeddings.
  const [IDS, MASK, TYPES] = TEACHER_ONNX_INPUTS;
  const word = g.add('Gather', [param('bert.embeddings.word_embeddings.weight', [V, H]), IDS], { attributes: { axis: 0 } }); // [B, T, H]
  const seqLen = g.add('Gather', [g.add('Shape', [IDS]), g.constant(int64Tensor('one_i64', [], [1]))], { attributes: { axis: 0 } });
  const positionIds = g.add('Range', [g.constant(int64Tensor('zero_i64', [], [0])), seqLen, g.constant(int64Tensor('step_i64', [], [1]))]);
  const position = g.add('Gather', [param('bert.embeddings.position_embeddings.weight', [P, H]), positionIds], { attributes: { axis: 0 } }); // [T, H]
  const typeTable = get('bert.embeddings.token_type_embeddings.weight', [S, H]);
  const segment = withTypes
    ? g.add('Gather', [param('bert.embeddings.token_type_embeddings.weight', [S, H]), TYPES], { attributes: { axis: 0 } }) // [B, T, H]
    : g.constant(floatTensor('token_type_embedding_0', [H], typeTable.subarray(0, H))); // every token is segment 0
  let x = layerNorm(g.add('Add', [g.add('Add', [word, position]), segment]), 'bert.embeddings.LayerNorm');

  // The additive attention mask [B, 1, 1, T]: 0 for real keys, -1e9 for padding.
  const maskF = g.add('Cast', [MASK], { attributes: { to: DataType.FLOAT } });
  const maskAdd = g.add('Mul', [g.add('Sub', [scalarF('one_f', 1), maskF]), scalarF('masked_score', MASKED_SCORE)]);
  const maskBias = g.add('Unsqueeze', [maskAdd, g.constant(int64Tensor('axes_1_2', [2], [1, 2]))]);
  const headsShape = g.constant(int64Tensor('heads_shape', [4], [0, 0, heads, d])); // 0 = keep B, T
  const mergedShape = g.constant(int64Tensor('merged_shape', [3], [0, 0, H]));
  const sqrtD = scalarF('sqrt_head_dim', Math.sqrt(d));
  const sqrt2 = scalarF('sqrt_2', Math.SQRT2);
  const half = scalarF('half', 0.5);
  const one = scalarF('one_gelu', 1);

  for (let l = 0; l < spec.layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const split = (t: string, perm: number[]) => g.add('Transpose', [g.add('Reshape', [t, headsShape])], { attributes: { perm } });
    const q = split(linear(x, `${p}.attention.self.query`, H, H), [0, 2, 1, 3]); // [B, h, T, d]
    const k = split(linear(x, `${p}.attention.self.key`, H, H), [0, 2, 3, 1]); // [B, h, d, T]
    const v = split(linear(x, `${p}.attention.self.value`, H, H), [0, 2, 1, 3]); // [B, h, T, d]
    const scores = g.add('Add', [g.add('Div', [g.add('MatMul', [q, k]), sqrtD]), maskBias]); // [B, h, T, T]
    const probs = g.add('Softmax', [scores], { attributes: { axis: -1 } });
    const context = g.add('Reshape', [g.add('Transpose', [g.add('MatMul', [probs, v])], { attributes: { perm: [0, 2, 1, 3] } }), mergedShape]); // [B, T, H]
    const attended = linear(context, `${p}.attention.output.dense`, H, H);
    const h1 = layerNorm(g.add('Add', [attended, x]), `${p}.attention.output.LayerNorm`);
    const f = linear(h1, `${p}.intermediate.dense`, I, H);
    const gelu = g.add('Mul', [g.add('Mul', [f, g.add('Add', [g.add('Erf', [g.add('Div', [f, sqrt2])]), one])]), half]);
    const out = linear(gelu, `${p}.output.dense`, H, I);
    x = layerNorm(g.add('Add', [out, h1]), `${p}.output.LayerNorm`);
  }

  // Head: [CLS] = position 0.
  let cls = g.add('Gather', [x, g.constant(int64Tensor('cls_position', [], [0]))], { attributes: { axis: 1 } }); // [B, H]
  if (spec.pooler) {
    cls = g.add('Tanh', [g.add('Gemm', [cls, param('bert.pooler.dense.weight', [H, H]), param('bert.pooler.dense.bias', [H])], { attributes: { transB: 1 } })]);
  }
  g.add('Gemm', [cls, param('classifier.weight', [C, H]), param('classifier.bias', [C])], { outputs: [TEACHER_ONNX_OUTPUT], attributes: { transB: 1 } });

  const inputs: ValueInfoDef[] = [
    { name: IDS, elemType: DataType.INT64, shape: ['batch', 'sequence'] },
    { name: MASK, elemType: DataType.INT64, shape: ['batch', 'sequence'] },
  ];
  if (withTypes) inputs.push({ name: TYPES, elemType: DataType.INT64, shape: ['batch', 'sequence'] });
  const graph: GraphDef = {
    name: 'model_distill_transformer_teacher',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs,
    outputs: [{ name: TEACHER_ONNX_OUTPUT, elemType: DataType.FLOAT, shape: ['batch', C] }],
  };
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: TEACHER_ONNX_OPSET,
    producerName: 'model-distill',
    producerVersion: 'teacher-export-1',
    docString:
      options.description ??
      `model-distill transformer teacher (${spec.layers} layers, hidden ${H}, ${heads} heads); inputs ${inputs.map((i) => i.name).join(', ')} int64 [batch, sequence]; output logits [batch, ${C}]`,
    metadata: { kind: 'transformer', numClasses: String(C), ...options.metadata },
    graph,
  });
}
