/**
 * The train hooks shared by every training step of the pipeline (the students,
 * the transformer teacher, the ensemble's members): one progress bar per epoch,
 * advanced from the native trainer's throttled progress events, and one log
 * line per epoch. The caller says what the line and the bar's last state read.
 */
import { Progress, type ProgressWriter } from '../progress';
import type { EpochReport, StudentTrainOptions, TrainHooks } from '../student';
import type { RunProgressListener } from './run-progress';

/** Where a training step reports: its bar's stream, its cancel signal, its API listener. */
export interface EpochProgressSinks {
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  /** Batch and epoch events for API callers (the label is the event's model). */
  onProgress?: RunProgressListener;
}

export interface EpochProgressOptions {
  /** The bar's label before " epoch i/N", e.g. "textcnn" or "teacher". */
  label: string;
  /** Rows an epoch goes through (the bar's total). */
  rows: number;
  /** The run's epochs and batch size (its train options). */
  train: Pick<StudentTrainOptions, 'epochs' | 'batchSize'>;
  /**
   * Optimiser steps per epoch: turns the global step of an event into the epoch's rows done.
   * Default ceil(rows / batchSize); a streamed pool says its own.
   */
  stepsPerEpoch?: number;
  /** The bar's final text on a terminal (elsewhere the log line says it all). */
  finishText(e: EpochReport): string;
  /** Writes the epoch's log line. */
  logEpoch(e: EpochReport): void;
}

export function epochProgressHooks(o: EpochProgressOptions, sinks: EpochProgressSinks): TrainHooks {
  const { epochs, batchSize } = o.train;
  const stepsPerEpoch = o.stepsPerEpoch ?? Math.ceil(o.rows / batchSize);
  const newBar = (epoch: number): Progress | null =>
    sinks.progress === false ? null : new Progress({ label: `${o.label} epoch ${epoch}/${epochs}`, total: o.rows, stream: sinks.progress });
  const tty = sinks.progress !== false && sinks.progress.isTTY === true;
  let bar = newBar(1);
  let barEpoch = 1;
  return {
    signal: sinks.signal,
    onProgress: (p) => {
      if (p.epoch !== barEpoch) return; // a late event of a finished epoch
      const rowsDone = Math.min(o.rows, (p.step - (p.epoch - 1) * stepsPerEpoch) * batchSize);
      sinks.onProgress?.({ type: 'batch', model: o.label, epoch: p.epoch, epochs, rowsDone, rows: o.rows, loss: p.runningLoss });
      bar?.update(rowsDone, `loss ${p.runningLoss.toFixed(4)}`);
    },
    onEpoch: (e) => {
      sinks.onProgress?.({ type: 'epoch', model: o.label, epochs, report: e });
      if (tty) bar?.finish(o.finishText(e));
      o.logEpoch(e);
      barEpoch = e.epoch + 1;
      bar = barEpoch <= epochs ? newBar(barEpoch) : null;
    },
  };
}
