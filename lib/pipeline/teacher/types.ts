/**
 * The shapes every part of the teacher step shares (dispatch in index.ts, the native,
 * ONNX and ensemble teachers, the folder members, the soft targets): what a teacher
 * is, where it came from, and where it lives in the run folder. Only types and
 * constants: the parts import this file and never each other's steps, so the
 * teacher folder has no import cycles.
 */
import type { PoolSoftLabels } from '../pool-stream';
import type { ProgressWriter } from '../../progress';
import type { EncodedRows } from '../../student';
import type { RunProgressListener } from '../run-progress';

export const TEACHER_DIR = 'teacher';
export const SOFT_LABEL_CACHE_FILE = 'soft-labels.cache';

/** Where the teacher came from; recorded in run.json and in each distilled student's folder. */
export interface TeacherIdentity {
  kind: 'native' | 'onnx' | 'ensemble';
  /**
   * sha256 of the teacher's weights.safetensors (onnx: of the .onnx file; ensemble: of
   * the list of its members' names and weight hashes): the key of its soft-label cache.
   */
  weightsSha256: string;
  dir: string;
  /** true when an earlier run's teacher with the same fingerprint was loaded instead of training. */
  reused: boolean;
  /** sha256 of the teacher's settings and data: what decides whether it can be reused. */
  fingerprint: string;
  evalAccuracy: number | null;
  bestEpoch: number;
  /** null for an ONNX teacher (not counted). */
  parameters: number | null;
  /** kind = ensemble: every member (the transformer / ONNX model first, when there is one). */
  members?: TeacherMemberIdentity[];
}

/** One member of an ensemble teacher. */
export interface TeacherMemberIdentity {
  /** "transformer", "onnx", or the member's name from [teacher] ensemble ("textcnn-1", "gru-1", ...). */
  name: string;
  kind: string;
  weightsSha256: string;
  fingerprint: string;
  dir: string;
  reused: boolean;
  bestEpoch: number;
  parameters: number | null;
  /** Measured on the eval rows when the ensemble is assembled. */
  evalAccuracy: number | null;
  evalMacroF1: number | null;
}

/** What scores the texts: the native transformer (NativeStudent) or an OnnxTeacher (onnx.ts). */
export interface TeacherModel {
  predictLogits(rows: EncodedRows, options: { threads?: number; batchSize?: number }): Promise<Float32Array>;
}

export interface Teacher {
  identity: TeacherIdentity;
  /** The teacher's logits [texts, C] (an ensemble: its members' averaged log-softmax). */
  logits(texts: string[], threads: number): Promise<Float32Array>;
}

export interface SoftTargets {
  /** [train rows, C] teacher logits for the labelled rows. */
  train: Float32Array;
  /** The pool file and the teacher's logits in pool order (pool-stream.ts; the pool is never held); null without [distill] use_unlabeled. */
  pool: PoolSoftLabels | null;
  teacher: TeacherIdentity;
}

export interface TeacherStepOptions {
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  onProgress?: RunProgressListener;
}
