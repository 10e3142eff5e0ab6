/**
 * An int8 model folder's weights back in float32: every tensor "<name>" that has a
 * "<name>.scale" beside it holds int8 values, one scale per row (lib/quantize.ts), and becomes
 * value * scale[row]. The ONNX export (and with it the WASM backend) builds its graph from
 * these, so a quantized folder exports as a float model with the int8 rounding of its weights.
 */
import type { SafeTensor } from '../safetensors/reader';

export const SCALE_SUFFIX = '.scale';

export function dequantizeWeights(weights: Map<string, SafeTensor>, file: string): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const [name, tensor] of weights) {
    if (name.endsWith(SCALE_SUFFIX) && weights.has(name.slice(0, -SCALE_SUFFIX.length))) continue;
    const scale = weights.get(name + SCALE_SUFFIX);
    if (scale === undefined) {
      out.set(name, tensor);
      continue;
    }
    const rows = tensor.shape[0];
    if (tensor.shape.length < 2 || scale.data.length !== rows) {
      throw new Error(`${file}: ${name}${SCALE_SUFFIX} has ${scale.data.length} values but ${name} [${tensor.shape.join(', ')}] has ${rows} rows`);
    }
    const cols = tensor.data.length / rows;
    const data = new Float32Array(tensor.data.length);
    for (let r = 0; r < rows; r++) {
      const s = scale.data[r];
      if (!(s >= 0) || !Number.isFinite(s)) throw new Error(`${file}: ${name}${SCALE_SUFFIX}[${r}] = ${s} is not a finite non-negative scale`);
      for (let c = 0; c < cols; c++) data[r * cols + c] = tensor.data[r * cols + c] * s;
    }
    out.set(name, { shape: tensor.shape.slice(), data });
  }
  return out;
}
