/**
 * Small Hugging Face-style BERT/ERNIE checkpoints built in a temp folder (never downloaded), and a
 * plain re-implementation of BERT's forward pass in double precision straight from the
 * checkpoint's own tensor names: the oracle the import and export tests compare against. It
 * follows modeling_bert.py / modeling_ernie.py, not native/core, so a wrong mapping (say query and
 * key swapped, or the task-type embeddings dropped) shows up as a difference.
 */
import * as fs from 'fs';
import * as path from 'path';

import { writeSafetensors, type TensorToWrite } from '../../lib/safetensors/writer';
import { rng } from './tiny-task';

export interface CheckpointSpec {
  /** 'bert.', 'ernie.' or '' (BertModel). */
  prefix: string;
  vocab: string[];
  /** config.json vocab_size; default vocab.length. */
  vocabSize?: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocabSize?: number;
  layerNormEps?: number;
  pooler?: boolean;
  /** ERNIE's task-type embeddings (use_task_id). */
  useTaskId?: boolean;
  /** Add cls.predictions.* (an MLM checkpoint) and an I64 position_ids buffer. */
  mlmHead?: boolean;
  dtype?: 'F32' | 'F16' | 'BF16';
  modelType?: string;
  seed: number;
  /** Standard deviation of the random weights (large enough that logits are O(1)). */
  scale?: number;
  /** Extra config.json keys (overrides). */
  config?: Record<string, unknown>;
  doLowerCase?: boolean;
}

/** Tensors by name without the prefix ("embeddings.word_embeddings.weight", ...). */
export type BertTensors = Map<string, { shape: number[]; data: Float32Array }>;

function normal(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Writes config.json, vocab.txt and model.safetensors into `dir`; returns the tensors (unprefixed). */
export function writeCheckpoint(dir: string, spec: CheckpointSpec): BertTensors {
  const r = rng(spec.seed);
  const scale = spec.scale ?? 0.3;
  const V = spec.vocabSize ?? spec.vocab.length;
  const H = spec.hidden;
  const I = spec.intermediate;
  const S = spec.typeVocabSize ?? 2;
  const tensors: BertTensors = new Map();
  const add = (name: string, shape: number[], kind: 'weight' | 'bias' | 'ln') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = kind === 'ln' ? 1 + 0.2 * normal(r) : kind === 'bias' ? 0.1 * normal(r) : scale * normal(r);
    tensors.set(name, { shape, data });
  };
  add('embeddings.word_embeddings.weight', [V, H], 'weight');
  add('embeddings.position_embeddings.weight', [spec.maxPositions, H], 'weight');
  add('embeddings.token_type_embeddings.weight', [S, H], 'weight');
  if (spec.useTaskId) add('embeddings.task_type_embeddings.weight', [3, H], 'weight');
  add('embeddings.LayerNorm.weight', [H], 'ln');
  add('embeddings.LayerNorm.bias', [H], 'bias');
  for (let l = 0; l < spec.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const qkv of ['query', 'key', 'value']) {
      add(`${p}attention.self.${qkv}.weight`, [H, H], 'weight');
      add(`${p}attention.self.${qkv}.bias`, [H], 'bias');
    }
    add(`${p}attention.output.dense.weight`, [H, H], 'weight');
    add(`${p}attention.output.dense.bias`, [H], 'bias');
    add(`${p}attention.output.LayerNorm.weight`, [H], 'ln');
    add(`${p}attention.output.LayerNorm.bias`, [H], 'bias');
    add(`${p}intermediate.dense.weight`, [I, H], 'weight');
    add(`${p}intermediate.dense.bias`, [I], 'bias');
    add(`${p}output.dense.weight`, [H, I], 'weight');
    add(`${p}output.dense.bias`, [H], 'bias');
    add(`${p}output.LayerNorm.weight`, [H], 'ln');
    add(`${p}output.LayerNorm.bias`, [H], 'bias');
  }
  if (spec.pooler ?? true) {
    add('pooler.dense.weight', [H, H], 'weight');
    add('pooler.dense.bias', [H], 'bias');
  }
  const file = new Map<string, TensorToWrite>();
  for (const [name, t] of tensors) file.set(spec.prefix + name, { ...t, dtype: spec.dtype ?? 'F32' });
  if (spec.mlmHead) {
    file.set('cls.predictions.bias', { shape: [V], data: new Float32Array(V) });
    file.set('cls.predictions.transform.dense.weight', { shape: [H, H], data: new Float32Array(H * H) });
    file.set('cls.predictions.transform.LayerNorm.weight', { shape: [H], data: new Float32Array(H).fill(1) });
  }
  fs.mkdirSync(dir, { recursive: true });
  const weights = path.join(dir, 'model.safetensors');
  writeSafetensors(weights, file);
  if (spec.mlmHead) appendI64Buffer(weights, `${spec.prefix}embeddings.position_ids`, spec.maxPositions);
  const config: Record<string, unknown> = {
    architectures: ['BertForMaskedLM'],
    model_type: spec.modelType ?? (spec.prefix === 'ernie.' ? 'ernie' : 'bert'),
    vocab_size: V,
    hidden_size: H,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    intermediate_size: I,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: spec.maxPositions,
    type_vocab_size: S,
    initializer_range: 0.02,
    layer_norm_eps: spec.layerNormEps ?? 1e-12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    ...(spec.useTaskId ? { use_task_id: true, task_type_vocab_size: 3 } : {}),
    ...spec.config,
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'vocab.txt'), spec.vocab.join('\n') + '\n');
  if (spec.doLowerCase !== undefined) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: spec.doLowerCase }));
  return tensors;
}

