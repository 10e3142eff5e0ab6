/**
 * ONNX export of a student model folder (TextCNN or GRU), opset 17, plain TypeScript (no addon:
 * the WASM fallback exports on the fly where the addon does not load).
 *
 *   input   input_ids      int64 [batch, seq]   token ids as Tokenizer.encodeBatch gives them, 0 = [PAD]
 *   output  logits         float [batch, C]
 *           probabilities  float [batch, C]     softmax of logits, class order = config.json labels
 *
 * The graph reproduces the native core's masking exactly (native/core/textcnn.h, gru.h):
 *  - a row's length L is the position of its last non-pad id + 1 (at least 1). The tokenizer
 *    never puts [PAD] inside a text, so this equals the lengths the native path is given;
 *    counting non-zero ids would not, if a [PAD] token ever appeared mid-text;
 *  - TextCNN: ids equal to 0 embed to zero whatever embedding row 0 holds (Mul by the mask);
 *    each convolution runs over the sequence padded with k-1 zero columns at the end, so a text
 *    shorter than k still has its one window (its tokens + zeros); window positions
 *    t >= max(L-k+1, 1) are invalid. Native takes the max over the valid windows, then ReLU.
 *    Here ReLU comes first and invalid positions are multiplied by 0 before ReduceMax. That is
 *    the same value because ReLU is monotone (ReLU(max x) = max ReLU(x)), every ReLU output is
 *    >= 0, and every row has at least one valid window, so the zeros of the masked positions
 *    can never exceed the valid maximum (test/onnx-export.test.ts checks rows whose
 *    past-the-end windows would win if not masked);
 *  - GRU: PyTorch's gate order r,z,n becomes ONNX's z,r,h (weights and biases reordered),
 *    linear_before_reset=1 is PyTorch's n-gate formula, sequence_lens = L, so Y_h holds each
 *    row's state at its true last step and the reverse direction starts at that step; Y_h
 *    [D, B, H] becomes [B, D*H] = [forward, backward] as the native dense layer reads it.
 */
import * as path from 'path';

import { ModelFolder, readModelFolder } from '../model-folder';
import { GruSpec, TextCnnSpec } from '../student';
import { GraphBuilder } from './graph-builder';
import { DataType, encodeModel, floatTensor, GraphDef, int64Tensor } from './proto';
import { dequantizeWeights } from './dequantize';
import { readSafetensors, SafeTensor } from '../safetensors/reader';
import { writeFileAtomic } from '../util/files';

export const ONNX_OPSET = 17;
const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'input_ids';
export const ONNX_OUTPUTS = ['probabilities', 'logits'] as const;

/** Builds the ONNX model of a model folder and returns its bytes. */
export function exportOnnxBytes(modelDir: string): Uint8Array {
  const folder = readModelFolder(modelDir);
  const kind: string = folder.spec.kind;
  if (kind !== 'textcnn' && kind !== 'gru') throw new Error(`${folder.configPath}: exporting a ${kind} model to ONNX is not available yet (students: textcnn, gru)`);
  // An int8 folder exports dequantized (float weights with the int8 rounding).
  const weights = dequantizeWeights(readSafetensors(folder.weightsPath), folder.weightsPath);
  const builder = new GraphBuilder();
  const get = weightGetter(folder, weights);
  const logits = folder.spec.kind === 'textcnn' ? textCnnGraph(builder, folder.spec, get) : gruGraph(builder, folder.spec as GruSpec, get);
  builder.add('Identity', [logits], { outputs: ['logits'] });
  builder.add('Softmax', [logits], { outputs: ['probabilities'], attributes: { axis: 1 } });
  const C = folder.spec.numClasses;
  const graph: GraphDef = {
    name: `model_distill_${folder.spec.kind}`,
    nodes: builder.nodes,
    initializers: builder.initializers,
    inputs: [{ name: ONNX_INPUT, elemType: DataType.INT64, shape: ['batch', 'sequence'] }],
    outputs: [
      { name: 'probabilities', elemType: DataType.FLOAT, shape: ['batch', C] },
      { name: 'logits', elemType: DataType.FLOAT, shape: ['batch', C] },
    ],
  };
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'model-distill',
    producerVersion: folder.config.packageVersion || 'unknown',
    docString: `model-distill ${folder.spec.kind} student; input_ids int64 [batch, seq] from its vocab.txt, 0 = [PAD]`,
    metadata: {
      kind: folder.spec.kind,
      labels: JSON.stringify(folder.labels),
      maxLength: String(folder.config.maxLength),
      lowercase: String(folder.config.lowercase),
      addSpecialTokens: String(folder.config.addSpecialTokens),
    },
    graph,
  });
}

