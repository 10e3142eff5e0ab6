/**
 * Upper bounds on every size a model folder's config.json (or a StudentSpec) may give.
 *
 * Why: the addon reads sizes as 32-bit integers, so maxLength 4294967301 wrapped to 5 and served
 * as such; and an absurd but representable size (maxLength 1e8, embeddingDim 1e6) allocated
 * gigabytes or died with a bare std::bad_alloc. The limits are far above any model this package
 * trains or imports (BERT-base: hidden 768, 12 layers, 512 positions, 21,128 tokens) and well
 * below what overflows or exhausts memory, so a value outside them is a damaged or hand-edited
 * file: an error naming the key beats a crash.
 */
export const SIZE_LIMITS = {
  maxLength: 8192,
  vocabSize: 4_000_000,
  numClasses: 100_000,
  embeddingDim: 8192,
  filters: 8192,
  windowSize: 64,
  windowCount: 64,
  hidden: 8192,
  layers: 96,
  heads: 256,
  intermediate: 65_536,
  maxPositions: 8192,
  typeVocabSize: 1024,
  /** Floats in all of a model's weights (1 << 30 = 4 GiB of F32). */
  parameters: 1 << 30,
} as const;

/** The value of `name` (e.g. "spec.embeddingDim") if it is at most `limit`, else a RangeError naming it. */
export function atMost(value: number, limit: number, name: string): number {
  if (value > limit) throw new RangeError(`Expected at most ${limit} for ${name} but received ${value}`);
  return value;
}

/** Rough float count of a student's weights: enough to refuse a spec that cannot fit in memory. */
export function approximateParameters(spec: {
  kind: string;
  vocabSize: number;
  numClasses: number;
  embeddingDim?: number;
  hidden?: number;
  filters?: number;
  windows?: readonly number[];
  layers?: number;
  intermediate?: number;
  maxPositions?: number;
}): number {
  const { vocabSize: V, numClasses: C } = spec;
  const E = spec.embeddingDim ?? 0;
  const H = spec.hidden ?? 0;
  if (spec.kind === 'textcnn') {
    const F = spec.filters ?? 0;
    const windows = spec.windows ?? [];
    return V * E + windows.reduce((sum, w) => sum + w * E * F + F, 0) + windows.length * F * C;
  }
  if (spec.kind === 'gru') return V * E + 2 * 3 * H * (E + H + 2) + 2 * H * C;
  const L = spec.layers ?? 0;
  return (V + (spec.maxPositions ?? 0)) * H + L * (4 * H * H + 2 * H * (spec.intermediate ?? 0)) + H * C;
}
