/**
 * What travels through the queue: one job per chunk of a text file, and what
 * the worker hands back. Jobs carry paths, never texts: the files sit on
 * storage every worker sees, so a job is a few hundred bytes however big the
 * chunk.
 *
 * Job ids are `<run>-<chunk index>`, with `<run>` fixed per output (a hash of
 * the input, the model and the flags). BullMQ ignores an add whose id already
 * exists, so a coordinator that restarts adds no chunk twice, and each chunk's
 * result is read and written exactly once by the one coordinator.
 */
import type { LineChunk } from './chunks';
import type { TeacherRecipe } from './teacher-recipe';

/** The one queue every worker listens on (one Redis database may serve many runs). */
export const QUEUE_NAME = 'model-distill';

/** `model-distill predict --queue`: one chunk of the input, predicted by a student. */
export interface PredictJob {
  kind: 'predict';
  run: string;
  chunk: LineChunk;
  /** The model folder (absolute path on shared storage). */
  model: string;
  /** sha256 of its weights.safetensors: a worker that sees other weights refuses the chunk. */
  modelSha256: string;
  format: 'tsv' | 'jsonl';
  topK: number | null;
  /** Lines per predict call, as the local command's --batch-size (same batches, same bytes). */
  batchSize: number;
}

export interface PredictResult {
  /** The chunk's output lines, each ending in '\n'. */
  output: string;
  /** Invalid UTF-8 sequences replaced in the chunk (reported by the coordinator). */
  replacedSequences: number;
  linesWithReplacements: number;
}

/** `train` with [distill] queue: one chunk of the pool, scored by the teacher. */
export interface ScorePoolJob {
  kind: 'score-pool';
  run: string;
  chunk: LineChunk;
  teacher: TeacherRecipe;
  /** Score only the chunk's first `maxTexts` non-empty lines ([distill] unlabeled_limit); null = all. */
  maxTexts: number | null;
}

export interface ScorePoolResult {
  /** Non-empty lines scored, in file order. */
  texts: number;
  /** Their logits, [texts, C] float32 little-endian, base64. */
  logits: string;
}

export type QueueJob = PredictJob | ScorePoolJob;

export function jobId(run: string, chunkIndex: number): string {
  return `${run}-${chunkIndex}`;
}
