/**
 * The texts of one pool chunk, chosen exactly as streamLineBatches (data.ts)
 * chooses them when the pool is scored here: a BOM on line 1 dropped, empty
 * (whitespace-only) lines skipped, invalid UTF-8 an error naming the line, and
 * at most `maxTexts` texts ([distill] unlabeled_limit). The worker scores these
 * texts and the coordinator keys the returned logits by them, so both must
 * pick the same ones.
 */
import type { LineChunk } from './chunks';

export function poolChunkTexts(chunk: LineChunk, lines: readonly string[], replacedSequences: number, maxTexts: number | null): string[] {
  const texts: string[] = [];
  for (let k = 0; k < lines.length; k++) {
    if (maxTexts !== null && texts.length >= maxTexts) break;
    const lineNo = chunk.firstLine + k;
    let line = lines[k];
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (replacedSequences > 0 && line.includes('\uFFFD')) throw new Error(`${chunk.file}:${lineNo}: not valid UTF-8; save the file as UTF-8`);
    if (line.trim() === '') continue;
    texts.push(line);
  }
  return texts;
}
