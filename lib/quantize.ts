/**
 * Quantized copies of student model folders (docs/quantization.md):
 *
 *   quantizeModelFolder('run/textcnn', 'run/textcnn-int8', { dtype: 'int8' })
 *
 * int8: every weight matrix the inference tables are built from (the embedding, the TextCNN
 * convolutions, the GRU's W_ih and W_hh) is stored as I8 with one float32 scale per row
 * ("<name>.scale", scale = max |row| / 127, values round(w / scale)); biases and the small dense
 * layer stay float32. config.json gets formatVersion 2 and `quantization`, so an older reader
 * refuses the folder with a clear message. The native backend loads it into int8 students
 * (native/core/quantized_student.h) whose precomputed tables are int8 too; the ONNX export and
 * the WASM backend dequantize it (lib/onnx/dequantize.ts).
 *
 * bf16: every tensor stored as bfloat16 (half the file); loaded as float32, so it is a smaller
 * file, not a smaller or faster model. It stays formatVersion 1: every reader converts BF16.
 *
 * The folder is written like every model folder: one generation, published atomically
 * (lib/model-generations.ts), so a server reading it never sees a half-written model.
 */
import * as fs from 'fs';
import * as path from 'path';

import { writeGeneration } from './model-generations';
import {
  CLASS_ID_FILE,
  CONFIG_FILE,
  FOLDER_FILES,
  ModelFolderConfig,
  QUANTIZED_FORMAT_VERSION,
  readModelFolder,
  VOCAB_FILE,
  WEIGHTS_FILE,
} from './model-folder';
import { SCALE_SUFFIX } from './onnx/dequantize';
import { readSafetensors, readSafetensorsIndex } from './safetensors/reader';
import { TensorToWrite, writeSafetensors } from './safetensors/writer';
import { describe } from './student';

export type QuantizeDtype = 'int8' | 'bf16';
export const QUANTIZE_DTYPES: readonly QuantizeDtype[] = ['int8', 'bf16'];

export const INT8_SCHEME = 'symmetric per-row int8 weights (scale = max|row|/127); int8 inference tables, per-column scales';
export const BF16_SCHEME = 'bfloat16 storage, round to nearest even; float32 at run time';

export interface QuantizeOptions {
  /** Default 'int8'. */
  dtype?: QuantizeDtype;
}

export interface QuantizeResult {
  dir: string;
  dtype: QuantizeDtype;
  /** Bytes of weights.safetensors before and after. */
  sourceWeightBytes: number;
  weightBytes: number;
}

/** The tensors stored as I8 + per-row scale: matrices the tables come from (not the dense layer). */
export function isInt8Tensor(name: string, shape: readonly number[]): boolean {
  return shape.length >= 2 && name !== 'fc.weight';
}

/** Writes a quantized copy of the float32 model folder `sourceDir` to `targetDir`. */
export function quantizeModelFolder(sourceDir: string, targetDir: string, options: QuantizeOptions = {}): QuantizeResult {
  if (typeof targetDir !== 'string' || targetDir.length === 0) throw new TypeError(`Expected a non-empty string for targetDir but received ${describe(targetDir)}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`Expected an object for options but received ${describe(options)}`);
  const dtype = options.dtype ?? 'int8';
  if (!QUANTIZE_DTYPES.includes(dtype)) throw new TypeError(`Expected ${QUANTIZE_DTYPES.join(' or ')} for options.dtype but received ${describe(dtype)}`);
  const folder = readModelFolder(sourceDir);
  const kind = folder.spec.kind;
  if (kind !== 'textcnn' && kind !== 'gru') throw new Error(`${folder.configPath}: quantize supports textcnn and gru students, not ${kind}`);
  if (folder.config.quantization !== undefined) {
    throw new Error(`${folder.configPath}: this folder is already quantized (${folder.config.quantization.dtype}); quantize the float32 model`);
  }
  if (path.resolve(targetDir) === folder.dir) throw new Error(`the quantized folder must not replace its source ${folder.dir}`);
  const index = readSafetensorsIndex(folder.weightsPath);
  const notF32 = index.find((e) => e.dtype !== 'F32');
  if (notF32 !== undefined) throw new Error(`${folder.weightsPath}: tensor ${notF32.name} is ${notF32.dtype}; quantize reads a float32 folder`);
  const weights = readSafetensors(folder.weightsPath);

  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of weights) {
    if (dtype === 'bf16') {
      tensors.set(name, { shape: t.shape, data: t.data, dtype: 'BF16' });
    } else if (isInt8Tensor(name, t.shape)) {
      const { values, scales } = quantizeRows(t.data, t.shape[0], `${folder.weightsPath}: ${name}`);
      tensors.set(name, { shape: t.shape, data: values, dtype: 'I8' });
      tensors.set(name + SCALE_SUFFIX, { shape: [t.shape[0]], data: scales });
    } else {
      tensors.set(name, { shape: t.shape, data: t.data });
    }
  }
  const config: ModelFolderConfig = {
    ...folder.config,
    formatVersion: dtype === 'int8' ? QUANTIZED_FORMAT_VERSION : folder.config.formatVersion,
    quantization: { dtype, scheme: dtype === 'int8' ? INT8_SCHEME : BF16_SCHEME },
    createdAt: new Date().toISOString(),
    training: { ...(folder.config.training ?? {}), quantizedFrom: folder.dir },
  };
  const dir = writeGeneration(targetDir, FOLDER_FILES, (temp) => {
    fs.writeFileSync(path.join(temp, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    fs.copyFileSync(folder.vocabPath, path.join(temp, VOCAB_FILE));
    fs.copyFileSync(folder.classIdPath, path.join(temp, CLASS_ID_FILE));
    writeSafetensors(path.join(temp, WEIGHTS_FILE), tensors, {
      format: 'model-distill',
      formatVersion: String(config.formatVersion),
      kind,
      quantization: dtype,
    });
  });
  return {
    dir,
    dtype,
    sourceWeightBytes: fs.statSync(folder.weightsPath).size,
    weightBytes: fs.statSync(path.join(dir, WEIGHTS_FILE)).size,
  };
}

/** Symmetric int8 per row: scale = max |row| / 127 (0 for an all-zero row), value = round(w / scale). */
export function quantizeRows(data: Float32Array, rows: number, what: string): { values: Float32Array; scales: Float32Array } {
  const cols = data.length / rows;
  const values = new Float32Array(data.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c];
      if (!Number.isFinite(v)) throw new Error(`${what}: value ${v} at row ${r}, column ${c} is not finite`);
      max = Math.max(max, Math.abs(v));
    }
    const scale = Math.fround(max / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < cols; c++) values[r * cols + c] = Math.max(-127, Math.min(127, Math.round(data[r * cols + c] / scale)));
  }
  return { values, scales };
}
