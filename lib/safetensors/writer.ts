/**
 * Writes float32 tensors as a safetensors file (the format reader.ts reads and
 * native/core/safetensors.h loads), in TypeScript: the checkpoint import hands a NativeStudent
 * its converted, renamed tensors this way, and the tests build Hugging Face-style checkpoints
 * with it.
 *
 * Layout: 8-byte little-endian header length, the JSON header padded with spaces to a multiple
 * of 8 (as the reference implementation does, so the data is 8-byte aligned), then each
 * tensor's little-endian bytes in the order given. Written to a temporary file beside the target
 * and renamed, so a reader never sees half a file.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
  /**
   * Stored dtype; default F32. BF16 and I8 are what lib/quantize.ts writes (I8: data must hold
   * integers in [-128, 127]); F16 exists for tests of the importer's conversion.
   */
  dtype?: 'F32' | 'F16' | 'BF16' | 'I8';
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeSafetensors(file: string, tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata: Record<string, string> = {}): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const blobs: Uint8Array[] = [];
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`writeSafetensors ${file}: tensor ${JSON.stringify(name)} has shape [${t.shape.join(', ')}] (${count} values) but ${t.data.length} values`);
    const dtype = t.dtype ?? 'F32';
    const bytes = encode(t.data, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    blobs.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));

  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, length);
    fs.writeSync(fd, Buffer.from(json, 'utf8'));
    for (const b of blobs) fs.writeSync(fd, b);
    fs.closeSync(fd);
    fs.renameSync(temp, target);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

function encode(data: Float32Array, dtype: 'F32' | 'F16' | 'BF16' | 'I8'): Uint8Array {
  if (dtype === 'I8') {
    const out = new Int8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < -128 || v > 127) throw new RangeError(`I8 tensor value ${v} at index ${i} is not an integer in [-128, 127]`);
      out[i] = v;
    }
    return new Uint8Array(out.buffer);
  }
  if (dtype === 'F32') {
    if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const out = Buffer.alloc(data.length * 4);
    data.forEach((v, i) => out.writeFloatLE(v, 4 * i));
    return out;
  }
  const out = Buffer.alloc(data.length * 2);
  const word = new Uint32Array(1);
  const asFloat = new Float32Array(word.buffer);
  for (let i = 0; i < data.length; i++) {
    asFloat[0] = data[i];
    out.writeUInt16LE(dtype === 'BF16' ? bf16Bits(word[0]) : f16Bits(word[0]), 2 * i);
  }
  return out;
}

/** float32 bits -> bfloat16 bits, round to nearest even (NaN stays NaN). */
function bf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 bits -> IEEE half bits, round to nearest (overflow to inf, tiny values to subnormals or 0). */
function f16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}
