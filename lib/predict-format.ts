/**
 * The output lines of `model-distill predict`, shared by the local command and
 * the queue's workers (lib/queue/worker.ts), so both write the same bytes.
 */

/** Probability with 6 decimals, without trailing zeros ("0.5", "0.123457", "1"). */
export function formatScore(p: number): string {
  // String(NaN) would print "score":NaN, which is not JSON; runPredict reports the line first.
  if (!Number.isFinite(p)) throw new RangeError(`Expected a finite probability but received ${p}`);
  return String(Math.round(p * 1e6) / 1e6);
}

/** Builds the output line of one row of probabilities. */
export function makeFormatter(labels: readonly string[], format: 'tsv' | 'jsonl', topK: number | undefined): (probs: Float32Array, row: number) => string {
  const C = labels.length;
  const order = new Array<number>(C);
  const ranked = (probs: Float32Array, base: number, k: number): number[] => {
    for (let c = 0; c < C; c++) order[c] = c;
    // Stable: ties keep class-id order, like argmax.
    order.sort((a, b) => probs[base + b] - probs[base + a] || a - b);
    return order.slice(0, k);
  };
  const jsonLabels = labels.map((l) => JSON.stringify(l));
  return (probs, row) => {
    const base = row * C;
    const top = ranked(probs, base, topK ?? 1);
    const best = top[0];
    if (format === 'tsv') {
      if (topK === undefined) return `${labels[best]}\t${formatScore(probs[base + best])}`;
      return top.map((c) => `${labels[c]}:${formatScore(probs[base + c])}`).join('\t');
    }
    const head = `{"label":${jsonLabels[best]},"score":${formatScore(probs[base + best])}`;
    if (topK === undefined) {
      const parts = labels.map((_, c) => `${jsonLabels[c]}:${formatScore(probs[base + c])}`);
      return `${head},"probabilities":{${parts.join(',')}}}`;
    }
    return `${head},"top":[${top.map((c) => `{"label":${jsonLabels[c]},"score":${formatScore(probs[base + c])}}`).join(',')}]}`;
  };
}
