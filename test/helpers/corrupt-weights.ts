/**
 * Rewrites a valid weights.safetensors into the corrupt variants the bad-input tests load:
 * a tensor named twice, two tensors sharing bytes, a NaN or infinite weight. Each writes a new
 * file (header length recomputed), so the only defect is the one asked for.
 */
import * as fs from 'node:fs';

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function split(file: string): { header: Record<string, Entry | Record<string, string>>; data: Buffer } {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')), data: bytes.subarray(8 + length) };
}

function join(file: string, headerText: string, data: Buffer): void {
  const header = Buffer.from(headerText, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(file, Buffer.concat([length, header, data]));
}

function tensors(header: Record<string, unknown>): [string, Entry][] {
  return Object.entries(header).filter(([name]) => name !== '__metadata__') as [string, Entry][];
}

/** The header names tensor `name` a second time (same entry), as the JSON text allows. */
export function duplicateTensorName(file: string): string {
  const { header, data } = split(file);
  const [name, entry] = tensors(header)[0];
  const text = JSON.stringify(header);
  join(file, `{${JSON.stringify(name)}:${JSON.stringify(entry)},${text.slice(1)}`, data);
  return name;
}

/** The second tensor (by offset) is moved onto the bytes of the first. */
export function overlapOffsets(file: string): [string, string] {
  const { header, data } = split(file);
  const [[first, a], [second, b]] = tensors(header).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
  const size = b.data_offsets[1] - b.data_offsets[0];
  b.data_offsets = [a.data_offsets[0] + 4, a.data_offsets[0] + 4 + size];
  join(file, JSON.stringify(header), data);
  return [first, second];
}

/** Writes `value` (NaN, Infinity) into element `index` of tensor `name` (F32). */
export function poisonWeight(file: string, name: string, value: number, index = 0): void {
  const { header, data } = split(file);
  const entry = header[name] as Entry;
  data.writeFloatLE(value, entry.data_offsets[0] + 4 * index);
  join(file, JSON.stringify(header), data);
}