/** Rewrites a safetensors file with one more I64 tensor (0..n-1), as old HF checkpoints carry position_ids. */
function appendI64Buffer(file: string, name: string, n: number): void {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const data = bytes.subarray(8 + headerLength);
  header[name] = { dtype: 'I64', shape: [1, n], data_offsets: [data.length, data.length + 8 * n] };
  const extra = Buffer.from(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)).buffer);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(json), data, extra]));
}

export interface ReferenceOptions {
  eps: number;
  heads: number;
  pooler: boolean;
  /** Add task_type_embeddings[0] (ERNIE use_task_id, task_type_ids = 0). */
  taskType: boolean;
  classifier: { weight: Float32Array; bias: Float32Array };
}

/**
 * BERT's forward for one row of ids (token types 0, every position attended), in double:
 * logits [C]. `t` holds the checkpoint's tensors (unprefixed names).
 */
export function referenceLogits(t: BertTensors, ids: ArrayLike<number>, o: ReferenceOptions): number[] {
  const get = (name: string) => {
    const x = t.get(name);
    if (!x) throw new Error(`reference: no tensor ${name}`);
    return x.data;
  };
  const H = t.get('embeddings.LayerNorm.weight')!.shape[0];
  const T = ids.length;
  const layerNorm = (x: number[], prefix: string) => {
    const g = get(`${prefix}.weight`);
    const b = get(`${prefix}.bias`);
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + o.eps)) * g[i] + b[i]);
  };
  const linear = (x: number[], prefix: string) => {
    const w = get(`${prefix}.weight`);
    const b = get(`${prefix}.bias`);
    const out = b.length;
    const y = new Array<number>(out);
    for (let j = 0; j < out; j++) {
      let s = b[j];
      for (let i = 0; i < x.length; i++) s += w[j * x.length + i] * x[i];
      y[j] = s;
    }
    return y;
  };
  const word = get('embeddings.word_embeddings.weight');
  const pos = get('embeddings.position_embeddings.weight');
  const type = get('embeddings.token_type_embeddings.weight');
  const task = o.taskType ? get('embeddings.task_type_embeddings.weight') : null;
  let x: number[][] = [];
  for (let p = 0; p < T; p++) {
    const e = new Array<number>(H);
    for (let h = 0; h < H; h++) e[h] = word[ids[p] * H + h] + pos[p * H + h] + type[h] + (task ? task[h] : 0);
    x.push(layerNorm(e, 'embeddings.LayerNorm'));
  }
  const layers = [...t.keys()].filter((k) => /^encoder\.layer\.\d+\.output\.dense\.bias$/.test(k)).length;
  const d = H / o.heads;
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    const q = x.map((v) => linear(v, `${p}.attention.self.query`));
    const k = x.map((v) => linear(v, `${p}.attention.self.key`));
    const v = x.map((u) => linear(u, `${p}.attention.self.value`));
    const context = x.map(() => new Array<number>(H).fill(0));
    for (let head = 0; head < o.heads; head++) {
      for (let i = 0; i < T; i++) {
        const scores = new Array<number>(T);
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += q[i][head * d + c] * k[j][head * d + c];
          scores[j] = s / Math.sqrt(d);
        }
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < T; j++) for (let c = 0; c < d; c++) context[i][head * d + c] += (e[j] / sum) * v[j][head * d + c];
      }
    }
    const h1 = x.map((u, i) => layerNorm(linear(context[i], `${p}.attention.output.dense`).map((a, h) => a + u[h]), `${p}.attention.output.LayerNorm`));
    x = h1.map((u) => {
      const f = linear(u, `${p}.intermediate.dense`).map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
      return layerNorm(linear(f, `${p}.output.dense`).map((a, h) => a + u[h]), `${p}.output.LayerNorm`);
    });
  }
  let cls = x[0];
  if (o.pooler) cls = linear(cls, 'pooler.dense').map(Math.tanh);
  const C = o.classifier.bias.length;
  const logits: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = o.classifier.bias[c];
    for (let h = 0; h < H; h++) s += o.classifier.weight[c * H + h] * cls[h];
    logits.push(s);
  }
  return logits;
}

/** erf to ~1e-15 (Abramowitz-Stegun 7.1.26 is too coarse for a 1e-6 oracle): series / continued fraction. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for large |x|
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 100; n++) {
    const a = n / 2;
    D = ax + a * D;
    D = 1 / D;
    C = ax + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}