/**
 * Exports a model folder to `outFile` atomically (temp file beside it, then rename): a reader
 * never sees a half-written model. Returns the absolute path written.
 */
export function exportOnnx(modelDir: string, outFile: string): string {
  if (typeof modelDir !== 'string' || modelDir.length === 0) throw new TypeError(`Expected a non-empty string for modelDir but received ${JSON.stringify(modelDir)}`);
  if (typeof outFile !== 'string' || outFile.length === 0) throw new TypeError(`Expected a non-empty string for outFile but received ${JSON.stringify(outFile)}`);
  const bytes = exportOnnxBytes(modelDir);
  return writeFileAtomic(path.resolve(outFile), bytes);
}

// ---- the two graphs -----------------------------------------------------------------------------

type WeightGetter = (name: string, shape: number[]) => Float32Array;

/** Shared front: lengths [B] (float) from the ids, and the [seq] position helpers. */
function lengthsFromIds(g: GraphBuilder): { lengths: string; seqLen: string; nonPad: string } {
  const zeroI = g.constant(int64Tensor('zero_i64', [], [0]));
  const oneI = g.constant(int64Tensor('one_i64', [], [1]));
  const nonPadBool = g.add('Not', [g.add('Equal', [ONNX_INPUT, zeroI])]);
  const nonPad = g.add('Cast', [nonPadBool], { attributes: { to: DataType.FLOAT } }); // [B, T] 1 = real token
  const seqLen = g.add('Gather', [g.add('Shape', [ONNX_INPUT]), oneI], { attributes: { axis: 0 } }); // scalar T
  const seqLenF = g.add('Cast', [seqLen], { attributes: { to: DataType.FLOAT } });
  const oneF = g.constant(floatTensor('one_f', [], [1]));
  // positions 1..T; times the mask, the row max is the last non-pad position + 1
  const positions1 = g.add('Range', [oneF, g.add('Add', [seqLenF, oneF]), oneF]);
  const last = g.add('ReduceMax', [g.add('Mul', [nonPad, positions1])], { attributes: { axes: [1], keepdims: 0 } });
  const lengths = g.add('Max', [last, oneF], { outputs: ['lengths'] }); // an all-pad row counts as length 1, as native's [UNK] row
  return { lengths, seqLen: seqLenF, nonPad };
}

function textCnnGraph(g: GraphBuilder, spec: TextCnnSpec, get: WeightGetter): string {
  const { vocabSize: V, embeddingDim: E, filters: F, numClasses: C, windows } = spec;
  const { lengths, seqLen, nonPad } = lengthsFromIds(g);
  const embedding = g.constant(floatTensor('embedding.weight', [V, E], get('embedding.weight', [V, E])));
  const embedded = g.add('Gather', [embedding, ONNX_INPUT], { attributes: { axis: 0 } }); // [B, T, E]
  const axis2 = g.constant(int64Tensor('axes_2', [1], [2]));
  const masked = g.add('Mul', [embedded, g.add('Unsqueeze', [nonPad, axis2])]); // pads embed to zero
  const x = g.add('Transpose', [masked], { attributes: { perm: [0, 2, 1] } }); // [B, E, T] for Conv
  const zeroF = g.constant(floatTensor('zero_f', [], [0]));
  const oneF = g.constant(floatTensor('one_f_conv', [], [1]));
  const positions0 = g.add('Range', [zeroF, seqLen, oneF]); // [T] window starts 0..T-1
  const axes12 = g.constant(int64Tensor('axes_1_2', [2], [1, 2]));
  const features: string[] = [];
  for (const k of windows) {
    // ours [F, k, E] -> ONNX Conv's [F, E, k] (= PyTorch Conv1d's layout)
    const w = get(`conv${k}.weight`, [F, k, E]);
    const convW = new Float32Array(F * E * k);
    for (let f = 0; f < F; f++) for (let j = 0; j < k; j++) for (let e = 0; e < E; e++) convW[(f * E + e) * k + j] = w[(f * k + j) * E + e];
    const W = g.constant(floatTensor(`conv${k}.weight`, [F, E, k], convW));
    const b = g.constant(floatTensor(`conv${k}.bias`, [F], get(`conv${k}.bias`, [F])));
    const conv = g.add('Conv', [x, W, b], { attributes: { kernel_shape: [k], pads: [0, k - 1], strides: [1], dilations: [1] } }); // [B, F, T]
    const relu = g.add('Relu', [conv]);
    const shift = g.constant(floatTensor(`window_${k}_minus_1`, [], [k - 1]));
    const validCount = g.add('Max', [g.add('Sub', [lengths, shift]), oneF]); // max(L-k+1, 1) windows
    const valid = g.add('Less', [positions0, g.add('Unsqueeze', [validCount, axes12])]); // [B, 1, T]
    const validF = g.add('Cast', [valid], { attributes: { to: DataType.FLOAT } });
    features.push(g.add('ReduceMax', [g.add('Mul', [relu, validF])], { attributes: { axes: [2], keepdims: 0 } })); // [B, F]
  }
  const joined = features.length === 1 ? features[0] : g.add('Concat', features, { attributes: { axis: 1 } });
  const fcW = g.constant(floatTensor('fc.weight', [C, F * windows.length], get('fc.weight', [C, F * windows.length])));
  const fcB = g.constant(floatTensor('fc.bias', [C], get('fc.bias', [C])));
  return g.add('Gemm', [joined, fcW, fcB], { attributes: { transB: 1 } });
}

