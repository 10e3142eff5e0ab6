/**
 * A minimal protobuf WRITER for the part of ONNX's schema (onnx/onnx.proto) that the student
 * exports need: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto
 * and the TypeProto/TensorShapeProto they carry. Nothing is read back here; onnxruntime is the
 * reader (the tests load every export in onnxruntime-node and onnxruntime-web).
 *
 * Why hand-written: the messages are few and write-only, and a protobuf library plus generated
 * code would be a runtime dependency of the WASM fallback for ~150 lines of varints.
 *
 * Wire format reminder: every field is a key varint (field_number << 3 | wire_type) then the
 * value; wire type 0 = varint (ints, enums), 2 = length-delimited (strings, bytes, nested
 * messages, packed repeated scalars), 5 = 32-bit (float). Field numbers below are onnx.proto's.
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values used here. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface TensorDef {
  name: string;
  dataType: DataTypeValue;
  dims: number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  raw: Uint8Array;
}

/** An attribute value: number -> INT if integral else FLOAT; use `{ float }` to force FLOAT. */
export type AttributeValue = number | { float: number } | string | number[] | { floats: number[] } | string[] | TensorDef;

export interface NodeDef {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface ValueInfoDef {
  name: string;
  elemType: DataTypeValue;
  /** A number is a fixed size, a string a symbolic dimension ("batch"). */
  shape: (number | string)[];
}

export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  initializers: TensorDef[];
  inputs: ValueInfoDef[];
  outputs: ValueInfoDef[];
}

export interface ModelDef {
  /** IR version: 8 goes with opsets up to 18 and is read by every current onnxruntime. */
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
  graph: GraphDef;
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(model: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.varintField(1, model.irVersion); // ir_version
  w.stringField(2, model.producerName); // producer_name
  w.stringField(3, model.producerVersion); // producer_version
  if (model.docString) w.stringField(6, model.docString); // doc_string
  w.messageField(7, encodeGraph(model.graph)); // graph
  const opset = new ProtoWriter();
  opset.stringField(1, ''); // domain: '' = the default ONNX operator set
  opset.varintField(2, model.opsetVersion); // version
  w.messageField(8, opset.finish()); // opset_import
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    const entry = new ProtoWriter();
    entry.stringField(1, key);
    entry.stringField(2, value);
    w.messageField(14, entry.finish()); // metadata_props
  }
  return w.finish();
}

function encodeGraph(graph: GraphDef): Uint8Array {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.messageField(1, encodeNode(node)); // node
  w.stringField(2, graph.name); // name
  for (const t of graph.initializers) w.messageField(5, encodeTensor(t)); // initializer
  for (const v of graph.inputs) w.messageField(11, encodeValueInfo(v)); // input
  for (const v of graph.outputs) w.messageField(12, encodeValueInfo(v)); // output
  return w.finish();
}

function encodeNode(node: NodeDef): Uint8Array {
  const w = new ProtoWriter();
  for (const i of node.inputs) w.stringField(1, i); // input
  for (const o of node.outputs) w.stringField(2, o); // output
  if (node.name) w.stringField(3, node.name); // name
  w.stringField(4, node.opType); // op_type
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.messageField(5, encodeAttribute(name, value)); // attribute
  return w.finish();
}

function encodeAttribute(name: string, value: AttributeValue): Uint8Array {
  const w = new ProtoWriter();
  w.stringField(1, name); // name
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      w.varintField(3, value); // i
      w.varintField(20, AttributeType.INT); // type
    } else {
      w.floatField(2, value); // f
      w.varintField(20, AttributeType.FLOAT);
    }
  } else if (typeof value === 'string') {
    w.bytesField(4, utf8(value)); // s
    w.varintField(20, AttributeType.STRING);
  } else if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      for (const s of value as string[]) w.bytesField(9, utf8(s)); // strings
      w.varintField(20, AttributeType.STRINGS);
    } else {
      w.packedVarintField(8, value as number[]); // ints
      w.varintField(20, AttributeType.INTS);
    }
  } else if ('float' in value) {
    w.floatField(2, value.float);
    w.varintField(20, AttributeType.FLOAT);
  } else if ('floats' in value) {
    w.packedFloatField(7, value.floats); // floats
    w.varintField(20, AttributeType.FLOATS);
  } else {
    w.messageField(5, encodeTensor(value)); // t
    w.varintField(20, AttributeType.TENSOR);
  }
  return w.finish();
}

function encodeTensor(t: TensorDef): Uint8Array {
  const w = new ProtoWriter();
  w.packedVarintField(1, t.dims); // dims
  w.varintField(2, t.dataType); // data_type
  w.stringField(8, t.name); // name
  w.bytesField(9, t.raw); // raw_data
  return w.finish();
}

function encodeValueInfo(v: ValueInfoDef): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varintField(1, d); // dim_value
    else dim.stringField(2, d); // dim_param
    shape.messageField(1, dim.finish()); // TensorShapeProto.dim
  }
  const tensorType = new ProtoWriter();
  tensorType.varintField(1, v.elemType); // TypeProto.Tensor.elem_type
  tensorType.messageField(2, shape.finish()); // TypeProto.Tensor.shape
  const type = new ProtoWriter();
  type.messageField(1, tensorType.finish()); // TypeProto.tensor_type
  const w = new ProtoWriter();
  w.stringField(1, v.name); // name
  w.messageField(2, type.finish()); // type
  return w.finish();
}

// ---- tensor helpers ----------------------------------------------------------------------------

export function floatTensor(name: string, dims: number[], values: Float32Array | number[]): TensorDef {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  checkCount(name, dims, data.length);
  return { name, dataType: DataType.FLOAT, dims, raw: littleEndianBytes(data) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): TensorDef {
  checkCount(name, dims, values.length);
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dataType: DataType.INT64, dims, raw: littleEndianBytes(data) };
}

function checkCount(name: string, dims: number[], count: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== count) throw new Error(`tensor ${name}: dims [${dims.join(', ')}] need ${expected} values but ${count} were given`);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return bytes;
  const size = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let b = 0; b < size; b++) out[i + b] = bytes[i + size - 1 - b];
  return out;
}

function utf8(s: string): Uint8Array {
  return Buffer.from(s, 'utf8');
}

// ---- the writer ---------------------------------------------------------------------------------

/** Appends protobuf fields to a growing list of chunks; finish() concatenates them. */
class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];

  varintField(field: number, value: number): void {
    this.key(field, 0);
    this.varint(value);
  }

  floatField(field: number, value: number): void {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.flushScratch();
    this.chunks.push(b);
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, utf8(value));
  }

  bytesField(field: number, value: Uint8Array): void {
    this.key(field, 2);
    this.varint(value.length);
    this.flushScratch();
    this.chunks.push(value);
  }

  messageField(field: number, encoded: Uint8Array): void {
    this.bytesField(field, encoded);
  }

  packedVarintField(field: number, values: number[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.bytesField(field, inner.finish());
  }

  packedFloatField(field: number, values: number[]): void {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
    this.bytesField(field, b);
  }

  finish(): Uint8Array {
    this.flushScratch();
    return Buffer.concat(this.chunks);
  }

  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** Base-128 varint; negative int64 values take ten bytes (two's complement), as protobuf says. */
  private varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new Error(`protobuf varint: ${value} is not a safe integer`);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.scratch = [];
  }
}
