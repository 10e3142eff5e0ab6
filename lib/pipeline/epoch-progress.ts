/**
 * The train hooks shared by every training step of the pipeline (the students,
 * the transformer teacher, the ensemble's members): one progress bar per epoch,
 * advanced from the native trainer's throttled progress events, and one log
 * line per epoch. The caller says what the line and the bar's last state read.
 */
import { Progress, type ProgressWriter } from '../progress';
import type { EpochReport, TrainHooks } from '../student';
import type { RunProgressListener } from './run-progress';

export interface EpochProgressOptions {
  /** The bar's label before " epoch i/N", e.g. "textcnn" or "teacher". */
  label: string;
  /** Rows an epoch goes through (the bar's total). */
  rows: number;
  /** Optimiser steps per epoch: turns the global step of an event into the epoch's rows done. */
  stepsPerEpoch: number;
  epochs: number;
  batchSize: number;
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  /** The bar's final text on a terminal (elsewhere the log line says it all). */
  finishText(e: EpochReport): string;
  /** Writes the epoch's log line. */
  logEpoch(e: EpochReport): void;
  /** Batch and epoch events for API callers (the label is the event's model). */
  onProgress?: RunProgressListener;
}

export function epochProgressHooks(o: EpochProgressOptions): TrainHooks {
  const newBar = (epoch: number): Progress | null =>
    o.progress === false ? null : new Progress({ label: `${o.label} epoch ${epoch}/${o.epochs}`, total: o.rows, stream: o.progress });
  const tty = o.progress !== false && o.progress.isTTY === true;
  let bar = newBar(1);
  let barEpoch = 1;
  return {
    signal: o.signal,
    onProgress: (p) => {
      if (p.epoch !== barEpoch) return; // a late event of a finished epoch
      const rowsDone = Math.min(o.rows, (p.step - (p.epoch - 1) * o.stepsPerEpoch) * o.batchSize);
      o.onProgress?.({ type: 'batch', model: o.label, epoch: p.epoch, epochs: o.epochs, rowsDone, rows: o.rows, loss: p.runningLoss });
      bar?.update(rowsDone, `loss ${p.runningLoss.toFixed(4)}`);
    },
    onEpoch: (e) => {
      o.onProgress?.({ type: 'epoch', model: o.label, epochs: o.epochs, report: e });
      if (tty) bar?.finish(o.finishText(e));
      o.logEpoch(e);
      barEpoch = e.epoch + 1;
      bar = barEpoch <= o.epochs ? newBar(barEpoch) : null;
    },
  };
}
