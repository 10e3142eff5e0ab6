/**
 * model-distill: public API. Import from here (`require('model-distill')` or
 * `import { ... } from 'model-distill'`).
 */
import { loadAddon, addonAvailable, AddonLoadError } from './binding';

export { AddonLoadError, addonAvailable };
export { Tokenizer } from './tokenizer';
export type {
  TokenizerOptions,
  EncodeOptions,
  BatchEncodeOptions,
  SyncBatchEncodeOptions,
  BatchEncodeOutput,
  BatchEncoding,
  DecodeOptions,
} from './tokenizer';
export { NativeStudent, softmaxRows } from './student';
export type {
  ModelKind, StudentKind, StudentSpec, TextCnnSpec, GruSpec, EncodedRows, TrainRows, EvalRows, StudentTrainOptions,
  TrainProgressEvent, EpochReport, TrainReport, TrainHooks, PredictOptions,
} from './student';
export { saveModelFolder, readModelFolder, loadStudentFromFolder, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model-folder';
export type { ModelFolder, ModelFolderConfig, SaveModelFolderOptions } from './model-folder';
export { Classifier } from './classifier';
export { quantizeModelFolder, QUANTIZE_DTYPES } from './quantize';
export type { QuantizeDtype, QuantizeOptions, QuantizeResult } from './quantize';
export type { Prediction, ClassifierLoadOptions, PredictCallOptions, ClassifierBackend, ClassifierBackendName } from './classifier';
export { exportOnnx } from './onnx/export-student';
// Teachers from elsewhere: the transformer teacher's ONNX export and checkpoint import ([teacher] kind = onnx
// is reached through the config: its module's types name the optional onnxruntime-node).
export { exportTeacherOnnx, exportTeacherFolderOnnx } from './onnx/export-teacher';
export type { TeacherExportOptions } from './onnx/export-teacher';
export { readCheckpoint, createTeacherFromCheckpoint } from './pipeline/checkpoint-import';
export type { Checkpoint, CheckpointImportOptions } from './pipeline/checkpoint-import';
export type { TransformerSpec } from './student';
// The training API (what the commands do, as functions): train, pretrain, experiment, and the wrong-label tools.
export { train, pretrain, experiment, detectWrongLabels, cleanLabels } from './training';
export type { RunOptions, TrainRunOptions, ExperimentRunOptions, PretrainResult } from './training';
export type { RunProgressEvent, RunProgressListener } from './pipeline/run-progress';
export type { RunSummary } from './pipeline/train';
export type { StudentResult } from './pipeline/train-student';
export type { PretrainSummary } from './pipeline/pretrain';
export type { ExperimentResult, ExperimentRow, ExperimentSetting } from './experiment/run';
export type { DetectOptions, DetectionReport, FlaggedRow, ClassSummary, FoldReport } from './labels/detect';
export type { CleanOptions, CleanReport } from './labels/clean';
export { findLabelIssues } from './labels/confident-learning';
export type { ConfidentLearningOptions, ConfidentLearningResult, ClassNoise } from './labels/confident-learning';

/** Versions and the SIMD level of the loaded native core. */
export function nativeInfo(): { coreVersion: string; simdLevel: string } {
  const addon = loadAddon();
  return { coreVersion: addon.coreVersion, simdLevel: addon.simdLevel() };
}
