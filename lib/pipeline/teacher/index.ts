/**
 * Steps 2 and 3 of `train`: the teacher, and the soft labels it gives the
 * students. The pipeline is
 *
 *   data -> teacher -> soft labels (train rows, and the pool when distilling
 *   with it) -> students
 *
 * Teachers this version runs:
 *   none    the students train on the labelled rows alone;
 *   native  a BERT-style transformer (native/core/transformer.h) fine-tuned from
 *           random weights on the labelled rows with the [teacher] settings
 *           (AdamW, warmup then linear decay, weight decay, clipping at 1.0 as
 *           BERT, best epoch on the eval rows), saved as <run>/teacher/.
 *           Its rows are [CLS] pieces [SEP] over the students' vocabulary.
 *           A rerun whose teacher settings and data are unchanged reuses the
 *           saved teacher (its training info holds a fingerprint of both).
 *           With [teacher] init_checkpoint = folder it starts instead from a
 *           pretrained BERT/ERNIE checkpoint (../checkpoint-import.ts): the
 *           checkpoint's architecture, weights and vocab.txt (its rows are then
 *           [CLS] pieces [SEP] over that vocabulary), a fresh classifier head.
 *   onnx    a classifier exported elsewhere, run in onnxruntime-node
 *           (onnx.ts) with its own vocab.txt; nothing is trained.
 *   native with [teacher] pretrain = mlm: first masked-LM pre-training of the
 *           same transformer on the train texts + the pool (../pretrain.ts, into
 *           <run>/pretrain/, resumed from its checkpoint or reused when already
 *           finished with the same settings and data; also `model-distill
 *           pretrain`), then fine-tuning from those weights. The pre-trained
 *           encoder's sha256 is part of the teacher's fingerprint.
 *   + [teacher] ensemble = textcnn[,gru,...]: small members trained on the
 *           labelled rows (ensemble.ts, saved in <run>/teacher/members/<name>/),
 *           whose log-softmax is averaged with the model's above (or, with
 *           kind = none, with each other's): the reference system's teacher was
 *           such an average of a TextCNN with pretrained vectors and ERNIE.
 *
 * Soft labels (step 3): soft-targets.ts.
 *
 * This file picks the teacher the config asks for; each kind lives in its own file
 * (native.ts, onnx.ts, ensemble.ts with folder-member.ts), sharing only types.ts
 * and spec.ts, so nothing here imports back into this file.
 */
import { configProblem, hasEnsemble, type Config } from '../../config';
import type { PreparedData } from '../prepare-data';
import type { RunLog } from '../run-log';
import { ensembleTeacherStep } from './ensemble';
import { nativeTeacherStep } from './native';
import { loadOnnxRuntime, onnxTeacherStep } from './onnx';
import type { Teacher, TeacherStepOptions } from './types';

export { softTargetsStep } from './soft-targets';
export { encodeForTeacher, singleModelTeacher, teacherSpec, teacherTrainOptions } from './spec';
export * from './types';

/** The teacher kinds this version can run. */
const IMPLEMENTED_TEACHERS: ReadonlySet<string> = new Set(['none', 'native', 'onnx']);

/**
 * Fails fast, before any data is read, when the config asks for a teacher this
 * version does not have. The error points at the config line.
 */
export function checkTeacherSupported(config: Config): void {
  const t = config.teacher;
  if (!IMPLEMENTED_TEACHERS.has(t.kind)) {
    // experiment/run.ts recognises "is not implemented yet" and reports the setting as unavailable.
    throw configProblem(
      config,
      'teacher',
      'kind',
      `= ${t.kind} is not implemented yet; set kind = native (a transformer trained here) or kind = none`,
    );
  }
  if (t.kind === 'onnx') {
    // A missing onnxruntime-node (an optional peer dependency) fails now, not after the data step.
    loadOnnxRuntime();
  }
  if (t.kind === 'native' && t.pretrain === 'mlm' && t.init_checkpoint !== null) {
    throw configProblem(config, 'teacher', 'pretrain', '= mlm pre-trains from random weights and cannot be combined with init_checkpoint (yet); remove one of them');
  }
}

/**
 * Says which teacher [teacher] kind = auto became, and warns about the one choice measured
 * to hurt: a transformer from random weights with nothing pretrained and no members.
 */
function describeTeacherChoice(config: Config, log: RunLog): void {
  const t = config.teacher;
  if (t.auto) {
    const what =
      t.kind === 'native'
        ? `the transformer of init_checkpoint ${t.init_checkpoint}, fine-tuned here`
        : t.kind === 'onnx'
          ? `the ONNX model ${t.path}`
          : `an ensemble of ${t.ensemble.join(', ')}${t.ensemble_vectors === null ? ' with random embeddings (set [teacher] ensemble_vectors to a word2vec file for a stronger teacher)' : ` starting from the vectors in ${t.ensemble_vectors}`}`;
    log.info(`teacher: [teacher] kind = auto: ${what}`);
  } else if (t.kind === 'native' && t.init_checkpoint === null && t.pretrain === 'none' && t.pretrained_vectors === null && !hasEnsemble(config)) {
    log.info(
      'teacher: note: a transformer from random weights; on about 10,000 labelled rows such teachers scored below TextCNN alone ' +
        'on every data set measured (docs/teachers.md). kind = auto (members with pretrained vectors) or init_checkpoint is the stronger choice',
    );
  }
}

/**
 * Step 2: trains (or reuses) the teacher; null when [teacher] kind = none and there is no
 * ensemble. With [teacher] ensemble, the members are trained (or reused) after the
 * transformer / ONNX model and the teacher returned averages them all (ensemble.ts).
 */
export async function teacherStep(
  config: Config,
  data: PreparedData,
  runFolder: string,
  log: RunLog,
  options: TeacherStepOptions = { progress: false },
): Promise<Teacher | null> {
  checkTeacherSupported(config);
  const hasMembers = hasEnsemble(config);
  if (config.teacher.kind === 'none' && !hasMembers) {
    log.record.teacher = { kind: 'none' };
    log.info('teacher: none ([teacher] kind = none); the students train on the labelled data alone');
    return null;
  }
  describeTeacherChoice(config, log);
  let base: Teacher | null = null;
  if (config.teacher.kind === 'onnx') {
    base = await onnxTeacherStep(config, data, log);
  } else if (config.teacher.kind === 'native') {
    base = await nativeTeacherStep(config, data, runFolder, log, options);
  } else if (!config.teacher.auto) {
    // (kind = auto has already said what it became.)
    log.info('teacher: [teacher] kind = none with an ensemble: the teacher is the ensemble members alone');
  }
  if (!hasMembers) return base;
  return ensembleTeacherStep(config, data, runFolder, log, base, options);
}
