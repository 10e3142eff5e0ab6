/**
 * A member of the ensemble teacher that was trained elsewhere: [teacher] ensemble_models
 * lists model folders (a student, an ensemble member or a transformer teacher of an
 * earlier run, say) that join the average as they are. They are never retrained; each
 * reads the texts with its own vocabulary, lower-casing, special tokens and max length
 * (exactly as Classifier.load would serve it), so it need not share the run's vocabulary.
 *
 * The use this was made for is a second round of teaching: students distilled with the
 * pool are as good as their teacher or better, so several of them (other seeds, other
 * embeddings) together make a stronger teacher for the next run (docs/results.md, "The teacher's
 * accuracy").
 *
 * A member's "logits" are its log-probabilities. The ensemble averages log_softmax, and
 * log_softmax(log p) = log p, so this is the same as averaging its raw logits' log_softmax
 * up to float32 rounding; a probability that underflowed to 0 (a logit gap over ~100)
 * counts as the log of the smallest float32, not as -Infinity.
 */
import * as path from 'path';

import { configProblem, type Config } from '../../config';
import { Classifier } from '../../classifier';
import type { RunLog } from '../run-log';
import { fileSha256 } from '../../util/files';
import type { TeacherMemberIdentity } from './types';

/** log of the smallest positive float32 (denormal): where a probability of 0 lands. */
export const LOG_TINY = Math.log(1.4e-45);

/** A classifier's probabilities as the log-probabilities an ensemble averages (0 -> LOG_TINY). */
export function logProbabilities(probabilities: Float32Array): Float32Array {
  return Float32Array.from(probabilities, (p) => (p > 0 ? Math.log(p) : LOG_TINY));
}

export interface FolderMember {
  identity: TeacherMemberIdentity;
  logits(texts: string[], threads: number): Promise<Float32Array>;
}

/** The name of the i-th (from 0) folder of [teacher] ensemble_models: model-1, model-2, ... */
export function folderMemberName(index: number): string {
  return `model-${index + 1}`;
}

/**
 * Loads the i-th folder of [teacher] ensemble_models as a member. Its classes must be the
 * run's, in the same order (the average is taken class by class): otherwise an error
 * naming the key, the folder and both lists.
 */
export async function loadFolderMember(config: Config, index: number, labels: readonly string[], log: RunLog): Promise<FolderMember> {
  const dir = config.teacher.ensemble_models[index];
  const name = folderMemberName(index);
  let classifier: Classifier;
  try {
    classifier = await Classifier.load(dir, { threads: config.train.threads, backend: 'native' });
  } catch (err) {
    throw configProblem(config, 'teacher', 'ensemble_models', `${name} (${dir}): ${(err as Error).message}`);
  }
  if (classifier.labels.length !== labels.length || classifier.labels.some((l, i) => l !== labels[i])) {
    classifier.close();
    throw configProblem(
      config,
      'teacher',
      'ensemble_models',
      `${name} (${dir}) has the classes ${JSON.stringify(classifier.labels)} but this run's are ${JSON.stringify(labels)}; ` +
        'an ensemble member must have the same classes in the same order',
    );
  }
  const folder = classifier.folder;
  const training = (folder.config as { training?: { bestEpoch?: unknown } }).training;
  const weightsSha256 = fileSha256(folder.weightsPath);
  log.info(`teacher member ${name}: ${classifier.kind} from ${dir} (used as it is; weights sha256 ${weightsSha256.slice(0, 12)})`);
  const identity: TeacherMemberIdentity = {
    name,
    kind: classifier.kind,
    weightsSha256,
    // Nothing here is trained: the folder's config and weights are all that decide its outputs.
    fingerprint: fileSha256(folder.configPath) + weightsSha256,
    dir: path.resolve(dir),
    reused: true,
    bestEpoch: typeof training?.bestEpoch === 'number' ? training.bestEpoch : 0,
    parameters: null,
    evalAccuracy: null,
    evalMacroF1: null,
  };
  return {
    identity,
    // Classifier.predictProbabilities splits long inputs into slices itself.
    async logits(texts: string[]): Promise<Float32Array> {
      return logProbabilities(await classifier.predictProbabilities(texts));
    },
  };
}