function gruGraph(g: GraphBuilder, spec: GruSpec, get: WeightGetter): string {
  const { vocabSize: V, embeddingDim: E, hidden: H, numClasses: C } = spec;
  const D = spec.bidirectional ? 2 : 1;
  const { lengths } = lengthsFromIds(g);
  const embedding = g.constant(floatTensor('embedding.weight', [V, E], get('embedding.weight', [V, E])));
  const embedded = g.add('Gather', [embedding, ONNX_INPUT], { attributes: { axis: 0 } }); // [B, T, E]
  const X = g.add('Transpose', [embedded], { attributes: { perm: [1, 0, 2] } }); // [T, B, E]
  const W = new Float32Array(D * 3 * H * E);
  const R = new Float32Array(D * 3 * H * H);
  const Bias = new Float32Array(D * 6 * H);
  for (let d = 0; d < D; d++) {
    const suffix = d === 0 ? '_l0' : '_l0_reverse';
    W.set(torchGatesToOnnx(get(`gru.weight_ih${suffix}`, [3 * H, E]), H * E), d * 3 * H * E);
    R.set(torchGatesToOnnx(get(`gru.weight_hh${suffix}`, [3 * H, H]), H * H), d * 3 * H * H);
    Bias.set(torchGatesToOnnx(get(`gru.bias_ih${suffix}`, [3 * H]), H), d * 6 * H);
    Bias.set(torchGatesToOnnx(get(`gru.bias_hh${suffix}`, [3 * H]), H), d * 6 * H + 3 * H);
  }
  const seqLens = g.add('Cast', [lengths], { attributes: { to: DataType.INT32 } });
  // Y (every step's state) is not needed: its output name stays empty so it is never materialised
  const [, finalState] = g.addMulti('GRU', [X, g.constant(floatTensor('gru.W', [D, 3 * H, E], W)), g.constant(floatTensor('gru.R', [D, 3 * H, H], R)), g.constant(floatTensor('gru.B', [D, 6 * H], Bias)), seqLens], 2, {
    hidden_size: H,
    linear_before_reset: 1,
    direction: D === 2 ? 'bidirectional' : 'forward',
  }); // Y_h [D, B, H]
  const perBatch = g.add('Transpose', [finalState], { attributes: { perm: [1, 0, 2] } }); // [B, D, H]
  const shape = g.constant(int64Tensor('state_shape', [2], [0, D * H])); // 0 = keep the batch dimension
  const features = g.add('Reshape', [perBatch, shape]);
  const fcW = g.constant(floatTensor('fc.weight', [C, D * H], get('fc.weight', [C, D * H])));
  const fcB = g.constant(floatTensor('fc.bias', [C], get('fc.bias', [C])));
  return g.add('Gemm', [features, fcW, fcB], { attributes: { transB: 1 } });
}

/** PyTorch stacks gate blocks r, z, n; ONNX wants z, r, h. `block` = elements per gate. */
function torchGatesToOnnx(values: Float32Array, block: number): Float32Array {
  const out = new Float32Array(values.length);
  out.set(values.subarray(block, 2 * block), 0); // z
  out.set(values.subarray(0, block), block); // r
  out.set(values.subarray(2 * block, 3 * block), 2 * block); // n / h
  return out;
}

function weightGetter(folder: ModelFolder, weights: Map<string, SafeTensor>): WeightGetter {
  return (name, shape) => {
    const t = weights.get(name);
    if (!t) throw new Error(`${folder.weightsPath}: missing tensor ${JSON.stringify(name)} (needed by the ${folder.spec.kind} export)`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${folder.weightsPath}: tensor ${JSON.stringify(name)} has shape [${t.shape.join(', ')}] but ${folder.configPath} implies [${shape.join(', ')}]`);
    }
    return t.data;
  };
}
