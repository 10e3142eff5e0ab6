/**
 * Reads a safetensors file (the model folder's weights.safetensors) in TypeScript, so the ONNX
 * export, and with it the WASM fallback, works where the native addon does not load.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 *   { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": {..} }
 * then the data; offsets are relative to the end of the header. Every tensor comes back as
 * Float32Array (F32 as is; F16, BF16, F64 and I8 converted, as the native reader does; an int8
 * model folder's I8 tensors and their scales are combined by lib/onnx/dequantize.ts).
 * Every problem is an error naming the file and the tensor.
 */
import * as fs from 'fs';

import { duplicateTopLevelKey } from './json-duplicate-key';

export interface SafeTensor {
  shape: number[];
  data: Float32Array;
}

const ELEMENT_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I8: 1 };

/** One tensor's entry in the header (what readSafetensorsIndex lists without reading any data). */
export interface SafeTensorEntry {
  name: string;
  dtype: string;
  shape: number[];
}

/**
 * The tensors a safetensors file holds (name, dtype, shape), from its header alone: cheap for a
 * large checkpoint, and it lists tensors of dtypes readSafetensors cannot convert (I64 buffers).
 */
export function readSafetensorsIndex(file: string): SafeTensorEntry[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new Error(`${file}: truncated (${size} bytes; a safetensors file starts with an 8-byte header length)`);
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    const headerLength = head.readBigUInt64LE(0);
    if (headerLength > BigInt(size - 8)) throw new Error(`${file}: header length ${headerLength} runs past the end of the file (${size} bytes)`);
    const json = Buffer.alloc(Number(headerLength));
    fs.readSync(fd, json, 0, json.length, 8);
    let header: unknown;
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch (err) {
      throw new Error(`${file}: header is not valid JSON (${(err as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${file}: header is not a JSON object`);
    return Object.entries(header as Record<string, { dtype?: unknown; shape?: unknown }>)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, e]) => ({ name, dtype: String(e?.dtype), shape: Array.isArray(e?.shape) ? (e.shape as number[]).slice() : [] }));
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads every tensor of `file`, or only those `keep` accepts (the others are not checked or converted). */
export function readSafetensors(file: string, keep?: (name: string) => boolean): Map<string, SafeTensor> {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 8) throw new Error(`${file}: truncated (${bytes.length} bytes; a safetensors file starts with an 8-byte header length)`);
  const headerLength = bytes.readBigUInt64LE(0);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new Error(`${file}: header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const dataStart = 8 + Number(headerLength);
  const headerText = bytes.subarray(8, dataStart).toString('utf8');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    throw new Error(`${file}: header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${file}: header is not a JSON object`);
  const duplicate = duplicateTopLevelKey(headerText);
  if (duplicate !== undefined) throw new Error(`${file}: header names tensor ${JSON.stringify(duplicate)} twice`);
  checkNoOverlap(file, header as Record<string, unknown>);
  const dataLength = bytes.length - dataStart;
  const out = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__' || (keep !== undefined && !keep(name))) continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `${file}: tensor ${JSON.stringify(name)}`;
    if (typeof e !== 'object' || e === null) throw new Error(`${where}: entry is not an object`);
    const size = typeof e.dtype === 'string' ? ELEMENT_BYTES[e.dtype] : undefined;
    if (size === undefined) throw new Error(`${where}: dtype ${JSON.stringify(e.dtype)} is not supported (F32, F16, BF16, F64, I8)`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${where}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${where}: bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw new Error(`${where}: data ends at byte ${end} but the file holds ${dataLength} data bytes (truncated)`);
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * size) {
      throw new Error(`${where}: shape [${(e.shape as number[]).join(', ')}] needs ${count * size} bytes but data_offsets span ${end - begin}`);
    }
    const data = toFloat32(bytes, dataStart + begin, count, e.dtype as string);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${where} holds ${Number.isNaN(data[bad]) ? 'NaN' : 'an infinite value'} at index ${bad} (weights must be finite numbers)`);
    out.set(name, { shape: (e.shape as number[]).slice(), data });
  }
  return out;
}

/** Two tensors sharing bytes is a corrupt file (the native reader rejects it too), whichever are kept. */
function checkNoOverlap(file: string, header: Record<string, unknown>): void {
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    const offsets = (entry as { data_offsets?: unknown } | null)?.data_offsets;
    if (name === '__metadata__' || !Array.isArray(offsets) || offsets.length !== 2) continue; // reported per tensor
    const [begin, end] = offsets as unknown[];
    if (typeof begin === 'number' && typeof end === 'number') spans.push({ name, begin, end });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) {
      throw new Error(`${file}: data_offsets of tensors ${JSON.stringify(spans[i - 1].name)} and ${JSON.stringify(spans[i].name)} overlap`);
    }
  }
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toFloat32(bytes: Buffer, at: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      if (HOST_IS_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(at, at + 4 * count)); // one copy, not count calls (checkpoints are big)
      else for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(at + 4 * i);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = bytes.readDoubleLE(at + 8 * i);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt8(at + i);
      break;
    case 'BF16': {
      const word = new Uint32Array(1);
      const asFloat = new Float32Array(word.buffer);
      for (let i = 0; i < count; i++) {
        word[0] = bytes.readUInt16LE(at + 2 * i) << 16;
        out[i] = asFloat[0];
      }
      break;
    }
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes.readUInt16LE(at + 2 * i));
      break;
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * The metadata of a safetensors file (its JSON header's "__metadata__"),
 * without reading the tensors. Errors name the file.
 */
export function readSafetensorsMetadata(file: string): Record<string, string> {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${file}: not a safetensors file (shorter than its 8-byte header length)`);
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || n > 100_000_000 || 8 + n > size) throw new Error(`${file}: not a safetensors file (header length ${n} does not fit the file's ${size} bytes; truncated?)`);
    const json = Buffer.alloc(n);
    fs.readSync(fd, json, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${file}: not a safetensors file (header is not JSON: ${(err as Error).message})`);
    }
    const meta = header.__metadata__;
    return meta !== null && typeof meta === 'object' ? (meta as Record<string, string>) : {};
  } finally {
    fs.closeSync(fd);
  }
}
