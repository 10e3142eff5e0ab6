/**
 * What a run reports as it goes, for callers of the training API (`train`, `experiment`,
 * `pretrain` with `onProgress`): the steps of the pipeline starting and finishing, every
 * trained model's batches and epochs, and masked-LM pre-training's steps. The CLI draws
 * bars and prints lines instead; this is the same information as data.
 */
import type { EpochReport } from '../student';

export type RunProgressEvent =
  /** A pipeline step ("data", "teacher", "soft_targets", "textcnn", "gru", "pretrain", ...). */
  | { type: 'step'; step: string; state: 'started' | 'finished'; seconds?: number }
  /** Training of one model went on (throttled by the native trainer). */
  | {
      type: 'batch';
      /** "teacher", an ensemble member ("textcnn-1"), or a student kind ("textcnn"). */
      model: string;
      epoch: number;
      epochs: number;
      /** Rows of this epoch done so far, of `rows`. */
      rowsDone: number;
      rows: number;
      /** Running mean train loss of the epoch. */
      loss: number;
    }
  /** One model finished an epoch. */
  | { type: 'epoch'; model: string; epochs: number; report: EpochReport }
  /** Masked-LM pre-training went on. */
  | { type: 'pretrain'; step: number; totalSteps: number; loss: number; tokensPerSecond: number };

export type RunProgressListener = (event: RunProgressEvent) => void;
